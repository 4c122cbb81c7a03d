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
    /// writes, `import` reads back as written), and nothing is lost or added.
    static func roundTrip(_ records: [Warden_V1_Record], _ format: RecordFormat, _ disagreements: inout [String]) {
        func file(_ records: [Warden_V1_Record]) -> String {
            ((format.header().map { [$0] } ?? []) + records.map(format.line)).joined(separator: "\n") + "\n"
        }
        do throws(RecordFormatError) {
            let once = try format.records(from: file(records))
            guard once.count == records.count else {
                disagreements.append("\(format): \(records.count) records written back read as \(once.count)")
                return
            }
            let twice = try format.records(from: file(once))
            for (position, (first, second)) in zip(once, twice).enumerated() where first != second {
                disagreements.append("\(format): record \(position + 1) reads back as \(second), was \(first)")
            }
        } catch {
            disagreements.append("\(format): records written back do not read again: \(error)")
        }
    }
}
