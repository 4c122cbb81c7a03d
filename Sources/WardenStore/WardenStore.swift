// WardenStore — SQLite persistence: schema, migrations, changelog, bulk path, follower. The only module that touches SQL; filled by the durable-store issue.
// This module is an empty target until then (DESIGN.md §3 lists what it will hold).
