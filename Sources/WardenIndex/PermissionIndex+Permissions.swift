import WardenModel

/// A `GetPermissions`: guardian's `get_perms`, `get_user_perms` and `get_group_perms`.
public struct PermissionsQuery: Hashable, Sendable {
    /// Which grants count.
    public enum Mode: String, Hashable, Sendable, CaseIterable {
        /// The subject's own and its groups' (`get_perms`); a superuser gets every codename.
        case both
        /// The user's own grants only (`get_user_perms`).
        case user
        /// Grants through the user's groups only (`get_group_perms`).
        case groups
    }

    /// The user or group; `nil` means the configured anonymous user.
    public var subject: Subject?
    /// The object.
    public var object: ObjectRef
    /// Which grants count.
    public var mode: Mode = .both
    /// Whether model grants count; `nil`: the index's setting.
    public var acceptGlobalPerms: Bool?

    public init(subject: Subject?, object: ObjectRef, mode: Mode = .both) {
        self.subject = subject
        self.object = object
        self.mode = mode
    }
}

extension PermissionIndex {
    /// The sorted, distinct codenames a subject holds on an object.
    public func permissions(_ query: PermissionsQuery) throws(IndexError) -> Evaluated<[String]> {
        try read { (state) throws(IndexError) in try state.permissions(query, settings) }
    }
}

extension IndexState {
    func permissions(_ query: PermissionsQuery, _ settings: PermissionIndex.Settings) throws(IndexError) -> [String] {
        try checkFieldRules(
            subject: query.subject, anonymous: settings.anonymousUser, permissions: [],
            contentType: query.object.contentType, contentTypeField: "object.content_type", pk: query.object.pk
        )
        let type = try registeredType(query.object.contentType, field: "object.content_type")
        let slot = try lookupObject(query.object.pk, in: .registered(type))
        var sources: [UInt32] = []
        switch try subject(query.subject, anonymous: settings.anonymousUser) {
        case .user(let id):
            guard let uid = try lookupUser(id) else { return [] }
            let record = users[Int(uid)]
            guard record.user.isActive else { return [] }
            if record.user.isSuperuser && query.mode == .both {
                return types[Int(type)].permissionsByCodename.map { permissions[Int($0)].codename }
            }
            if query.mode != .groups { sources.append(Self.userKey(uid)) }
            if query.mode != .user { sources += record.groups.map(Self.groupKey) }
        case .group(let name):
            guard let gid = try lookupGroup(name) else { return [] }
            sources = [Self.groupKey(gid)]
        }
        var held: [UInt32] = []
        if let slot {
            for entry in types[Int(type)].acl[Int(slot)] where sources.contains(UInt32(entry >> 32)) {
                held.append(UInt32(entry & 0xFFFF_FFFF))
            }
        }
        if query.acceptGlobalPerms ?? settings.acceptGlobalPerms {
            for source in sources {
                for permission in grants(of: source).model where permissions[Int(permission)].type == type {
                    held.append(permission)
                }
            }
        }
        held.sortAndDeduplicate()
        return codenames(held, of: type)
    }
}
