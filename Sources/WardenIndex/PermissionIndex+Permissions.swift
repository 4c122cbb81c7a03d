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

/// Whose grants a `GetPermissions` counts, resolved once per request (and once for a whole
/// `BatchGetPermissions`).
enum PermissionSources {
    /// Nothing: an unknown or inactive user, an unknown group.
    case nothing
    /// Every codename of the type: an active superuser, in mode `both`.
    case everything
    /// The grants of these subject keys; model grants too when `model`.
    case grants([UInt32], model: Bool)
}

extension IndexState {
    func permissions(_ query: PermissionsQuery, _ settings: PermissionIndex.Settings) throws(IndexError) -> [String] {
        try checkFieldRules(
            subject: query.subject,
            anonymous: settings.anonymousUser,
            permissions: [],
            contentType: query.object.contentType,
            contentTypeField: "object.content_type",
            pk: query.object.pk
        )
        let type = try registeredType(query.object.contentType, field: "object.content_type")
        let slot = try lookupObject(query.object.pk, in: .registered(type))
        switch try permissionSources(
            query.subject,
            mode: query.mode,
            acceptGlobalPerms: query.acceptGlobalPerms,
            settings
        ) {
        case .nothing:
            return []
        case .everything:
            return types[Int(type)].permissionsByCodename.map { permissions[Int($0)].codename }
        case .grants(let sources, let model):
            var held = model ? modelPermissions(of: sources, in: type) : []
            if let slot { appendObjectPermissions(of: sources, slot: slot, in: type, to: &held) }
            held.sortAndDeduplicate()
            return codenames(held, of: type)
        }
    }

    /// The subject's sources for a `GetPermissions` in `mode` (DESIGN.md: superuser gets every
    /// codename in mode `both` only; inactive and unknown users hold nothing).
    func permissionSources(
        _ subject: Subject?,
        mode: PermissionsQuery.Mode,
        acceptGlobalPerms: Bool?,
        _ settings: PermissionIndex.Settings
    ) throws(IndexError) -> PermissionSources {
        let model = acceptGlobalPerms ?? settings.acceptGlobalPerms
        switch try self.subject(subject, anonymous: settings.anonymousUser) {
        case .user(let id):
            guard let uid = try lookupUser(id) else { return .nothing }
            let record = users[Int(uid)]
            guard record.user.isActive else { return .nothing }
            if record.user.isSuperuser && mode == .both { return .everything }
            var sources: [UInt32] = []
            if mode != .groups { sources.append(Self.userKey(uid)) }
            if mode != .user { sources += record.groups.map(Self.groupKey) }
            return .grants(sources, model: model)
        case .group(let name):
            guard let gid = try lookupGroup(name) else { return .nothing }
            return .grants([Self.groupKey(gid)], model: model)
        }
    }

    /// The permission ids of `type` that `sources` hold model-wide (unsorted, may repeat).
    func modelPermissions(of sources: [UInt32], in type: UInt32) -> [UInt32] {
        var held: [UInt32] = []
        for source in sources {
            for permission in grants(of: source).model where permissions[Int(permission)].type == type {
                held.append(permission)
            }
        }
        return held
    }

    /// Appends the permission ids that `sources` hold on the object in `slot` (unsorted, may
    /// repeat). The access list is sorted by subject: each source's entries are found by binary
    /// search, not by scanning every subject's (an object reachable by 90 users has hundreds).
    @inline(__always)
    func appendObjectPermissions(of sources: [UInt32], slot: UInt32, in type: UInt32, to held: inout [UInt32]) {
        types[Int(type)].acl.withEntries(of: slot) { acl in
            for source in sources {
                var position = acl.lowerBound(of: Self.entry(source, 0))
                while position < acl.count && UInt32(acl[position] >> 32) == source {
                    held.append(UInt32(acl[position] & 0xFFFF_FFFF))
                    position += 1
                }
            }
        }
    }
}
