import WardenModel

extension SQLiteStore {
    /// Records a `WRITE_REFUSED` event at the next revision: a write whose actor may not make it
    /// (DESIGN.md §1 "No self-escalation"). Nothing else changes. `attempted` is the refused
    /// change when it was one change; `nil` for a refused bulk call.
    public func recordRefusal(attempted: Change?, message: String, actor: String?) throws(StoreError) -> ChangeEvent {
        try locked {
            try connection.transaction {
                let revision = try latestRevision().next
                let event = ChangeEvent(
                    revision: revision, kind: .writeRefused, time: Self.now(), attempted: attempted, message: message,
                    actor: actor
                )
                try record(event)
                return event
            }
        }
    }
}

extension SQLiteStore {
    /// Moves everything in the write-ahead log into the database file and truncates the log:
    /// what a clean shutdown does, so the file alone holds the state (a copy of it is complete).
    /// Other processes' open connections may keep the log in use; then it is only checkpointed.
    public func checkpoint() throws(StoreError) {
        try locked { try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
    }
}
