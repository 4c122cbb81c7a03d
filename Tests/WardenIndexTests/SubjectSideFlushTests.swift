import Testing
import WardenModel
import WardenTestSupport

@testable import WardenIndex

/// A deferred batch puts object grants on their subjects' lists a batch at a time
/// (`IndexState.flushSubjectSide`). Loaded with batches of 1, 7 and the default, and with
/// duplicates, grants that arrive out of object order, subject changes and revokes between the
/// grants, every subject's lists are sorted, distinct, and hold what one-by-one applies hold.
@Suite("Deferred subject lists")
struct SubjectSideFlushTests {
    let car = try! ContentTypeName("drivers.car")
    let doc = try! ContentTypeName("files.document")

    /// A random history: types, users and groups, then grants (some twice, some model-level,
    /// in no order of object) with new users, members and revokes among them.
    func history(seed: UInt64) throws -> [Change] {
        var rng = SplitMix64(seed: seed)
        var changes: [Change] = [
            .register(try ContentType(name: car, custom: ["drive_car"])),
            .register(try ContentType(name: doc)),
        ]
        var users = (0..<12).map { "u\($0)" }
        changes += try users.map { .putUser(try User(id: $0)) }
        changes += ["g0", "g1", "g2"].map { .putGroup(name: $0) }
        var granted: [Grant] = []
        for step in 0..<3_000 {
            switch rng.int(0..<100) {
            case 0..<2:
                users.append("late\(step)")
                changes.append(.putUser(try User(id: users.last!)))
            case 2..<4:
                changes.append(.addMember(user: users[rng.int(0..<users.count)], group: "g\(rng.int(0..<3))"))
            case 4..<8 where !granted.isEmpty:
                changes.append(.revoke(granted[rng.int(0..<granted.count)]))
            case 8..<14 where !granted.isEmpty:
                changes.append(.grant(granted[rng.int(0..<granted.count)]))  // a duplicate
            default:
                let subject: Subject =
                    rng.int(0..<4) == 0 ? .group("g\(rng.int(0..<3))") : .user(users[rng.int(0..<users.count)])
                let (type, codenames) =
                    rng.int(0..<3) == 0
                    ? (doc, ["view_document", "change_document"]) : (car, ["view_car", "change_car", "drive_car"])
                let pk = rng.int(0..<20) == 0 ? nil : "\(rng.int(0..<60))"
                let grant = try Grant(
                    subject: subject,
                    permission: PermissionRef(contentType: type, codename: codenames[rng.int(0..<codenames.count)]),
                    pk: pk
                )
                granted.append(grant)
                changes.append(.grant(grant))
            }
        }
        return changes
    }

    /// Every subject's object lists, by subject name and `type.codename`, as sorted pks; and
    /// whether each list is strictly ascending by slot.
    func subjectLists(_ index: PermissionIndex) throws -> (lists: [String: [String: [String]]], sorted: Bool) {
        try index.read { state in
            var lists: [String: [String: [String]]] = [:]
            var sorted = true
            var subjects: [(name: String, grants: SubjectGrants)] = []
            for (uid, record) in state.users.enumerated() where state.userIDs.contains(id: UInt32(uid)) {
                subjects.append(("user \(record.user.id)", record.grants))
            }
            for (gid, record) in state.groups.enumerated() where state.groupNames.contains(id: UInt32(gid)) {
                subjects.append(("group \(record.name)", record.grants))
            }
            for (name, grants) in subjects {
                for (permission, slots) in grants.objects {
                    let type = Int(state.permissions[Int(permission)].type)
                    let codename = state.permissions[Int(permission)].codename
                    sorted = sorted && zip(slots, slots.dropFirst()).allSatisfy { $0 < $1 }
                    var pks: [String] = []
                    for slot in slots { pks.append(state.types[type].objects.keys[Int(slot)]) }
                    lists[name, default: [:]]["\(state.types[type].name).\(codename)"] = pks.sorted()
                }
            }
            return (lists, sorted)
        }.value
    }

    @Test("batches of 1, 7 and the default load what one-by-one applies hold", arguments: [1, 2, 3])
    func flushes(seed: Int) throws {
        // What one-by-one applies accept (a revoke of what is not held, a member added twice, are
        // refused), in order; the loader gets the same.
        let oneByOne = PermissionIndex()
        let changes = try history(seed: UInt64(seed)).filter { (try? oneByOne.apply([$0])) != nil }
        let expected = try subjectLists(oneByOne)
        #expect(expected.sorted)
        #expect(expected.lists.values.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.count } } > 100)
        for batch in [1, 7, PendingSorts.defaultSubjectBatch] {
            let loaded = PermissionIndex()
            let loader = IndexLoader(subjectBatch: batch)
            loader.add(changes)
            loader.finish(into: loaded, at: Revision(1))
            let lists = try subjectLists(loaded)
            #expect(lists.sorted, "batch \(batch)")
            #expect(lists.lists == expected.lists, "batch \(batch)")
            #expect(loaded.statistics.objectGrants == oneByOne.statistics.objectGrants, "batch \(batch)")
            #expect(loaded.export().value == oneByOne.export().value, "batch \(batch)")
        }
    }
}
