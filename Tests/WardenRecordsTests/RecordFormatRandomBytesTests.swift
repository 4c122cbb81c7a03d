import Testing
import WardenFuzzing
import WardenProto
import WardenRecords
import WardenTestSupport

/// The import parser on 20,000 seeded random and mutated files (the fuzz target's properties, in
/// the normal suite): no crash; every error a `RecordFormatError` naming a line of the file and,
/// where one is at fault, a field the format knows; CRLF files read as LF ones; what parses reads
/// back as written. Then every input of `Fuzz/regressions/import`.
@Suite("Import parser on random bytes")
struct RecordFormatRandomBytesTests {
    /// Fields an error may name: the CSV columns and the JSON-only keys.
    static let knownFields = Set(RecordFormat.csvColumns + ["defaults", "custom"])

    @Test("20,000 seeded inputs: typed errors naming a line and a field, round trips hold")
    func randomBytes() {
        var random = SplitMix64(seed: 0x1_4D90_47)
        let seeds = SeedInputs.imports().map(\.input)
        var failures: [String] = []
        var parsed = 0
        var refused = 0
        for round in 0..<20_000 {
            let input = RandomInputs.make(round: round, seeds: seeds, using: &random)
            let outcome = ImportParsing.run(input)
            failures += Self.problems(outcome).map {
                "\($0) for \(String(decoding: input, as: UTF8.self).debugDescription)"
            }
            for result in outcome.results.values {
                if case .success = result { parsed += 1 } else { refused += 1 }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures; the first: \(failures.prefix(3))")
        // Both kinds of input occur: the mutations keep many files valid.
        #expect(parsed > 1000 && refused > 1000, "parsed \(parsed), refused \(refused)")
    }

    @Test("regressions: every input of Fuzz/regressions/import")
    func regressions() {
        let inputs = Regressions.inputs("import")
        #expect(!inputs.isEmpty)
        for (name, input) in inputs {
            #expect(Self.problems(ImportParsing.run(input)).isEmpty, "import/\(name)")
        }
    }

    @Test("a JSON lines file with CRLF line ends reads as with LF")
    func crlf() throws {
        let records = try RecordFormat.jsonl.records(
            from: "{\"kind\": \"group\", \"group\": \"a\"}\r\n{\"kind\": \"group\", \"group\": \"b\"}\r\n"
        )
        #expect(records.map(\.group) == ["a", "b"])
    }

    @Test("a CSV value holding CRLF is quoted, so it reads back whole")
    func csvCRLF() throws {
        var record = Warden_V1_Record()
        record.group = "two\r\nlines"
        let file = RecordFormat.csv.header()! + "\n" + RecordFormat.csv.line(record) + "\n"
        #expect(try RecordFormat.csv.records(from: file) == [record])
    }

    @Test("a content type's codenames and defaults survive export and import in both formats")
    func contentTypes() throws {
        for (defaults, custom) in [(false, [String]()), (false, ["drive_car"]), (true, []), (true, ["publish_post"])] {
            var record = Warden_V1_Record()
            record.contentType.contentType = "blog.post"
            record.contentType.defaults = defaults
            record.contentType.custom = custom
            for format in RecordFormat.allCases {
                let file = ((format.header().map { [$0] } ?? []) + [format.line(record)]).joined(separator: "\n")
                #expect(try format.records(from: file) == [record], "\(format): \(file)")
            }
        }
    }

    /// A broken property: a disagreement, or an error naming no field the format knows.
    static func problems(_ outcome: ImportParsing.Outcome) -> [String] {
        var problems = outcome.disagreements
        for (format, result) in outcome.results {
            guard case .failure(let error) = result else { continue }
            if let field = error.field {
                let column = format == .csv && error.line == 1 && error.message.hasPrefix("unknown column")
                if !column && !knownFields.contains(field) { problems.append("unknown field: \(error)") }
                if !error.message.contains("\"\(field)\"") { problems.append("message without its field: \(error)") }
            } else if !(format == .jsonl && error.message == "not a JSON object") {
                problems.append("names no field: \(error)")
            }
        }
        return problems
    }
}
