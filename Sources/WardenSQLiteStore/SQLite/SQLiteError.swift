import CSQLite
import WardenStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure reported by SQLite: its result code, its message and the statement that failed.
/// Internal: the store maps it to `StoreError` and logs the details; clients never see them.
struct SQLiteError: Error, CustomStringConvertible {
    /// SQLite's extended result code.
    let code: Int32
    let message: String
    let sql: String?
    /// The `errno` of the failed system call behind an I/O error (`sqlite3_system_errno`), 0
    /// when none.
    var systemErrno: Int32 = 0

    var description: String {
        "SQLite error \(code): \(message)" + (systemErrno != 0 ? " (errno \(systemErrno))" : "")
            + (sql.map { " in \($0)" } ?? "")
    }

    /// Another connection holds the lock past the busy timeout.
    var isBusy: Bool { code & 0xFF == SQLITE_BUSY || code & 0xFF == SQLITE_LOCKED }

    /// The disk (or the user's quota) is full: SQLite's `SQLITE_FULL`, or an I/O error whose
    /// system call failed with `ENOSPC` or `EDQUOT` (a write or fsync of the WAL, the growth
    /// of the shared-memory file).
    var isDiskFull: Bool {
        code & 0xFF == SQLITE_FULL || (code & 0xFF == SQLITE_IOERR && (systemErrno == ENOSPC || systemErrno == EDQUOT))
    }
}
