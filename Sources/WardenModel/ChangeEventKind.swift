/// The kinds of change event ("signals") Warden emits, one per committed write except the bulk
/// paths, which emit one summary event each. The raw values are the wire names.
public enum ChangeEventKind: String, CaseIterable, Hashable, Sendable {
    /// An object permission was granted to a user or group.
    case grantAdded = "GRANT_ADDED"
    /// An object permission was revoked from a user or group.
    case grantRemoved = "GRANT_REMOVED"
    /// A model-level permission was granted to a role (group) or user.
    case rolePermissionAdded = "ROLE_PERMISSION_ADDED"
    /// A model-level permission was revoked from a role (group) or user.
    case rolePermissionRemoved = "ROLE_PERMISSION_REMOVED"
    /// A role-permission operation failed; the event carries a `RolePermissionFailure`.
    case rolePermissionOperationFailed = "ROLE_PERMISSION_OPERATION_FAILED"
    /// A user was created or updated.
    case userPut = "USER_PUT"
    /// A user was deleted, with its memberships and grants.
    case userDeleted = "USER_DELETED"
    /// A group was created or updated.
    case groupPut = "GROUP_PUT"
    /// A group was deleted, with its memberships and grants.
    case groupDeleted = "GROUP_DELETED"
    /// A user joined a group.
    case memberAdded = "MEMBER_ADDED"
    /// A user left a group.
    case memberRemoved = "MEMBER_REMOVED"
    /// Every grant on an object was removed (the object was deleted in the app).
    case objectDeleted = "OBJECT_DELETED"
    /// Grants on objects the app no longer has were removed; the event carries the count.
    case orphansPruned = "ORPHANS_PRUNED"
    /// A content type and its permissions were registered.
    case contentTypeRegistered = "CONTENT_TYPE_REGISTERED"
    /// A write was refused because its actor may not make it (no self-escalation).
    case writeRefused = "WRITE_REFUSED"
    /// A bulk grant committed; one summary event with counts, no per-row events.
    case bulkGranted = "BULK_GRANTED"
    /// A bulk revoke committed; one summary event with counts, no per-row events.
    case bulkRevoked = "BULK_REVOKED"
    /// A check was evaluated (audit; opt-in for watchers, sampled, never persisted).
    case permissionChecked = "PERMISSION_CHECKED"
}

/// Why a role-permission operation failed (`ROLE_PERMISSION_OPERATION_FAILED`).
public enum RolePermissionFailure: String, CaseIterable, Hashable, Sendable {
    /// The permission does not belong to the type the operation named.
    case invalidType = "invalid_type"
    /// The role already holds the permission.
    case alreadyExists = "already_exists"
    /// The role or the permission does not exist, or the role does not hold it.
    case notFound = "not_found"
}
