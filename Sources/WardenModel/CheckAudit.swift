/// An evaluated check, as a `PERMISSION_CHECKED` audit event reports it to watchers that opted
/// in. Audit events are sampled and never persisted.
public struct CheckAudit: Hashable, Sendable {
    /// Who asked; `nil` when the request named no subject (the anonymous user).
    public let subject: Subject?
    /// The permission string as the request gave it.
    public let permission: String
    /// The object, for an object-level check.
    public let object: ObjectRef?
    /// The answer.
    public let decision: Decision
    /// The revision it was evaluated at.
    public let revision: Revision

    public init(subject: Subject?, permission: String, object: ObjectRef?, decision: Decision, revision: Revision) {
        self.subject = subject
        self.permission = permission
        self.object = object
        self.decision = decision
        self.revision = revision
    }
}
