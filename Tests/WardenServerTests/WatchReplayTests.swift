import Foundation
import Testing
import WardenClient
import WardenProto
import WardenWire

#if canImport(Glibc)
import Glibc
#endif

/// Watch history against a large changelog: a replay costs its own watcher only. Watchers that
/// leave, or that do not read, hold no thread writes need; the replay stops with its connection.
@Suite("Watch history replay", .serialized)
struct WatchReplayTests {
    /// Events in the changelog the tests replay.
    static let historyEvents = 100_000
    /// Watches at once, from revision 0.
    static let watchers = 40

    @Test(
        "40 watches from revision 0, silent then closed at once: 12 grants with 5 s deadlines all answer, watchers go back to 0"
    )
    func starvation() async throws {
        try await withServer { server, warden in
            try await ReplayFixture.history(warden, events: Self.historyEvents)
            // One watcher alone that reads everything: the replay's pace, for the docs.
            let latest = try await warden.health().revision
            let alone = ContinuousClock.now
            let history = try await WatchTests.take(Int(latest), from: warden.watch(afterRevision: 0), seconds: 300)
            #expect(history.last?.revision == latest)
            print("watch replay: one watcher read \(history.count) events of history in \(ContinuousClock.now - alone)")

            // Watchers that never read.
            var cpuBefore = ProcessSample.cpuSeconds(pid: server.pid)
            let rssBefore = ProcessSample.rssKiB(pid: server.pid)
            var sockets = try ReplayFixture.watchers(server, count: Self.watchers)
            _ = try await ReplayFixture.watchersSettle(warden, at: Self.watchers)
            var writes = try await ReplayFixture.grants(warden, count: 12)
            #expect(writes.failures == 0, "silent watchers: \(writes)")
            #expect(try await warden.stats().watchers == UInt64(Self.watchers))
            var cpu = ProcessSample.cpuSeconds(pid: server.pid) - cpuBefore
            let rss = ProcessSample.rssKiB(pid: server.pid)
            // Each silent watcher holds at most a page or two of history in the server (the rest
            // stays in the changelog): far below the 100,000 events each asked for.
            #expect(rss - rssBefore < 200 * 1024, "RSS grew \(rss - rssBefore) KiB")
            print(
                "watch replay: \(Self.watchers) silent watches over \(Self.historyEvents) events: \(writes); server CPU \(String(format: "%.1f", cpu)) s, RSS \(rssBefore / 1024) → \(rss / 1024) MiB"
            )
            sockets.removeAll()
            var watchers = try await ReplayFixture.watchersSettle(warden, at: 0)
            #expect(watchers == 0, "stats still counts \(watchers) watchers after their connections closed")

            // Watchers whose replay runs (each took its first page), then all close at once.
            cpuBefore = ProcessSample.cpuSeconds(pid: server.pid)
            sockets = try ReplayFixture.watchers(server, count: Self.watchers)
            for socket in sockets {
                let frame = socket.readFrame()
                #expect(frame?.status == 0 && frame?.requestID == 1, "a watcher got no history")
            }
            sockets.removeAll()
            writes = try await ReplayFixture.grants(warden, count: 12)
            #expect(writes.failures == 0, "closed watchers: \(writes)")
            watchers = try await ReplayFixture.watchersSettle(warden, at: 0)
            #expect(watchers == 0, "stats still counts \(watchers) watchers with no watch connection open")
            cpu = ProcessSample.cpuSeconds(pid: server.pid) - cpuBefore
            print(
                "watch replay: \(Self.watchers) watches from revision 0 over \(Self.historyEvents) events, closed at once: \(writes); server CPU \(String(format: "%.1f", cpu)) s from the watches' start until watchers = 0"
            )
        }
    }

    @Test(
        "a watcher that reads gets every page of history in order, with live writes during the replay, no gap and no repeat"
    )
    func everyPageInOrder() async throws {
        try await withServer { _, warden in
            try await ReplayFixture.history(warden, events: 5_500)
            let stream = warden.watch(afterRevision: 0)
            let live = 200
            for n in 0..<live {
                _ = try await warden.grant(Warden_V1_Grant(.user("2"), "lab.view_experiment", pk: "live-\(n)"))
            }
            let latest = try await warden.health().revision
            let events = try await WatchTests.take(Int(latest), from: stream, seconds: 120)
            #expect(events.map(\.revision) == Array(1...latest))
        }
    }
}

/// The live events a watch buffered while it replayed reach it in frames of at most 1,000 events
/// (a review found them handed over as one frame, which past the watch backlog would cut off a
/// client that read everything).
@Suite("Watch: buffered live events", .serialized)
struct WatchBufferTests {
    @Test(
        "15,000 events written while a watcher's replay waits for it arrive after its history, in frames of at most 1,000, no gap"
    )
    func bufferedInFrames() async throws {
        try await withServer { server, warden in
            try await ReplayFixture.history(warden, events: 40_000)
            let watcher = try ReplayFixture.watchers(server, count: 1)[0]
            // The watcher reads nothing yet: its replay stops once the socket is full, and what is
            // written now is buffered for it.
            let afterHistory = try await warden.health().revision
            var written = 0
            while written < 15_000 {
                let records = (written..<written + 5_000).map { n in
                    Warden_V1_Record.with { $0.grant = Warden_V1_Grant(.user("2"), "lab.view_experiment", pk: "b\(n)") }
                }
                // A fixture: slow under TSan, never wrong.
                _ = try await warden.writeBatch(records, timeout: .seconds(600))
                written += 5_000
            }
            let latest = try await warden.health().revision
            #expect(latest > afterHistory)
            var next: UInt64 = 1
            var largest = 0
            while next <= latest {
                guard let frame = watcher.readFrame() else {
                    Issue.record("the watch ended at revision \(next - 1) of \(latest)")
                    return
                }
                #expect(
                    frame.requestID == 1 && frame.status == 0,
                    "status \(frame.status): \(frame.errorStatus?.message ?? "")"
                )
                guard frame.status == 0 else { return }
                let events = try Warden_V1_WatchResponse(serializedBytes: frame.body).events
                largest = max(largest, events.count)
                for event in events {
                    #expect(event.revision == next, "expected revision \(next), got \(event.revision)")
                    next = event.revision + 1
                }
            }
            #expect(largest <= 1000, "a frame of \(largest) events")
            print(
                "watch buffer: \(latest - afterHistory) live events buffered during a paused replay; largest frame \(largest) events"
            )
        }
    }
}

/// A large changelog, and raw watch connections, for the replay and shutdown tests.
enum ReplayFixture {
    /// Seeds the lab data, then writes about `events` events with WriteBatch (one event per record).
    static func history(_ warden: WardenConnection, events: Int) async throws {
        try await RPCTests.seed(warden)
        let started = ContinuousClock.now
        var written = 0
        while written < events {
            let count = min(10_000, events - written)
            let records = (written..<written + count).map { n in
                Warden_V1_Record.with { $0.grant = Warden_V1_Grant(.user("1"), "lab.view_experiment", pk: "h\(n)") }
            }
            _ = try await warden.writeBatch(records, timeout: .seconds(600))  // a fixture: slow under TSan, never wrong
            written += count
        }
        print("replay fixture: \(events) events written in \(ContinuousClock.now - started)")
    }

    /// `count` raw connections, each with a watch on request id 1 from revision 0.
    static func watchers(_ server: ServerProcess, count: Int) throws -> [RawSocket] {
        var request = Warden_V1_WatchRequest()
        request.afterRevision = 0
        let frame = try RawSocket.frame(id: 1, method: .watch, request)
        return try (0..<count).map { _ in
            let socket = try RawSocket(path: server.socketPath, receiveTimeout: 30)
            socket.send(frame)
            return socket
        }
    }

    /// Single grants, one after another, each with a 5 s deadline.
    static func grants(_ warden: WardenConnection, count: Int) async throws -> WriteRecord {
        var record = WriteRecord()
        for n in 0..<count {
            let started = ContinuousClock.now
            do {
                _ = try await warden.grant(
                    Warden_V1_Grant(.user("3"), "lab.view_experiment", pk: "g-\(UUID())-\(n)"),
                    timeout: .seconds(5)
                )
                record.answered += 1
            } catch {
                record.failures += 1
                record.firstFailure = record.firstFailure ?? "\(error)"
            }
            record.slowest = max(record.slowest, ContinuousClock.now - started)
        }
        return record
    }

    /// Polls `stats` until it counts `expected` watchers (at most 60 s); returns the last count.
    static func watchersSettle(_ warden: WardenConnection, at expected: Int) async throws -> Int {
        var watchers = Int(try await warden.stats().watchers)
        for _ in 0..<600 where watchers != expected {
            try await Task.sleep(for: .milliseconds(100))
            watchers = Int(try await warden.stats().watchers)
        }
        return watchers
    }
}

/// Writes sent during a hostile load: how many answered, the slowest.
struct WriteRecord: CustomStringConvertible {
    var answered = 0
    var failures = 0
    var slowest = Duration.zero
    var firstFailure: String?

    var description: String {
        "\(answered) of \(answered + failures) grants answered, slowest \(slowest)"
            + (firstFailure.map { " (first failure: \($0))" } ?? "")
    }
}

extension ProcessSample {
    /// The CPU time (user + system) a process has used, in seconds, from `/proc/<pid>/stat`.
    static func cpuSeconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
