import ArgumentParser
import Foundation
import WardenClient
import WardenProto
import WardenRecords

#if canImport(Glibc)
import Glibc
#endif

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load users, groups, memberships, content types and grants from a file.",
        discussion: """
            The file holds one record per line, as JSON lines or CSV (docs/cli.md); --format or the \
            file's extension (.jsonl, .csv) says which. Content types, users, groups and memberships go \
            in WriteBatch calls of --batch-size records (each record its own event); grants go through \
            BulkGrant in one stream (one BULK_GRANTED event). Records already present change nothing, \
            so importing twice is harmless. On a terminal, a progress line shows on stderr; a summary \
            line (rows, seconds, rows/s) ends the run.
            """
    )
    @OptionGroup var client: ClientOptions
    @Argument(help: "The file; - for stdin.") var file: String
    @Option(help: "jsonl or csv (default: from the extension, else jsonl).") var format: String?
    @Option(name: .customLong("batch-size"), help: "Records per WriteBatch call.") var batchSize = 5000
    @Option(help: "The app user the writes are made for.") var actor: String?

    func run() async throws {
        try await client.run { warden in
            let started = Date()
            let text: String
            if file == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else if let data = FileManager.default.contents(atPath: file) {
                text = String(decoding: data, as: UTF8.self)
            } else if let handle = FileHandle(forReadingAtPath: file) {
                // Pipes and other special files (/dev/stdin) are read to their end.
                text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
            } else {
                throw CommandError("\(file): cannot read")
            }
            let chosen = format ?? (file.hasSuffix(".csv") ? "csv" : "jsonl")
            guard let recordFormat = RecordFormat(rawValue: chosen) else {
                throw CommandError("--format: must be jsonl or csv (got \(chosen))")
            }
            let records: [Warden_V1_Record]
            do throws(RecordFormatError) { records = try recordFormat.records(from: text) } catch {
                throw CommandError(error.description)
            }
            let schema = records.filter { if case .grant? = $0.record { false } else { true } }
            let grants = records.compactMap { record -> Warden_V1_Grant? in
                if case .grant(let grant)? = record.record { grant } else { nil }
            }
            let progress = Progress(total: records.count)
            var done = 0
            var start = 0
            while start < schema.count {
                let chunk = Array(schema[start..<min(start + batchSize, schema.count)])
                _ = try await warden.writeBatch(chunk, actor: actor)
                start += chunk.count
                done += chunk.count
                progress.show(done)
            }
            if !grants.isEmpty {
                _ = try await warden.bulkGrant(grants, actor: actor)
                done += grants.count
                progress.show(done)
            }
            progress.finish()
            let seconds = Date().timeIntervalSince(started)
            let rate = seconds > 0 ? Double(records.count) / seconds : 0
            let summary = String(
                format: "imported %d rows (%d schema, %d grants) in %.2f s, %.0f rows/s",
                records.count,
                schema.count,
                grants.count,
                seconds,
                rate
            )
            print(
                client.json
                    ? jsonLine([
                        "rows": records.count, "schema": schema.count, "grants": grants.count, "seconds": seconds,
                    ]) : summary
            )
            return 0
        }
    }
}

/// A progress line on stderr, only when stderr is a terminal.
struct Progress {
    let total: Int
    let enabled = isatty(2) != 0

    func show(_ done: Int) {
        guard enabled, total > 0 else { return }
        let width = 30
        let filled = width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total)".utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the whole state, at one revision, in the format `warden import` reads.",
        discussion: """
            Content types (with their exact codenames), users, groups, memberships, then grants, one \
            record per line. Importing the output into an empty server reproduces every answer. \
            Example: warden export > backup.jsonl; warden export --format csv > state.csv
            """
    )
    @OptionGroup var client: ClientOptions
    @Option(help: "jsonl or csv.") var format = "jsonl"

    func run() async throws {
        try await client.run { warden in
            guard let recordFormat = RecordFormat(rawValue: format) else {
                throw CommandError("--format: must be jsonl or csv (got \(format))")
            }
            if let header = recordFormat.header() { FileHandle.standardOutput.write(Data((header + "\n").utf8)) }
            var revision: UInt64 = 0
            var count = 0
            for try await chunk in warden.export() {
                revision = chunk.revision
                var lines = ""
                for record in chunk.records {
                    lines += recordFormat.line(record) + "\n"
                    count += 1
                }
                FileHandle.standardOutput.write(Data(lines.utf8))
            }
            FileHandle.standardError.write(Data("warden: exported \(count) records at revision \(revision)\n".utf8))
            return 0
        }
    }
}
