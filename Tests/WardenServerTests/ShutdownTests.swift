import Foundation
import Synchronization
import Testing
import WardenClient
import WardenProto
import WardenWire

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM while watches replay a large history: the server stops within its grace, in order,
/// with nothing scheduled on a stopped event loop.
@Suite("Shutdown", .serialized)
struct ShutdownTests {
    @Test("SIGTERM during 40 history replays exits within the grace, without 'Cannot schedule tasks'")
    func sigtermDuringReplays() async throws {
        let grace = 10
        let server = try await ServerProcess(environment: ["WARDEN_SHUTDOWN_GRACE": "\(grace)s"])
        defer { server.removeFolder() }
        let warden = try await server.connect()
        try await ReplayFixture.history(warden, events: WatchReplayTests.historyEvents)
        // 20 watchers that read everything, 20 that read nothing.
        let readers = try ReplayFixture.watchers(server, count: 20).map(ThreadSocket.init)
        let silent = try ReplayFixture.watchers(server, count: 20)
        let frames = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        for reader in readers {
            Thread {
                while reader.socket.readFrame() != nil { frames.add(1, ordering: .relaxed) }
                finished.add(1, ordering: .relaxed)
            }.start()
        }
        _ = try await ReplayFixture.watchersSettle(warden, at: 40)
        for _ in 0..<600 where frames.load(ordering: .relaxed) < 100 {
            try await Task.sleep(for: .milliseconds(100))
        }
        await warden.close()

        let started = ContinuousClock.now
        kill(server.pid, SIGTERM)
        for _ in 0..<((grace + 30) * 10) where server.isRunning {
            try await Task.sleep(for: .milliseconds(100))
        }
        let took = ContinuousClock.now - started
        let exited = !server.isRunning
        if !exited { server.kill9() }
        #expect(exited, "the server still ran \(took) after SIGTERM with a \(grace) s grace")
        let log = server.output
        let unscheduled = log.components(separatedBy: "Cannot schedule tasks").count - 1
        #expect(
            unscheduled == 0,
            "\(unscheduled) log lines of 'Cannot schedule tasks on an EventLoop that has already shut down'"
        )
        #expect(server.stop() == 0, "exit status")
        print(
            "shutdown: SIGTERM during 40 replays over \(WatchReplayTests.historyEvents) events (20 reading, \(frames.load(ordering: .relaxed)) frames read): exited in \(took) with a \(grace) s grace; \(unscheduled) 'Cannot schedule tasks' lines"
        )
        withExtendedLifetime(silent) {}
    }
}
