import CSQLite
import Foundation
import WardenModel

/// Warden's source of truth: SQLite in WAL mode. Every committed write gets the next revision
/// and exactly one changelog row; bulk writes get one summary row. Several processes may open
/// one file; writes take SQLite's write lock up front (`BEGIN IMMEDIATE`) and wait up to the
/// busy timeout for it.
///
/// Thread safety: one lock serializes this instance's use of its connections.
public final class SQLiteStore: @unchecked Sendable {
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
        public init() {}
    }

    let path: String
    let options: Options
    let connection: SQLiteConnection
    let lock = NSLock()
    /// Group commit: queued single writes, and whether a caller is committing them.
    let commits = NSCondition()
    var queued: [WriteTicket] = []
    var committing = false

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    public init(path: String, options: Options = Options()) throws(StoreError) {
        self.path = path
        self.options = options
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
            try migrate()
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
        lock.withLock { (try? Int(connection.integer("PRAGMA user_version"))) ?? 0 }
    }

    private func migrate() throws {
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
    }

    /// The latest committed revision (another process's commits included).
    public var revision: Revision {
        get throws(StoreError) { try locked { try latestRevision() } }
    }

    func latestRevision() throws(SQLiteError) -> Revision {
        Revision(UInt64(try connection.integer("SELECT COALESCE(MAX(revision), 0) FROM changelog")))
    }

    /// Runs `body` under the lock, mapping SQLite failures.
    func locked<T>(_ body: () throws -> T) throws(StoreError) -> T {
        lock.lock()
        defer {
            connection.resetStatements()
            lock.unlock()
        }
        do {
            return try body()
        } catch let error as StoreError {
            throw error
        } catch let error as SQLiteError {
            throw .sqlite(error)
        } catch {
            throw StoreError(.internal, "the store failed", cause: "\(error)")
        }
    }

    /// Milliseconds since the Unix epoch: the changelog's clock.
    public static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
