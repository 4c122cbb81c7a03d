import WardenProto
import WardenRecords

/// Fuzz target 3: `warden import`'s parser on arbitrary bytes, read the way the command reads a
/// file (lossy UTF-8), as JSON lines and as CSV. A file either parses or names a line within it;
/// what parses, written back the way `export` writes it and read again, reads the same.
///
/// Input: the file's bytes.
public enum ImportParsing {
    /// Each format's result, and where the round trips did not hold.
    public struct Outcome: Sendable {
        /// Per format: how many records, or the error.
        public var results: [RecordFormat: Result<Int, RecordFormatError>] = [:]
        /// Each broken property; empty when every one held.
        public var disagreements: [String] = []
    }

    public static func run(_ input: [UInt8]) -> Outcome {
        let text = String(decoding: input, as: UTF8.self)
        // Lines as the parsers count them: at most one per newline, and one more.
        let lines = text.unicodeScalars.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
        var outcome = Outcome()
        // A file's line ends do not matter: with CRLF it reads as with LF. (JSON lines only: a
        // quoted CSV field keeps the line end it holds.)
        if !text.unicodeScalars.contains("\r") {
            let crlf = String(text.unicodeScalars.flatMap { $0 == "\n" ? ["\r", "\n"] : [$0] }.map(Character.init))
            let lf = Result { () throws(RecordFormatError) in try RecordFormat.jsonl.records(from: text) }
            let other = Result { () throws(RecordFormatError) in try RecordFormat.jsonl.records(from: crlf) }
            if lf != other { outcome.disagreements.append("jsonl: with CRLF line ends \(other), with LF \(lf)") }
        }
        for format in RecordFormat.allCases {
            do throws(RecordFormatError) {
                let records = try format.records(from: text)
                outcome.results[format] = .success(records.count)
                roundTrip(records, format, &outcome.disagreements)
            } catch {
                outcome.results[format] = .failure(error)
                if error.line < 1 || error.line > lines {
                    outcome.disagreements.append("\(format): the error names line \(error.line) of \(lines): \(error)")
                }
            }
        }
        return outcome
    }

    /// Records written back and read again: the second reading is a fixed point (what `export`
    /// writes, `import` reads back as written), nothing is lost or added, and the other format
    /// reads the same records (but codenames, which CSV separates by spaces: one holding a space
    /// or an empty one cannot cross).
    static func roundTrip(_ records: [Warden_V1_Record], _ format: RecordFormat, _ disagreements: inout [String]) {
        func file(_ records: [Warden_V1_Record], _ format: RecordFormat) -> String {
            ((format.header().map { [$0] } ?? []) + records.map(format.line)).joined(separator: "\n") + "\n"
        }
        func compare(_ read: [Warden_V1_Record], _ written: [Warden_V1_Record], _ how: String) {
            guard read.count == written.count else {
                disagreements.append("\(how): \(written.count) records read back as \(read.count)")
                return
            }
            for (position, (first, second)) in zip(written, read).enumerated() where first != second {
                disagreements.append("\(how): record \(position + 1) reads back as \(second), was \(first)")
            }
        }
        func read(_ format: RecordFormat, _ records: [Warden_V1_Record], _ how: String) -> [Warden_V1_Record]? {
            do throws(RecordFormatError) {
                return try format.records(from: file(records, format))
            } catch {
                disagreements.append("\(how): records written back do not read again: \(error)")
                return nil
            }
        }
        guard let once = read(format, records, "\(format) once") else { return }
        guard once.count == records.count else {
            disagreements.append("\(format): \(records.count) records written back read as \(once.count)")
            return
        }
        if let twice = read(format, once, "\(format) twice") { compare(twice, once, "\(format) twice") }
        let other: RecordFormat = format == .jsonl ? .csv : .jsonl
        let crossing = once.filter { !$0.contentType.custom.contains { $0.isEmpty || $0.unicodeScalars.contains(" ") } }
        if let crossed = read(other, crossing, "\(format) to \(other)") {
            compare(crossed, crossing, "\(format) to \(other)")
        }
    }
}
