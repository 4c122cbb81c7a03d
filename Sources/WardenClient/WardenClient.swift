// WardenClient — The Swift client library; filled by the sidecar issue.
// This module is an empty target until then (DESIGN.md §3 lists what it will hold).
