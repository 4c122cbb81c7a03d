import Logging
import Testing
import WardenModel
import WardenSQLiteStore
import WardenService
import WardenStore

/// Escalation checks (an actor's write) across hosts: two services on one database, the second
/// not following, so its index is behind. Its checks must still decide on the state the write
/// commits on (issue 17 item 4).
@Suite("Escalation checks across hosts")
struct CrossHostEscalationTests {
    static let drive = Fixture.permission(Fixture.car, "drive_car")

    static func service(_ store: SQLiteStore) throws -> WardenService {
        WardenService(
            replica: try IndexReplica(store: store),
            policy: AccessPolicy(),
            logger: Logger(label: "warden.test") { _ in SwiftLogNoOpLogHandler() }
        )
    }

    @Test("a host whose index is behind neither approves what the database's state refuses nor refuses what it allows")
    func staleHost() throws {
        let database = TemporaryDatabase()
        let hostA = try Self.service(database.open())
        _ = try hostA.write(
            batch: Fixture.basics + [.grant(Fixture.grant(.user("1"), Fixture.car, "drive_car", "7"))],
            actor: nil
        )
        let hostB = try Self.service(database.open())  // loaded now; not following
        // On host A: user 1 loses car 7 and gains car 8. Host B's index still has the old state.
        _ = try hostA.write(.revoke(Fixture.grant(.user("1"), Fixture.car, "drive_car", "7")), actor: nil)
        _ = try hostA.write(.grant(Fixture.grant(.user("1"), Fixture.car, "drive_car", "8")), actor: nil)
        #expect(hostB.index.revision < hostA.index.revision)

        // User 1 passes on car 7, which it no longer holds: refused.
        do {
            _ = try hostB.write(.grant(Fixture.grant(.user("3"), Fixture.car, "drive_car", "7")), actor: "1")
            Issue.record("host B approved a grant of what the actor no longer holds")
        } catch {
            #expect(error.code == .permissionDenied, "\(error)")
        }
        // And car 8, which it now holds: allowed.
        let outcome = try hostB.write(.grant(Fixture.grant(.user("3"), Fixture.car, "drive_car", "8")), actor: "1")
        #expect(outcome.changed)

        let held = try database.open().snapshot().changes.compactMap { change -> String? in
            guard case .grant(let grant) = change, grant.subject == .user("3") else { return nil }
            return grant.pk
        }
        #expect(held == ["8"])
    }

    @Test("a permission registered through another host a moment ago resolves on a host that has not followed it yet")
    func registeredElsewhere() throws {
        let database = TemporaryDatabase()
        let hostA = try Self.service(database.open())
        _ = try hostA.write(batch: Fixture.basics, actor: nil)
        let hostB = try Self.service(database.open())  // loaded now; not following
        let boat = try ContentTypeName("marine.boat")
        _ = try hostA.write(.register(try ContentType(name: boat, custom: ["sail_boat"])), actor: nil)
        let grant = try hostB.makeGrant(subject: .user("2"), permission: "marine.sail_boat", contentType: nil, pk: "9")
        #expect(grant.permission.contentType == boat)
        #expect(try hostB.write(.grant(grant), actor: nil).changed)
        // A permission nobody registered is still NOT_FOUND, after the catch-up.
        #expect(throws: ServiceError.self) {
            _ = try hostB.makeGrant(subject: .user("2"), permission: "marine.fly_boat", contentType: nil, pk: "9")
        }
    }

    @Test(
        "a write whose actor was checked on a state another writer moved is checked again, not committed on the old check"
    )
    func movedUnderTheCheck() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        _ = try store.apply(batch: Fixture.basics, actor: nil)
        let revision = try store.revision
        _ = try store.apply(.putUser(Fixture.user("4")), actor: nil)
        // A conditional write at the old revision is refused whole, whatever it is.
        func expectAborted(_ what: String, _ attempt: () throws -> Void) {
            do {
                try attempt()
                Issue.record("\(what) at a stale revision committed")
            } catch {
                #expect((error as? StoreError)?.code == .aborted, "\(what): \(error)")
            }
        }
        expectAborted("a write") { _ = try store.apply(.putUser(Fixture.user("5")), actor: "1", ifAt: revision) }
        expectAborted("a batch") {
            _ = try store.apply(batch: [.putUser(Fixture.user("5"))], actor: "1", ifAt: revision)
        }
        expectAborted("a bulk grant") {
            _ = try store.bulkGrant(
                [Fixture.grant(.user("2"), Fixture.car, "drive_car", "1")],
                actor: "1",
                ifAt: revision
            )
        }
        expectAborted("a refusal") {
            _ = try store.recordRefusal(attempted: nil, message: "no", actor: "1", ifAt: revision)
        }
        #expect(try store.revision == revision.next)
        // At the current revision it commits.
        #expect(try store.apply(.putUser(Fixture.user("5")), actor: "1", ifAt: revision.next).changed)
    }
}
