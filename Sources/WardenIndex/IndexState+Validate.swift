import WardenModel

extension IndexState {
    /// Checks a whole batch against the current state before any of it is applied, so a batch
    /// is applied entirely or not at all. Later changes may rely on earlier ones (a user created
    /// then granted); the batch's own effects are tracked in a small overlay, keyed by bytes.
    func validate(_ changes: [IndexChange]) throws(IndexError) {
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
        var users: [[UInt8]: Bool] = [:]
        var groups: [[UInt8]: Bool] = [:]
        /// username → owner id, or `nil` when released.
        var usernames: [[UInt8]: [UInt8]?] = [:]
        /// user id → its username as the batch left it (`nil`: none).
        var usernameOf: [[UInt8]: [UInt8]?] = [:]
        /// `app.model` + NUL + codename.
        var permissions: Set<[UInt8]> = []
    }

    private func validate(_ change: IndexChange, _ overlay: inout Overlay) throws(IndexError) {
        switch change {
        case .putUser(let user):
            let id = Array(user.id.utf8)
            if let username = user.username {
                let key = Array(username.utf8)
                let owner: [UInt8]?
                if let pending = overlay.usernames[key] {
                    owner = pending
                } else {
                    owner = usernames.find(username).map { Array(users[Int(userOfUsername[Int($0)])].user.id.utf8) }
                }
                if let owner, owner != id {
                    throw IndexError(
                        .alreadyExists,
                        "user.username: \"\(username)\" already belongs to user \"\(String(decoding: owner, as: UTF8.self))\""
                    )
                }
            }
            releaseUsername(of: id, &overlay)
            if let username = user.username { overlay.usernames[Array(username.utf8)] = .some(id) }
            overlay.usernameOf[id] = .some(user.username.map { Array($0.utf8) })
            overlay.users[id] = true
        case .deleteUser(let id):
            let key = Array(id.utf8)
            releaseUsername(of: key, &overlay)
            overlay.usernameOf[key] = .some(nil)
            overlay.users[key] = false
        case .putGroup(let name):
            do { try Limits.checkName(name, field: "group.name") } catch { throw .invalid(error) }
            overlay.groups[Array(name.utf8)] = true
        case .deleteGroup(let name):
            overlay.groups[Array(name.utf8)] = false
        case .addMember(let user, let group):
            try requireUser(user, overlay)
            try requireGroup(group, overlay)
        case .removeMember, .revoke, .deleteObject:
            break
        case .register(let contentType):
            for codename in contentType.codenames {
                overlay.permissions.insert(Array(contentType.name.description.utf8) + [0] + Array(codename.utf8))
            }
        case .grant(let grant):
            switch grant.subject {
            case .user(let id): try requireUser(id, overlay)
            case .group(let name): try requireGroup(name, overlay)
            }
            let type = grant.permission.contentType.description
            let registered =
                typeNames.find(type).map { types[Int($0)].permission(codename: grant.permission.codename) != nil } ?? false
            guard registered || !overlay.permissions.isEmpty && overlay.permissions.contains(Array(type.utf8) + [0] + Array(grant.permission.codename.utf8))
            else {
                throw IndexError(
                    .notFound,
                    "permission: \"\(grant.permission)\" is not registered for content type \(type)"
                )
            }
        }
    }

    private func releaseUsername(of id: [UInt8], _ overlay: inout Overlay) {
        let current: [UInt8]?
        if let pending = overlay.usernameOf[id] {
            current = pending
        } else {
            let uid = id.withUnsafeBytes { userIDs.find($0) }
            current = uid.flatMap { users[Int($0)].user.username }.map { Array($0.utf8) }
        }
        if let current { overlay.usernames[current] = .some(nil) }
    }

    private func requireUser(_ id: String, _ overlay: Overlay) throws(IndexError) {
        let pending = overlay.users.isEmpty ? nil : overlay.users[Array(id.utf8)]
        guard pending ?? (userIDs.find(id) != nil) else {
            throw IndexError(.notFound, "user: \"\(id)\" is not registered")
        }
    }

    private func requireGroup(_ name: String, _ overlay: Overlay) throws(IndexError) {
        let pending = overlay.groups.isEmpty ? nil : overlay.groups[Array(name.utf8)]
        guard pending ?? (groupNames.find(name) != nil) else {
            throw IndexError(.notFound, "group: \"\(name)\" is not registered")
        }
    }
}
