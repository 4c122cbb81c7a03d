import Testing
import WardenIndex
import WardenModel

/// `replaceAll`: the atomic reload a replica uses.
@Suite("Reload")
struct ReloadTests {
    let car = try! ContentTypeName("drivers.car")

    @Test("an untrusted reload refuses a bad batch and keeps the old state")
    func untrusted() throws {
        let index = PermissionIndex()
        try index.apply([.putGroup(name: "old")])
        let grant = try Grant(
            subject: .user("ghost"),
            permission: PermissionRef(contentType: car, codename: "view_car"),
            pk: "1"
        )
        #expect(throws: IndexError.self) {
            try index.replaceAll(with: [.register(ContentType(name: car)), .grant(grant)], at: Revision(9))
        }
        #expect(index.statistics.groups == 1 && index.revision == Revision(1))
    }

    @Test("a trusted reload skips what it cannot resolve instead of crashing")
    func trusted() throws {
        let index = PermissionIndex()
        let view = try PermissionRef(contentType: car, codename: "view_car")
        try index.replaceAll(
            with: [
                .register(try ContentType(name: car)),
                .putUser(try User(id: "1")),
                .addMember(user: "1", group: "missing"),
                .grant(try Grant(subject: .user("ghost"), permission: view, pk: "1")),
                .grant(
                    try Grant(
                        subject: .user("1"),
                        permission: PermissionRef(contentType: car, codename: "fly_car"),
                        pk: "1"
                    )
                ),
                .grant(try Grant(subject: .user("1"), permission: view, pk: "2")),
            ],
            at: Revision(7),
            trusted: true
        )
        #expect(index.revision == Revision(7))
        #expect(index.statistics.grants == 1 && index.statistics.users == 1)
        let check = CheckRequest(
            subject: .user("1"),
            permission: "drivers.view_car",
            object: ObjectRef(contentType: "drivers.car", pk: "2")
        )
        #expect(try index.check(check).value.reason == .objectGrantUser)
    }
}
