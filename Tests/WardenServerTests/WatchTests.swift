import Foundation
import Testing
import WardenClient
import WardenModel
import WardenProto
import WardenSQLiteStore
import WardenStore
import WardenWire

/// Watch: history, live events, filters, resume, retention, audits; bulk emits one summary.
@Suite("Watch end to end", .serialized)
struct WatchTests {
    /// Takes `count` events from a watch, failing after `seconds`.
    static func take(
        _ count: Int,
        from stream: AsyncThrowingStream<Warden_V1_Event, any Error>,
        seconds: Double = 10
    )
        async throws -> [Warden_V1_Event]
    {
        try await withThrowingTaskGroup(of: [Warden_V1_Event].self) { group in
            group.addTask {
                var events: [Warden_V1_Event] = []
                for try await event in stream {
                    events.append(event)
                    if events.count == count { break }
                }
                return events
            }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                throw ServerError("timed out waiting for \(count) events")
            }
            let events = try await group.next()!
            group.cancelAll()
            return events
        }
    }

    @Test("history from revision 0 in order, then live events, exactly one per write")
    func historyThenLive() async throws {
        try await withServer { _, warden in
            try await RPCTests.seed(warden)
            let seeded = try await warden.health().revision
            let stream = warden.watch(afterRevision: 0)
            let history = try await Self.take(Int(seeded), from: stream)
            #expect(history.map(\.revision) == Array(1...seeded))
            #expect(history.first?.kind == .contentTypeRegistered)
            #expect(history.first?.registration.codenames.contains("publish_experiment") == true)
            #expect(history.filter { $0.kind == .grantAdded }.count == 5)
            #expect(history.filter { $0.kind == .rolePermissionAdded }.first?.grant.subject.group == "Maintainer")

            let live = warden.watch()
            try await Task.sleep(for: .milliseconds(100))
            _ = try await warden.grant(Warden_V1_Grant(.user("2"), "lab.change_experiment", pk: "1"), actor: "4")
            // No change, no event.
            _ = try await warden.grant(Warden_V1_Grant(.user("2"), "lab.change_experiment", pk: "1"))
            _ = try await warden.addMember(user: "1", group: "Maintainer")
            let events = try await Self.take(2, from: live)
            #expect(events.map(\.kind) == [.grantAdded, .memberAdded])
            #expect(
                events[0].actor == "4" && events[0].grant.pk == "1" && events[0].grant.contentType == "lab.experiment"
            )
            #expect(events[1].userID == "1" && events[1].group == "Maintainer")
            #expect(events.map(\.revision) == [seeded + 1, seeded + 2])
        }
    }

    @Test("bulk paths emit one summary event, not one per row")
    func bulkSummary() async throws {
        try await withServer { _, warden in
            try await RPCTests.seed(warden)
            let start = try await warden.health().revision
            let grants = (1...3000).map { Warden_V1_Grant(.user("1"), "lab.view_experiment", pk: "p\($0)") }
            _ = try await warden.bulkGrant(grants, chunkSize: 1000)
            _ = try await warden.bulkRevoke(grants.prefix(1000))
            _ = try await warden.putGroup("after")
            let events = try await Self.take(3, from: warden.watch(afterRevision: start))
            #expect(events.map(\.kind) == [.bulkGranted, .bulkRevoked, .groupPut])
            #expect(events[0].count == 3000 && events[1].count == 1000)
            #expect(events.map(\.revision) == [start + 1, start + 2, start + 3])
        }
    }

    @Test("filters by kind and content type; resumes from a revision")
    func filtersAndResume() async throws {
        try await withServer { _, warden in
            try await RPCTests.seed(warden)
            _ = try await warden.registerContentType("lab.sample")
            _ = try await warden.grant(Warden_V1_Grant(.user("1"), "lab.view_sample", pk: "s1"))
            _ = try await warden.grant(Warden_V1_Grant(.user("1"), "lab.view_experiment", pk: "e1"))
            _ = try await warden.putGroup("marker")
            let grants = try await Self.take(
                1,
                from: warden.watch(afterRevision: 0, kinds: [.grantAdded], contentTypes: ["lab.sample"])
            )
            #expect(grants.map(\.grant.pk) == ["s1"])
            // Resume after the sample grant: the experiment grant comes next, nothing before it.
            let resumed = try await Self.take(2, from: warden.watch(afterRevision: grants[0].revision))
            #expect(resumed.map(\.kind) == [.grantAdded, .groupPut])
            #expect(resumed[0].grant.pk == "e1")
            // Bad filters name the field.
            var bad = Warden_V1_WatchRequest()
            bad.contentTypes = ["Not A Type"]
            await #expect { _ = try await Self.take(1, from: warden.watch(bad), seconds: 5) } throws: {
                ($0 as? WardenError)?.code == .invalidArgument && "\($0)".contains("content_types")
            }
        }
    }

    @Test("a pruned revision answers OUT_OF_RANGE with the oldest retained revision")
    func prunedRevision() async throws {
        try await withServer { server, warden in
            try await RPCTests.seed(warden)
            // Retention runs in the store: apply a policy that keeps the last 3 events.
            let store = try SQLiteStore(path: server.databasePath)
            let removed = try store.pruneChangelog(RetentionPolicy(maxEvents: 3, maxAgeMilliseconds: .max))
            let latest = try await warden.health().revision
            #expect(removed == Int(latest) - 3)
            do {
                _ = try await Self.take(1, from: warden.watch(afterRevision: 1), seconds: 5)
                Issue.record("a pruned revision was served")
            } catch let error as WardenError {
                #expect(error.code == .outOfRange)
                #expect(error.oldestRetainedRevision == latest - 2)
            }
            // From the oldest retained revision's predecessor, it works.
            let events = try await Self.take(3, from: warden.watch(afterRevision: latest - 3))
            #expect(events.map(\.revision) == [latest - 2, latest - 1, latest])
        }
    }

    @Test("opt-in PERMISSION_CHECKED audits, sampled")
    func audits() async throws {
        try await withServer { _, warden in
            try await RPCTests.seed(warden)
            let audits = warden.watch(kinds: [.permissionChecked], auditChecks: true, auditSampleRate: 0.5)
            try await Task.sleep(for: .milliseconds(100))
            for _ in 0..<10 {
                _ = try await warden.check(.user("1"), "lab.change_experiment", object: RPCTests.experiment("4"))
            }
            let events = try await Self.take(5, from: audits)
            #expect(
                events.allSatisfy {
                    $0.kind == .permissionChecked && $0.check.reason == .objectGrantUser && $0.check.allowed
                }
            )
            #expect(events.first?.check.object.pk == "4")
        }
    }
}

/// The server's audit_sample_rate: the default for watchers that give none, and the cap.
@Suite("Audit sampling settings", .serialized)
struct AuditSamplingTests {
    @Test("a watcher asking for every check gets the server's rate; a marker write ends the count")
    func serverRate() async throws {
        try await withServer(environment: ["WARDEN_AUDIT_SAMPLE_RATE": "0.25"]) { _, warden in
            try await RPCTests.seed(warden)
            for asked in [1.0, 0] {
                let stream = warden.watch(
                    kinds: [.permissionChecked, .groupPut],
                    auditChecks: true,
                    auditSampleRate: asked
                )
                try await Task.sleep(for: .milliseconds(100))
                for _ in 0..<20 {
                    _ = try await warden.check(.user("1"), "lab.change_experiment", object: RPCTests.experiment("4"))
                }
                _ = try await warden.putGroup("marker-\(asked)")
                var audits = 0
                for try await event in stream {
                    if event.kind == .groupPut { break }
                    audits += 1
                }
                #expect(audits == 5, "asked \(asked): \(audits) of 20 checks audited")
            }
        }
    }
}

/// A watcher that stops reading is cut off; writers and checks never wait for it.
@Suite("Slow watchers", .serialized)
struct SlowWatcherTests {
    @Test(
        "a watcher that never reads is cut off with RESOURCE_EXHAUSTED on request id 0 after its backlog; others keep working"
    )
    func slowWatcher() async throws {
        try await withServer(environment: ["WARDEN_WATCH_BACKLOG_BYTES": "65536"]) { server, warden in
            try await RPCTests.seed(warden)
            // A raw connection that asks for every event and then reads nothing.
            let socket = ThreadSocket(try RawSocket(path: server.socketPath, receiveTimeout: 10))
            var request = Warden_V1_WatchRequest()
            request.afterRevision = 0
            socket.socket.send(try RawSocket.frame(id: 5, method: .watch, request))
            #expect(try await ReplayFixture.watchersSettle(warden, at: 1) == 1)
            // Checks on their own connection, first with the watcher and no writes (the baseline),
            // then throughout the writes that bury the watcher: every one answered within its
            // deadline; their latencies are printed (docs/reliability.md), not judged.
            let baseline = try await Probe.during(server) { try await Task.sleep(for: .seconds(1)) }
            // The watcher reads as soon as the server has cut it off (stats stops counting it).
            let monitor = try await server.connect()
            let cut = Task { () async throws -> SlowWatcherRead? in
                var counted = ContinuousClock.now  // the cut came after this: a Stats sent then still counted it
                for _ in 0..<6000 {
                    let asked = ContinuousClock.now
                    if try await monitor.stats().watchers == 0 {
                        let reading = ContinuousClock.now
                        return await SlowWatcherRead(socket: socket, cutAfter: counted, readingFrom: reading)
                    }
                    counted = asked
                    try await Task.sleep(for: .milliseconds(20))
                }
                return nil
            }
            // Writers: 16 tasks of single grants, each one an event of about 100 bytes.
            let during = try await Probe.during(server) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<16 {
                        group.addTask {
                            for n in 0..<300 {
                                _ = try await warden.grant(
                                    Warden_V1_Grant(.user("2"), "lab.view_experiment", pk: "w\(writer)-\(n)")
                                )
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            #expect(baseline.failures == 0 && during.failures == 0, "\(baseline) / \(during)")
            print(
                "slow watcher: checks before the writes: \(baseline); during 4,800 writes that cut the watcher off: \(during)"
            )
            // Checks still answer.
            #expect(
                try await warden.check(.user("2"), "lab.view_experiment", object: RPCTests.experiment("w3-7")).decision
                    .allowed
            )
            let read = try #require(try await cut.value, "the server never cut the watcher off")
            await monitor.close()
            // What docs/protocol.md promises: events of the watch in order from revision 1, no gap;
            // then the status on request id 0 (to a client that resumed reading within ten
            // seconds of the cut), then EOF.
            #expect(read.revisions == Array(1...UInt64(read.revisions.count)), "events out of order or with a gap")
            #expect(read.closedByPeer, "the connection was not closed")
            if let end = read.end {
                #expect(
                    end.requestID == 0 && end.status == StatusCode.resourceExhausted.rawValue,
                    "\(end.errorStatus?.message ?? "")"
                )
                #expect(end.errorStatus?.message.contains("unread") == true)
            } else {
                #expect(
                    read.readingFrom - read.cutAfter >= .seconds(5),
                    "reading began \(read.readingFrom - read.cutAfter) after the cut, yet no status"
                )
            }
            print(
                "slow watcher: cut off after \(read.revisions.count) events; reading began at most \(read.readingFrom - read.cutAfter) after the cut; status \(read.end == nil ? "not received" : "received")"
            )
            #expect(try await warden.stats().watchers == 0)
        }
    }
}

/// What a cut-off watcher reads once it resumes: its events' revisions, the frame that is not an
/// event of the watch (the status on request id 0, if it came), and whether the server closed.
struct SlowWatcherRead: Sendable {
    var revisions: [UInt64] = []
    var end: Frame?
    var closedByPeer = false
    let cutAfter: ContinuousClock.Instant
    let readingFrom: ContinuousClock.Instant

    init(socket: ThreadSocket, cutAfter: ContinuousClock.Instant, readingFrom: ContinuousClock.Instant) async {
        self.cutAfter = cutAfter
        self.readingFrom = readingFrom
        let read = await onThread { () -> ([UInt64], Frame?, Bool) in
            var revisions: [UInt64] = []
            var end: Frame?
            while let frame = socket.socket.readFrame() {
                guard frame.requestID == 5, frame.status == 0,
                    let response = try? Warden_V1_WatchResponse(serializedBytes: frame.body)
                else {
                    end = frame
                    break
                }
                revisions += response.events.map(\.revision)
            }
            return (revisions, end, socket.socket.isClosedByPeer())
        }
        (revisions, end, closedByPeer) = read
    }
}
