/// The answer to a check: allowed or denied, with the reason that decided it.
public struct Decision: Hashable, Sendable, CustomStringConvertible {
    /// Why the decision came out as it did. The raw values are the wire names.
    public enum Reason: String, CaseIterable, Hashable, Sendable {
        /// The user (or group) is not registered. Deny.
        case unknownUser = "UNKNOWN_USER"
        /// The user has `is_active = false`. Deny, even for a superuser.
        case inactiveUser = "INACTIVE_USER"
        /// The user is an active superuser. Allow, even for a permission that does not exist.
        case superuser = "SUPERUSER"
        /// The permission is not registered: an `app.codename` no type has, a bare codename the
        /// request's type lacks, or a string with two dots. Deny. (An `app.codename` registered
        /// only for another type than the object's is an `INVALID_ARGUMENT` error instead.)
        case unknownPermission = "UNKNOWN_PERMISSION"
        /// The user holds the permission on this object. Allow.
        case objectGrantUser = "OBJECT_GRANT_USER"
        /// One of the user's groups holds the permission on this object. Allow; `group` names it.
        case objectGrantGroup = "OBJECT_GRANT_GROUP"
        /// The user holds the permission model-wide. Allow.
        case modelGrantUser = "MODEL_GRANT_USER"
        /// One of the user's groups holds the permission model-wide. Allow; `group` names it.
        case modelGrantGroup = "MODEL_GRANT_GROUP"
        /// Nothing grants it. Deny.
        case noGrant = "NO_GRANT"

        /// Whether a decision with this reason allows.
        public var allows: Bool {
            switch self {
            case .superuser, .objectGrantUser, .objectGrantGroup, .modelGrantUser, .modelGrantGroup: true
            case .unknownUser, .inactiveUser, .unknownPermission, .noGrant: false
            }
        }
    }

    /// What decided.
    public let reason: Reason
    /// The granting group, for `OBJECT_GRANT_GROUP` and `MODEL_GRANT_GROUP`; otherwise `nil`.
    public let group: String?

    public init(_ reason: Reason, group: String? = nil) {
        self.reason = reason
        self.group = group
    }

    /// Whether the request is allowed.
    public var allowed: Bool { reason.allows }

    public var description: String {
        (allowed ? "allow " : "deny ") + reason.rawValue + (group.map { " (group \($0))" } ?? "")
    }
}
