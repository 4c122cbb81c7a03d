import WardenIndex
import WardenModel

/// The reference evaluator: applying changes, and inspection for the generators.
extension ReferenceEvaluator {
    // MARK: Changes (semantics.md "Writes to the index")

    /// Applies a batch: each change is checked against the state the earlier ones left; the first
    /// refused one refuses the whole batch (nothing applied) with its code.
    mutating func apply(_ changes: [Change]) -> IndexError.Code? {
        var next = self
        for change in changes {
            if let code = next.applyOne(change) { return code }
        }
        self = next
        return nil
    }

    /// Applies one change, or returns why it is refused (without changing anything).
    mutating func applyOne(_ change: Change) -> IndexError.Code? {
        switch change {
        case .putUser(let user):
            let id = refBytes(user.id)
            if let username = user.username {
                for (otherID, other) in users where otherID != id {
                    if let taken = other.username, refBytes(taken) == refBytes(username) { return .alreadyExists }
                }
            }
            users[id] = user

        case .deleteUser(let rawID):
            let id = refBytes(rawID)
            users[id] = nil
            memberships = memberships.filter { $0.user != id }
            grants = grants.filter { $0.subject != .user(id) }

        case .putGroup(let name):
            guard Self.isValidGroupName(name) else { return .invalidArgument }
            groups.insert(refBytes(name))

        case .deleteGroup(let rawName):
            let name = refBytes(rawName)
            groups.remove(name)
            memberships = memberships.filter { $0.group != name }
            grants = grants.filter { $0.subject != .group(name) }

        case .addMember(let user, let group):
            guard users[refBytes(user)] != nil, groups.contains(refBytes(group)) else { return .notFound }
            memberships.insert(MembershipRow(user: refBytes(user), group: refBytes(group)))

        case .removeMember(let user, let group):
            memberships.remove(MembershipRow(user: refBytes(user), group: refBytes(group)))

        case .register(let type):
            let name = refBytes(type.name.description)
            let codenames = type.codenames.map(refBytes)
            if let position = contentTypes.firstIndex(where: { $0.name == name }) {
                for codename in codenames where !contentTypes[position].codenames.contains(codename) {
                    contentTypes[position].codenames.append(codename)
                }
            } else {
                contentTypes.append(
                    ContentTypeRow(name: name, appLabel: refBytes(type.name.appLabel), codenames: codenames)
                )
            }

        case .grant(let grant):
            let row = Self.row(grant)
            guard isRegisteredSubject(row.subject) else { return .notFound }
            guard let type = contentType(row.contentType), type.codenames.contains(row.codename) else {
                return .notFound
            }
            grants.insert(row)

        case .revoke(let grant):
            grants.remove(Self.row(grant))

        case .deleteObject(let type, let pk):
            let typeBytes = refBytes(type.description)
            let pkBytes = refBytes(pk)
            grants = grants.filter { !($0.contentType == typeBytes && $0.pk == pkBytes) }
        }
        return nil
    }

    static func row(_ grant: Grant) -> GrantRow {
        let subject: SubjectKey =
            switch grant.subject {
            case .user(let id): .user(refBytes(id))
            case .group(let name): .group(refBytes(name))
            }
        return GrantRow(
            subject: subject,
            contentType: refBytes(grant.permission.contentType.description),
            codename: refBytes(grant.permission.codename),
            pk: grant.pk.map(refBytes)
        )
    }

    // MARK: Inspection (for generators and statistics)

    /// Grants in a fixed order (Sets iterate in a per-process random order; generators must not).
    func sortedGrants() -> [GrantRow] {
        func key(_ row: GrantRow) -> RefBytes {
            var key: RefBytes
            switch row.subject {
            case .user(let id): key = [1] + id
            case .group(let name): key = [2] + name
            }
            key += [0] + row.contentType + [0] + row.codename + [0] + (row.pk.map { [1] + $0 } ?? [])
            return key
        }
        return grants.sorted { refBytePrecedes(key($0), key($1)) }
    }

    func sortedUserIDs() -> [RefBytes] { users.keys.sorted(by: refBytePrecedes) }
    func sortedGroups() -> [RefBytes] { groups.sorted(by: refBytePrecedes) }

    /// The counts `PermissionIndex.statistics` reports (besides the revision).
    var statistics:
        (
            users: Int, groups: Int, contentTypes: Int, permissions: Int, objects: Int, objectGrants: Int,
            modelGrants: Int
        )
    {
        var objects: Set<[RefBytes]> = []
        for grant in grants { if let pk = grant.pk { objects.insert([grant.contentType, pk]) } }
        return (
            users.count, groups.count, contentTypes.count,
            contentTypes.reduce(0) { $0 + $1.codenames.count },
            objects.count,
            grants.filter { $0.pk != nil }.count,
            grants.filter { $0.pk == nil }.count
        )
    }
}
