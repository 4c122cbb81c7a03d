// WardenService — Use cases between transport and index/store: validate, authorize the caller, run, publish events; filled by the sidecar issue.
// This module is an empty target until then (DESIGN.md §3 lists what it will hold).
