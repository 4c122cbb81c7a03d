// WardenServer — Transport: Unix socket, frames, proto↔model mapping, status codes, peer credentials; filled by the sidecar issue.
// This module is an empty target until then (DESIGN.md §3 lists what it will hold).
