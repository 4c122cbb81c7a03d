import WardenIndex
import WardenModel
import WardenTestSupport

// The property tests' changes: random batches applied to both the index and the reference and
// compared (accepted or refused alike, then the same statistics). See PropertyTests.swift.

extension PropertyRun {
    // MARK: Applying

    /// Applies a batch to both sides and compares the outcome (and the statistics).
    func applyBoth(_ changes: [Change]) {
        step += 1
        let expected = reference.apply(changes)
        var actual: IndexError? = nil
        do { try index.apply(changes) } catch { actual = error }
        let description = changes.count > 8 ? "[\(changes.count) changes] \(esc("\(changes)"))" : esc("\(changes)")
        if actual?.code != expected {
            record(
                "apply",
                description,
                index: actual.map { "error \($0.code.rawValue): \(esc($0.message))" } ?? "applied",
                reference: expected.map { "error \($0.rawValue)" } ?? "applied"
            )
            diverged = true
            return
        }
        if expected == nil {
            revision += 1
            batchesApplied += 1
            changesApplied += changes.count
        }
        let statistics = index.statistics
        let expectedStatistics = reference.statistics
        let got = [
            statistics.users, statistics.groups, statistics.contentTypes, statistics.permissions, statistics.objects,
            statistics.objectGrants, statistics.modelGrants,
        ]
        let wanted = [
            expectedStatistics.users, expectedStatistics.groups, expectedStatistics.contentTypes,
            expectedStatistics.permissions, expectedStatistics.objects, expectedStatistics.objectGrants,
            expectedStatistics.modelGrants,
        ]
        if got != wanted || statistics.revision.rawValue != revision {
            record(
                "statistics after apply",
                description,
                index: "\(got) revision \(statistics.revision)",
                reference: "\(wanted) revision \(revision)"
            )
            diverged = true
        }
    }

    // MARK: Random changes

    /// `size` changes; a large batch is kept (mostly) valid so that it applies, a small one may
    /// hold a refused change (then the whole batch must be refused).
    func randomBatch(size: Int) -> [Change] {
        var scratch = reference
        var changes: [Change] = []
        for _ in 0..<size {
            var change = randomChange(scratch)
            if size > 6 && !rng.chance(0.01) {
                for _ in 0..<6 where scratch.applyOne(change) != nil { change = randomChange(scratch) }
            } else {
                _ = scratch.applyOne(change)
            }
            changes.append(change)
        }
        return changes
    }

    /// A large batch (the deferred-sort path) that keeps working on the same few subjects,
    /// objects and permissions: grants and revokes of the same rows, deletions and re-creations
    /// of their user, group and object, in any order. Only changes valid where they stand.
    func churnBatch(size: Int) -> [Change] {
        var scratch = reference
        let user = rng.pick(PropertyUniverse.userIDs)
        let group = rng.pick(PropertyUniverse.groupNames)
        let type = rng.pick(scratch.contentTypes)
        let typeName = try! ContentTypeName(refString(type.name))
        let codenames = [rng.pick(type.codenames), rng.pick(type.codenames)].map(refString)
        let pks: [String?] = [rng.pick(PropertyUniverse.pks), rng.pick(PropertyUniverse.pks), nil]
        var changes: [Change] = []
        var attempts = 0
        while changes.count < size && attempts < size * 4 {
            attempts += 1
            let subject: Subject = rng.chance(0.6) ? .user(user) : .group(group)
            let grant = try! Grant(
                subject: subject,
                permission: PermissionRef(contentType: typeName, codename: rng.pick(codenames)),
                pk: rng.pick(pks)
            )
            let change: Change
            switch rng.int(0..<100) {
            case 0..<35: change = .grant(grant)
            case 35..<58: change = .revoke(grant)
            case 58..<64:
                change = .deleteObject(contentType: typeName, pk: rng.pick(pks) ?? rng.pick(PropertyUniverse.pks))
            case 64..<71:
                let username = scratch.users[refBytes(user)]?.username
                change = .putUser(
                    try! User(id: user, username: username, isActive: rng.chance(0.7), isSuperuser: rng.chance(0.2))
                )
            case 71..<75: change = .deleteUser(id: user)
            case 75..<80: change = .putGroup(name: group)
            case 80..<84: change = .deleteGroup(name: group)
            case 84..<93: change = .addMember(user: user, group: group)
            default: change = .removeMember(user: user, group: group)
            }
            if scratch.applyOne(change) == nil { changes.append(change) }
        }
        return changes
    }

    func randomChange(_ state: ReferenceEvaluator) -> Change {
        let userIDs = PropertyUniverse.userIDs
        switch rng.int(0..<100) {
        case 0..<30:
            return .grant(randomGrant(state))
        case 30..<46:
            let existing = state.sortedGrants()
            if !existing.isEmpty && rng.chance(0.75) { return .revoke(grant(from: rng.pick(existing))) }
            return .revoke(randomGrant(state))
        case 46..<58:
            return .putUser(randomUser(state))
        case 58..<62:
            return .deleteUser(id: rng.chance(0.9) ? rng.pick(userIDs) : rng.pick(PropertyUniverse.strangerIDs))
        case 62..<66:
            return .putGroup(name: rng.pick(PropertyUniverse.groupNames))
        case 66..<69:
            return .deleteGroup(name: rng.pick(PropertyUniverse.groupNames + PropertyUniverse.strangerGroups.prefix(1)))
        case 69..<80:
            let user = rng.chance(0.95) ? rng.pick(userIDs) : rng.pick(PropertyUniverse.strangerIDs)
            return .addMember(user: user, group: rng.pick(PropertyUniverse.groupNames))
        case 80..<87:
            let members = state.memberships.sorted {
                refBytePrecedes($0.user + [0] + $0.group, $1.user + [0] + $1.group)
            }
            if !members.isEmpty && rng.chance(0.7) {
                let member = rng.pick(members)
                return .removeMember(user: refString(member.user), group: refString(member.group))
            }
            return .removeMember(user: rng.pick(userIDs), group: rng.pick(PropertyUniverse.groupNames))
        case 87..<96:
            let type = try! ContentTypeName(rng.pick(state.contentTypes.map { refString($0.name) }))
            return .deleteObject(contentType: type, pk: rng.pick(PropertyUniverse.pks))
        default:
            let (name, custom) = rng.pick(PropertyUniverse.laterTypes)
            return .register(try! ContentType(name: ContentTypeName(name), custom: custom))
        }
    }

    func randomUser(_ state: ReferenceEvaluator) -> User {
        let id = rng.chance(0.9) ? rng.pick(PropertyUniverse.userIDs) : rng.pick(PropertyUniverse.strangerIDs)
        if let existing = state.users[refBytes(id)], rng.chance(0.5) {
            // Flip one flag, keep the username.
            let flipActive = rng.chance(0.5)
            return try! User(
                id: id,
                username: existing.username,
                isActive: flipActive ? !existing.isActive : existing.isActive,
                isSuperuser: flipActive ? existing.isSuperuser : !existing.isSuperuser
            )
        }
        let existingName = state.users[refBytes(id)]?.username
        let username = existingName != nil && rng.chance(0.5) ? existingName : rng.pick(PropertyUniverse.usernames)
        return try! User(id: id, username: username, isActive: rng.chance(0.8), isSuperuser: rng.chance(0.2))
    }

    func randomGrant(_ state: ReferenceEvaluator) -> Grant {
        let subject: Subject
        let users = state.sortedUserIDs()
        let groups = state.sortedGroups()
        switch rng.int(0..<100) {
        case 0..<60 where !users.isEmpty: subject = .user(refString(rng.pick(users)))
        case 60..<92 where !groups.isEmpty: subject = .group(refString(rng.pick(groups)))
        case 92..<96: subject = .user(rng.pick(PropertyUniverse.userIDs + PropertyUniverse.strangerIDs))
        default: subject = .group(rng.pick(PropertyUniverse.groupNames + PropertyUniverse.strangerGroups))
        }
        let typeName: String
        let codename: String
        if rng.chance(0.95) {
            let row = rng.pick(state.contentTypes)
            typeName = refString(row.name)
            let codenames = row.codenames.map(refString)
            // Favour a few "hot" codenames so grants collide: view_<model> and the customs.
            let hot = codenames.filter { $0.hasPrefix("view_") || !$0.contains("_") }
            if rng.chance(0.6) && !hot.isEmpty {
                codename = rng.pick(hot)
            } else if rng.chance(0.95) {
                codename = rng.pick(codenames)
            } else {
                codename = rng.pick(["fly", "publish", "archive", "view_order"])
            }
        } else {
            typeName = "zoo.animal"
            codename = rng.pick(["view_animal", "feed"])
        }
        let permission = try! PermissionRef(contentType: ContentTypeName(typeName), codename: codename)
        // Favour a few "hot" pks too (the two cafés among them).
        let pk = rng.chance(0.4) ? rng.pick(["7", "caf\u{E9}", "cafe\u{301}", "10"]) : rng.pick(PropertyUniverse.pks)
        return try! Grant(subject: subject, permission: permission, pk: rng.chance(0.25) ? nil : pk)
    }

    func grant(from row: ReferenceEvaluator.GrantRow) -> Grant {
        let subject: Subject =
            switch row.subject {
            case .user(let id): .user(refString(id))
            case .group(let name): .group(refString(name))
            }
        let permission = try! PermissionRef(
            contentType: ContentTypeName(refString(row.contentType)),
            codename: refString(row.codename)
        )
        return try! Grant(subject: subject, permission: permission, pk: row.pk.map(refString))
    }
}
