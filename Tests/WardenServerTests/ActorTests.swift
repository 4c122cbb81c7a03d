import Foundation
import Testing
import WardenClient
import WardenProto
import WardenWire

/// No self-escalation (DESIGN.md §1): each rule refuses with PERMISSION_DENIED and one
/// WRITE_REFUSED event, and changes nothing.
@Suite("Actor-checked writes", .serialized)
struct ActorTests {
    /// Staff user "10" holds change_experiment on object 1 and model-wide view (through a role).
    static func seed(_ warden: WardenConnection) async throws {
        try await RPCTests.seed(warden)
        _ = try await warden.putUser("10", username: "staff")
        _ = try await warden.putGroup("Staff")
        _ = try await warden.addMember(user: "10", group: "Staff")
        _ = try await warden.grant(Warden_V1_Grant(.group("Staff"), "lab.view_experiment"))
        _ = try await warden.grant(Warden_V1_Grant(.user("10"), "lab.change_experiment", pk: "1"))
    }

    static func refused(_ warden: WardenConnection, _ rule: String, _ write: () async throws -> Void) async throws {
        let before = try await warden.health().revision
        do {
            try await write()
            Issue.record("\(rule): the write was allowed")
            return
        } catch let error as WardenError {
            #expect(error.code == .permissionDenied, "\(rule): \(error)")
            #expect(error.message.contains(rule), "\(rule): \(error.message)")
        }
        let events = try await WatchTests.take(1, from: warden.watch(afterRevision: before))
        #expect(events.map(\.kind) == [.writeRefused], "\(rule)")
        #expect(events.first?.actor == "10")
        #expect(events.first?.message.contains(rule) == true)
        #expect(try await warden.health().revision == before + 1, "\(rule): only the refusal was recorded")
    }

    @Test("each rule refuses a non-superuser actor")
    func rules() async throws {
        try await withServer { _, warden in
            try await Self.seed(warden)
            try await Self.refused(warden, "is_superuser") {
                _ = try await warden.putUser("2", isSuperuser: true, actor: "10")
            }
            try await Self.refused(warden, "is_superuser") {
                _ = try await warden.putUser("4", isSuperuser: false, actor: "10")
            }
            try await Self.refused(warden, "model-level") {
                _ = try await warden.grant(Warden_V1_Grant(.user("2"), "lab.view_experiment"), actor: "10")
            }
            try await Self.refused(warden, "model-level") {
                _ = try await warden.revoke(Warden_V1_Grant(.user("2"), "lab.view_experiment"), actor: "10")
            }
            try await Self.refused(warden, "own memberships") {
                _ = try await warden.addMember(user: "10", group: "Maintainer", actor: "10")
            }
            try await Self.refused(warden, "own memberships") {
                _ = try await warden.removeMember(user: "10", group: "Staff", actor: "10")
            }
            try await Self.refused(warden, "own grants") {
                _ = try await warden.grant(Warden_V1_Grant(.user("10"), "lab.change_experiment", pk: "2"), actor: "10")
            }
            try await Self.refused(warden, "own account") { _ = try await warden.deleteUser("10", actor: "10") }
            try await Self.refused(warden, "own account's is_active") {
                _ = try await warden.putUser("10", username: "staff", isActive: false, actor: "10")
            }
            try await Self.refused(warden, "own memberships") { _ = try await warden.deleteGroup("Staff", actor: "10") }
            try await Self.refused(warden, "does not hold") {
                _ = try await warden.grant(Warden_V1_Grant(.user("2"), "lab.change_experiment", pk: "2"), actor: "10")
            }
            try await Self.refused(warden, "does not hold") {
                _ = try await warden.grant(Warden_V1_Grant(.group("Read only"), "lab.change_experiment"), actor: "10")
            }
            try await Self.refused(warden, "does not hold") {
                _ = try await warden.bulkGrant(
                    [Warden_V1_Grant(.user("2"), "lab.delete_experiment", pk: "1")],
                    actor: "10"
                )
            }
            // An unknown actor holds nothing.
            do {
                _ = try await warden.grant(Warden_V1_Grant(.user("2"), "lab.view_experiment", pk: "1"), actor: "ghost")
                Issue.record("an unknown actor granted")
            } catch let error as WardenError {
                #expect(error.code == .permissionDenied)
            }
            #expect(
                try await warden.check(.user("2"), "lab.change_experiment", object: RPCTests.experiment("2")).decision
                    .reason == .noGrant
            )
        }
    }

    @Test("what the actor holds it may grant; a superuser actor may do anything")
    func allowed() async throws {
        try await withServer { _, warden in
            try await Self.seed(warden)
            #expect(
                try await warden.grant(Warden_V1_Grant(.user("2"), "lab.change_experiment", pk: "1"), actor: "10")
                    .changed
            )
            #expect(
                try await warden.grant(Warden_V1_Grant(.user("2"), "lab.view_experiment", pk: "9"), actor: "10").changed
            )
            #expect(
                try await warden.grant(Warden_V1_Grant(.group("Read only"), "lab.view_experiment"), actor: "10").changed
            )
            #expect(try await warden.addMember(user: "2", group: "Staff", actor: "10").changed)
            #expect(try await warden.putUser("2", username: "bob", isActive: true, actor: "10").changed == false)
            #expect(try await warden.putUser("2", isSuperuser: true, actor: "4").changed)
            #expect(try await warden.grant(Warden_V1_Grant(.user("3"), "lab.view_experiment"), actor: "4").changed)
            #expect(try await warden.addMember(user: "4", group: "Staff", actor: "4").changed)
            // An inactive superuser is not a superuser.
            _ = try await warden.putUser("4", username: "root", isActive: false, isSuperuser: true)
            await #expect(throws: WardenError.self) { _ = try await warden.putUser("3", isSuperuser: true, actor: "4") }
        }
    }
}

/// Identities are compared byte for byte (docs/semantics.md): an actor is never taken for a
/// distinct user whose id is only canonically equivalent to its own (issue #16, item 3).
@Suite("Actor identities, byte for byte", .serialized)
struct ActorIdentityTests {
    static let composed = "\u{E9}"  // é, one scalar
    static let decomposed = "e\u{301}"  // e + combining acute: another user

    @Test("an actor é may change the distinct user e + U+0301, and is still refused its own changes")
    func canonicalEquivalentIsAnotherUser() async throws {
        try await withServer { _, warden in
            try await ActorTests.seed(warden)
            _ = try await warden.putUser(Self.composed)
            _ = try await warden.putUser(Self.decomposed)
            _ = try await warden.addMember(user: Self.composed, group: "Staff")
            _ = try await warden.grant(Warden_V1_Grant(.user(Self.composed), "lab.change_experiment", pk: "1"))
            // Not its own grants, memberships or account: allowed.
            #expect(
                try await warden.grant(
                    Warden_V1_Grant(.user(Self.decomposed), "lab.change_experiment", pk: "1"),
                    actor: Self.composed
                ).changed
            )
            #expect(
                try await warden.revoke(
                    Warden_V1_Grant(.user(Self.decomposed), "lab.change_experiment", pk: "1"),
                    actor: Self.composed
                ).changed
            )
            #expect(try await warden.addMember(user: Self.decomposed, group: "Staff", actor: Self.composed).changed)
            #expect(try await warden.removeMember(user: Self.decomposed, group: "Staff", actor: Self.composed).changed)
            #expect(try await warden.putUser(Self.decomposed, isActive: false, actor: Self.composed).changed)
            #expect(try await warden.deleteUser(Self.decomposed, actor: Self.composed).changed)
            // Its own, byte for byte: refused.
            await #expect(throws: WardenError.self) {
                _ = try await warden.grant(
                    Warden_V1_Grant(.user(Self.composed), "lab.change_experiment", pk: "1"),
                    actor: Self.composed
                )
            }
            await #expect(throws: WardenError.self) {
                _ = try await warden.deleteUser(Self.composed, actor: Self.composed)
            }
            #expect(
                try await warden.check(.user(Self.composed), "lab.change_experiment", object: RPCTests.experiment("1"))
                    .decision.allowed
            )
        }
    }
}
