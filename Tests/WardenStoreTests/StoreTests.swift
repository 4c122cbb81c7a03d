import Foundation
import Testing
import WardenIndex
import WardenModel
import WardenSQLiteStore
import WardenService
import WardenStore

/// The store conformance suite: what every backend must do. Each test runs once per backend in
/// `BackendUnderTest.all` (today SQLite), on a fresh database.
@Suite("Store conformance: writes, events, cascades")
struct StoreTests {
    @Test(
        "every write kind commits one event at the next revision; no-ops commit none",
        arguments: BackendUnderTest.all
    )
    func writeKinds(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let store = try backend.open(database)
        var expected: [ChangeEventKind] = []
        for change in Fixture.basics {
            let outcome = try store.apply(change)
            #expect(outcome.changed && outcome.event?.kind == change.eventKind)
            expected.append(change.eventKind)
        }
        let writes: [Change] = [
            .grant(Fixture.grant(.user("1"), Fixture.car, "change_car", "7")),
            .grant(Fixture.grant(.group("editors"), Fixture.car, "view_car")),
            .revoke(Fixture.grant(.user("1"), Fixture.car, "change_car", "7")),
            .revoke(Fixture.grant(.group("editors"), Fixture.car, "view_car")),
            .grant(Fixture.grant(.user("3"), Fixture.file, "read_file", "/a")),
            .deleteObject(contentType: Fixture.file, pk: "/a"),
            .removeMember(user: "1", group: "editors"),
            .deleteGroup(name: "editors"),
            .deleteUser(id: "3"),
            .putUser(Fixture.user("2", "joe", superuser: true)),
        ]
        for change in writes {
            let outcome = try store.apply(change)
            #expect(outcome.changed, "\(change)")
            expected.append(change.eventKind)
        }
        // Idempotent repeats change nothing and record nothing.
        let before = try store.revision
        for change in [Change.putGroup(name: "x")] + [
            .putGroup(name: "x"), .deleteUser(id: "3"), .deleteObject(contentType: Fixture.file, pk: "/a"),
        ] {
            _ = try store.apply(change)
        }
        #expect(try store.revision == before.next)  // only the first putGroup("x") committed
        expected.append(.groupPut)
        let events = try store.events(after: .zero)
        #expect(events.map(\.kind) == expected)
        #expect(events.map(\.revision.rawValue) == Array(1...UInt64(expected.count)))
        #expect(events.allSatisfy { $0.change != nil })
        #expect(events[0].change == Fixture.basics[0])
    }

    @Test(
        "a batch commits in one transaction, each change at its own revision with its own event",
        arguments: BackendUnderTest.all
    )
    func batch(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let store = try backend.open(database)
        let outcomes = try store.apply(batch: Fixture.basics + [.putGroup(name: "editors")])
        #expect(
            outcomes.map(\.revision.rawValue) == Array(1...UInt64(Fixture.basics.count)) + [
                UInt64(Fixture.basics.count)
            ]
        )
        #expect(outcomes.map(\.changed) == Array(repeating: true, count: Fixture.basics.count) + [false])
        #expect(try store.events(after: .zero).map(\.kind) == Fixture.basics.map(\.eventKind))
        // One bad change refuses the whole batch, naming its position.
        let revision = try store.revision
        do {
            _ = try store.apply(batch: [.putGroup(name: "new"), .addMember(user: "nobody", group: "new")])
            Issue.record("accepted a batch with an unknown user")
        } catch {
            #expect(error.code == .notFound && error.message.contains("change 2 of 2"))
        }
        #expect(try store.revision == revision)
    }

    @Test(
        "concurrent single writes: each its own outcome and revision, a bad one failing alone",
        arguments: BackendUnderTest.all
    )
    func concurrentWrites(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let store = try backend.open(database)
        _ = try store.apply(batch: Fixture.basics)
        let start = try store.revision
        let results = ConcurrentResults()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for n in 0..<40 {
                // Every 10th write names an unknown user: it must fail alone.
                let user = n % 10 == 9 ? "nobody" : String(thread % 3 + 1)
                let grant = Fixture.grant(.user(user), Fixture.car, "view_car", "t\(thread)-\(n)")
                results.add(Result { () throws(StoreError) in try store.apply(.grant(grant)) })
            }
        }
        let outcomes = results.all.compactMap { try? $0.get() }
        let failures = results.all.compactMap { result -> StoreError? in
            if case .failure(let e) = result { e } else { nil }
        }
        #expect(outcomes.count == 8 * 36 && failures.count == 8 * 4)
        #expect(failures.allSatisfy { $0.code == .notFound && $0.message.contains("nobody") })
        let revisions = outcomes.map(\.revision.rawValue).sorted()
        #expect(revisions == Array((start.rawValue + 1)...(start.rawValue + UInt64(outcomes.count))))
        #expect(try store.events(after: start, limit: 10_000).count == outcomes.count)
    }

    @Test("object grants: idempotent, the reply says whether anything changed", arguments: BackendUnderTest.all)
    func idempotentGrants(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let store = try backend.open(database)
        for change in Fixture.basics { _ = try store.apply(change) }
        let grant = Fixture.grant(.user("1"), Fixture.car, "drive_car", "7")
        #expect(try store.apply(.grant(grant)).changed)
        let again = try store.apply(.grant(grant))
        #expect(!again.changed && again.event == nil)
        #expect(try store.apply(.revoke(grant)).changed)
        #expect(try !store.apply(.revoke(grant)).changed)
    }

    @Test(
        "role-permission operations record invalid_type, already_exists and not_found",
        arguments: BackendUnderTest.all
    )
    func rolePermissionFailures(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let store = try backend.open(database)
        for change in Fixture.basics { _ = try store.apply(change) }
        let viewCar = Fixture.grant(.group("editors"), Fixture.car, "view_car")
        #expect(try store.apply(.grant(viewCar)).event?.kind == .rolePermissionAdded)
        let repeated = try store.apply(.grant(viewCar))
        #expect(!repeated.changed && repeated.event?.kind == .rolePermissionOperationFailed)
        #expect(repeated.event?.failure == .alreadyExists)
        // The codename exists, but for another type of the app: invalid_type, and an error.
        let shopTypes = try ContentType(name: ContentTypeName("shop.cart"))
        _ = try store.apply(.register(shopTypes))
        do {
            _ = try store.apply(.grant(Fixture.grant(.group("editors"), Fixture.order, "view_cart")))
            Issue.record("granted a codename of another type")
        } catch {
            #expect(error.code == .invalidArgument && error.message.contains("shop.cart"))
            #expect(error.event?.failure == .invalidType)
        }
        do {
            _ = try store.apply(.grant(Fixture.grant(.group("nobody"), Fixture.car, "view_car")))
            Issue.record("granted to an unknown group")
        } catch {
            #expect(error.code == .notFound && error.message.contains("nobody") && error.event?.failure == .notFound)
        }
        let notHeld = try store.apply(.revoke(Fixture.grant(.user("3"), Fixture.car, "view_car")))
        #expect(!notHeld.changed && notHeld.event?.failure == .notFound)
        let failures = try store.events(after: .zero).filter { $0.kind == .rolePermissionOperationFailed }
        #expect(failures.map(\.failure) == [.alreadyExists, .invalidType, .notFound, .notFound])
        #expect(failures.allSatisfy { $0.change == nil && $0.attempted != nil })
    }

    @Test("bad input: a typed error naming the field, and nothing written", arguments: BackendUnderTest.all)
    func badInput(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let store = try backend.open(database)
        for change in Fixture.basics { _ = try store.apply(change) }
        let revision = try store.revision
        let cases: [(Change, StoreError.Code, String)] = [
            (.grant(Fixture.grant(.user("1"), Fixture.car, "fly_car", "7")), .notFound, "permission"),
            (.grant(Fixture.grant(.user("1"), Fixture.order, "drive_car", "7")), .notFound, "permission"),
            (.grant(Fixture.grant(.user("99"), Fixture.car, "view_car", "7")), .notFound, "user"),
            (.deleteUser(id: ""), .invalidArgument, "user.id"),
            (.deleteUser(id: String(repeating: "x", count: 256)), .invalidArgument, "user.id"),
            (.putGroup(name: String(repeating: "g", count: 151)), .invalidArgument, "group.name"),
            (.addMember(user: "1", group: "nobody"), .notFound, "group"),
            (.deleteObject(contentType: Fixture.car, pk: ""), .invalidArgument, "object.pk"),
            (.putUser(Fixture.user("4", "joe")), .alreadyExists, "user.username"),
        ]
        for (change, code, field) in cases {
            do {
                _ = try store.apply(change)
                Issue.record("accepted \(change)")
            } catch {
                #expect(error.code == code, "\(change): \(error)")
                #expect(error.message.hasPrefix(field), "\(change): \(error.message)")
            }
        }
        #expect(try store.revision == revision)
        // Model types refuse bad identifiers before they reach the store.
        #expect(throws: ValidationError.self) { try User(id: "") }
        #expect(throws: ValidationError.self) {
            try Grant(subject: .user("1"), permission: Fixture.permission(Fixture.car, "view_car"), pk: "")
        }
    }

    @Test("deleting a user or group cascades to memberships and grants", arguments: BackendUnderTest.all)
    func cascades(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let store = try backend.open(database)
        for change in Fixture.basics { _ = try store.apply(change) }
        for grant in [
            Fixture.grant(.user("1"), Fixture.car, "view_car", "7"),
            Fixture.grant(.user("1"), Fixture.car, "change_car"),
            Fixture.grant(.group("editors"), Fixture.car, "view_car", "8"),
            Fixture.grant(.group("editors"), Fixture.order, "view_order"),
        ] {
            _ = try store.apply(.grant(grant))
        }
        _ = try store.apply(.deleteUser(id: "1"))
        _ = try store.apply(.deleteGroup(name: "editors"))
        let remaining = try store.snapshot().changes
        #expect(!remaining.contains { if case .grant = $0 { true } else { false } })
        #expect(!remaining.contains { if case .addMember = $0 { true } else { false } })
        #expect(remaining.contains(.putUser(Fixture.user("2", "joe"))))
    }

    @Test(
        "guardian's orphan scenario: re-created objects and users start with nothing",
        arguments: BackendUnderTest.all
    )
    func orphans(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let store = try backend.open(database)
        let replica = try IndexReplica(store: store)
        for change in Fixture.basics { _ = try replica.apply(change) }
        _ = try replica.apply(.putUser(Fixture.user("jane", "jane")))
        let config = "/home/www/joe.config"
        _ = try replica.apply(.grant(Fixture.grant(.user("jane"), Fixture.file, "read_file", config)))
        _ = try replica.apply(.grant(Fixture.grant(.user("2"), Fixture.file, "read_file", "/home/joe/notes")))
        _ = try replica.apply(.grant(Fixture.grant(.user("2"), Fixture.car, "drive_car")))
        func check(_ user: String, _ pk: String?) throws -> Decision {
            let object = pk.map { ObjectRef(contentType: "files.file", pk: $0) }
            let permission = pk == nil ? "drivers.drive_car" : "files.read_file"
            return try replica.index.check(CheckRequest(subject: .user(user), permission: permission, object: object))
                .value
        }
        #expect(try check("jane", config).allowed)
        // The object is deleted in the app (pre_delete) and re-created with the same pk.
        _ = try replica.apply(.deleteObject(contentType: Fixture.file, pk: config))
        #expect(try check("jane", config).reason == .noGrant)
        // joe is deleted and re-created with the same id and username.
        _ = try replica.apply(.deleteUser(id: "2"))
        _ = try replica.apply(.putUser(Fixture.user("2", "joe")))
        #expect(try check("2", "/home/joe/notes").reason == .noGrant)
        #expect(try check("2", nil).reason == .noGrant)
        #expect(try indexEqualsDatabase(replica.index, store))
        #expect(try IndexReplica(store: store).index.export().value.count == replica.index.export().value.count)
    }

    @Test("prune orphans: grants on pks the app no longer has go, with one event", arguments: BackendUnderTest.all)
    func pruneOrphans(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let store = try backend.open(database)
        let replica = try IndexReplica(store: store)
        for change in Fixture.basics { _ = try replica.apply(change) }
        for pk in ["1", "2", "3", "4"] {
            _ = try replica.apply(.grant(Fixture.grant(.user("1"), Fixture.car, "view_car", pk)))
            _ = try replica.apply(.grant(Fixture.grant(.user("3"), Fixture.order, "view_order", pk)))
        }
        let events = try store.events(after: .zero).count
        let outcome = try replica.pruneOrphans(contentType: Fixture.car, livePKs: ["2", "4", "999"].lazy)
        #expect(outcome.count == 2 && outcome.requested == 3 && outcome.event?.kind == .orphansPruned)
        #expect(try store.events(after: .zero).count == events + 1)
        let list = try replica.index.listObjects(
            ListObjectsQuery(subject: .user("1"), permissions: ["drivers.view_car"])
        ).value
        #expect(list == .objects(["2", "4"], nextPageToken: nil))
        #expect(try indexEqualsDatabase(replica.index, store))
    }

    @Test(
        "bulk grant and revoke: one summary event, no per-row events, every row in the index at once",
        arguments: BackendUnderTest.all
    )
    func bulk(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let store = try backend.open(database)
        let replica = try IndexReplica(store: store)
        for change in Fixture.basics { _ = try replica.apply(change) }
        let before = try store.events(after: .zero).count
        let grants =
            (0..<5000).map { Fixture.grant(.user(String($0 % 3 + 1)), Fixture.car, "view_car", String($0)) }
            + [Fixture.grant(.group("editors"), Fixture.order, "view_order")]
        // Duplicates, inside one multi-row statement and across statements, count once.
        let granted = try replica.bulkGrant(grants + [grants[1], grants[4000], grants[1]])
        #expect(granted.count == 5001 && granted.event?.kind == .bulkGranted && granted.event?.count == 5001)
        #expect(granted.requested == 5004)
        #expect(try store.events(after: .zero).count == before + 1)
        let check = CheckRequest(
            subject: .user("2"),
            permission: "view_car",
            object: ObjectRef(contentType: "drivers.car", pk: "4999")
        )
        #expect(try replica.index.check(check).value.reason == .objectGrantUser)
        #expect(try replica.index.check(check).revision == granted.revision)
        let revoked = try replica.bulkRevoke(
            Array(grants.prefix(100)) + [Fixture.grant(.user("99"), Fixture.car, "view_car", "1")]
        )
        #expect(revoked.count == 100 && revoked.event?.kind == .bulkRevoked)
        #expect(try indexEqualsDatabase(replica.index, store))
        // Unknown subjects refuse a bulk grant whole, naming the item.
        do {
            _ = try replica.bulkGrant([grants[0], Fixture.grant(.user("99"), Fixture.car, "view_car", "1")])
            Issue.record("accepted an unknown user")
        } catch {
            #expect(error.code == .notFound && error.message.contains("change 2 of 2"))
        }
        #expect(try store.revision == revoked.revision)
    }

    @Test("a follower replays bulk summaries from their rows", arguments: BackendUnderTest.all)
    func followerReplaysBulk(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let writer = try IndexReplica(store: backend.open(database))
        let follower = try IndexReplica(store: backend.open(database))
        for change in Fixture.basics { _ = try writer.apply(change) }
        let grants = (0..<300).map { Fixture.grant(.user("3"), Fixture.order, "view_order", "o\($0)") }
        _ = try writer.bulkGrant(grants)
        _ = try writer.bulkRevoke(Array(grants.prefix(10)))
        _ = try writer.pruneOrphans(contentType: Fixture.order, livePKs: (10..<200).map { "o\($0)" })
        _ = try writer.apply(.deleteUser(id: "1"))
        #expect(try follower.catchUp() == writer.index.revision)
        #expect(fingerprint(follower.index.export().value) == fingerprint(writer.index.export().value))
        #expect(try indexEqualsDatabase(follower.index, follower.store))
    }
}
