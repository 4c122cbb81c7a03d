import Foundation
import Synchronization
import Testing
import WardenClient
import WardenProto
import WardenSync

/// Load on several hosts while something goes wrong: on every host `writersPerHost` writers,
/// each granting new objects one after another (a write answered `UNAVAILABLE` is counted and
/// the writer goes on after a short pause; any other error is recorded), and one reader
/// checking without `min_revision` (every error is recorded: reads must keep answering from
/// the index).
///
/// Thread safety: `state` guards every figure; `stopping` is atomic; `tasks` is touched only by
/// the test's task (`start`, `stop`).
final class HostLoad: @unchecked Sendable {
    static let writersPerHost = 4

    /// The figures so far.
    struct Figures: Sendable {
        var perWriter: [Int]
        var acknowledgedPKs: [String] = []
        var unavailable = 0
        var otherErrors: [String] = []
        var reads = 0
        var readErrors: [String] = []
        var acknowledged: Int { acknowledgedPKs.count }
    }

    private let hosts: [WardenConnection]
    private let state: Locked<Figures>
    private let stopping = Atomic<Bool>(false)
    private var tasks: [Task<Void, Never>] = []

    init(hosts: [WardenConnection]) {
        self.hosts = hosts
        state = Locked(Figures(perWriter: Array(repeating: 0, count: hosts.count * Self.writersPerHost)))
    }

    func start() {
        for (host, warden) in hosts.enumerated() {
            for writer in 0..<Self.writersPerHost {
                let slot = host * Self.writersPerHost + writer
                tasks.append(Task { await self.write(warden, slot: slot, user: PostgresHosts.user(writer)) })
            }
            tasks.append(Task { await self.read(warden) })
        }
    }

    private func write(_ warden: WardenConnection, slot: Int, user: String) async {
        var next = 0
        while !stopping.load(ordering: .acquiring) {
            let pk = "s\(slot)k\(next)"
            do {
                let reply = try await warden.grant(
                    Warden_V1_Grant(.user(user), PostgresHosts.permission, pk: pk),
                    timeout: .seconds(60)
                )
                state.withLock {
                    $0.perWriter[slot] += 1
                    $0.acknowledgedPKs.append(pk)
                    if !reply.changed {
                        $0.otherErrors.append("\(pk): acknowledged without a change at \(reply.revision)")
                    }
                }
                next += 1
            } catch let error as WardenError where error.code == .unavailable {
                // May or may not have committed (a lost COMMIT): the next write takes a new pk.
                state.withLock { $0.unavailable += 1 }
                next += 1
                try? await Task.sleep(for: .milliseconds(20))  // pacing, not correctness
            } catch {
                state.withLock { $0.otherErrors.append("\(pk): \(error)") }
                next += 1
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    private func read(_ warden: WardenConnection) async {
        while !stopping.load(ordering: .acquiring) {
            do {
                _ = try await warden.check(
                    .user("u0"),
                    PostgresHosts.permission,
                    object: PostgresHosts.object("s0k0"),
                    timeout: .seconds(60)
                )
                state.withLock { $0.reads += 1 }
            } catch {
                state.withLock { $0.readErrors.append("\(error)") }
            }
            try? await Task.sleep(for: .milliseconds(5))  // pacing: leave the cores to the servers
        }
    }

    func snapshot() -> Figures { state.withLock { $0 } }

    /// Polls the figures until `condition` holds; throws after `seconds`.
    func waitUntil(seconds: Double, _ what: String, _ condition: (Figures) -> Bool) async throws {
        guard await waitUntilQuietly(seconds: seconds, condition) else {
            throw ServerError("\(what) did not happen within \(seconds) s: \(snapshot())")
        }
    }

    /// Polls the figures until `condition` holds; `false` after `seconds`.
    func waitUntilQuietly(seconds: Double, _ condition: (Figures) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if condition(snapshot()) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition(snapshot())
    }

    /// Stops every writer and reader (each finishes its call in flight); returns the figures.
    func stop() async -> Figures {
        stopping.store(true, ordering: .releasing)
        for task in tasks { await task.value }
        return snapshot()
    }
}
