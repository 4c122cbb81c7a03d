/// A committed write as subscribers see it: one per write, in revision order, kept in the
/// changelog. Bulk writes and orphan pruning get one summary event with a count instead of one
/// event per row.
public struct ChangeEvent: Hashable, Sendable {
    /// The revision the write committed at.
    public let revision: Revision
    /// What happened.
    public let kind: ChangeEventKind
    /// When it committed, in milliseconds since the Unix epoch.
    public let time: Int64
    /// The write itself, for events that record one change (grants, users, groups, members,
    /// registrations, object deletions); `nil` for summaries, failures and refusals.
    public let change: Change?
    /// Rows affected, for `BULK_GRANTED`, `BULK_REVOKED` and `ORPHANS_PRUNED`.
    public let count: Int?
    /// Why a role-permission operation failed, for `ROLE_PERMISSION_OPERATION_FAILED`.
    public let failure: RolePermissionFailure?
    /// The operation a failure or refusal was about, and a message, when there is one.
    public let attempted: Change?
    public let message: String?
    /// The app user on whose behalf the write was made, when the request named one.
    public let actor: String?

    public init(
        revision: Revision,
        kind: ChangeEventKind,
        time: Int64,
        change: Change? = nil,
        count: Int? = nil,
        failure: RolePermissionFailure? = nil,
        attempted: Change? = nil,
        message: String? = nil,
        actor: String? = nil
    ) {
        self.revision = revision
        self.kind = kind
        self.time = time
        self.change = change
        self.count = count
        self.failure = failure
        self.attempted = attempted
        self.message = message
        self.actor = actor
    }
}

extension Change {
    /// The kind of event that records this change once it committed.
    public var eventKind: ChangeEventKind {
        switch self {
        case .putUser: .userPut
        case .deleteUser: .userDeleted
        case .putGroup: .groupPut
        case .deleteGroup: .groupDeleted
        case .addMember: .memberAdded
        case .removeMember: .memberRemoved
        case .register: .contentTypeRegistered
        case .grant(let grant): grant.pk == nil ? .rolePermissionAdded : .grantAdded
        case .revoke(let grant): grant.pk == nil ? .rolePermissionRemoved : .grantRemoved
        case .deleteObject: .objectDeleted
        }
    }
}
