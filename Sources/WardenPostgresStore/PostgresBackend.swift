import CPostgres
import Foundation
import WardenModel
import WardenStore
import WardenSync

/// The shared backend: one PostgreSQL database that the sidecars of many hosts write and
/// follow. Three connections per store: the write connection (guarded by `writeLock`) runs
/// every write transaction; the read connection (guarded by `readLock`) serves the pure reads,
/// each in one `REPEATABLE READ READ ONLY` transaction (one snapshot); a listener thread's own
/// connection `LISTEN`s for commits (`startSignalling`).
///
/// **The revision lock.** Every write transaction first locks the one row of `warden_revision`
/// (`SELECT ... FOR UPDATE`), which serializes the writers of every host until their `COMMIT`.
/// A transaction's revisions follow the counter it read under that lock, and the counter moves
/// in the same transaction as the changelog rows, so revisions are committed in order, without
/// gaps: a follower that read revision R in one snapshot has every event up to R, and a later
/// snapshot holds every event after R (docs/store.md "PostgreSQL backend").
///
/// Thread safety: `writeLock` guards `writer`, `readLock` guards `reader`; `listener` and
/// `signal` are guarded by their own locks. The other properties are immutable.
public final class PostgresBackend: StoreBackend, @unchecked Sendable {
    /// Connection settings.
    public struct Options: Sendable {
        /// How long connecting may take before it fails, in seconds (libpq's `connect_timeout`;
        /// the URI's own setting wins).
        public var connectTimeoutSeconds = 10
        /// The `application_name` the server shows in `pg_stat_activity` (the URI's wins).
        public var applicationName = "warden"
        public init() {}
    }

    /// The channel commits notify.
    static let channel = "warden_changes"

    let uri: PostgresURI
    /// The schema version the database had before this store opened it (0: created now).
    public let previousSchemaVersion: Int
    let writeLock: Locked<PostgresConnection>
    let readLock: Locked<PostgresConnection>
    private let listener = Locked<PostgresListener?>(nil)
    /// The signal `startSignalling` was given, fired after this process's own commits too.
    private let signal = Locked<CommitSignal?>(nil)

    /// Connects to the database at `uri` (a libpq connection URI) and brings its schema up to
    /// date. `passwordFile`: a file holding the password (one trailing newline is dropped); it
    /// wins over a password in the URI.
    public init(uri: String, passwordFile: String? = nil, options: Options = Options()) throws(StoreError) {
        guard PostgresURI.isURI(uri) else {
            throw StoreError(.invalidArgument, "database: a PostgreSQL URI starts with postgresql:// or postgres://")
        }
        do {
            let password = try passwordFile.map { path throws in try PostgresURI.password(file: path) }
            self.uri = PostgresURI(
                uri: uri,
                password: password,
                connectTimeoutSeconds: options.connectTimeoutSeconds,
                applicationName: options.applicationName
            )
            let writer = try PostgresConnection(uri: self.uri, setup: PostgresWriter.setup)
            previousSchemaVersion = try PostgresSchema.migrate(writer)
            writeLock = Locked(writer)
            readLock = Locked(try PostgresConnection(uri: self.uri))
        } catch let error as StoreError {
            throw error
        } catch let error as PostgresError {
            throw StoreError.postgres(error, opening: true)
        } catch {
            throw StoreError(.internal, "cannot open the database", cause: "\(error)")
        }
    }

    /// Whether `database` names a PostgreSQL database (a `postgresql://` or `postgres://` URI)
    /// rather than an SQLite file.
    public static func isURI(_ database: String) -> Bool { PostgresURI.isURI(database) }

    /// The database URI with its password replaced by `***`, for logs.
    public var redactedURI: String { uri.redacted }

    /// The schema version of the database.
    public var schemaVersion: Int {
        (try? read { reader in try reader.schemaVersion() }) ?? 0
    }

    deinit { listener.withLock { $0?.stop() } }

    public func write<T>(_ body: (PostgresWriter) throws -> T) throws(StoreError) -> T {
        let (value, appended) = try writeLock.withLock { connection throws(StoreError) -> (T, Bool) in
            do { return try transaction(connection, body) } catch { throw storeError(error) }
        }
        if appended { signal.withLock { $0 }?.fire() }
        return value
    }

    /// One write transaction: the revision lock first, the body, the counter and the
    /// notification, `COMMIT`. Returns the body's value and whether it appended events.
    private func transaction<T>(
        _ connection: PostgresConnection,
        _ body: (PostgresWriter) throws -> T
    ) throws -> (T, Bool) {
        let locked = try connection.begin("BEGIN; SELECT revision FROM warden_revision FOR UPDATE")
        let transaction = WriteTransaction(connection: connection, locked: Revision(UInt64(locked.int64(0, 0))))
        let value: T
        do {
            value = try body(PostgresWriter(transaction: transaction))
            if let appended = transaction.appended, appended > transaction.locked {
                // NOTIFY is delivered at COMMIT, and only if it commits.
                try connection.query(
                    "WITH counter AS (UPDATE warden_revision SET revision = $1) SELECT pg_notify('\(Self.channel)', '')",
                    [String(appended.rawValue)]
                )
            }
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
        try connection.commit()
        return (value, transaction.appended != nil)
    }

    public func read<T>(_ body: (PostgresReader) throws -> T) throws(StoreError) -> T {
        try readLock.withLock { connection throws(StoreError) -> T in
            do {
                try connection.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                defer { _ = try? connection.execute("COMMIT") }
                return try body(PostgresReader(connection: connection))
            } catch {
                throw storeError(error)
            }
        }
    }

    public func storeError(_ error: any Error) -> StoreError {
        switch error {
        case let error as StoreError: error
        case let error as PostgresError: .postgres(error, opening: false)
        default: StoreError(.internal, "the store failed", cause: "\(error)")
        }
    }

    /// A thread with its own connection `LISTEN`s on `warden_changes`, which every committing
    /// write transaction notifies, and fires `signal` on each notification (and once after each
    /// reconnect: commits may have gone unnoticed meanwhile). This process's own commits fire it
    /// directly too.
    public func startSignalling(_ signal: CommitSignal) {
        self.signal.withLock { $0 = signal }
        listener.withLock { listener in
            guard listener == nil else { return }
            listener = PostgresListener(uri: uri, channel: Self.channel, signal: signal)
        }
    }

    /// Nothing to do: PostgreSQL's own checkpoints make commits durable in its main storage.
    public func checkpoint() throws(StoreError) {}
}

extension PostgresConnection {
    /// Commits the open transaction. A `COMMIT` whose answer was lost with the connection has
    /// an unknown outcome: thrown as such (`duringCommit`), never reported as a success.
    func commit() throws(PostgresError) {
        let result: PostgresResult
        do {
            result = try execute("COMMIT")
        } catch {
            var error = error
            error.duringCommit = error.connectionLost
            throw error
        }
        // An aborted transaction "commits" as a rollback.
        guard let status = PQcmdStatus(result.handle).map({ String(cString: $0) }), status == "COMMIT" else {
            throw PostgresError(
                sqlState: nil,
                message: "the transaction was rolled back",
                sql: "COMMIT",
                connectionLost: false
            )
        }
    }
}
