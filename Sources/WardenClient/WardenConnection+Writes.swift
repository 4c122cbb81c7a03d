import WardenProto

extension Warden_V1_Grant {
    /// A grant of `permission` to `subject`, on the object `pk` when given.
    public init(_ subject: Warden_V1_Subject, _ permission: String, pk: String? = nil, contentType: String? = nil) {
        self.init()
        self.subject = subject
        self.permission = permission
        if let pk { self.pk = pk }
        if let contentType { self.contentType = contentType }
    }
}

extension WardenConnection {
    /// Grant: gives `grant.subject` the permission (on the object when `grant.pk` is set).
    /// `actor`: the user recorded in the change's event. `changed` is false when it was already held.
    public func grant(
        _ grant: Warden_V1_Grant,
        actor: String? = nil,
        timeout: Duration? = nil
    ) async throws -> Warden_V1_WriteResponse {
        try await call(.grant, grantRequest(grant, actor), returning: Warden_V1_WriteResponse.self, timeout: timeout)
    }

    /// Revoke: takes the grant back; `changed` is false when it was not held.
    public func revoke(
        _ grant: Warden_V1_Grant,
        actor: String? = nil,
        timeout: Duration? = nil
    ) async throws -> Warden_V1_WriteResponse {
        try await call(.revoke, grantRequest(grant, actor), returning: Warden_V1_WriteResponse.self, timeout: timeout)
    }

    private func grantRequest(_ grant: Warden_V1_Grant, _ actor: String?) -> Warden_V1_GrantRequest {
        var request = Warden_V1_GrantRequest()
        request.grant = grant
        request.actor = actor ?? ""
        return request
    }

    /// PutUser: creates or updates the user `id` (guardian's user row: name, active, superuser).
    public func putUser(
        _ id: String,
        username: String? = nil,
        isActive: Bool = true,
        isSuperuser: Bool = false,
        actor: String? = nil
    ) async throws -> Warden_V1_WriteResponse {
        var request = Warden_V1_PutUserRequest()
        request.user.id = id
        if let username { request.user.username = username }
        request.user.isActive = isActive
        request.user.isSuperuser = isSuperuser
        request.actor = actor ?? ""
        return try await call(.putUser, request, returning: Warden_V1_WriteResponse.self)
    }

    /// DeleteUser: removes the user with their memberships and grants.
    public func deleteUser(_ id: String, actor: String? = nil) async throws -> Warden_V1_WriteResponse {
        var request = Warden_V1_DeleteUserRequest()
        request.id = id
        request.actor = actor ?? ""
        return try await call(.deleteUser, request, returning: Warden_V1_WriteResponse.self)
    }

    /// PutGroup: creates the group `name` (a no-op when it exists).
    public func putGroup(_ name: String, actor: String? = nil) async throws -> Warden_V1_WriteResponse {
        try await call(.putGroup, groupRequest(name, actor), returning: Warden_V1_WriteResponse.self)
    }

    /// DeleteGroup: removes the group with its memberships and grants.
    public func deleteGroup(_ name: String, actor: String? = nil) async throws -> Warden_V1_WriteResponse {
        try await call(.deleteGroup, groupRequest(name, actor), returning: Warden_V1_WriteResponse.self)
    }

    private func groupRequest(_ name: String, _ actor: String?) -> Warden_V1_GroupRequest {
        var request = Warden_V1_GroupRequest()
        request.name = name
        request.actor = actor ?? ""
        return request
    }

    /// AddMember: puts `user` in `group`.
    public func addMember(user: String, group: String, actor: String? = nil) async throws -> Warden_V1_WriteResponse {
        try await call(.addMember, memberRequest(user, group, actor), returning: Warden_V1_WriteResponse.self)
    }

    /// RemoveMember: takes `user` out of `group`.
    public func removeMember(user: String, group: String, actor: String? = nil) async throws -> Warden_V1_WriteResponse
    {
        try await call(.removeMember, memberRequest(user, group, actor), returning: Warden_V1_WriteResponse.self)
    }

    private func memberRequest(_ user: String, _ group: String, _ actor: String?) -> Warden_V1_MemberRequest {
        var request = Warden_V1_MemberRequest()
        request.user = user
        request.group = group
        request.actor = actor ?? ""
        return request
    }

    /// Registers a content type with the four default codenames (unless `defaults` is false) and `custom` ones.
    public func registerContentType(
        _ contentType: String,
        defaults: Bool = true,
        custom: [String] = [],
        actor: String? = nil
    ) async throws -> Warden_V1_WriteResponse {
        var request = Warden_V1_RegisterContentTypeRequest()
        request.contentType = contentType
        request.defaults = defaults
        request.custom = custom
        request.actor = actor ?? ""
        return try await call(.registerContentType, request, returning: Warden_V1_WriteResponse.self)
    }

    /// DeleteObject: removes every grant on `object` (its row was deleted in the app).
    public func deleteObject(
        _ object: Warden_V1_ObjectRef,
        actor: String? = nil
    ) async throws -> Warden_V1_WriteResponse {
        var request = Warden_V1_DeleteObjectRequest()
        request.object = object
        request.actor = actor ?? ""
        return try await call(.deleteObject, request, returning: Warden_V1_WriteResponse.self)
    }
}
