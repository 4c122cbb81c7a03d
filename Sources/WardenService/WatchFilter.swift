import WardenModel

/// What a watcher asked for: kinds, content types, and opt-in sampled check audits.
public struct WatchFilter: Sendable {
    /// Only these kinds; empty: every persisted kind.
    public var kinds: Set<ChangeEventKind>
    /// Only events about these content types; empty: all. Events that name no content type
    /// (users, groups, members, bulk summaries, refusals of bulk calls) pass.
    public var contentTypes: Set<String>
    /// Whether to receive `PERMISSION_CHECKED` audit events.
    public var auditChecks: Bool
    /// The share of checks audited, in (0, 1]; 0: the server's rate.
    public var auditSampleRate: Double

    public init(
        kinds: Set<ChangeEventKind> = [],
        contentTypes: Set<String> = [],
        auditChecks: Bool = false,
        auditSampleRate: Double = 1
    ) {
        self.kinds = kinds
        self.contentTypes = contentTypes
        self.auditChecks = auditChecks
        self.auditSampleRate = auditSampleRate
    }

    /// Checks the fields' rules.
    public func validate() throws(ServiceError) {
        guard auditSampleRate > 0, auditSampleRate <= 1 else {
            throw ServiceError(.invalidArgument, "audit_sample_rate: must be in (0, 1] (got \(auditSampleRate))")
        }
        if kinds.contains(.permissionChecked) && !auditChecks {
            throw ServiceError(.invalidArgument, "kinds: PERMISSION_CHECKED needs audit_checks = true")
        }
        for (position, type) in contentTypes.sorted().enumerated() {
            do { _ = try ContentTypeName(type, field: "content_types[\(position)]") } catch {
                throw ServiceError(error)
            }
        }
    }

    /// Whether a committed event passes.
    func admits(_ event: ChangeEvent) -> Bool {
        if !kinds.isEmpty && !kinds.contains(event.kind) { return false }
        if contentTypes.isEmpty { return true }
        guard let type = Self.contentType(of: event.change ?? event.attempted) else { return true }
        return contentTypes.contains(type)
    }

    /// Whether an audited check passes (the kind filter was validated to allow it).
    func admits(_ audit: CheckAudit) -> Bool {
        guard auditChecks else { return false }
        if !kinds.isEmpty && !kinds.contains(.permissionChecked) { return false }
        guard !contentTypes.isEmpty, let object = audit.object else { return true }
        return contentTypes.contains(object.contentType)
    }

    /// The content type an event is about, when it names one.
    static func contentType(of change: Change?) -> String? {
        switch change {
        case .grant(let grant)?, .revoke(let grant)?: grant.permission.contentType.description
        case .register(let type)?: type.name.description
        case .deleteObject(let type, _)?: type.description
        default: nil
        }
    }
}

/// What a watcher receives: committed events, or an audited check.
public enum WatchItem: Sendable {
    case event(ChangeEvent)
    case check(CheckAudit)

    /// The revision the item belongs to.
    public var revision: Revision {
        switch self {
        case .event(let event): event.revision
        case .check(let audit): audit.revision
        }
    }
}

/// Where a watcher's items go: the transport implements it. Both methods are called from the
/// hub and must not block (hand the work to the connection's own thread).
public protocol WatchSink: AnyObject, Sendable {
    /// Items in revision order.
    func deliver(_ items: [WatchItem])
    /// The stream ends with this error (e.g. `RESOURCE_EXHAUSTED` for a watcher that does not keep up).
    func end(_ error: ServiceError)
}
