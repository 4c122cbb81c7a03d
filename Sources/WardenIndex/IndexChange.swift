import WardenModel

/// One change to the index, as the store commits it. `PermissionIndex.apply` takes a batch of
/// them and applies it atomically.
public enum IndexChange: Hashable, Sendable {
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
