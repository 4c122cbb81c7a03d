import CSQLite

/// A failure reported by SQLite: its result code, its message and the statement that failed.
/// Internal: the store maps it to `StoreError` and logs the details; clients never see them.
struct SQLiteError: Error, CustomStringConvertible {
    /// SQLite's extended result code.
    let code: Int32
    let message: String
    let sql: String?

    var description: String { "SQLite error \(code): \(message)" + (sql.map { " in \($0)" } ?? "") }

    /// Another connection holds the lock past the busy timeout.
    var isBusy: Bool { code & 0xFF == SQLITE_BUSY || code & 0xFF == SQLITE_LOCKED }
}
