import Foundation
import Testing
import WardenProto
import WardenSync

@testable import WardenClient

#if canImport(Glibc)
import Glibc
#endif

/// `WardenClient` under many tasks on one connection (issue 19): requests written from the
/// callers' threads, answers handed back from the event loop by request id. Each task's object
/// has its own answer, so an answer delivered to the wrong task shows.
@Suite("WardenClient: many tasks on one connection", .serialized)
struct ClientConcurrencyTests {
    static let tasks = 64
    /// How long the tests wait before calling it a hang: far above their work (a minute and a
    /// half of debug build on a busy machine before, several times that under TSan).
    static let hangBound = Duration.seconds(900)

    /// Task `i`'s answer for user `p<i>` on experiment `<i>`: odd `i` through group `g<i>` (the
    /// group's name tells the tasks apart), `i % 4 == 0` through a grant of the user's own, else none.
    static func expected(_ i: Int) -> (allowed: Bool, reason: Warden_V1_Reason, group: String) {
        if i % 2 == 1 { return (true, .objectGrantGroup, "g\(i)") }
        return i % 4 == 0 ? (true, .objectGrantUser, "") : (false, .noGrant, "")
    }

    /// Users `p<i>`, groups `g<i>` with their one member, and the grants `expected` describes.
    static func seed(_ warden: WardenConnection) async throws {
        _ = try await warden.registerContentType("lab.experiment")
        var records: [Warden_V1_Record] = []
        for i in 0..<tasks {
            var user = Warden_V1_Record()
            user.user.id = "p\(i)"
            user.user.isActive = true
            var group = Warden_V1_Record()
            group.group = "g\(i)"
            var member = Warden_V1_Record()
            member.member.user = "p\(i)"
            member.member.group = "g\(i)"
            records += [user, group, member]
            if i % 2 == 1 || i % 4 == 0 {
                var grant = Warden_V1_Record()
                let holder: Warden_V1_Subject = i % 2 == 1 ? .group("g\(i)") : .user("p\(i)")
                grant.grant = Warden_V1_Grant(holder, "lab.view_experiment", pk: "\(i)")
                records.append(grant)
            }
        }
        _ = try await warden.writeBatch(records)
    }

    static func check(_ warden: WardenConnection, task i: Int) async throws {
        let object = Warden_V1_ObjectRef("lab.experiment", "\(i)")
        let answer = try await warden.check(.user("p\(i)"), "lab.view_experiment", object: object)
        let want = expected(i)
        #expect(answer.decision.allowed == want.allowed, "task \(i)")
        #expect(answer.decision.reason == want.reason, "task \(i)")
        #expect(answer.decision.group == want.group, "task \(i)")
    }

    /// A BatchCheck of `items` copies of task `i`'s check: a frame of tens of KiB, so that 64 of
    /// them at once fill the socket's buffer and the writes queue behind each other.
    static func batchCheck(_ warden: WardenConnection, task i: Int, items: Int) async throws {
        var item = Warden_V1_CheckItem()
        item.subject = .user("p\(i)")
        item.permission = "lab.view_experiment"
        item.object = Warden_V1_ObjectRef("lab.experiment", "\(i)")
        var request = Warden_V1_BatchCheckRequest()
        request.items = Array(repeating: item, count: items)
        let answer = try await warden.batchCheck(request)
        #expect(answer.results.count == items, "task \(i)")
        let want = expected(i)
        let wrong = answer.results.filter { $0.decision.allowed != want.allowed || $0.decision.group != want.group }
        #expect(wrong.isEmpty, "task \(i): \(wrong.count) wrong answers, the first \(String(describing: wrong.first))")
    }

    @Test("64 tasks pipelining Checks and large BatchChecks on one connection each get their own answers")
    func pipelinedTasksGetTheirOwnAnswers() async throws {
        try await withServer { _, warden in
            try await Self.seed(warden)
            try await finishing(within: Self.hangBound) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in 0..<Self.tasks {
                        // Half the tasks run on the connection's event loop: their writes and
                        // answers share its thread.
                        group.addTask(executorPreference: i % 2 == 0 ? nil : warden.taskExecutor) {
                            for round in 0..<60 {
                                try await Self.check(warden, task: i)
                                if round % 20 == 0 { try await Self.batchCheck(warden, task: i, items: 1000) }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            // The connection is still in order.
            try await Self.check(warden, task: 1)
        }
    }

    @Test("cancelled tasks and a cancelled Watch leave the other tasks' Checks on the connection answered")
    func cancelledTasksDoNotBreakOthers() async throws {
        try await withServer { _, warden in
            try await Self.seed(warden)
            let answered = Locked([Int](repeating: 0, count: Self.tasks))
            try await finishing(within: Self.hangBound) {
                let watch = Task {
                    for try await _ in warden.watch() {}
                }
                var tasks: [Task<Void, any Error>] = []
                for i in 0..<Self.tasks {
                    tasks.append(
                        Task {
                            for _ in 0..<200 {
                                try Task.checkCancellation()
                                try await Self.check(warden, task: i)
                                answered.withLock { $0[i] += 1 }
                            }
                        }
                    )
                }
                // Every task has had answers, then the even ones (and the Watch) are cancelled mid-flight.
                let began = ContinuousClock.now
                while answered.withLock({ $0.contains(0) }) && ContinuousClock.now - began < .seconds(60) {
                    try await Task.sleep(for: .milliseconds(1))
                }
                watch.cancel()
                for i in stride(from: 0, to: Self.tasks, by: 2) { tasks[i].cancel() }
                for (i, task) in tasks.enumerated() {
                    do {
                        try await task.value
                        #expect(answered.withLock { $0[i] } == 200 || i % 2 == 0, "task \(i)")
                    } catch {
                        #expect(i % 2 == 0 && error is CancellationError, "task \(i): \(error)")
                    }
                }
                _ = await watch.result
            }
            let counts = answered.withLock { $0 }
            #expect((0..<Self.tasks).filter { $0 % 2 == 1 }.allSatisfy { counts[$0] == 200 })
            try await Self.check(warden, task: 3)
        }
    }

    @Test("kill -9 of the server fails every call in flight with UNAVAILABLE, a Watch included; nothing hangs")
    func serverKillFailsEveryCall() async throws {
        let server = try await ServerProcess()
        defer { server.removeFolder() }
        let warden = try await server.connect()
        try await Self.seed(warden)
        let revision = try await warden.health().revision
        try await finishing(within: Self.hangBound) {
            // Checks that wait for a revision that never comes are in flight at the kill: through
            // the awaited calls, and through `send`, which has written its request when it returns.
            let started = Locked(0)
            let waits = (0..<Self.tasks).map { i in
                Task {
                    started.withLock { $0 += 1 }
                    return try await warden.check(
                        .user("p\(i)"),
                        "lab.view_experiment",
                        minRevision: revision + 1000,
                        timeout: .seconds(600)
                    )
                }
            }
            var request = Warden_V1_CheckRequest()
            request.subject = .user("p1")
            request.permission = "lab.view_experiment"
            request.minRevision = revision + 1000
            let sent = (0..<Self.tasks).map { _ in warden.send(.check, request, timeout: .seconds(600)) }
            let busy = (0..<Self.tasks).map { i in
                Task {
                    while true { try await Self.check(warden, task: i) }
                }
            }
            let watch = Task {
                for try await _ in warden.watch() {}
            }
            let began = ContinuousClock.now
            while started.withLock({ $0 }) < Self.tasks && ContinuousClock.now - began < .seconds(60) {
                try await Task.sleep(for: .milliseconds(1))
            }
            _ = try await warden.health()  // answered after the waits were read: they are waiting
            server.kill9()
            for wait in waits { Self.expectUnavailable(await wait.result) }
            for future in sent { Self.expectUnavailable(await Result(catching: { try await future.get() })) }
            for task in busy { Self.expectUnavailable(await task.result) }
            Self.expectUnavailable(await watch.result)
            // A call after the end fails at once, the same way.
            Self.expectUnavailable(await Result(catching: { try await warden.health() }))
        }
        await warden.close()
    }

    static func expectUnavailable<T>(_ result: Result<T, any Error>) {
        switch result {
        case .success: Issue.record("a call succeeded after the server was killed")
        case .failure(let error): #expect((error as? WardenError)?.code == .unavailable, "\(error)")
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}

/// Runs `body`; fails the test, without waiting further, when it has not finished within
/// `limit` (a call that never returns cannot be cancelled, so a hang is caught here).
func finishing<T: Sendable>(
    within limit: Duration,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let waiting = Locked<CheckedContinuation<T, any Error>?>(continuation)
        Task {
            do {
                let value = try await body()
                waiting.withLock { $0.take() }?.resume(returning: value)
            } catch {
                waiting.withLock { $0.take() }?.resume(throwing: error)
            }
        }
        Task {
            try? await Task.sleep(for: limit)
            let hang = ServerError("not finished within \(limit): something hangs")
            waiting.withLock { $0.take() }?.resume(throwing: hang)
        }
    }
}
