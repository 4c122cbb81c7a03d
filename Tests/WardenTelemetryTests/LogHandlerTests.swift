import Foundation
import Logging
import Synchronization
import Testing
import WardenSync

@testable import WardenTelemetry

/// Collects the lines a handler writes.
final class LineCollector: Sendable {
    private let storage = Locked<[String]>([])

    var sink: LogSink {
        LogSink { line in self.storage.withLock { $0.append(line) } }
    }

    var lines: [String] {
        self.storage.withLock { $0 }
    }
}

/// 2026-11-22T17:30:00.123Z.
let fixedDate = Date(timeIntervalSince1970: 1_795_368_600.123)

struct FailedCheck: Error, CustomStringConvertible {
    var description: String { "store unavailable" }
}

/// A JSON line as a dictionary, or a test failure.
func parseJSON(_ line: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
    return try #require(object as? [String: Any])
}

@Suite("JSON log lines")
struct JSONLogHandlerTests {
    func makeLogger(_ collector: LineCollector, level: Logger.Level = .info) -> Logger {
        var handler = JSONLogHandler(label: "warden", level: level, sink: collector.sink)
        handler.clock = { fixedDate }
        return Logger(label: "warden") { _ in handler }
    }

    @Test("one object per line with time, level, label, message, source and nested metadata")
    func fieldsAndNestedMetadata() throws {
        let collector = LineCollector()
        let logger = makeLogger(collector)
        logger.info(
            "check allowed",
            metadata: [
                "user": "joe",
                "port": .stringConvertible(8080),
                "groups": ["admins", "ops"],
                "request": ["id": "r-1", "tags": ["a", ["deep": "yes"]]],
            ],
            source: "WardenService"
        )
        #expect(collector.lines.count == 1)
        let line = try #require(collector.lines.first)
        #expect(!line.contains("\n"))
        let record = try parseJSON(line)
        #expect(Set(record.keys) == ["time", "level", "label", "message", "source", "metadata"])
        #expect(record["time"] as? String == "2026-11-22T17:30:00.123Z")
        #expect(record["level"] as? String == "info")
        #expect(record["label"] as? String == "warden")
        #expect(record["message"] as? String == "check allowed")
        #expect(record["source"] as? String == "WardenService")
        let metadata = try #require(record["metadata"] as? [String: Any])
        #expect(metadata["user"] as? String == "joe")
        #expect(metadata["port"] as? String == "8080")
        #expect(metadata["groups"] as? [String] == ["admins", "ops"])
        let request = try #require(metadata["request"] as? [String: Any])
        #expect(request["id"] as? String == "r-1")
        let tags = try #require(request["tags"] as? [Any])
        #expect(tags.first as? String == "a")
        #expect((tags.last as? [String: Any])?["deep"] as? String == "yes")
    }

    @Test("quotes, backslashes, newlines, control characters and non-ASCII survive a round trip")
    func escaping() throws {
        let collector = LineCollector()
        let logger = makeLogger(collector)
        let nasty = "say \"hi\"\\ \n next\tline \u{1} é 🔐 </script>"
        logger.error("\(nasty)", metadata: [nasty: "\(nasty)"])
        let line = try #require(collector.lines.first)
        #expect(!line.contains("\n") && !line.contains("\t") && !line.contains("\u{1}"))
        let record = try parseJSON(line)
        #expect(record["message"] as? String == nasty)
        #expect((record["metadata"] as? [String: Any])?[nasty] as? String == nasty)
        #expect(record["level"] as? String == "error")
    }

    @Test("keys are sorted at every depth, so equal records give equal bytes")
    func deterministic() throws {
        let collector = LineCollector()
        let logger = makeLogger(collector)
        logger.info("m", metadata: ["b": "2", "a": ["z": "1", "y": "2"], "c": "3"], source: "S")
        logger.info("m", metadata: ["c": "3", "a": ["y": "2", "z": "1"], "b": "2"], source: "S")
        let lines = collector.lines
        #expect(lines.count == 2 && lines[0] == lines[1])
        #expect(
            lines[0]
                == #"{"label":"warden","level":"info","message":"m","metadata":{"a":{"y":"2","z":"1"},"b":"2","c":"3"},"source":"S","time":"2026-11-22T17:30:00.123Z"}"#
        )
    }

    @Test("records below the level are dropped, by Logger and by direct calls")
    func levelFiltering() throws {
        let collector = LineCollector()
        let logger = makeLogger(collector, level: .warning)
        logger.trace("t")
        logger.debug("d")
        logger.info("i")
        logger.notice("n")
        logger.warning("w")
        logger.error("e")
        logger.critical("c")
        let levels = try collector.lines.map { try parseJSON($0)["level"] as? String }
        #expect(levels == ["warning", "error", "critical"])

        let handler = JSONLogHandler(label: "direct", level: .error, sink: collector.sink)
        handler.log(
            event: LogEvent(
                level: .info,
                message: "no",
                metadata: nil,
                source: "S",
                file: #fileID,
                function: #function,
                line: #line
            )
        )
        #expect(collector.lines.count == 3)
    }

    @Test("handler metadata, then the provider, then the statement win on a shared key; errors add error.*")
    func metadataMerging() throws {
        let collector = LineCollector()
        var handler = JSONLogHandler(
            label: "warden",
            metadata: ["shared": "handler", "only-handler": "h"],
            metadataProvider: Logger.MetadataProvider {
                ["shared": "provider", "only-provider": "p", "both": "provider"]
            },
            sink: collector.sink
        )
        handler[metadataKey: "added"] = "x"
        var logger = Logger(label: "warden") { _ in handler }
        logger[metadataKey: "logger"] = "l"
        logger.error("failed", error: FailedCheck(), metadata: ["both": "statement"])
        let line = try #require(collector.lines.first)
        let metadata = try #require(try parseJSON(line)["metadata"] as? [String: Any])
        #expect(metadata["shared"] as? String == "provider")
        #expect(metadata["only-handler"] as? String == "h")
        #expect(metadata["only-provider"] as? String == "p")
        #expect(metadata["both"] as? String == "statement")
        #expect(metadata["added"] as? String == "x")
        #expect(metadata["logger"] as? String == "l")
        #expect(metadata["error.message"] as? String == "store unavailable")
        #expect((metadata["error.type"] as? String)?.hasSuffix("FailedCheck") == true)
    }

    @Test("a record without metadata still has an empty metadata object")
    func emptyMetadata() throws {
        let collector = LineCollector()
        makeLogger(collector).notice("hello")
        let record = try parseJSON(try #require(collector.lines.first))
        #expect((record["metadata"] as? [String: Any])?.isEmpty == true)
    }
}

@Suite("Text log lines")
struct TextLogHandlerTests {
    func makeLogger(_ collector: LineCollector, level: Logger.Level = .info) -> Logger {
        var handler = TextLogHandler(label: "warden", level: level, sink: collector.sink)
        handler.clock = { fixedDate }
        return Logger(label: "warden") { _ in handler }
    }

    @Test("time level label: message sorted key=value pairs [source]")
    func shape() throws {
        let collector = LineCollector()
        makeLogger(collector).info(
            "check allowed",
            metadata: ["key2": "value2", "key": "value"],
            source: "WardenService"
        )
        #expect(
            collector.lines == [
                "2026-11-22T17:30:00.123Z info warden: check allowed key=value key2=value2 [WardenService]"
            ]
        )
    }

    @Test("no metadata: message then source")
    func noMetadata() {
        let collector = LineCollector()
        makeLogger(collector).warning("slow watcher", source: "WardenServer")
        #expect(collector.lines == ["2026-11-22T17:30:00.123Z warning warden: slow watcher [WardenServer]"])
    }

    @Test("values with spaces, quotes or newlines are quoted; a record stays on one line")
    func quoting() throws {
        let collector = LineCollector()
        makeLogger(collector).info(
            "two\nlines",
            metadata: [
                "user": "joe smith", "q": "say \"hi\"", "empty": "", "list": ["a", "b"],
                "nested": ["z": "1", "a": "2"],
            ],
            source: "S"
        )
        let line = try #require(collector.lines.first)
        #expect(!line.contains("\n"))
        #expect(
            line
                == #"2026-11-22T17:30:00.123Z info warden: two\nlines empty="" list="[a, b]" nested="[a: 2, z: 1]" q="say \"hi\"" user="joe smith" [S]"#
        )
    }

    @Test("level filtering and the default source of the calling module")
    func levelAndSource() throws {
        let collector = LineCollector()
        let logger = makeLogger(collector, level: .notice)
        logger.info("dropped")
        logger.notice("kept")
        #expect(collector.lines == ["2026-11-22T17:30:00.123Z notice warden: kept [WardenTelemetryTests]"])
    }

    @Test("the real clock gives an ISO 8601 UTC time with milliseconds")
    func realClock() throws {
        let collector = LineCollector()
        let handler = TextLogHandler(label: "warden", sink: collector.sink)
        Logger(label: "warden") { _ in handler }.info("now")
        let line = try #require(collector.lines.first)
        let time = String(line.prefix(while: { $0 != " " }))
        #expect(time.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil)
        let parsed = try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(time)
        #expect(abs(parsed.timeIntervalSinceNow) < 60)
    }

    @Test("timestamps: milliseconds are not lost to floating point, and dates before 1970 work")
    func timestamps() {
        #expect(LogRecordSupport.timestamp(fixedDate) == "2026-11-22T17:30:00.123Z")
        #expect(LogRecordSupport.timestamp(Date(timeIntervalSince1970: 0.999)) == "1970-01-01T00:00:00.999Z")
        #expect(LogRecordSupport.timestamp(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
    }

    @Test("Telemetry.makeLogHandler picks the format and level")
    func factory() throws {
        let collector = LineCollector()
        let json = Telemetry.makeLogHandler(label: "a", format: .json, level: .debug, sink: collector.sink)
        let text = Telemetry.makeLogHandler(label: "b", format: .text, level: .error, sink: collector.sink)
        #expect(json is JSONLogHandler && json.logLevel == .debug)
        #expect(text is TextLogHandler && text.logLevel == .error)
        #expect(LogFormat(rawValue: "json") == .json && LogFormat(rawValue: "xml") == nil)
        Logger(label: "a") { _ in json }.debug("d")
        #expect(try parseJSON(try #require(collector.lines.first))["label"] as? String == "a")
    }
}

@Suite("Standard sinks")
struct SinkTests {
    @Test("the descriptor writer writes whole lines with a newline, from many threads without interleaving")
    func descriptorWriter() throws {
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        defer { close(descriptors[0]) }
        let writeEnd = descriptors[1]
        let line = String(repeating: "x", count: 200)
        DispatchQueue.concurrentPerform(iterations: 50) { index in
            FileDescriptorWriter.write("\(index % 10) \(line)", to: writeEnd)
        }
        close(writeEnd)
        let data = FileHandle(fileDescriptor: descriptors[0], closeOnDealloc: false).readDataToEndOfFile()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 51 && lines.last == "")
        #expect(lines.dropLast().allSatisfy { $0.count == 202 && $0.hasSuffix(line) })
    }
}
