/// A permission held by a subject: model-level (no pk) or on one object of the permission's
/// content type (django-guardian's object permission).
public struct Grant: Hashable, Sendable, CustomStringConvertible {
    /// Who holds it.
    public let subject: Subject
    /// What is held.
    public let permission: PermissionRef
    /// The object's pk, of `permission.contentType`; `nil` for a model-level grant.
    public let pk: String?

    public init(subject: Subject, permission: PermissionRef, pk: String? = nil) throws(ValidationError) {
        try subject.validate()
        if let pk { try Limits.checkIdentifier(pk, field: "object.pk") }
        self.subject = subject
        self.permission = permission
        self.pk = pk
    }

    /// A grant from parts the caller has checked against `init`'s rules already: a store's
    /// snapshot checks each subject once, not once per grant it holds, and each pk.
    public init(validated subject: Subject, permission: PermissionRef, pk: String?) {
        self.subject = subject
        self.permission = permission
        self.pk = pk
    }

    /// The object the grant is on, if it is an object grant.
    public var object: ObjectRef? {
        pk.map { ObjectRef(contentType: permission.contentType.description, pk: $0) }
    }

    public var description: String {
        "\(subject) \(permission)" + (pk.map { " on \(permission.contentType):\($0)" } ?? "")
    }
}
