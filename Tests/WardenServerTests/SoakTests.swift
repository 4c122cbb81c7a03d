import Foundation
import Synchronization
import Testing
import WardenClient
import WardenProto
import WardenSync
import WardenTestSupport

/// Soak (issue #8): a real server under a mixed load for `WARDEN_SOAK_SECONDS` (10 by default;
/// CI 60, `make soak` 600) — readers (Check, BatchCheck, ListObjects, ListSubjects,
/// GetPermissions), writers (grants, revokes, memberships, bulk streams), a Watch consumer and a
/// client that connects and disconnects in a loop — while the server's RSS and open descriptors
/// are sampled every second. It must answer everything, leak no descriptor, keep its memory
/// flat after a warm-up, and deliver every write's event to the watcher, in order.
///
/// What may legitimately grow, and the budget "flat" allows for it:
/// - the changelog: one row per write. It is on disk, but SQLite's page cache (64 MiB at most,
///   `cache_size = -65536`) keeps the pages it writes, so RSS may grow by what the database file
///   grew plus its write-ahead log's size, up to 64 MiB (with a retention limit the file stops
///   growing once pruned pages are reused);
/// - everything else is bounded by the load's key space: grants and memberships churn among
///   fixed users, groups and objects, connections come and go.
/// Flat: RSS at the end ≤ RSS after warm-up × 1.25 + 8 MiB + that page-cache allowance. After
/// the load, 2,000 connections opened and closed one by one may add 2 MiB at most.
@Suite("Soak", .serialized)
struct SoakTests {
    static let contentType = "soak.doc"
    static let codenames = ["add_doc", "change_doc", "delete_doc", "share_doc", "view_doc"]
    static let users = 400
    static let groups = 20
    static let objects = 2000
    static let readers = 5
    static let writers = 2

    @Test(
        "mixed load for WARDEN_SOAK_SECONDS: no errors, no leaked descriptors, flat memory, every event watched in order"
    )
    func soak() async throws {
        let asked = Int(ProcessInfo.processInfo.environment["WARDEN_SOAK_SECONDS"] ?? "") ?? 10
        let seconds = max(asked, 1)
        let warmUp = min(seconds, max(2, min(30, seconds / 5)))
        let seed = UInt64.random(in: 1...UInt64.max)
        print("soak: \(seconds) s, warm-up \(warmUp) s, seed \(seed)")
        let server = try await ServerProcess()
        defer {
            server.stop()
            server.removeFolder()
        }
        let setup = try await server.connect()
        try await Self.populate(setup)
        let startRevision = try await setup.health().revision
        await setup.close()
        try await Task.sleep(for: .milliseconds(200))
        let start = try #require(server.resources())

        let load = SoakLoad(startRevision: startRevision)
        let clients = 1 + Self.readers + Self.writers + 1
        var samples: [ResourceSample] = []
        var warm: (sample: ResourceSample, database: DatabaseSize)?
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Self.watch(server, load) }
            for reader in 0..<Self.readers {
                group.addTask { try await Self.read(server, load, seed: seed &+ UInt64(reader)) }
            }
            for writer in 0..<Self.writers {
                group.addTask {
                    try await Self.write(server, load, writer: writer, seed: seed &+ 100 &+ UInt64(writer))
                }
            }
            group.addTask { try await Self.churn(server, load) }
            for second in 1...seconds {
                try await Task.sleep(for: .seconds(1))
                guard let sample = server.resources() else {
                    throw ServerError("the server ended: \(server.output.suffix(500))")
                }
                samples.append(sample)
                if second == warmUp { warm = (sample, DatabaseSize(server)) }
                print(
                    "soak \(second) s: RSS \(Self.mib(sample.rssKiB)) MiB, \(sample.fileDescriptors) fds, "
                        + "\(sample.threads) threads, \(load.requests.load(ordering: .relaxed)) requests, "
                        + "\(load.errors.load(ordering: .relaxed)) errors, \(load.watched.load(ordering: .relaxed)) events watched"
                )
            }
            load.stop.store(true, ordering: .relaxed)
            // The watcher ends once it has seen the last write's event (or 30 s after the writers).
            try await group.waitForAll()
        }
        let end = try #require(samples.last)
        let (warmed, warmDatabase) = try #require(warm)
        let endDatabase = DatabaseSize(server)
        let after = try await Self.settledResources(server, descriptors: start.fileDescriptors)
        let requests = load.requests.load(ordering: .relaxed)
        let errors = load.errors.load(ordering: .relaxed)
        print(
            "soak: \(seconds) s, \(clients) clients, \(requests) requests, \(errors) errors, RSS start/after-warmup/end "
                + "\(Self.mib(start.rssKiB))/\(Self.mib(warmed.rssKiB))/\(Self.mib(end.rssKiB)) MiB, "
                + "fds start/end \(start.fileDescriptors)/\(after.fileDescriptors) (\(warmed.fileDescriptors)/\(end.fileDescriptors) "
                + "under load); \(load.watched.load(ordering: .relaxed)) events watched in order, "
                + "\(load.connects.load(ordering: .relaxed)) connections opened and closed, database file "
                + "\(Self.mib(warmDatabase.main >> 10))/\(Self.mib(endDatabase.main >> 10)) MiB after warm-up/end"
        )

        #expect(errors == 0, "\(load.firstErrors)")
        #expect(requests > 0)
        // No descriptor leaked: the start's count once every client has gone. (The count under
        // load is printed, not judged: which of the load's connections are open at the instant
        // of a sample is timing, and a CI run saw 31–33 from one second to the next.)
        #expect(after.fileDescriptors == start.fileDescriptors, "\(server.descriptorKinds())")
        // Flat memory (see the suite's comment for the budget).
        let pageCache = min(64 << 20, max(0, endDatabase.main - warmDatabase.main) + endDatabase.log) >> 10
        let budget = warmed.rssKiB + warmed.rssKiB / 4 + (8 << 10) + pageCache
        #expect(
            end.rssKiB <= budget,
            "RSS \(end.rssKiB) KiB at the end, \(warmed.rssKiB) after warm-up, budget \(budget)"
        )
        // The watcher saw one event per revision, in order, of the kind each write committed.
        let final = try await Self.finalRevision(server)
        #expect(load.watchedThrough == final, "watched through \(load.watchedThrough), server at \(final)")
        #expect(load.eventMismatches.isEmpty, "\(load.eventMismatches.prefix(5))")

        try await Self.connectionChurn(server, baseline: start)
    }

    /// After the load, nothing else running: connections opened and closed one after another
    /// cost no memory once closed. The mixed load's budget would hide a few KiB per connection
    /// over a short soak; here 2,000 connections may grow RSS by 2 MiB at most (1 KiB each).
    static func connectionChurn(_ server: ServerProcess, baseline: ResourceSample) async throws {
        func churn(_ count: Int) async throws {
            for n in 0..<count {
                try await checkOnce(server, n)
            }
        }
        try await churn(200)
        let before = try await settledResources(server, descriptors: baseline.fileDescriptors)
        let count = 2000
        try await churn(count)
        let after = try await settledResources(server, descriptors: baseline.fileDescriptors)
        let grown = after.rssKiB - before.rssKiB
        print(
            "soak: connection churn: \(count) connections opened and closed one after another, RSS \(mib(before.rssKiB)) → "
                + "\(mib(after.rssKiB)) MiB (\(grown * 1024 / count) bytes per connection), fds "
                + "\(before.fileDescriptors) → \(after.fileDescriptors)"
        )
        #expect(
            grown <= 2 << 10,
            "RSS grew \(grown) KiB over \(count) closed connections: about \(grown * 1024 / count) bytes each"
        )
        #expect(after.fileDescriptors == baseline.fileDescriptors, "\(server.descriptorKinds())")
    }

    /// The server's resources once its descriptors are back to `descriptors` (closes finish
    /// asynchronously), or after 10 s.
    static func settledResources(_ server: ServerProcess, descriptors: Int) async throws -> ResourceSample {
        var sample = try #require(server.resources())
        for _ in 0..<100 where sample.fileDescriptors != descriptors {
            try await Task.sleep(for: .milliseconds(100))
            sample = try #require(server.resources())
        }
        return sample
    }

    /// Users u0…, groups g0… with members, and object grants on d0… to users and groups.
    static func populate(_ warden: WardenConnection) async throws {
        _ = try await warden.registerContentType(contentType, custom: ["share_doc"])
        var records: [Warden_V1_Record] = []
        for user in 0..<users {
            records.append(
                .with {
                    $0.user = .with {
                        $0.id = "u\(user)"
                        $0.isActive = true
                    }
                }
            )
        }
        for group in 0..<groups { records.append(.with { $0.group = "g\(group)" }) }
        for user in 0..<users {
            records.append(
                .with {
                    $0.member = .with {
                        $0.user = "u\(user)"
                        $0.group = "g\(user % groups)"
                    }
                }
            )
        }
        _ = try await warden.writeBatch(records)
        var random = SplitMix64(seed: 8)
        let grants = (0..<20_000).map { _ in
            Warden_V1_Grant(
                random.chance(0.8) ? .user("u\(random.int(0..<users))") : .group("g\(random.int(0..<groups))"),
                "soak.\(random.pick(codenames))",
                pk: "d\(random.int(0..<objects))"
            )
        }
        _ = try await warden.bulkGrant(grants)
    }

    /// A reader: Check, BatchCheck, ListObjects, ListSubjects and GetPermissions at random.
    static func read(_ server: ServerProcess, _ load: SoakLoad, seed: UInt64) async throws {
        let warden = try await server.connect()
        defer { Task { await warden.close() } }
        var random = SplitMix64(seed: seed)
        func user() -> String { "u\(random.int(0..<users))" }
        func object() -> Warden_V1_ObjectRef { Warden_V1_ObjectRef(contentType, "d\(random.int(0..<objects))") }
        func permission() -> String { "soak.\(random.pick(codenames))" }
        while !load.stop.load(ordering: .relaxed) {
            await load.count("read") {
                switch random.int(0..<100) {
                case 0..<50: _ = try await warden.check(.user(user()), permission(), object: object())
                case 50..<70:
                    var request = Warden_V1_BatchCheckRequest()
                    for _ in 0..<100 {
                        request.items.append(
                            .with {
                                $0.subject = .user(user())
                                $0.permission = permission()
                                $0.object = object()
                            }
                        )
                    }
                    _ = try await warden.batchCheck(request)
                case 70..<85:
                    var request = Warden_V1_ListObjectsRequest()
                    request.subject = .user(user())
                    request.permissions = [permission()]
                    request.pageSize = 100
                    _ = try await warden.listAllObjects(request)
                case 85..<95:
                    var request = Warden_V1_ListSubjectsRequest()
                    request.object = object()
                    request.attachPerms = true
                    _ = try await warden.listSubjects(request)
                default:
                    var request = Warden_V1_GetPermissionsRequest()
                    request.subject = .user(user())
                    request.object = object()
                    _ = try await warden.getPermissions(request)
                }
            }
        }
    }

    /// A writer: object grants and revokes, memberships, and now and then a bulk grant and the
    /// bulk revoke of the same rows, among fixed users, groups and objects (the state churns,
    /// it does not grow). Records the event each write that changed something must produce.
    static func write(_ server: ServerProcess, _ load: SoakLoad, writer: Int, seed: UInt64) async throws {
        let warden = try await server.connect()
        defer {
            load.writersDone.add(1, ordering: .relaxed)
            Task { await warden.close() }
        }
        var random = SplitMix64(seed: seed)
        // Each writer its own users, so that a grant's or a membership's outcome is its own.
        func user() -> String { "u\(writer + Self.writers * random.int(0..<(users / Self.writers)))" }
        func grant() -> Warden_V1_Grant {
            Warden_V1_Grant(.user(user()), "soak.\(random.pick(codenames))", pk: "w\(random.int(0..<500))")
        }
        while !load.stop.load(ordering: .relaxed) {
            await load.count("write") {
                switch random.int(0..<100) {
                case 0..<45:
                    let response = try await warden.grant(grant())
                    if response.changed { load.expect(.grantAdded, at: response.revision) }
                case 45..<90:
                    let response = try await warden.revoke(grant())
                    if response.changed { load.expect(.grantRemoved, at: response.revision) }
                case 90..<95:
                    let response = try await warden.addMember(user: user(), group: "g\(random.int(0..<groups))")
                    if response.changed { load.expect(.memberAdded, at: response.revision) }
                case 95..<99:
                    let response = try await warden.removeMember(user: user(), group: "g\(random.int(0..<groups))")
                    if response.changed { load.expect(.memberRemoved, at: response.revision) }
                default:
                    let grants = (0..<50).map { _ in
                        Warden_V1_Grant(.user(user()), "soak.view_doc", pk: "bulk\(writer)-\(random.int(0..<200))")
                    }
                    load.requests.add(1, ordering: .relaxed)
                    let granted = try await warden.bulkGrant(grants, chunkSize: 16)
                    if granted.count > 0 { load.expect(.bulkGranted, at: granted.revision) }
                    let revoked = try await warden.bulkRevoke(grants, chunkSize: 16)
                    if revoked.count > 0 { load.expect(.bulkRevoked, at: revoked.revision) }
                }
            }
        }
    }

    /// The watcher: every event after the start, one per revision, in order; ends once the
    /// load has stopped and it has seen the server's last revision.
    static func watch(_ server: ServerProcess, _ load: SoakLoad) async throws {
        let warden = try await server.connect()
        defer { Task { await warden.close() } }
        let stream = warden.watch(afterRevision: load.startRevision)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await event in stream { load.watch(event) }
                } catch {
                    load.fail("watch", error)
                }
            }
            group.addTask {
                // Once the writers have stopped: the server's last revision, which the watcher must reach
                // (within 30 s; a watcher that fell behind fails the test, it does not hang it).
                while load.writersDone.load(ordering: .relaxed) < Self.writers {
                    try await Task.sleep(for: .milliseconds(50))
                }
                let final = try await finalRevision(server)
                for _ in 0..<3000 where load.watchedThrough < final { try await Task.sleep(for: .milliseconds(10)) }
            }
            // The watch ended (an error), or it reached the end, or 30 s passed.
            _ = try await group.next()
            group.cancelAll()
        }
    }

    /// A client that connects, asks one Check and disconnects, over and over.
    static func churn(_ server: ServerProcess, _ load: SoakLoad) async throws {
        var n = 0
        while !load.stop.load(ordering: .relaxed) {
            await load.count("connect") { try await checkOnce(server, n) }
            load.connects.add(1, ordering: .relaxed)
            n += 1
        }
    }

    /// Connects, asks one Check, disconnects.
    static func checkOnce(_ server: ServerProcess, _ n: Int) async throws {
        let warden = try await server.connect()
        do {
            _ = try await warden.check(
                .user("u\(n % users)"),
                "soak.view_doc",
                object: Warden_V1_ObjectRef(contentType, "d\(n % objects)")
            )
        } catch {
            await warden.close()
            throw error
        }
        await warden.close()
    }

    static func finalRevision(_ server: ServerProcess) async throws -> UInt64 {
        let warden = try await server.connect()
        defer { Task { await warden.close() } }
        return try await warden.health().revision
    }

    static func mib(_ kib: Int) -> String { String(format: "%.1f", Double(kib) / 1024) }
}

/// The database file's and its write-ahead log's sizes, in bytes.
struct DatabaseSize {
    let main: Int
    let log: Int

    init(_ server: ServerProcess) {
        func size(_ path: String) -> Int {
            (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int ?? 0
        }
        main = size(server.databasePath)
        log = size(server.databasePath + "-wal")
    }
}

/// The soak's shared counters, flags and the watcher's findings.
final class SoakLoad: Sendable {
    let startRevision: UInt64
    let stop = Atomic<Bool>(false)
    let requests = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    let watched = Atomic<Int>(0)
    let connects = Atomic<Int>(0)
    /// Writers that have stopped writing.
    let writersDone = Atomic<Int>(0)
    private let state = Locked(State())

    private struct State {
        var firstErrors: [String] = []
        /// The kind of each event watched, by revision − startRevision − 1.
        var kinds: [Warden_V1_EventKind] = []
        /// Events each acknowledged write must have produced, not yet watched.
        var expected: [(revision: UInt64, kind: Warden_V1_EventKind)] = []
        var mismatches: [String] = []
    }

    init(startRevision: UInt64) { self.startRevision = startRevision }

    /// Runs one request, counting it and any error.
    func count(_ what: String, _ body: () async throws -> Void) async {
        requests.add(1, ordering: .relaxed)
        do { try await body() } catch { fail(what, error) }
    }

    func fail(_ what: String, _ error: any Error) {
        errors.add(1, ordering: .relaxed)
        state.withLock { if $0.firstErrors.count < 10 { $0.firstErrors.append("\(what): \(error)") } }
    }

    var firstErrors: [String] { state.withLock { $0.firstErrors } }

    /// A write acknowledged at `revision`: its event must come with that revision and kind.
    func expect(_ kind: Warden_V1_EventKind, at revision: UInt64) {
        state.withLock { $0.expected.append((revision, kind)) }
    }

    /// An event watched: the next revision, always.
    func watch(_ event: Warden_V1_Event) {
        watched.add(1, ordering: .relaxed)
        state.withLock { state in
            let next = startRevision + UInt64(state.kinds.count) + 1
            if event.revision != next, state.mismatches.count < 10 {
                state.mismatches.append("event \(event.revision) \(event.kind) where \(next) was due")
            }
            state.kinds.append(event.kind)
        }
    }

    /// The last revision watched (when every event came in order).
    var watchedThrough: UInt64 { state.withLock { startRevision + UInt64($0.kinds.count) } }

    /// Acknowledged writes whose event the watcher did not see with their revision and kind, and
    /// events out of order.
    var eventMismatches: [String] {
        state.withLock { state in
            var problems = state.mismatches
            for (revision, kind) in state.expected {
                let position = Int(revision) - Int(startRevision) - 1
                let seen = position >= 0 && position < state.kinds.count ? state.kinds[position] : nil
                if seen != kind {
                    problems.append(
                        "write at \(revision): \(kind) expected, watched \(seen.map { "\($0)" } ?? "nothing")"
                    )
                }
            }
            return problems
        }
    }
}
