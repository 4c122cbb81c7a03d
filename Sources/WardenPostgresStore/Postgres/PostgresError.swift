/// A failure reported by libpq or the server: its SQLSTATE (when the server sent one), its
/// message and the statement that failed. Internal: the backend maps it to `StoreError` and logs
/// the details; clients never see them. Never holds a password (`PostgresURI.redacted`).
struct PostgresError: Error, CustomStringConvertible {
    /// The server's five-character SQLSTATE; `nil` for a failure on the client side (no
    /// connection, a connection that dropped before the server answered).
    let sqlState: String?
    let message: String
    let sql: String?
    /// Whether the connection is unusable after this failure (it broke, or never opened).
    let connectionLost: Bool
    /// Whether the failure hit a `COMMIT` whose result was lost with the connection: the
    /// transaction may or may not have committed.
    var duringCommit = false

    var description: String {
        "PostgreSQL error" + (sqlState.map { " \($0)" } ?? "") + ": \(message)" + (sql.map { " in \($0)" } ?? "")
    }

    /// The server or the network is gone, shutting down, or not yet accepting connections:
    /// class 08 (connection exception), 57P01 (terminated by an administrator), 57P02 (crash
    /// shutdown), 57P03 (cannot connect now), 53300 (too many connections), or a connection that
    /// broke without a server message.
    var isUnreachable: Bool {
        guard let sqlState else { return connectionLost }
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(sqlState) || connectionLost
    }

    /// Another transaction's lock or snapshot got in the way; the same write succeeds on retry:
    /// 40001 (serialization failure), 40P01 (deadlock), 55P03 (lock not available), 57014
    /// (canceled by a statement timeout).
    var isRetryable: Bool { ["40001", "40P01", "55P03", "57014"].contains(sqlState ?? "") }

    /// The server's disk is full: 53100.
    var isDiskFull: Bool { sqlState == "53100" }

    /// The server only reads: 25006, a standby (after a failover the URI still names the old
    /// primary) or `default_transaction_read_only`.
    var isReadOnly: Bool { sqlState == "25006" }
}
