import Foundation
import Testing
import WardenIndex
import WardenModel
import WardenSQLiteStore
import WardenService
import WardenStore
import WardenTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Real processes on one database file: `warden-store-child` writes and acknowledges each
/// commit on its standard output; this process follows, or kills it with SIGKILL.
@Suite("Store: real processes")
struct ProcessTests {
    @Test("writes in another process reach this process's index within a bounded time, bulk included")
    func twoProcesses() throws {
        let database = TemporaryDatabase()
        let follower = try IndexReplica(store: database.open())
        follower.startFollowing()
        defer { follower.stop() }
        let child = try ChildWriter(database: database.path, count: 200)
        let acks = child.waitForExit()
        #expect(child.finished, "the child did not finish: \(child.lastLines)")
        let last = try #require(acks.last).revision
        let deadline = ContinuousClock.now + .seconds(10)
        while follower.index.revision < last && ContinuousClock.now < deadline { usleep(2000) }
        #expect(follower.index.revision == last)
        for ack in acks {
            for pk in ack.pks {
                let request = CheckRequest(
                    subject: .user("writer"),
                    permission: "files.read_file",
                    object: ObjectRef(contentType: "files.file", pk: pk)
                )
                #expect(try follower.index.check(request).value.reason == .objectGrantUser, "\(pk)")
            }
        }
        #expect(try indexEqualsDatabase(follower.index, follower.store))
    }

    @Test("kill -9 at random moments loses no acknowledged write and leaves no half-written one")
    func killNine() throws {
        let rounds = Int(ProcessInfo.processInfo.environment["WARDEN_CRASH_ROUNDS"] ?? "") ?? 3
        let database = TemporaryDatabase()
        var random = SystemRandomNumberGenerator()
        var acknowledged: [String] = []
        for round in 0..<rounds {
            let child = try ChildWriter(database: database.path, count: 1_000_000)
            // Wait for the first acknowledgement, then a random while, then kill.
            let started = ContinuousClock.now
            while child.acks.isEmpty && child.isRunning && ContinuousClock.now - started < .seconds(20) { usleep(1000) }
            usleep(UInt32.random(in: 5_000...150_000, using: &random))
            child.kill()
            let acks = child.waitForExit()
            #expect(!child.finished, "round \(round): the child finished before it was killed")
            acknowledged += acks.flatMap(\.pks)

            let store = try database.open()
            let snapshot = try store.snapshot()
            var present = Set<ExactString>()
            for case .grant(let grant) in snapshot.changes { if let pk = grant.pk { present.insert(ExactString(pk)) } }
            let lost = acknowledged.filter { !present.contains(ExactString($0)) }
            #expect(lost.isEmpty, "round \(round): acknowledged writes lost: \(lost.prefix(5))")
            // Every row has its event and every event its rows: nothing half-written.
            let events = try store.events(after: .zero, limit: 10_000_000)
            let single = events.filter { $0.kind == .grantAdded }.count
            let bulk = events.filter { $0.kind == .bulkGranted }.reduce(0) { $0 + ($1.count ?? 0) }
            #expect(
                present.count == single + bulk,
                "round \(round): \(present.count) rows, \(single) + \(bulk) in events"
            )
            #expect(events.last?.revision == snapshot.revision)
            let replica = try IndexReplica(store: store)
            #expect(try indexEqualsDatabase(replica.index, store))
        }
        #expect(acknowledged.count >= rounds)
        print("kill -9: \(rounds) rounds, \(acknowledged.count) acknowledged writes, none lost")
    }
}

/// One acknowledged commit of the child: its revision and the pks it granted.
struct Acknowledgement {
    let revision: Revision
    let pks: [String]
}

/// `warden-store-child write DB COUNT`, running, its output read line by line.
final class ChildWriter: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()
    private let lock = NSLock()
    private var received: [Acknowledgement] = []
    private var lines: [String] = []
    private var done = false
    private let reader = DispatchGroup()

    init(database: String, count: Int) throws {
        process.executableURL = try Self.binary()
        process.arguments = ["write", database, String(count)]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let handle = output.fileHandleForReading
        reader.enter()
        DispatchQueue.global().async { [self] in
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    self.take(line)
                }
            }
            reader.leave()
        }
    }

    private func take(_ line: String) {
        lock.withLock {
            lines.append(line)
            let words = line.split(separator: " ").map(String.init)
            if words.first == "ack", words.count >= 3, let revision = UInt64(words[1]) {
                received.append(Acknowledgement(revision: Revision(revision), pks: Array(words[2...])))
            } else if line == "done" {
                done = true
            }
        }
    }

    var acks: [Acknowledgement] { lock.withLock { received } }
    var finished: Bool { lock.withLock { done } }
    var lastLines: [String] { lock.withLock { Array(lines.suffix(3)) } }
    var isRunning: Bool { process.isRunning }

    /// SIGKILL: no chance to flush, close or roll back anything.
    func kill() { _ = Glibc.kill(process.processIdentifier, SIGKILL) }

    /// Waits for the process and its output, returning every acknowledgement read.
    func waitForExit() -> [Acknowledgement] {
        process.waitUntilExit()
        reader.wait()
        return acks
    }

    /// The child binary: built next to the test bundle by `swift build --build-tests`.
    static func binary() throws -> URL { try BuiltProducts.executable(named: "warden-store-child") }
}
