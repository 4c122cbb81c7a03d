import Foundation
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

extension SQLiteStore {
    /// Writes a consistent copy of the database file at `path` to `destination` with SQLite's
    /// `VACUUM INTO`, from a read connection of its own: safe while a server writes. The copy
    /// holds every transaction committed before the backup began and none after, is compacted,
    /// and is complete in one file (no write-ahead log). `destination` must not exist; it is
    /// created with the database file's mode (at most `0660`: owner, then group), never wider.
    /// Returns the copy's revision.
    public static func backup(database path: String, to destination: String) throws(StoreError) -> Revision {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.notFound, "database: \(path) does not exist")
        }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError(.alreadyExists, "destination: \(destination) exists; backups never overwrite")
        }
        // VACUUM INTO fills an existing empty file: create it private first (SQLite would make
        // it 0644 less the umask).
        let mode = (DatabaseFile.mode(of: path) ?? DatabaseFile.defaultMode) & 0o660 | 0o600
        guard try DatabaseFile.create(destination, mode: mode) else {
            throw StoreError(.alreadyExists, "destination: \(destination) exists; backups never overwrite")
        }
        do {
            let connection = try SQLiteConnection(path: path, readOnly: true)
            try connection.execute("PRAGMA busy_timeout = 5000")
            let vacuum = try connection.statement("VACUUM INTO ?")
            try vacuum.run(.text(destination))
        } catch {
            try? FileManager.default.removeItem(atPath: destination)
            throw StoreError(.unavailable, "backup failed", cause: "\(path) → \(destination): \(error)")
        }
        return try SQLiteStore(path: destination).revision
    }
}
