/// A registered permission's identity: its content type and its codename.
///
/// Two content types may share a codename (`blog.post` and `blog.page` may both have
/// `publish`), so the codename alone, or even `app_label.codename`, does not always name one.
public struct PermissionRef: Hashable, Sendable, CustomStringConvertible {
    /// The content type the permission belongs to.
    public let contentType: ContentTypeName
    /// The codename, e.g. `change_car`.
    public let codename: String

    public init(contentType: ContentTypeName, codename: String) throws(ValidationError) {
        try Limits.checkCodename(codename)
        self.contentType = contentType
        self.codename = codename
    }

    /// `app_label.codename`, the string Django's `has_perm` takes.
    public var description: String { "\(contentType.appLabel).\(codename)" }
}
