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
    func listSubjects(_ query: ListSubjectsQuery, _ settings: PermissionIndex.Settings) throws(IndexError) -> SubjectList {
        let type = try registeredType(query.object.contentType, field: "object.content_type")
        let slot = try lookupObject(query.object.pk, in: .registered(type))
        let (_, filter) = query.permissions.isEmpty
            ? (type, [])
            : try resolveListPermissions(query.permissions, contentType: query.object.contentType)

        // Each subject's permission ids on the object (unsorted, may repeat until finished).
        var userPermissions: [UInt32: [UInt32]] = [:]
        var groupPermissions: [UInt32: [UInt32]] = [:]
        func add(_ key: UInt32, _ permission: UInt32) {
            if key & Self.groupBit == 0 {
                userPermissions[key, default: []].append(permission)
            } else {
                groupPermissions[key & ~Self.groupBit, default: []].append(permission)
            }
        }
        if let slot {
            for entry in types[Int(type)].acl[Int(slot)] { add(UInt32(entry >> 32), UInt32(entry & 0xFFFF_FFFF)) }
        }
        if query.acceptGlobalPerms ?? settings.acceptGlobalPerms {
            for permission in types[Int(type)].permissions {
                for holder in permissions[Int(permission)].modelHolders { add(holder, permission) }
            }
        }
        if query.withGroupUsers {
            for (gid, held) in groupPermissions {
                for uid in groups[Int(gid)].members { userPermissions[uid, default: []] += held }
            }
        }
        if query.withSuperusers {
            for uid in superusers where users[Int(uid)].user.isActive {
                userPermissions[uid] = types[Int(type)].permissions
            }
        }

        func access(_ name: String, _ held: [UInt32]) -> SubjectAccess? {
            var held = held
            held.sortAndDeduplicate()
            guard filter.isEmpty || filter.contains(where: held.sortedContains) else { return nil }
            let codenames = query.attachPerms ? held.map { permissions[Int($0)].codename }.sorted(by: Self.byteOrder) : []
            return SubjectAccess(name: name, permissions: codenames)
        }
        var userList: [SubjectAccess] = []
        for (uid, held) in userPermissions {
            let record = users[Int(uid)]
            guard record.user.isActive, let entry = access(record.user.id, held) else { continue }
            userList.append(entry)
        }
        var groupList: [SubjectAccess] = []
        for (gid, held) in groupPermissions {
            if let entry = access(groups[Int(gid)].name, held) { groupList.append(entry) }
        }
        userList.sort { ObjectOrder.precedes($0.name, $1.name) }
        groupList.sort { Self.byteOrder($0.name, $1.name) }
        return SubjectList(users: userList, groups: groupList)
    }

    /// UTF-8 byte order.
    static func byteOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}
