/// One write to Warden's permission state: what the store commits and the index applies.
/// `PermissionIndex.apply` takes a batch of them atomically; the store turns each committed
/// one into its change event.
public enum Change: Hashable, Sendable {
    /// Creates or updates a user (flags, username).
    case putUser(User)
    /// Deletes a user with its memberships and grants. Unknown ids change nothing.
    case deleteUser(id: String)
    /// Creates a group if it does not exist.
    case putGroup(name: String)
    /// Deletes a group with its memberships and grants. Unknown names change nothing.
    case deleteGroup(name: String)
    /// Adds a user to a group; both must exist.
    case addMember(user: String, group: String)
    /// Removes a user from a group.
    case removeMember(user: String, group: String)
    /// Registers a content type and its permissions (additive).
    case register(ContentType)
    /// Grants a permission; the subject and the permission must be registered.
    case grant(Grant)
    /// Revokes a permission; revoking what is not there changes nothing.
    case revoke(Grant)
    /// Removes every grant on an object.
    case deleteObject(contentType: ContentTypeName, pk: String)
}
