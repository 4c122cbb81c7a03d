/// A line of an import file that is not a record. `warden import` stops at the first one, before
/// anything is sent.
public struct RecordFormatError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The line, from 1 (for CSV, the row's number counting the header as 1).
    public var line: Int
    /// The field at fault as the file names it (`kind`, `user`, `is_active`, a CSV column); `nil`
    /// when the line as a whole is (not a JSON object).
    public var field: String?
    /// What is wrong, naming the field.
    public var message: String

    public init(line: Int, field: String?, message: String) {
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}
