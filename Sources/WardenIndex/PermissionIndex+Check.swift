import WardenModel

/// A `Check`: may this subject use this permission (on this object)?
public struct CheckRequest: Hashable, Sendable {
    /// The user or group asking; `nil` means the configured anonymous user.
    public var subject: Subject?
    /// `app_label.codename`, or a bare codename resolved by the request's content type.
    public var permission: String
    /// The object, for an object-level check.
    public var object: ObjectRef?
    /// An explicit content type, for a bare codename in a model-level check.
    public var contentType: String?
    /// Whether model grants imply object access; `nil`: the index's setting.
    public var acceptGlobalPerms: Bool?

    public init(
        subject: Subject?,
        permission: String,
        object: ObjectRef? = nil,
        contentType: String? = nil,
        acceptGlobalPerms: Bool? = nil
    ) {
        self.subject = subject
        self.permission = permission
        self.object = object
        self.contentType = contentType
        self.acceptGlobalPerms = acceptGlobalPerms
    }
}

extension PermissionIndex {
    /// Decides one check, in the order of `docs/semantics.md`.
    public func check(_ request: CheckRequest) throws(IndexError) -> Evaluated<Decision> {
        try read { (state) throws(IndexError) in try state.check(request, settings) }
    }

    /// Decides many checks at one revision; one bad item never fails the others.
    public func check(_ requests: [CheckRequest]) -> Evaluated<[Result<Decision, IndexError>]> {
        // The closure cannot throw: each item's error is caught into its result.
        try! read { state in
            requests.map { request in
                do throws(IndexError) { return .success(try state.check(request, settings)) } catch {
                    return .failure(error)
                }
            }
        }
    }
}

extension IndexState {
    func check(_ request: CheckRequest, _ settings: PermissionIndex.Settings) throws(IndexError) -> Decision {
        // Request errors first: they do not depend on who asks.
        if request.subject == nil && settings.anonymousUser == nil { throw Self.subjectRequired }
        var type: TypeLookup?
        var slot: UInt32?
        let resolution: PermissionResolution
        do throws(IndexError) {
            (type, slot, resolution) = try resolveRequest(request)
        } catch {
            // Name the first broken field in the documented order (subject, permission, content
            // type, pk), whichever lookup tripped first; only failing requests pay for this.
            let objectType = request.object?.contentType ?? request.contentType
            try checkFieldRules(
                subject: .some(request.subject),
                anonymous: settings.anonymousUser,
                permissions: [request.permission],
                contentType: objectType,
                contentTypeField: request.object == nil ? "content_type" : "object.content_type",
                pk: request.object?.pk,
                permissionField: { _ in "permission" }
            )
            throw error
        }
        let useModelGrants = request.object == nil || (request.acceptGlobalPerms ?? settings.acceptGlobalPerms)

        switch try subject(request.subject, anonymous: settings.anonymousUser) {
        case .user(let id):
            guard let uid = try lookupUser(id) else { return Decision(.unknownUser) }
            let flags = userFlags[Int(uid)]
            guard flags & UserFlags.active != 0 else { return Decision(.inactiveUser) }
            if flags & UserFlags.superuser != 0 { return Decision(.superuser) }
            guard let permission = try resolved(resolution, request, type) else { return Decision(.unknownPermission) }
            return decide(uid, permission, slot: slot, useModelGrants: useModelGrants)
        case .group(let name):
            guard let gid = try lookupGroup(name) else { return Decision(.unknownUser) }
            guard let permission = try resolved(resolution, request, type) else { return Decision(.unknownPermission) }
            if let slot,
                types[Int(permissions[Int(permission)].type)].acl.withEntries(
                    of: slot,
                    { $0.sortedContains(Self.entry(Self.groupKey(gid), permission)) }
                )
            {
                return Decision(.objectGrantGroup, group: groups[Int(gid)].name)
            }
            if useModelGrants && groups[Int(gid)].grants.model.sortedContains(permission) {
                return Decision(.modelGrantGroup, group: groups[Int(gid)].name)
            }
            return Decision(.noGrant)
        }
    }

    /// Steps 6–8 for an active, non-superuser user and a resolved permission.
    @inline(__always)
    func decide(_ uid: UInt32, _ permission: UInt32, slot: UInt32?, useModelGrants: Bool) -> Decision {
        let u = Int(uid)
        if let slot {
            let decision = types[Int(permissions[Int(permission)].type)].acl.withEntries(of: slot) { acl -> Decision? in
                if acl.sortedContains(Self.entry(Self.userKey(uid), permission)) { return Decision(.objectGrantUser) }
                return firstGroup(
                    in: users[u].groups,
                    where: { acl.sortedContains(Self.entry(Self.groupKey($0), permission)) }
                ).map { Decision(.objectGrantGroup, group: $0) }
            }
            if let decision { return decision }
        }
        if useModelGrants {
            if users[u].grants.model.sortedContains(permission) { return Decision(.modelGrantUser) }
            if let group = firstGroup(
                in: users[u].groups,
                where: { groups[Int($0)].grants.model.sortedContains(permission) }
            ) {
                return Decision(.modelGrantGroup, group: group)
            }
        }
        return Decision(.noGrant)
    }

    /// The type and permission ids of an `app.codename` registered for the content type named
    /// `typeName`, if it is one.
    @inline(__always)
    private func permission(_ string: String, ofType typeName: String) -> (type: UInt32, permission: UInt32)? {
        guard let name = permissionNames.find(string) else { return nil }
        for candidate in permissionsOfName[Int(name)] {
            let type = permissions[Int(candidate)].type
            if ExactString(types[Int(type)].name.description) == ExactString(typeName) { return (type, candidate) }
        }
        return nil
    }

    /// The request's content type, object slot and permission, raising its request errors.
    @inline(__always)
    private func resolveRequest(
        _ request: CheckRequest
    ) throws(IndexError) -> (TypeLookup?, UInt32?, PermissionResolution) {
        var type: TypeLookup?
        var slot: UInt32?
        var fastResolution: PermissionResolution?
        if let object = request.object {
            if let explicit = request.contentType, !explicit.utf8.elementsEqual(object.contentType.utf8) {
                throw IndexError(
                    .invalidArgument,
                    "content_type: \"\(explicit)\" differs from object.content_type \"\(object.contentType)\""
                )
            }
            // Fast path: an `app.codename` registered for the object's type names the type
            // itself, so the type needs no lookup of its own.
            if let (objectType, permission) = permission(request.permission, ofType: object.contentType) {
                type = .registered(objectType)
                slot = try lookupObject(object.pk, in: .registered(objectType))
                fastResolution = .resolved(permission)
            } else {
                let objectType = try lookupType(object.contentType, field: "object.content_type")
                slot = try lookupObject(object.pk, in: objectType)
                type = objectType
            }
        } else if let explicit = request.contentType {
            type = try lookupType(explicit, field: "content_type")
        }
        let resolution: PermissionResolution
        if let fastResolution {
            resolution = fastResolution
        } else {
            resolution = try resolvePermission(request.permission, in: type)
        }
        return (type, slot, resolution)
    }

    /// Steps 4 and 5: the permission id, `nil` when unknown, or the mismatch error.
    @inline(__always)
    private func resolved(
        _ resolution: PermissionResolution,
        _ request: CheckRequest,
        _ type: TypeLookup?
    )
        throws(IndexError) -> UInt32?
    {
        switch resolution {
        case .resolved(let permission): return permission
        case .unknown: return nil
        case .mismatch(let candidates):
            throw mismatchError(request.permission, candidates, type!, field: "permission")
        }
    }
}
