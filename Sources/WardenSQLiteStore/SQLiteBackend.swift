import CSQLite
import Foundation
import WardenModel
import WardenStore
import WardenSync

/// The embedded backend: one SQLite file in WAL mode. Several processes may open one file;
/// writes take SQLite's write lock up front (`BEGIN IMMEDIATE`), which is the revision lock
/// `StoreBackend.write` asks for, and wait up to the busy timeout for it. A revision is the
/// changelog's `MAX(revision)`, read under that lock.
///
/// Two connections: the write connection (`connection`, guarded by `lock`) runs every write
/// transaction, and a read-only connection (`reader`, guarded by `readLock`) serves the pure
/// reads (`events`, `snapshot`, `replay`, `revision`), which see every committed transaction.
/// In WAL mode the two run side by side: a long read (a watcher's history, a snapshot) never
/// holds the lock a write needs.
///
/// Thread safety: `lock` guards `connection` and its statements, `readLock` guards `reader`
/// and its statements, `poller` its own lock. The other properties are immutable.
public final class SQLiteBackend: StoreBackend, @unchecked Sendable {
    /// How a commit reaches the disk.
    public enum Synchronous: String, Sendable {
        /// Each commit waits for the WAL to be fsynced: an acknowledged write survives a crash of
        /// the process *and* of the machine. The default.
        case full = "FULL"
        /// Commits reach the OS, not the disk: an acknowledged write survives `kill -9` but may
        /// be lost with the machine (power loss, kernel panic).
        case normal = "NORMAL"
    }

    /// Store settings.
    public struct Options: Sendable {
        public var synchronous: Synchronous = .full
        /// How long a write waits for another process's write lock, in milliseconds.
        public var busyTimeoutMilliseconds: Int32 = 5000
        /// The mode a new database file is created with (its `-wal` and `-shm` files get the
        /// same); an existing file keeps its own. See `DatabaseFile.isAllowed`.
        public var fileMode: mode_t = DatabaseFile.defaultMode
        public init() {}
    }

    /// What opening the file found: a daemon logs a new or empty database, so a wrong path or
    /// mount is visible.
    public struct Opening: Sendable {
        /// Whether a file was at the path before this store opened it.
        public let fileExisted: Bool
        /// The schema version the file had; 0 for a new or empty file (then the whole schema
        /// was created).
        public let previousSchemaVersion: Int
        /// The file's permission bits after opening.
        public let fileMode: mode_t?

        /// Whether this store created the schema from nothing (a new file, or an empty one).
        public var createdSchema: Bool { previousSchemaVersion == 0 }
        /// Whether the file grants its group or others more than `mode` does (an existing
        /// file keeps its mode).
        public func exceeds(_ mode: mode_t) -> Bool { (fileMode ?? 0) & 0o077 & ~mode != 0 }
    }

    let path: String
    let options: Options
    /// What opening found.
    public let opening: Opening
    /// The write connection; guarded by `lock`.
    let connection: SQLiteConnection
    let lock = Locked(())
    /// The read-only connection; guarded by `readLock`.
    let reader: SQLiteConnection
    let readLock = Locked(())
    /// Polls `data_version` for the commit signal once someone observes; guarded by its lock.
    private let poller = Locked<PollingThread?>(nil)

    /// Opens (creating if needed, with `options.fileMode`) the database at `path` and brings its
    /// schema up to date.
    public init(path: String, options: Options = Options()) throws(StoreError) {
        self.path = path
        self.options = options
        guard DatabaseFile.isAllowed(options.fileMode) else {
            throw StoreError(
                .invalidArgument,
                "file mode: \(String(options.fileMode, radix: 8)) is not 0600, 0640 or 0660"
            )
        }
        let existed = !(try DatabaseFile.create(path, mode: options.fileMode))
        do {
            connection = try SQLiteConnection(path: path)
            try connection.execute("PRAGMA busy_timeout = \(options.busyTimeoutMilliseconds)")
            // 8 KiB pages for a new file (before WAL mode and the first table; an existing file
            // keeps its size): a bulk grant of 1M rows was faster than with SQLite's default 4 KiB
            // in 9 of 12 pairs, about 13% by medians (docs/benchmarks.md).
            try connection.execute("PRAGMA page_size = 8192")
            let mode = try connection.statement("PRAGMA journal_mode = WAL")
            _ = try mode.step()
            guard try mode.text(0).lowercased() == "wal" else {
                throw StoreError(.failedPrecondition, "the database cannot use WAL mode", cause: path)
            }
            try connection.execute("PRAGMA synchronous = \(options.synchronous.rawValue)")
            // A 64 MiB page cache: bulk loads of a million rows otherwise spill pages mid-transaction.
            try connection.execute("PRAGMA cache_size = -65536")
            try connection.execute("PRAGMA temp_store = MEMORY")
            connection.resetStatements()
            let version = try Self.migrate(connection, path: path)
            opening = Opening(
                fileExisted: existed,
                previousSchemaVersion: version,
                fileMode: DatabaseFile.mode(of: path)
            )
            reader = try SQLiteConnection(path: path, readOnly: true)
            try reader.execute("PRAGMA busy_timeout = \(options.busyTimeoutMilliseconds)")
            try reader.execute("PRAGMA temp_store = MEMORY")
        } catch let error as SQLiteError {
            throw StoreError(.failedPrecondition, "cannot open the database", cause: "\(path): \(error)")
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.internal, "cannot open the database", cause: "\(error)")
        }
    }

    /// The schema version of the open file.
    public var schemaVersion: Int {
        (try? reading { reader in Int(try reader.integer("PRAGMA user_version")) }) ?? 0
    }

    /// Brings the schema up to date; returns the version the file had.
    private static func migrate(_ connection: SQLiteConnection, path: String) throws -> Int {
        let version = Int(try connection.integer("PRAGMA user_version"))
        guard version <= Schema.current else {
            throw StoreError(
                .failedPrecondition,
                "the database has schema version \(version), newer than this Warden's \(Schema.current); "
                    + "run a newer Warden or restore a backup",
                cause: path
            )
        }
        for next in version..<Schema.current {
            try connection.transaction { () throws(SQLiteError) in
                try connection.execute(Schema.migrations[next])
                try connection.execute("PRAGMA user_version = \(next + 1)")
            }
        }
        return version
    }

    deinit { poller.withLock { $0?.stop() } }

    public func write<T>(_ body: (SQLiteWriter) throws -> T) throws(StoreError) -> T {
        try lock.withLock { _ throws(StoreError) -> T in
            defer { connection.resetStatements() }
            do { return try connection.transaction { try body(SQLiteWriter(connection: connection)) } } catch {
                throw storeError(error)
            }
        }
    }

    public func read<T>(_ body: (SQLiteReader) throws -> T) throws(StoreError) -> T {
        try reading { reader in
            try reader.execute("BEGIN")
            defer {
                reader.resetStatements()
                try? reader.execute("COMMIT")
            }
            return try body(SQLiteReader(connection: reader))
        }
    }

    /// Runs `body` with the read-only connection, under `readLock`, mapping SQLite failures.
    func reading<T>(_ body: (SQLiteConnection) throws -> T) throws(StoreError) -> T {
        try readLock.withLock { _ throws(StoreError) -> T in
            defer { reader.resetStatements() }
            do { return try body(reader) } catch { throw storeError(error) }
        }
    }

    public func storeError(_ error: any Error) -> StoreError {
        switch error {
        case let error as StoreError: error
        case let error as SQLiteError: .sqlite(error)
        default: StoreError(.internal, "the store failed", cause: "\(error)")
        }
    }

    /// SQLite has no channel between processes: a thread polls the read connection's
    /// `data_version` (which changes when any other connection commits, this process's write
    /// connection included) every 10 ms and fires `signal` when it moved.
    public func startSignalling(_ signal: CommitSignal) {
        poller.withLock { poller in
            guard poller == nil else { return }
            // The baseline is read now: a commit after this call returns is noticed.
            let last = Locked<Int64?>(try? reading { reader throws in try reader.integer("PRAGMA data_version") })
            poller = PollingThread(name: "warden.sqlite-signal", every: .milliseconds(10)) { [weak self] in
                guard let self,
                    let version = try? self.reading({ reader throws in try reader.integer("PRAGMA data_version") })
                else {
                    return
                }
                let changed = last.withLock { last in
                    defer { last = version }
                    return last != nil && last != version
                }
                if changed { signal.fire() }
            }
        }
    }

    /// Moves everything in the write-ahead log into the database file and truncates the log:
    /// what a clean shutdown does, so the file alone holds the state (a copy of it is complete).
    /// Other processes' open connections may keep the log in use; then it is only checkpointed.
    public func checkpoint() throws(StoreError) {
        try lock.withLock { _ throws(StoreError) in
            do { try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)") } catch { throw storeError(error) }
        }
    }
}

extension StoreError {
    static func sqlite(_ error: SQLiteError) -> StoreError {
        if error.isBusy {
            return StoreError(
                .unavailable,
                "the database is locked by another process; retry",
                cause: error.description
            )
        }
        if error.isDiskFull {
            return StoreError(
                .resourceExhausted,
                "the database's disk is full; the write was not made (retry once space is freed)",
                cause: error.description
            )
        }
        return StoreError(.internal, "the store failed", cause: error.description)
    }
}
