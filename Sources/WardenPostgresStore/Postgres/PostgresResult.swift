import CPostgres
import WardenStore

/// One statement's result: rows of text values (libpq's text format), read by row and column,
/// and the count of rows a command affected. Frees libpq's result when released.
final class PostgresResult {
    let handle: OpaquePointer
    let sql: String?

    init(handle: OpaquePointer, sql: String?) {
        self.handle = handle
        self.sql = sql
    }

    deinit { PQclear(handle) }

    var rows: Int { Int(PQntuples(handle)) }
    var columns: Int { Int(PQnfields(handle)) }

    /// Rows inserted, updated or deleted by the command (`PQcmdTuples`); 0 for others.
    var affected: Int {
        guard let text = PQcmdTuples(handle) else { return 0 }
        return Int(String(cString: text)) ?? 0
    }

    func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(handle, Int32(row), Int32(column)) != 0 }

    /// An integer column (`bigint`, `integer`), parsed from its text; 0 for NULL.
    func int64(_ row: Int, _ column: Int) -> Int64 {
        guard let text = PQgetvalue(handle, Int32(row), Int32(column)) else { return 0 }
        var digit = UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self)
        let negative = digit.pointee == UInt8(ascii: "-")
        if negative { digit += 1 }
        var value: Int64 = 0
        while digit.pointee >= UInt8(ascii: "0") && digit.pointee <= UInt8(ascii: "9") {
            value = value &* 10 &+ Int64(digit.pointee &- UInt8(ascii: "0"))
            digit += 1
        }
        return negative ? -value : value
    }

    /// A boolean column (`t` or `f`).
    func bool(_ row: Int, _ column: Int) -> Bool {
        PQgetvalue(handle, Int32(row), Int32(column))?.pointee == CChar(UInt8(ascii: "t"))
    }

    /// A text column. The database's encoding is UTF8 (checked at start), so the server has
    /// validated it; a value that still is not UTF-8 is an error, never repaired into another
    /// string.
    func text(_ row: Int, _ column: Int) throws(PostgresError) -> String {
        guard let text = StoredText.string(bytes(row, column)) else { throw invalidText(row, column) }
        return text
    }

    /// A text column as `text` reads it, sharing `previous`'s storage when it holds the same
    /// bytes (see `StoredText`); `previous` becomes the string returned.
    func text(_ row: Int, _ column: Int, reusing previous: inout String?) throws(PostgresError) -> String {
        guard let text = StoredText.string(bytes(row, column), reusing: &previous) else {
            throw invalidText(row, column)
        }
        return text
    }

    private func bytes(_ row: Int, _ column: Int) -> UnsafeBufferPointer<UInt8> {
        guard let bytes = PQgetvalue(handle, Int32(row), Int32(column)) else {
            return UnsafeBufferPointer(start: nil, count: 0)
        }
        return UnsafeBufferPointer(
            start: UnsafeRawPointer(bytes).assumingMemoryBound(to: UInt8.self),
            count: Int(PQgetlength(handle, Int32(row), Int32(column)))
        )
    }

    private func invalidText(_ row: Int, _ column: Int) -> PostgresError {
        PostgresError(
            sqlState: nil,
            message: "row \(row) column \(column) holds invalid UTF-8",
            sql: sql,
            connectionLost: false
        )
    }

    /// A text column that may be NULL.
    func optionalText(_ row: Int, _ column: Int) throws(PostgresError) -> String? {
        isNull(row, column) ? nil : try text(row, column)
    }

    /// A text column that may be NULL, sharing `previous`'s storage as `text(_:_:reusing:)` does.
    func optionalText(_ row: Int, _ column: Int, reusing previous: inout String?) throws(PostgresError) -> String? {
        isNull(row, column) ? nil : try text(row, column, reusing: &previous)
    }
}
