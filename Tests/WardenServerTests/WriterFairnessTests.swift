import Foundation
import Synchronization
import Testing
import WardenClient
import WardenProto
import WardenSync
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
            let revisions = Locked<[UInt64]>([])  // the revision each of A's grants committed at
            let reader = Thread {
                while answers.answered.load(ordering: .relaxed) < Self.pipelined, let frame = a.socket.readFrame() {
                    if frame.status != 0 { answers.failed.add(1, ordering: .relaxed) }
                    if let response = try? Warden_V1_WriteResponse(serializedBytes: frame.body) {
                        revisions.withLock { $0.append(response.revision) }
                    }
                    answers.answered.add(1, ordering: .relaxed)
                }
                answers.done.store(true, ordering: .releasing)
            }
            reader.start()
            let sent = ContinuousClock.now
            let all = frames
            // Returns once the server has read them all but what the socket buffers.
            await onThread { a.socket.send(all) }
            for _ in 0..<600 where answers.answered.load(ordering: .relaxed) == 0 {
                try await Task.sleep(for: .milliseconds(100))
            }
            let before = answers.answered.load(ordering: .relaxed)

            // Connection B: one grant, after every one of A's was sent.
            let committedBefore = try await warden.health().revision
            let started = ContinuousClock.now
            let b = try await warden.grant(Warden_V1_Grant(.user("3"), "lab.view_experiment", pk: "b")).revision
            let latency = ContinuousClock.now - started
            let atB = answers.answered.load(ordering: .relaxed)
            print(
                "writer fairness: B's single grant answered in \(latency) while A had \(Self.pipelined - atB) of \(Self.pipelined) pipelined grants unanswered (\(before) answered when B sent)"
            )

            for _ in 0..<6000 where !answers.done.load(ordering: .acquiring) {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(
                answers.answered.load(ordering: .relaxed) == Self.pipelined
                    && answers.failed.load(ordering: .relaxed) == 0
            )
            // Ordering, not time: of A's grants still uncommitted when B was sent (all of them
            // queued before B), most commit after B. A FIFO pool commits every one of them first.
            let committed = revisions.withLock { $0 }
            let pending = committed.filter { $0 > committedBefore }
            let afterB = pending.filter { $0 > b }.count
            #expect(
                pending.count > 0 && afterB * 2 > pending.count,
                "only \(afterB) of the \(pending.count) grants A had pending when B was sent committed after B"
            )
            print(
                "writer fairness: of A's \(pending.count) grants pending when B was sent, \(afterB) committed after B"
            )
            print(
                "writer fairness: A's \(Self.pipelined) pipelined grants answered in \(ContinuousClock.now - sent) (one connection's write throughput)"
            )
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
