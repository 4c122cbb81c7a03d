import Testing
import WardenModel

/// Identifiers compare byte for byte (issue #16, item 3): two ids that Swift's `String ==`
/// takes for one (canonical equivalence) stay two in every model type and collection.
@Suite("Identities, byte for byte")
struct IdentityTests {
    static let composed = "\u{E9}"  // é
    static let decomposed = "e\u{301}"  // e + combining acute
    static let kelvin = "\u{212A}"  // the Kelvin sign, canonically equivalent to K

    @Test("Swift's String == merges them; the model does not")
    func equality() throws {
        #expect(Self.composed == Self.decomposed && Self.kelvin == "K")  // the premise
        #expect(!Self.composed.isExactly(Self.decomposed) && !Self.kelvin.isExactly("K"))
        #expect(Self.composed.isExactly("\u{E9}"))
        #expect(Subject.user(Self.composed) != .user(Self.decomposed))
        #expect(Subject.group(Self.kelvin) != .group("K"))
        #expect(Subject.user("a") != .group("a"))
        #expect(
            ObjectRef(contentType: "lab.doc", pk: Self.composed)
                != ObjectRef(contentType: "lab.doc", pk: Self.decomposed)
        )
        #expect(try User(id: Self.composed) != User(id: Self.decomposed))
        #expect(try User(id: "1", username: Self.composed) != User(id: "1", username: Self.decomposed))
        let view = try PermissionRef(contentType: ContentTypeName("lab.doc"), codename: "view_doc")
        #expect(
            try Grant(subject: .user("1"), permission: view, pk: Self.composed)
                != Grant(subject: .user("1"), permission: view, pk: Self.decomposed)
        )
        #expect(Change.deleteUser(id: Self.composed) != .deleteUser(id: Self.decomposed))
        #expect(Change.addMember(user: Self.composed, group: "g") != .addMember(user: Self.decomposed, group: "g"))
        #expect(Change.addMember(user: "u", group: "g") != .removeMember(user: "u", group: "g"))
        #expect(Change.deleteUser(id: "x") == .deleteUser(id: "x"))
    }

    @Test("sets and dictionaries keep canonically equivalent ids apart")
    func collections() throws {
        let view = try PermissionRef(contentType: ContentTypeName("lab.doc"), codename: "view_doc")
        let subjects: Set<Subject> = [.user(Self.composed), .user(Self.decomposed), .user(Self.composed)]
        #expect(subjects.count == 2)
        let grants: Set<Grant> = [
            try Grant(subject: .user(Self.composed), permission: view),
            try Grant(subject: .user(Self.decomposed), permission: view),
            try Grant(subject: .group(Self.kelvin), permission: view, pk: "1"),
            try Grant(subject: .group("K"), permission: view, pk: "1"),
        ]
        #expect(grants.count == 4)
        let changes: Set<Change> = [.putGroup(name: Self.kelvin), .putGroup(name: "K"), .deleteGroup(name: "K")]
        #expect(changes.count == 3)
        var byObject: [ObjectRef: Int] = [:]
        byObject[ObjectRef(contentType: "lab.doc", pk: Self.composed)] = 1
        byObject[ObjectRef(contentType: "lab.doc", pk: Self.decomposed)] = 2
        #expect(byObject.count == 2)
    }
}
