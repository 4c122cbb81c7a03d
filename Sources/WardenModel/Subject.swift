/// Who holds or asks for permissions: a user (by id) or a group (by name).
public enum Subject: Hashable, Sendable, CustomStringConvertible {
    /// A user, by the app's user id.
    case user(String)
    /// A group (role), by name.
    case group(String)

    /// Checks the identifier against its rule (user ids: 1..255 bytes; group names: 1..150 characters).
    public func validate() throws(ValidationError) {
        switch self {
        case .user(let id): try Limits.checkIdentifier(id, field: "user")
        case .group(let name): try Limits.checkName(name, field: "group")
        }
    }

    /// `user:ID` or `group:NAME`.
    public var description: String {
        switch self {
        case .user(let id): "user:\(id)"
        case .group(let name): "group:\(name)"
        }
    }
}
