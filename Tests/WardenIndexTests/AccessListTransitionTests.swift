import Testing
import WardenIndex
import WardenModel

/// The index over objects whose access lists go 0→1→2→3→2→1→0 entries, interleaved, including
/// an object whose one grant is held by a group: checks, ListSubjects and export agree with a
/// plain set of grants at every step, and a trusted reload of the export answers the same.
@Suite("Access-list transitions in the index")
struct AccessListTransitionTests {
    let car = try! ContentTypeName("drivers.car")
    let users = ["1", "2", "3"]
    /// The group "g" has user 2; user 3 is in no group.
    let pks = ["a", "b", "/home/www/user1-1.config", "d"]

    /// (subject, codename) pairs an object goes through: the first is the group's alone.
    var holders: [(Subject, String)] {
        [(.group("g"), "view_car"), (.user("1"), "change_car"), (.user("3"), "view_car")]
    }

    func grant(_ subject: Subject, _ codename: String, _ pk: String) throws -> Grant {
        try Grant(subject: subject, permission: PermissionRef(contentType: car, codename: codename), pk: pk)
    }

    @Test("checks, list-subjects and export follow each object's grants")
    func transitions() throws {
        let index = PermissionIndex()
        try index.apply(
            [.register(try ContentType(name: car)), .putGroup(name: "g")] + users.map { .putUser(try! User(id: $0)) }
                + [.addMember(user: "2", group: "g")]
        )
        var held: Set<Grant> = []
        // Entries an object holds at each step: up 1, 2, 3 and down 2, 1, 0; objects start at
        // different steps, so some grow while others shrink (and free their side-table arrays).
        let path = [1, 2, 3, 2, 1, 0]
        for step in 0..<(path.count * 2) {
            for (n, pk) in pks.enumerated() {
                let target = path[(step + n) % path.count]
                let current = holders.prefix(while: { held.contains(try! grant($0.0, $0.1, pk)) }).count
                if target > current {
                    let g = try grant(holders[current].0, holders[current].1, pk)
                    try index.apply([.grant(g)])
                    held.insert(g)
                } else if target < current {
                    // Revoke the newest holder, so the first (the group's) stays until last.
                    let g = try grant(holders[current - 1].0, holders[current - 1].1, pk)
                    try index.apply([.revoke(g)])
                    held.remove(g)
                }
                try expectAgrees(index, held)
            }
        }
        // A trusted reload of the export (the deferred-sort path) answers the same.
        let reloaded = PermissionIndex()
        try reloaded.replaceAll(with: index.export().value, at: index.revision, trusted: true)
        try expectAgrees(reloaded, held)
    }

    @Test("a bulk batch with duplicate grants counts each once and keeps one-grant objects")
    func bulkDuplicates() throws {
        let index = PermissionIndex()
        var changes: [Change] = [.register(try ContentType(name: car)), .putGroup(name: "g")]
        changes += users.map { .putUser(try! User(id: $0)) } + [.addMember(user: "2", group: "g")]
        var held: Set<Grant> = []
        for n in 0..<40 {
            let g = try grant(n % 3 == 0 ? .group("g") : .user(users[n % 3]), "view_car", "pk\(n % 25)")
            changes += [.grant(g), .grant(g)]
            held.insert(g)
        }
        try index.replaceAll(with: changes, at: Revision(3), trusted: true)
        try expectAgrees(index, held)
        let applied = PermissionIndex()
        try applied.apply(changes)  // the validated batch defers its sorting too (over 32 changes)
        try expectAgrees(applied, held)
    }

    func expectAgrees(_ index: PermissionIndex, _ held: Set<Grant>) throws {
        let objectGrants = Set(
            index.export().value.compactMap { change -> Grant? in
                guard case .grant(let g) = change, g.pk != nil else { return nil }
                return g
            }
        )
        #expect(objectGrants == held)
        #expect(index.statistics.objectGrants == held.count)
        #expect(index.statistics.objects == Set(held.map(\.pk)).count)
        let members: [String: [String]] = ["g": ["2"]]
        for pk in Set(held.map(\.pk!)).union(pks) {
            for codename in ["view_car", "change_car"] {
                for user in users {
                    let direct = held.contains(try grant(.user(user), codename, pk))
                    let group = members.filter { $0.value.contains(user) }.keys.first {
                        held.contains(try! grant(.group($0), codename, pk))
                    }
                    let decision = try index.check(
                        CheckRequest(
                            subject: .user(user),
                            permission: "drivers.\(codename)",
                            object: ObjectRef(contentType: "drivers.car", pk: pk)
                        )
                    ).value
                    let expected: Decision.Reason =
                        direct ? .objectGrantUser : group != nil ? .objectGrantGroup : .noGrant
                    #expect(decision.reason == expected, "user \(user) \(codename) on \(pk)")
                    #expect(decision.group == (direct ? nil : group))
                }
                let groupDecision = try index.check(
                    CheckRequest(
                        subject: .group("g"),
                        permission: "drivers.\(codename)",
                        object: ObjectRef(contentType: "drivers.car", pk: pk)
                    )
                ).value
                let groupHolds = held.contains(try grant(.group("g"), codename, pk))
                #expect(groupDecision.reason == (groupHolds ? .objectGrantGroup : .noGrant))
            }
            var query = ListSubjectsQuery(object: ObjectRef(contentType: "drivers.car", pk: pk))
            query.attachPerms = true
            let list = try index.listSubjects(query).value
            var expectedUsers: [String: Set<String>] = [:]
            var expectedGroups: [String: Set<String>] = [:]
            for g in held where g.pk == pk {
                switch g.subject {
                case .user(let id): expectedUsers[id, default: []].insert(g.permission.codename)
                case .group(let name):
                    expectedGroups[name, default: []].insert(g.permission.codename)
                    for member in members[name] ?? [] {
                        expectedUsers[member, default: []].insert(g.permission.codename)
                    }
                }
            }
            #expect(list.users.map(\.name) == expectedUsers.keys.sorted(), "users of \(pk)")
            #expect(list.groups.map(\.name) == expectedGroups.keys.sorted(), "groups of \(pk)")
            for access in list.users { #expect(Set(access.permissions) == expectedUsers[access.name]) }
            for access in list.groups { #expect(Set(access.permissions) == expectedGroups[access.name]) }
        }
    }
}
