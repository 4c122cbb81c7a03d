import WardenProto

extension Warden_V1_Subject {
    /// A user subject.
    public static func user(_ id: String) -> Warden_V1_Subject {
        var subject = Warden_V1_Subject()
        subject.user = id
        return subject
    }

    /// A group subject.
    public static func group(_ name: String) -> Warden_V1_Subject {
        var subject = Warden_V1_Subject()
        subject.group = name
        return subject
    }
}

extension Warden_V1_ObjectRef {
    /// The object `pk` of `contentType` (an app label and model, `drivers.car`).
    public init(_ contentType: String, _ pk: String) {
        self.init()
        self.contentType = contentType
        self.pk = pk
    }
}

extension Warden_V1_ListObjectsResponse {
    /// The page's pks, from `packed_pks` when the server packed them, else from `pks`.
    public var pagePks: [String] {
        guard !packedPks.isEmpty else { return pks }
        return packedPks.split(separator: 0, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
    }
}

extension Warden_V1_BatchGetPermissionsResponse {
    /// The sorted codenames of the `index`th requested object.
    public func codenames(of index: Int) -> [String] {
        let width = (codenames.count + 7) / 8
        let start = masks.startIndex + index * width
        return codenames.indices.filter { masks[start + $0 / 8] & (1 << UInt8($0 % 8)) != 0 }.map { codenames[$0] }
    }
}

extension WardenConnection {
    /// Check: may `subject` use `permission` (on `object`)?
    public func check(
        _ subject: Warden_V1_Subject,
        _ permission: String,
        object: Warden_V1_ObjectRef? = nil,
        contentType: String? = nil,
        acceptGlobalPerms: Bool? = nil,
        minRevision: UInt64 = 0,
        timeout: Duration? = nil
    ) async throws -> Warden_V1_CheckResponse {
        var request = Warden_V1_CheckRequest()
        request.subject = subject
        request.permission = permission
        if let object { request.object = object }
        if let contentType { request.contentType = contentType }
        if let acceptGlobalPerms { request.acceptGlobalPerms = acceptGlobalPerms }
        request.minRevision = minRevision
        return try await check(request, timeout: timeout)
    }

    /// Check with a request built by the caller. `timeout`: the call's deadline (the connection's
    /// default when `nil`).
    public func check(
        _ request: Warden_V1_CheckRequest,
        timeout: Duration? = nil
    ) async throws -> Warden_V1_CheckResponse {
        try await call(.check, request, returning: Warden_V1_CheckResponse.self, timeout: timeout)
    }

    /// BatchCheck: many checks answered at one revision, in the order of `request.items`; one bad
    /// item gets its own error without failing the others.
    public func batchCheck(
        _ request: Warden_V1_BatchCheckRequest,
        timeout: Duration? = nil
    ) async throws -> Warden_V1_BatchCheckResponse {
        try await call(.batchCheck, request, returning: Warden_V1_BatchCheckResponse.self, timeout: timeout)
    }

    /// One page of ListObjects.
    public func listObjects(
        _ request: Warden_V1_ListObjectsRequest,
        timeout: Duration? = nil
    ) async throws -> Warden_V1_ListObjectsResponse {
        try await call(.listObjects, request, returning: Warden_V1_ListObjectsResponse.self, timeout: timeout)
    }

    /// Every page of ListObjects: `unrestricted` is the reason when the answer is unrestricted
    /// (then `pks` is empty), else `nil` and `pks` holds every pk. `contentType` is the type the
    /// server listed (`app_label.model`), the one an unrestricted answer covers when the request
    /// named none and the permissions decided it; empty from a server that predates the field.
    /// Asks for packed pages (`packed_pks`); later pages are read at least at the first page's
    /// revision.
    public func listAllObjects(
        _ request: Warden_V1_ListObjectsRequest
    ) async throws -> (unrestricted: Warden_V1_Decision?, pks: [String], contentType: String) {
        var request = request
        request.packedPks = true  // a server that predates packed_pks answers `pks`; `pagePks` reads either
        var pks: [String] = []
        while true {
            let page = try await listObjects(request)
            if page.unrestricted { return (page.unrestrictedReason, [], page.contentType) }
            pks.append(contentsOf: page.pagePks)
            guard !page.nextPageToken.isEmpty else { return (nil, pks, page.contentType) }
            request.pageToken = page.nextPageToken
            request.minRevision = max(request.minRevision, page.revision)
        }
    }

    /// ListSubjects: who holds permissions on `request.object` (guardian's `get_users_with_perms`).
    public func listSubjects(
        _ request: Warden_V1_ListSubjectsRequest,
        timeout: Duration? = nil
    ) async throws -> Warden_V1_ListSubjectsResponse {
        try await call(.listSubjects, request, returning: Warden_V1_ListSubjectsResponse.self, timeout: timeout)
    }

    /// GetPermissions: the codenames a subject holds on one object (guardian's `get_perms`).
    public func getPermissions(
        _ request: Warden_V1_GetPermissionsRequest,
        timeout: Duration? = nil
    ) async throws -> Warden_V1_GetPermissionsResponse {
        try await call(.getPermissions, request, returning: Warden_V1_GetPermissionsResponse.self, timeout: timeout)
    }

    /// GetPermissions for many objects of one type at once (`codenames(of:)` reads an object's answer).
    public func batchGetPermissions(
        _ request: Warden_V1_BatchGetPermissionsRequest,
        timeout: Duration? = nil
    ) async throws -> Warden_V1_BatchGetPermissionsResponse {
        try await call(
            .batchGetPermissions,
            request,
            returning: Warden_V1_BatchGetPermissionsResponse.self,
            timeout: timeout
        )
    }

    /// Health: the server's role and revision; answered to every peer the server accepts.
    public func health(timeout: Duration? = nil) async throws -> Warden_V1_HealthResponse {
        try await call(.health, Warden_V1_HealthRequest(), returning: Warden_V1_HealthResponse.self, timeout: timeout)
    }

    /// Stats: the server's counters and settings (what `warden stats` prints).
    public func stats(timeout: Duration? = nil) async throws -> Warden_V1_StatsResponse {
        try await call(.stats, Warden_V1_StatsRequest(), returning: Warden_V1_StatsResponse.self, timeout: timeout)
    }
}
