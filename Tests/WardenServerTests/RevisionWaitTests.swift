import Foundation
import NIOCore
import Testing
import WardenProto
import WardenSync
import WardenWire

@testable import WardenClient

/// Reads with `min_revision` the server has not reached wait on a waiter list, completed by the
/// code that advances the index: no thread is held, so unmet waits never starve writes.
@Suite("min_revision waits hold no thread", .serialized)
struct RevisionWaitTests {
    @Test("64 unmet min_revision waits (the pool has 16 threads) leave writes free; the waits answer once reached")
    func waitsLeaveWritesFree() async throws {
        try await withServer { server, warden in
            try await RPCTests.seed(warden)
            let target = try await warden.health().revision + 2
            var readers: [WardenConnection] = []
            var waits: [EventLoopFuture<Frame>] = []
            let answered = Locked(0)
            for _ in 0..<8 {
                let reader = try await server.connect()
                readers.append(reader)
                for _ in 0..<8 {
                    let wait = Self.waitingCheck(reader, .user("2"), pk: "late", minRevision: target)
                    wait.whenComplete { _ in answered.withLock { $0 += 1 } }
                    waits.append(wait)
                }
                // Answered after the 8 reads of its connection were handled: they are waiting.
                _ = try await reader.health()
            }
            // The write needs a pool thread; the 64 waits must not hold them.
            let first = try await warden.grant(
                Warden_V1_Grant(.user("1"), "lab.view_experiment", pk: "early"),
                timeout: .seconds(20)
            )
            #expect(first.revision == target - 1)
            #expect(answered.withLock { $0 } == 0, "no wait answers before its revision")
            let second = try await warden.grant(
                Warden_V1_Grant(.user("2"), "lab.publish_experiment", pk: "late"),
                timeout: .seconds(20)
            )
            #expect(second.revision == target)
            for wait in waits {
                let answer = try WardenConnection.decode(try await wait.get(), as: Warden_V1_CheckResponse.self)
                #expect(answer.decision.allowed)
                #expect(answer.revision >= target)
            }
            for reader in readers { await reader.close() }
        }
    }

    @Test("a wait for a revision that never comes answers UNAVAILABLE at its deadline, naming both revisions")
    func neverReached() async throws {
        try await withServer { server, warden in
            try await RPCTests.seed(warden)
            let current = try await warden.health().revision
            await #expect {
                _ = try await warden.check(
                    .user("1"),
                    "lab.change_experiment",
                    object: RPCTests.experiment("4"),
                    minRevision: current + 50,
                    timeout: .milliseconds(400)
                )
            } throws: { error in
                guard let error = error as? WardenError else { return false }
                return error.code == .unavailable
                    && error.message
                        == "min_revision \(current + 50) is not reached (this process is at \(current)); retry later"
            }
            // Without a deadline, the server's default wait (5 s) ends it the same way.
            let unbounded = try await WardenConnection.connect(
                socketPath: server.socketPath,
                group: ServerProcess.group,
                defaultTimeout: nil
            )
            await #expect {
                _ = try await unbounded.check(.user("1"), "lab.change_experiment", minRevision: current + 50)
            } throws: { error in (error as? WardenError)?.code == .unavailable }
            await unbounded.close()
            // The waits are gone: the connection still answers, and writes run.
            _ = try await warden.grant(Warden_V1_Grant(.user("1"), "lab.view_experiment", pk: "after"))
        }
    }

    @Test("a wait registered on one server is completed when another server on the same database commits the revision")
    func completedByAnotherProcess() async throws {
        try await withServer { first, warden in
            try await RPCTests.seed(warden)
            let second = try await ServerProcess(databasePath: first.databasePath, folder: first.folder)
            defer { second.stop() }
            let reader = try await second.connect()
            for round in 0..<5 {
                let target = try await warden.health().revision + 1
                let wait = Self.waitingCheck(reader, .user("3"), pk: "x\(round)", minRevision: target)
                _ = try await reader.health()  // the read is waiting on the second server
                let written = try await warden.grant(
                    Warden_V1_Grant(.user("3"), "lab.publish_experiment", pk: "x\(round)")
                )
                #expect(written.revision == target)
                let answer = try WardenConnection.decode(try await wait.get(), as: Warden_V1_CheckResponse.self)
                #expect(answer.decision.reason == .objectGrantUser)
                #expect(answer.revision >= target)
            }
            await reader.close()
        }
    }

    @Test("a connection that closes takes its waits back: a graceful stop does not wait for them")
    func closedConnectionTakesWaitsBack() async throws {
        // A grace far shorter than the waits' deadline: waits left registered past the close
        // would still count as running, and the stop would wait out its grace and say so.
        let server = try await ServerProcess(arguments: ["--shutdown-grace", "10s"])
        defer { server.removeFolder() }
        let warden = try await server.connect()
        try await RPCTests.seed(warden)
        let target = try await warden.health().revision + 100
        let reader = try await server.connect()
        let waits = (0..<5).map { index in
            Self.waitingCheck(reader, .user("2"), pk: "gone\(index)", minRevision: target)
        }
        _ = try await reader.health()  // the five reads are waiting
        await reader.close()
        for wait in waits { _ = try? await wait.get() }  // the client side ends them as the connection closes
        // The server notices the close on its own; a later request on another connection is
        // handled after it only by chance, so the stop's grace (10 s) is the bound.
        await warden.close()
        #expect(server.stop() == 0)
        #expect(!server.output.contains("requests still running"), "\(server.output)")
    }

    /// Sends a Check of `lab.publish_experiment` at `minRevision` with a 60 s deadline; its answer
    /// frame, once it comes.
    static func waitingCheck(
        _ connection: WardenConnection,
        _ subject: Warden_V1_Subject,
        pk: String,
        minRevision: UInt64
    ) -> EventLoopFuture<Frame> {
        var request = Warden_V1_CheckRequest()
        request.subject = subject
        request.permission = "lab.publish_experiment"
        request.object = RPCTests.experiment(pk)
        request.minRevision = minRevision
        return connection.send(.check, request, timeout: .seconds(60))
    }
}
