import Foundation
import Testing
import WardenIndex
import WardenModel
import WardenService
import WardenStore
import WardenSync

/// Two replicas on one database file are two hosts: A writes, B follows. A large change set B
/// follows (a bulk summary's rows, a backlog of many events) is built aside and published at
/// once, so B's readers answer from the previous state meanwhile and never see part of it.
@Suite("Replica: followed change sets built aside", .serialized)
struct FollowerPublishTests {
    @Test("a followed bulk is published at once; B's readers keep answering, from the old state or the new")
    func followedBulk() throws {
        let database = TemporaryDatabase()
        let hostA = try IndexReplica(store: database.open())
        let hostB = try IndexReplica(store: database.open())
        for change in Fixture.basics { _ = try hostA.apply(change) }
        hostB.startFollowing()
        defer { hostB.stop() }
        #expect(Self.poll { hostB.index.revision == hostA.index.revision })
        let count = ProcessInfo.processInfo.environment["WARDEN_FOLLOW_GRANTS"].flatMap(Int.init) ?? 200_000
        let grants = (0..<count).map { Fixture.grant(.user(String($0 % 3 + 1)), Fixture.car, "view_car", "p\($0)") }
        // A sample of the bulk's grants, checked in one BatchCheck: one revision, one state.
        let probes = (stride(from: 0, to: count, by: max(1, count / 64)).map { $0 } + [count - 1]).map {
            Self.check(grants[$0])
        }
        let reader = Reader(index: hostB.index, probes: probes)
        reader.start()
        let started = ContinuousClock.now
        let bulk = try hostA.bulkGrant(grants)
        let committed = ContinuousClock.now
        #expect(Self.poll { hostB.index.revision >= bulk.revision })
        let reached = ContinuousClock.now
        #expect(Self.poll { reader.latest >= bulk.revision }, "the reader answers from the new state")
        let samples = reader.stop()

        #expect(hostB.index.revision == bulk.revision)
        let partial = samples.filter { $0.allowed != ($0.revision >= bulk.revision ? probes.count : 0) }
        #expect(
            partial.isEmpty,
            "\(partial.count) reads saw part of the bulk, e.g. \(partial.first.map { "\($0.allowed) of \(probes.count) at \($0.revision)" } ?? "")"
        )
        let answers = hostB.index.check(grants.map(Self.check))
        #expect(answers.value.allSatisfy { (try? $0.get().allowed) == true }, "every granted check is allowed on B")
        // (indexEqualsDatabase's fingerprints take over a minute at this size in a debug build.)
        #expect(hostB.index.statistics == hostA.index.statistics)

        // A's commit is durable (and followed) before its bulkGrant returns, which also waits for
        // A's own prepared copy: the window is from A's start until B has the bulk.
        let during = samples.filter { $0.end > started && $0.start < reached }
        print(
            "followed bulk of \(count): A's bulkGrant took \(committed - started), B had it \(reached - committed) after; "
                + "B's reader meanwhile: \(Reader.figures(during))"
        )
    }

    @Test("a backlog of many events is caught up aside and ends exactly at the store's state")
    func backlog() throws {
        let database = TemporaryDatabase()
        let hostA = try IndexReplica(store: database.open())
        let hostB = try IndexReplica(store: database.open())
        for change in Fixture.basics { _ = try hostA.apply(change) }
        #expect(try hostB.catchUp() == hostA.index.revision)
        // 2,500 events in one transaction (each its own revision), then a user's cascade, a
        // revoke and a second user: the catch-up crosses pages of 1,000 events.
        let changes = (0..<2500).map {
            Change.grant(Fixture.grant(.user(String($0 % 3 + 1)), Fixture.order, "view_order", "o\($0)"))
        }
        _ = try hostA.apply(batch: changes)
        _ = try hostA.apply(.deleteUser(id: "3"))
        _ = try hostA.apply(.revoke(Fixture.grant(.user("1"), Fixture.order, "view_order", "o0")))
        _ = try hostA.apply(.putUser(Fixture.user("4")))
        let probes = [Self.check(Fixture.grant(.user("2"), Fixture.order, "view_order", "o2497"))]
        let reader = Reader(index: hostB.index, probes: probes)
        reader.start()
        let started = ContinuousClock.now
        #expect(try hostB.catchUp() == hostA.index.revision)
        let elapsed = ContinuousClock.now - started
        let samples = reader.stop()
        #expect(try indexEqualsDatabase(hostB.index, hostB.store))
        print("backlog of \(changes.count + 3) events caught up in \(elapsed); B's reader: \(Reader.figures(samples))")
    }

    static func check(_ grant: Grant) -> CheckRequest {
        CheckRequest(subject: grant.subject, permission: grant.permission.description, object: grant.object)
    }

    /// Whether `condition` holds within 60 s.
    static func poll(_ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .seconds(60)
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            usleep(1000)
        }
        return true
    }
}

/// A thread that checks the same probes on an index, in a loop, timing each BatchCheck.
final class Reader: @unchecked Sendable {
    struct Sample: Sendable {
        let start: ContinuousClock.Instant
        let end: ContinuousClock.Instant
        let revision: Revision
        let allowed: Int
        var latency: Duration { end - start }
    }

    let index: PermissionIndex
    let probes: [CheckRequest]
    private let samples = Locked<[Sample]>([])
    private let latestRevision = Locked(Revision.zero)
    private let stopped = Locked(false)
    private let done = DispatchSemaphore(value: 0)

    init(index: PermissionIndex, probes: [CheckRequest]) {
        self.index = index
        self.probes = probes
    }

    func start() {
        let thread = Thread { [self] in
            var local: [Sample] = []
            while !stopped.withLock({ $0 }) {
                let start = ContinuousClock.now
                let answer = index.check(probes)
                let end = ContinuousClock.now
                let allowed = answer.value.count { (try? $0.get().allowed) == true }
                local.append(Sample(start: start, end: end, revision: answer.revision, allowed: allowed))
                latestRevision.withLock { $0 = answer.revision }
            }
            samples.withLock { $0 = local }
            done.signal()
        }
        thread.name = "test.reader"
        thread.start()
    }

    /// The revision of the latest answer.
    var latest: Revision { latestRevision.withLock { $0 } }

    /// Stops the thread; its samples.
    func stop() -> [Sample] {
        stopped.withLock { $0 = true }
        done.wait()
        return samples.withLock { $0 }
    }

    /// Count, p50, p99 and max latency of `samples`.
    static func figures(_ samples: [Sample]) -> String {
        let sorted = samples.map(\.latency).sorted()
        guard let max = sorted.last else { return "no reads" }
        func at(_ share: Double) -> Duration { sorted[min(sorted.count - 1, Int(Double(sorted.count) * share))] }
        return "\(sorted.count) reads, p50 \(at(0.5)), p99 \(at(0.99)), max \(max)"
    }
}
