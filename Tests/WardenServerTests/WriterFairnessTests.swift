import Foundation
import Synchronization
import Testing
import WardenClient
import WardenProto
import WardenWire

/// Writers are served fairly across connections: one connection's pipelined writes do not queue
/// ahead of another connection's single write.
@Suite("Writer fairness", .serialized)
struct WriterFairnessTests {
    /// Grants connection A pipelines.
    static let pipelined = 20_000

    @Test("a single grant is answered while another connection still has thousands of pipelined grants unanswered")
    func singleGrantOvertakes() async throws {
        try await withServer(environment: ["WARDEN_MAX_IN_FLIGHT": "\(Self.pipelined + 1000)"]) { server, warden in
            try await RPCTests.seed(warden)
            // Connection A: every grant sent at once, answers counted as they arrive.
            let a = ThreadSocket(try RawSocket(path: server.socketPath, receiveTimeout: 60))
            var frames: [UInt8] = []
            for n in 0..<Self.pipelined {
                var request = Warden_V1_GrantRequest()
                request.grant = Warden_V1_Grant(.user("2"), "lab.view_experiment", pk: "a\(n)")
                frames += try RawSocket.frame(id: UInt32(n + 1), method: .grant, request)
            }
            let answers = PipelineAnswers()
            let reader = Thread {
                while answers.answered.load(ordering: .relaxed) < Self.pipelined, let frame = a.socket.readFrame() {
                    if frame.status != 0 { answers.failed.add(1, ordering: .relaxed) }
                    answers.answered.add(1, ordering: .relaxed)
                }
                answers.done.store(true, ordering: .releasing)
            }
            reader.start()
            let sent = ContinuousClock.now
            let all = frames
            await onThread { a.socket.send(all) }  // returns once the server has read them all but what the socket buffers
            for _ in 0..<600 where answers.answered.load(ordering: .relaxed) == 0 {
                try await Task.sleep(for: .milliseconds(100))
            }
            let before = answers.answered.load(ordering: .relaxed)

            // Connection B: one grant.
            let started = ContinuousClock.now
            _ = try await warden.grant(Warden_V1_Grant(.user("3"), "lab.view_experiment", pk: "b"))
            let latency = ContinuousClock.now - started
            let atB = answers.answered.load(ordering: .relaxed)
            let unanswered = Self.pipelined - atB
            // Ordering, not time: B's grant does not wait for the grants A queued before it.
            #expect(unanswered >= 1000, "B's grant was answered after \(atB) of A's \(Self.pipelined) grants")
            #expect(atB - before < 1000, "\(atB - before) of A's grants were answered between B's grant and its answer")
            print("writer fairness: B's single grant answered in \(latency) while A had \(unanswered) of \(Self.pipelined) pipelined grants unanswered (\(before) answered when B sent)")

            for _ in 0..<1200 where !answers.done.load(ordering: .acquiring) {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(answers.answered.load(ordering: .relaxed) == Self.pipelined && answers.failed.load(ordering: .relaxed) == 0)
            print("writer fairness: A's \(Self.pipelined) pipelined grants answered in \(ContinuousClock.now - sent) (one connection's write throughput)")
        }
    }
}

/// Answers counted by a reader thread.
final class PipelineAnswers: Sendable {
    let answered = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let done = Atomic<Bool>(false)
}

/// A raw socket shared by two threads: one only sends (`send` keeps no state), the other only
/// reads (`readFrame`'s buffer is touched by that thread alone); hence unchecked.
final class ThreadSocket: @unchecked Sendable {
    let socket: RawSocket
    init(_ socket: RawSocket) { self.socket = socket }
}

/// Runs blocking `work` on a thread of its own, off Swift's cooperative threads.
func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
        Thread { continuation.resume(returning: work()) }.start()
    }
}
