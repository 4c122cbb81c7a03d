import Foundation
import WardenModel
import WardenStore

/// The store on an SQLite file: `BackedStore`'s rules on `SQLiteBackend`. Warden's embedded
/// default.
public typealias SQLiteStore = BackedStore<SQLiteBackend>

extension BackedStore where Backend == SQLiteBackend {
    public typealias Options = SQLiteBackend.Options
    public typealias Synchronous = SQLiteBackend.Synchronous
    public typealias Opening = SQLiteBackend.Opening

    /// Opens (creating if needed, with `options.fileMode`) the database at `path` and brings its
    /// schema up to date.
    public convenience init(path: String, options: Options = Options()) throws(StoreError) {
        self.init(backend: try SQLiteBackend(path: path, options: options))
    }

    /// What opening the file found.
    public var opening: Opening { backend.opening }

    /// The schema version of the open file.
    public var schemaVersion: Int { backend.schemaVersion }

    /// Checks the subject side against `object_grants` (`SQLiteBackend.subjectIndexAudit`).
    public func subjectIndexAudit() throws(StoreError) -> SubjectIndexAudit { try backend.subjectIndexAudit() }

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
