/// A user of the app, as Warden knows it: the app's user id, an optional unique username and
/// Django's two flags that decide before any grant does. Immutable: a value exists only if it
/// passed validation (make a new one to change a field).
public struct User: Hashable, Sendable {
    /// The app's user pk as a string, 1..255 bytes of UTF-8.
    public let id: String
    /// Optional, unique among users, 1..150 characters.
    public let username: String?
    /// An inactive user is denied everything (`INACTIVE_USER`), superuser or not.
    public let isActive: Bool
    /// An active superuser is allowed everything (`SUPERUSER`).
    public let isSuperuser: Bool

    public init(
        id: String,
        username: String? = nil,
        isActive: Bool = true,
        isSuperuser: Bool = false
    )
        throws(ValidationError)
    {
        try Limits.checkIdentifier(id, field: "user.id")
        if let username { try Limits.checkName(username, field: "user.username") }
        self.id = id
        self.username = username
        self.isActive = isActive
        self.isSuperuser = isSuperuser
    }
}
