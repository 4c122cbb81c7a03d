import WardenModel
import WardenProto
import WardenService

extension ProtoMapping {
    /// The change a WriteBatch record asks for.
    static func change(_ record: Warden_V1_Record, field: String, service: WardenService) throws(ServiceError) -> Change
    {
        do {
            switch record.record {
            case .contentType(let request)?:
                let name = try ContentTypeName(request.contentType, field: "\(field).content_type.content_type")
                return .register(
                    try ContentType(
                        name: name,
                        defaults: request.hasDefaults ? request.defaults : true,
                        custom: request.custom
                    )
                )
            case .user(let user)?:
                return .putUser(try self.user(user))
            case .group(let name)?:
                try Limits.checkName(name, field: "\(field).group")
                return .putGroup(name: name)
            case .member(let member)?:
                try Limits.checkIdentifier(member.user, field: "\(field).member.user")
                try Limits.checkName(member.group, field: "\(field).member.group")
                return .addMember(user: member.user, group: member.group)
            case .grant(let grant)?:
                return .grant(try self.grant(grant, field: "\(field).grant", service: service))
            case nil:
                throw ServiceError(.invalidArgument, "\(field): empty (set content_type, user, group, member or grant)")
            }
        } catch let error as ServiceError {
            throw error
        } catch let error as ValidationError {
            throw ServiceError(error)
        } catch {
            throw ServiceError(.internal, "record: unexpected error", cause: "\(error)")
        }
    }

    /// The record that rebuilds an exported change; `nil` for changes export never yields.
    static func record(_ change: Change) -> Warden_V1_Record? {
        var record = Warden_V1_Record()
        switch change {
        case .register(let type):
            var request = Warden_V1_RegisterContentTypeRequest()
            request.contentType = type.name.description
            request.defaults = false
            request.custom = type.codenames
            record.contentType = request
        case .putUser(let user): record.user = self.user(user)
        case .putGroup(let name): record.group = name
        case .addMember(let user, let group):
            var member = Warden_V1_MemberRequest()
            member.user = user
            member.group = group
            record.member = member
        case .grant(let grant): record.grant = self.grant(grant)
        default: return nil
        }
        return record
    }
}
