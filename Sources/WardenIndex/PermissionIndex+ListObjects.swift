import WardenModel

/// A `ListObjects`: guardian's `get_objects_for_user` / `get_objects_for_group`.
public struct ListObjectsQuery: Hashable, Sendable {
    /// The user or group; `nil` means the configured anonymous user.
    public var subject: Subject?
    /// Permissions, all required unless `anyPerm`; empty: any permission of `contentType`.
    public var permissions: [String]
    /// The content type; derived from the permissions when `nil`.
    public var contentType: String?
    /// One of the permissions is enough.
    public var anyPerm = false
    /// Whether a user's group grants count (model-level ones included).
    public var useGroups = true
    /// Whether a superuser gets `unrestricted`.
    public var withSuperuser = true
    /// Whether model grants count; `nil`: the index's setting.
    public var acceptGlobalPerms: Bool?
    /// Objects per page, 1...`Limits.maxPageSize`; `nil`: `Limits.defaultPageSize`.
    public var pageSize: Int?
    /// The `nextPageToken` of the previous page; `nil` or empty: the first page.
    public var pageToken: String?

    public init(subject: Subject?, permissions: [String], contentType: String? = nil) {
        self.subject = subject
        self.permissions = permissions
        self.contentType = contentType
    }
}

/// The answer to a `ListObjects`.
public enum ObjectList: Hashable, Sendable {
    /// Every object of the type qualifies (superuser, model grant): the app needs no filter.
    /// The decision says why.
    case unrestricted(Decision)
    /// These objects' pks, in object order; `nextPageToken` is set when more remain.
    case objects([String], nextPageToken: String?)
}

/// A `ListObjects` answer with the content type it lists: the request's `contentType`, or the
/// one its permissions name when it gives none, so a client knows which type an `unrestricted`
/// answer covers.
public struct ObjectListing: Hashable, Sendable {
    /// The type of every listed object and of an `unrestricted` answer.
    public let contentType: ContentTypeName
    public let list: ObjectList
}

extension PermissionIndex {
    /// Lists the objects of one content type that a subject may use the permissions on.
    public func listObjects(_ query: ListObjectsQuery) throws(IndexError) -> Evaluated<ObjectList> {
        let answer = try objectListing(query)
        return Evaluated(value: answer.value.list, revision: answer.revision)
    }

    /// `listObjects`, with the content type the request resolved to.
    public func objectListing(_ query: ListObjectsQuery) throws(IndexError) -> Evaluated<ObjectListing> {
        try read { (state) throws(IndexError) in try state.listObjects(query, settings) }
    }
}

extension IndexState {
    func listObjects(
        _ query: ListObjectsQuery,
        _ settings: PermissionIndex.Settings
    ) throws(IndexError) -> ObjectListing {
        let pageSize = query.pageSize ?? Limits.defaultPageSize
        guard (1...Limits.maxPageSize).contains(pageSize) else {
            throw IndexError(.invalidArgument, "page_size: must be 1..\(Limits.maxPageSize) (got \(pageSize))")
        }
        let cursor = try query.pageToken.flatMap { (token) throws(IndexError) in
            token.isEmpty ? nil : try PageToken.decode(token)
        }
        try checkFieldRules(
            subject: query.subject,
            anonymous: settings.anonymousUser,
            permissions: query.permissions,
            contentType: query.contentType,
            contentTypeField: "content_type",
            pk: nil
        )
        let (type, requested) = try resolveListPermissions(query.permissions, contentType: query.contentType)
        let list = try listObjects(query, type: type, requested: requested, after: cursor, pageSize: pageSize, settings)
        return ObjectListing(contentType: types[Int(type)].name, list: list)
    }

    /// The evaluation of a list request whose fields and names are checked and resolved.
    private func listObjects(
        _ query: ListObjectsQuery,
        type: UInt32,
        requested: [UInt32],
        after cursor: String?,
        pageSize: Int,
        _ settings: PermissionIndex.Settings
    ) throws(IndexError) -> ObjectList {
        let anyPerm = query.anyPerm || query.permissions.isEmpty
        let wanted = query.permissions.isEmpty ? types[Int(type)].permissions : requested
        let empty = ObjectList.objects([], nextPageToken: nil)

        // Sources: the subject's own grants, then its groups'.
        var sources: [UInt32]
        var ownIsGroup = false
        switch try subject(query.subject, anonymous: settings.anonymousUser) {
        case .user(let id):
            guard let uid = try lookupUser(id) else { return empty }
            let record = users[Int(uid)]
            guard record.user.isActive else { return empty }
            if query.withSuperuser && record.user.isSuperuser { return .unrestricted(Decision(.superuser)) }
            sources = [Self.userKey(uid)]
            if query.useGroups { sources += record.groups.map(Self.groupKey) }
        case .group(let name):
            guard let gid = try lookupGroup(name) else { return empty }
            sources = [Self.groupKey(gid)]
            ownIsGroup = true
        }

        var remaining = wanted
        if query.acceptGlobalPerms ?? settings.acceptGlobalPerms {
            var first: Decision?
            remaining = []
            for permission in wanted {
                if let decision = modelGrant(permission, sources: sources, ownIsGroup: ownIsGroup) {
                    if first == nil { first = decision }
                } else {
                    remaining.append(permission)
                }
            }
            if let first, remaining.isEmpty || anyPerm { return .unrestricted(first) }
        }

        var slots: [UInt32]?
        for permission in remaining {
            var holders: [UInt32] = []
            for source in sources {
                if let objects = grants(of: source).objects[permission] { holders = holders.sortedUnion(objects) }
            }
            if anyPerm {
                slots = (slots ?? []).sortedUnion(holders)
            } else {
                slots = slots.map { $0.sortedIntersection(holders) } ?? holders
                if slots!.isEmpty { break }
            }
        }
        return page(of: slots ?? [], in: type, after: cursor, size: pageSize)
    }

    /// The content type and the distinct permission ids of a list request.
    func resolveListPermissions(_ strings: [String], contentType: String?) throws(IndexError) -> (UInt32, [UInt32]) {
        var type: UInt32
        if let contentType {
            type = try registeredType(contentType, field: "content_type")
        } else {
            guard !strings.isEmpty else {
                throw IndexError(.invalidArgument, "content_type: required when permissions is empty")
            }
            // The first string that names a type on its own decides it. When none does, the
            // first string's own failure (bare, ambiguous or unknown) is the answer.
            var derived: UInt32?
            for string in strings where derived == nil {
                if case .resolved(let permission)? = try? resolvePermission(string, in: nil) {
                    derived = permissions[Int(permission)].type
                }
            }
            guard let derived else {
                // No string names a type: the first one fails on its own (the strings are all
                // bare, ambiguous or unknown, and only an unknown one returns instead of throwing).
                _ = try resolvePermission(strings[0], in: nil, field: "permissions[0]")
                throw IndexError(.notFound, "permissions[0]: \"\(strings[0])\" is not a registered permission")
            }
            type = derived
        }
        var ids: [UInt32] = []
        for (position, string) in strings.enumerated() {
            let field = "permissions[\(position)]"
            switch try resolvePermission(string, in: .registered(type), field: field) {
            case .resolved(let permission): if !ids.contains(permission) { ids.append(permission) }
            case .unknown:
                throw IndexError(
                    .notFound,
                    "\(field): \"\(string)\" is not a registered permission of \(types[Int(type)].name)"
                )
            case .mismatch(let candidates): throw mismatchError(string, candidates, .registered(type), field: field)
            }
        }
        return (type, ids)
    }

    /// The decision of a model grant of `permission` among `sources` (the subject first).
    func modelGrant(_ permission: UInt32, sources: [UInt32], ownIsGroup: Bool) -> Decision? {
        let own = sources[0]
        if grants(of: own).model.sortedContains(permission) {
            return ownIsGroup ? Decision(.modelGrantGroup, group: name(of: own)) : Decision(.modelGrantUser)
        }
        let gids = sources.dropFirst().lazy.map { $0 & ~Self.groupBit }
        return firstGroup(in: gids, where: { groups[Int($0)].grants.model.sortedContains(permission) })
            .map { Decision(.modelGrantGroup, group: $0) }
    }

    /// One page of `slots` in object order, strictly after the cursor pk.
    func page(of slots: [UInt32], in type: UInt32, after cursor: String?, size: Int) -> ObjectList {
        let record = types[Int(type)]
        var ordered = ObjectOrder.sorted(slots, keys: record.orderKeys, pks: record.objects.keys, after: cursor)
        let more = ordered.count > size
        if more { ordered.removeLast(ordered.count - size) }
        let pks = ordered.map { record.objects.keys[Int($0)] }
        return .objects(pks, nextPageToken: more ? PageToken.encode(after: pks[pks.count - 1]) : nil)
    }
}
