import WardenIndex
import WardenModel
import WardenProto
import WardenService

/// Proto ↔ model for the shared types. Strings are taken as they come; the index and the model
/// check them, so each error names the field as the API spells it.
enum ProtoMapping {
    static func subject(_ proto: Warden_V1_Subject?) -> Subject? {
        switch proto?.kind {
        case .user(let id)?: .user(id)
        case .group(let name)?: .group(name)
        case nil: nil
        }
    }

    static func subject(_ subject: Subject) -> Warden_V1_Subject {
        var proto = Warden_V1_Subject()
        switch subject {
        case .user(let id): proto.user = id
        case .group(let name): proto.group = name
        }
        return proto
    }

    /// A subject a write needs: present and valid.
    static func requiredSubject(_ proto: Warden_V1_Subject?, field: String) throws(ServiceError) -> Subject {
        guard let subject = subject(proto) else {
            throw ServiceError(.invalidArgument, "\(field): required (a user or a group)")
        }
        do { try subject.validate() } catch { throw ServiceError(ValidationError(field: field, rule: error.rule)) }
        return subject
    }

    static func object(_ proto: Warden_V1_ObjectRef) -> ObjectRef {
        ObjectRef(contentType: proto.contentType, pk: proto.pk)
    }

    static func object(_ object: ObjectRef) -> Warden_V1_ObjectRef {
        var proto = Warden_V1_ObjectRef()
        proto.contentType = object.contentType
        proto.pk = object.pk
        return proto
    }

    static func reason(_ reason: Decision.Reason) -> Warden_V1_Reason {
        switch reason {
        case .unknownUser: .unknownUser
        case .inactiveUser: .inactiveUser
        case .superuser: .superuser
        case .unknownPermission: .unknownPermission
        case .objectGrantUser: .objectGrantUser
        case .objectGrantGroup: .objectGrantGroup
        case .modelGrantUser: .modelGrantUser
        case .modelGrantGroup: .modelGrantGroup
        case .noGrant: .noGrant
        }
    }

    static func decision(_ decision: Decision) -> Warden_V1_Decision {
        var proto = Warden_V1_Decision()
        proto.allowed = decision.allowed
        proto.reason = reason(decision.reason)
        if let group = decision.group { proto.group = group }
        return proto
    }

    static func user(_ user: User) -> Warden_V1_User {
        var proto = Warden_V1_User()
        proto.id = user.id
        if let username = user.username { proto.username = username }
        proto.isActive = user.isActive
        proto.isSuperuser = user.isSuperuser
        return proto
    }

    static func user(_ proto: Warden_V1_User) throws(ServiceError) -> User {
        do {
            return try User(
                id: proto.id,
                username: proto.hasUsername ? proto.username : nil,
                isActive: proto.hasIsActive ? proto.isActive : true,
                isSuperuser: proto.isSuperuser
            )
        } catch {
            throw ServiceError(error)
        }
    }

    static func grant(_ grant: Grant) -> Warden_V1_Grant {
        var proto = Warden_V1_Grant()
        proto.subject = subject(grant.subject)
        proto.permission = grant.permission.description
        proto.contentType = grant.permission.contentType.description
        if let pk = grant.pk { proto.pk = pk }
        return proto
    }

    /// A wire grant as a model grant, resolved against the index (see `WardenService.makeGrant`).
    static func grant(_ proto: Warden_V1_Grant, field: String, service: WardenService) throws(ServiceError) -> Grant {
        let subject = try requiredSubject(proto.hasSubject ? proto.subject : nil, field: "\(field).subject")
        return try service.makeGrant(
            subject: subject,
            permission: proto.permission,
            contentType: proto.contentType.isEmpty ? nil : proto.contentType,
            pk: proto.hasPk ? proto.pk : nil,
            field: field
        )
    }

    static func optional(_ has: Bool, _ value: Bool) -> Bool? { has ? value : nil }
}
