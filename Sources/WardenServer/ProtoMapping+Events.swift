import WardenModel
import WardenProto
import WardenService

#if canImport(Glibc)
import Glibc
#endif

extension ProtoMapping {
    static func kind(_ kind: ChangeEventKind) -> Warden_V1_EventKind {
        Warden_V1_EventKind(rawValue: ChangeEventKind.allCases.firstIndex(of: kind)! + 1)!
    }

    /// The model kind of a wire kind; `nil` for unspecified or unknown values.
    static func kind(_ proto: Warden_V1_EventKind) -> ChangeEventKind? {
        let position = proto.rawValue - 1
        return ChangeEventKind.allCases.indices.contains(position) ? ChangeEventKind.allCases[position] : nil
    }

    static func watchFilter(_ proto: Warden_V1_WatchRequest) throws(ServiceError) -> WatchFilter {
        var kinds: Set<ChangeEventKind> = []
        for (position, wire) in proto.kinds.enumerated() {
            guard let kind = kind(wire) else {
                throw ServiceError(.invalidArgument, "kinds[\(position)]: \(wire.rawValue) is not an event kind")
            }
            kinds.insert(kind)
        }
        return WatchFilter(
            kinds: kinds,
            contentTypes: Set(proto.contentTypes),
            auditChecks: proto.auditChecks,
            auditSampleRate: proto.auditSampleRate
        )
    }

    static func event(_ item: WatchItem) -> Warden_V1_Event {
        switch item {
        case .event(let event): return self.event(event)
        case .check(let audit):
            var proto = Warden_V1_Event()
            proto.revision = audit.revision.rawValue
            proto.kind = .permissionChecked
            proto.timeMs = wallClockMilliseconds()
            var check = Warden_V1_CheckAudit()
            if let subject = audit.subject { check.subject = self.subject(subject) }
            check.permission = audit.permission
            if let object = audit.object { check.object = self.object(object) }
            check.allowed = audit.decision.allowed
            check.reason = reason(audit.decision.reason)
            if let group = audit.decision.group { check.group = group }
            proto.check = check
            return proto
        }
    }

    static func event(_ event: ChangeEvent) -> Warden_V1_Event {
        var proto = Warden_V1_Event()
        proto.revision = event.revision.rawValue
        proto.kind = kind(event.kind)
        proto.timeMs = event.time
        if let actor = event.actor { proto.actor = actor }
        if let count = event.count { proto.count = UInt64(count) }
        if let failure = event.failure { proto.failure = failure.rawValue }
        if let message = event.message { proto.message = message }
        switch event.change ?? event.attempted {
        case .putUser(let user)?: proto.user = self.user(user)
        case .deleteUser(let id)?: proto.userID = id
        case .putGroup(let name)?, .deleteGroup(let name)?: proto.group = name
        case .addMember(let user, let group)?, .removeMember(let user, let group)?:
            proto.userID = user
            proto.group = group
        case .register(let type)?:
            var registration = Warden_V1_ContentTypeRegistration()
            registration.contentType = type.name.description
            registration.codenames = type.codenames
            proto.registration = registration
        case .grant(let grant)?, .revoke(let grant)?: proto.grant = self.grant(grant)
        case .deleteObject(let type, let pk)?: proto.object = object(ObjectRef(contentType: type.description, pk: pk))
        case nil: break
        }
        return proto
    }
}

/// Wall-clock milliseconds since the Unix epoch (audit events carry wall time, as commits do).
private func wallClockMilliseconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
}
