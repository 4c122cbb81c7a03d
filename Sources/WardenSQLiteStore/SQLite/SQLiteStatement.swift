import CSQLite
import WardenModel
import WardenStore

/// `SQLITE_TRANSIENT`: SQLite copies bound text before the call returns.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A prepared statement. Bind with 1-based positions, step, read columns 0-based.
final class SQLiteStatement {
    private let handle: OpaquePointer
    private unowned let connection: SQLiteConnection
    let sql: String

    init(connection: SQLiteConnection, sql: String) throws(SQLiteError) {
        var handle: OpaquePointer?
        guard
            sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
                == SQLITE_OK,
            let handle
        else { throw connection.error(sql) }
        self.handle = handle
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    @discardableResult
    func bind(_ values: SQLiteValue...) throws(SQLiteError) -> SQLiteStatement {
        for (offset, value) in values.enumerated() { try bind(value, at: Int32(offset + 1)) }
        return self
    }

    func bind(_ value: SQLiteValue, at position: Int32) throws(SQLiteError) {
        let result: Int32
        switch value {
        case .null: result = sqlite3_bind_null(handle, position)
        case .integer(let integer): result = sqlite3_bind_int64(handle, position, integer)
        case .text(let text): result = sqlite3_bind_text(handle, position, text, Int32(text.utf8.count), transient)
        }
        guard result == SQLITE_OK else { throw connection.error(sql) }
    }

    /// Binds `count` bytes of UTF-8 text at `bytes` without copying: they must stay valid and
    /// unchanged until the statement is reset or rebound.
    func bindText(_ bytes: UnsafePointer<UInt8>, count: Int, at position: Int32) throws(SQLiteError) {
        let result = bytes.withMemoryRebound(to: CChar.self, capacity: count) {
            sqlite3_bind_text(handle, position, $0, Int32(count), nil)
        }
        guard result == SQLITE_OK else { throw connection.error(sql) }
    }

    /// Binds `bytes` as a blob; SQLite copies them before the call returns.
    func bindBlob(_ bytes: UnsafeRawBufferPointer, at position: Int32) throws(SQLiteError) {
        // A non-null pointer for an empty blob: SQLite binds NULL for a null one.
        let result = sqlite3_bind_blob(
            handle,
            position,
            bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1),
            Int32(bytes.count),
            transient
        )
        guard result == SQLITE_OK else { throw connection.error(sql) }
    }

    func bindInteger(_ value: Int64, at position: Int32) throws(SQLiteError) {
        guard sqlite3_bind_int64(handle, position, value) == SQLITE_OK else { throw connection.error(sql) }
    }

    /// Advances to the next row: true for a row, false when done.
    func step() throws(SQLiteError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(sql)
        }
    }

    /// Runs a statement that returns no rows.
    func run(_ values: SQLiteValue...) throws(SQLiteError) {
        for (offset, value) in values.enumerated() { try bind(value, at: Int32(offset + 1)) }
        while try step() {}
        sqlite3_reset(handle)
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    /// Steps once and reads the first column as an integer (0 without a row).
    func stepInteger() throws(SQLiteError) -> Int64 { try step() ? int64(0) : 0 }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    /// A text column, which must hold valid UTF-8: a file written by another tool with invalid
    /// bytes is reported, never silently repaired into a different identifier.
    func text(_ column: Int32) throws(SQLiteError) -> String {
        guard let string = StoredText.string(textBytes(column)) else { throw invalidText(column) }
        return string
    }

    /// A text column as `text` reads it, sharing `previous`'s storage when it holds the same
    /// bytes (see `StoredText`); `previous` becomes the string returned.
    func text(_ column: Int32, reusing previous: inout String?) throws(SQLiteError) -> String {
        guard let string = StoredText.string(textBytes(column), reusing: &previous) else { throw invalidText(column) }
        return string
    }

    private func textBytes(_ column: Int32) -> UnsafeBufferPointer<UInt8> {
        // A NULL column reads as no bytes (a null pointer is fine for an empty buffer).
        UnsafeBufferPointer(
            start: sqlite3_column_text(handle, column),
            count: Int(sqlite3_column_bytes(handle, column))
        )
    }

    private func invalidText(_ column: Int32) -> SQLiteError {
        SQLiteError(code: SQLITE_MISMATCH, message: "column \(column) holds invalid UTF-8", sql: sql)
    }

    /// Calls `body` with a blob column's bytes, valid only during the call.
    func withBlob<T>(
        _ column: Int32,
        _ body: (UnsafeRawBufferPointer) throws(SQLiteError) -> T
    ) throws(SQLiteError) -> T {
        let bytes = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        return try body(UnsafeRawBufferPointer(start: bytes, count: bytes == nil ? 0 : count))
    }

    func optionalText(_ column: Int32) throws(SQLiteError) -> String? { isNull(column) ? nil : try text(column) }

    /// A text column that may be NULL, sharing `previous`'s storage as `text(_:reusing:)` does.
    func optionalText(_ column: Int32, reusing previous: inout String?) throws(SQLiteError) -> String? {
        isNull(column) ? nil : try text(column, reusing: &previous)
    }
}

/// A value bound to a statement.
enum SQLiteValue {
    case null
    case integer(Int64)
    case text(String)

    static func bool(_ value: Bool) -> SQLiteValue { .integer(value ? 1 : 0) }
    static func optional(_ text: String?) -> SQLiteValue { text.map(SQLiteValue.text) ?? .null }
    static func revision(_ revision: Revision) -> SQLiteValue { .integer(Int64(revision.rawValue)) }
}
