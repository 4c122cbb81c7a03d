import WardenModel

extension PermissionIndex {
    /// Resolves a write's permission string as a check would (`docs/semantics.md`, "Resolving
    /// names"): `app_label.codename`, or a bare codename of `contentType`; `contentType` also
    /// picks between types of one app that share a codename. An unregistered permission is
    /// `NOT_FOUND`; one registered only for another type than `contentType` is `INVALID_ARGUMENT`.
    public func permissionRef(
        _ string: String,
        contentType: String?,
        field: String = "permission"
    )
        throws(IndexError) -> PermissionRef
    {
        try read { (state) throws(IndexError) in
            let type = try contentType.map { (name) throws(IndexError) in
                try state.lookupType(name, field: "content_type")
            }
            switch try state.resolvePermission(string, in: type, field: field) {
            case .resolved(let id):
                let record = state.permissions[Int(id)]
                do throws(ValidationError) {
                    return try PermissionRef(contentType: state.types[Int(record.type)].name, codename: record.codename)
                } catch {
                    throw .invalid(error)
                }
            case .unknown:
                let suffix = contentType.map { " for content type \($0)" } ?? ""
                throw IndexError(.notFound, "\(field): \"\(string)\" is not registered\(suffix)")
            case .mismatch(let candidates):
                throw state.mismatchError(string, candidates, type!, field: field)
            }
        }.value
    }

    /// The registered user with this id, if any.
    public func user(_ id: String) -> User? {
        try! read { (state) throws(IndexError) in state.userIDs.find(id).map { state.users[Int($0)].user } }.value
    }

    /// Whether the user is a member of the group (both registered).
    public func isMember(user: String, of group: String) -> Bool {
        try! read { (state) throws(IndexError) in
            guard let uid = state.userIDs.find(user), let gid = state.groupNames.find(group) else { return false }
            return state.users[Int(uid)].groups.sortedContains(gid)
        }.value
    }
}
