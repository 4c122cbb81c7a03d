import WardenModel

extension IndexState {
    /// Checks a whole batch against the current state before any of it is applied, so a batch
    /// is applied entirely or not at all. Later changes may rely on earlier ones (a user created
    /// then granted); the batch's own effects are tracked in a small overlay, keyed by bytes.
    func validate(_ changes: [Change]) throws(IndexError) {
        var overlay = Overlay()
        for (position, change) in changes.enumerated() {
            do throws(IndexError) {
                try validate(change, &overlay)
            } catch {
                guard changes.count > 1 else { throw error }
                throw IndexError(error.code, "change \(position + 1) of \(changes.count): \(error.message)")
            }
        }
    }

    /// What the batch so far created (`true`) or deleted (`false`).
    private struct Overlay {
        var users: [ExactString: Bool] = [:]
        var groups: [ExactString: Bool] = [:]
        /// username → owner id, or `nil` when released.
        var usernames: [ExactString: ExactString?] = [:]
        /// user id → its username as the batch left it (`nil`: none).
        var usernameOf: [ExactString: ExactString?] = [:]
        /// Registered by the batch: content type → codenames.
        var permissions: [ExactString: Set<ExactString>] = [:]
    }

    private func validate(_ change: Change, _ overlay: inout Overlay) throws(IndexError) {
        switch change {
        case .putUser(let user):
            let id = ExactString(user.id)
            if let username = user.username {
                let owner: ExactString?
                if let pending = overlay.usernames[ExactString(username)] {
                    owner = pending
                } else {
                    owner = usernames.find(username).map { ExactString(users[Int(userOfUsername[Int($0)])].user.id) }
                }
                if let owner, owner != id {
                    throw IndexError(
                        .alreadyExists,
                        "user.username: \"\(username)\" already belongs to user \"\(owner.value)\""
                    )
                }
            }
            releaseUsername(of: id, &overlay)
            if let username = user.username { overlay.usernames[ExactString(username)] = .some(id) }
            overlay.usernameOf[id] = .some(user.username.map(ExactString.init))
            overlay.users[id] = true
        case .deleteUser(let id):
            let key = ExactString(id)
            releaseUsername(of: key, &overlay)
            overlay.usernameOf[key] = .some(nil)
            overlay.users[key] = false
        case .putGroup(let name):
            do { try Limits.checkName(name, field: "group.name") } catch { throw .invalid(error) }
            overlay.groups[ExactString(name)] = true
        case .deleteGroup(let name):
            overlay.groups[ExactString(name)] = false
        case .addMember(let user, let group):
            try requireUser(user, overlay)
            try requireGroup(group, overlay)
        case .removeMember, .revoke, .deleteObject:
            break
        case .register(let contentType):
            overlay.permissions[ExactString(contentType.name.description), default: []]
                .formUnion(contentType.codenames.map(ExactString.init))
        case .grant(let grant):
            switch grant.subject {
            case .user(let id): try requireUser(id, overlay)
            case .group(let name): try requireGroup(name, overlay)
            }
            let type = grant.permission.contentType.description
            let registered =
                typeNames.find(type).map { permission(codename: grant.permission.codename, ofType: $0) != nil } ?? false
            guard
                registered
                    || overlay.permissions[ExactString(type)]?.contains(ExactString(grant.permission.codename)) == true
            else {
                throw IndexError(
                    .notFound,
                    "permission: \"\(grant.permission)\" is not registered for content type \(type)"
                )
            }
        }
    }

    private func releaseUsername(of id: ExactString, _ overlay: inout Overlay) {
        let current: ExactString?
        if let pending = overlay.usernameOf[id] {
            current = pending
        } else {
            current = userIDs.find(id.value).flatMap { users[Int($0)].user.username }.map(ExactString.init)
        }
        if let current { overlay.usernames[current] = .some(nil) }
    }

    private func requireUser(_ id: String, _ overlay: Overlay) throws(IndexError) {
        let pending = overlay.users.isEmpty ? nil : overlay.users[ExactString(id)]
        guard pending ?? (userIDs.find(id) != nil) else {
            throw IndexError(.notFound, "user: \"\(id)\" is not registered")
        }
    }

    private func requireGroup(_ name: String, _ overlay: Overlay) throws(IndexError) {
        let pending = overlay.groups.isEmpty ? nil : overlay.groups[ExactString(name)]
        guard pending ?? (groupNames.find(name) != nil) else {
            throw IndexError(.notFound, "group: \"\(name)\" is not registered")
        }
    }
}
