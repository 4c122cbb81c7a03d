import WardenModel

/// A `ListSubjects`: guardian's `get_users_with_perms` and `get_groups_with_perms` in one.
public struct ListSubjectsQuery: Hashable, Sendable {
    /// The object whose subjects are listed.
    public var object: ObjectRef
    /// Keep only subjects holding at least one of these; empty: any permission.
    public var permissions: [String] = []
    /// List every active superuser (with all of the type's codenames).
    public var withSuperusers = false
    /// Count grants that users hold through their groups.
    public var withGroupUsers = true
    /// Return each subject's codenames on the object.
    public var attachPerms = false
    /// Whether model grants count; `nil`: the index's setting.
    public var acceptGlobalPerms: Bool?

    public init(object: ObjectRef, permissions: [String] = []) {
        self.object = object
        self.permissions = permissions
    }
}

/// A subject with access to an object, and (with `attachPerms`) its codenames there.
public struct SubjectAccess: Hashable, Sendable {
    /// The user id or group name.
    public let name: String
    /// Sorted codenames; empty unless the query asked for them.
    public let permissions: [String]
}

/// The answer to a `ListSubjects`.
public struct SubjectList: Hashable, Sendable {
    /// Users, in object order of their ids.
    public let users: [SubjectAccess]
    /// Groups, by name in byte order.
    public let groups: [SubjectAccess]
}

extension PermissionIndex {
    /// Lists who can reach an object, and through which permissions.
    public func listSubjects(_ query: ListSubjectsQuery) throws(IndexError) -> Evaluated<SubjectList> {
        try read { (state) throws(IndexError) in try state.listSubjects(query, settings) }
    }
}

extension IndexState {
    func listSubjects(
        _ query: ListSubjectsQuery,
        _ settings: PermissionIndex.Settings
    ) throws(IndexError) -> SubjectList {
        try checkFieldRules(
            subject: .none,
            anonymous: nil,
            permissions: query.permissions,
            contentType: query.object.contentType,
            contentTypeField: "object.content_type",
            pk: query.object.pk
        )
        let type = try registeredType(query.object.contentType, field: "object.content_type")
        let slot = try lookupObject(query.object.pk, in: .registered(type))
        let filter =
            query.permissions.isEmpty
            ? [] : try resolveListPermissions(query.permissions, contentType: query.object.contentType).1

        // Every (subject, permission) pair that reaches the object, as access-list entries
        // (`subject << 32 | permission`): one array, sorted once, walked as runs per subject.
        var pairs: [UInt64] = slot.map { types[Int(type)].acl.entries(of: $0) } ?? []
        if query.acceptGlobalPerms ?? settings.acceptGlobalPerms {
            for permission in types[Int(type)].permissions {
                for holder in permissions[Int(permission)].modelHolders { pairs.append(Self.entry(holder, permission)) }
            }
        }
        if query.withGroupUsers {
            for entry in pairs where UInt32(entry >> 32) & Self.groupBit != 0 {
                for uid in groups[Int(UInt32(entry >> 32) & ~Self.groupBit)].members {
                    pairs.append(Self.entry(Self.userKey(uid), UInt32(truncatingIfNeeded: entry)))
                }
            }
        }
        if query.withSuperusers {
            for uid in superusers where userFlags[Int(uid)] & UserFlags.active != 0 {
                for permission in types[Int(type)].permissions {
                    pairs.append(Self.entry(Self.userKey(uid), permission))
                }
            }
        }
        pairs.sortAndDeduplicate()

        var userList: [SubjectAccess] = []
        var order: [(key: UInt64, position: Int)] = []
        var groupList: [SubjectAccess] = []
        var held: [UInt32] = []
        var start = 0
        while start < pairs.count {
            let subject = UInt32(pairs[start] >> 32)
            var end = start
            held.removeAll(keepingCapacity: true)
            while end < pairs.count && UInt32(pairs[end] >> 32) == subject {
                held.append(UInt32(truncatingIfNeeded: pairs[end]))
                end += 1
            }
            start = end
            guard filter.isEmpty || filter.contains(where: held.sortedContains) else { continue }
            let codenames = query.attachPerms ? codenames(held, of: type) : []
            if subject & Self.groupBit != 0 {
                groupList.append(
                    SubjectAccess(name: groups[Int(subject & ~Self.groupBit)].name, permissions: codenames)
                )
            } else if userFlags[Int(subject)] & UserFlags.active != 0 {
                order.append((userOrderKeys[Int(subject)], userList.count))
                userList.append(SubjectAccess(name: users[Int(subject)].user.id, permissions: codenames))
            }
        }
        // Sort integer keys; names are read only when two keys tie.
        order.sort { a, b in
            a.key != b.key
                ? a.key < b.key
                : a.key >> 63 != 0 && ObjectOrder.bytesPrecede(userList[a.position].name, userList[b.position].name)
        }
        groupList.sort { ObjectOrder.bytesPrecede($0.name, $1.name) }
        return SubjectList(users: order.map { userList[$0.position] }, groups: groupList)
    }
}
