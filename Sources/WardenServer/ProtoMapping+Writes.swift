import NIOCore
import WardenModel
import WardenProto
import WardenService
import WardenWire

extension ProtoMapping {
    /// The change a single write request asks for.
    static func change(
        method: Warden_V1_Method,
        body: ByteBuffer,
        service: WardenService
    ) throws(ServiceError)
        -> (Change, actor: String)
    {
        do {
            switch method {
            case .grant, .revoke:
                let request = try Warden_V1_GrantRequest(serializedBytes: body)
                guard request.hasGrant else { throw ServiceError(.invalidArgument, "grant: required") }
                let grant = try grant(request.grant, field: "grant", service: service)
                return (method == .grant ? .grant(grant) : .revoke(grant), request.actor)
            case .putUser:
                let request = try Warden_V1_PutUserRequest(serializedBytes: body)
                guard request.hasUser else { throw ServiceError(.invalidArgument, "user: required") }
                return (.putUser(try user(request.user)), request.actor)
            case .deleteUser:
                let request = try Warden_V1_DeleteUserRequest(serializedBytes: body)
                try Limits.checkIdentifier(request.id, field: "id")
                return (.deleteUser(id: request.id), request.actor)
            case .putGroup, .deleteGroup:
                let request = try Warden_V1_GroupRequest(serializedBytes: body)
                try Limits.checkName(request.name, field: "name")
                return (
                    method == .putGroup ? .putGroup(name: request.name) : .deleteGroup(name: request.name),
                    request.actor
                )
            case .addMember, .removeMember:
                let request = try Warden_V1_MemberRequest(serializedBytes: body)
                try Limits.checkIdentifier(request.user, field: "user")
                try Limits.checkName(request.group, field: "group")
                let change: Change =
                    method == .addMember
                    ? .addMember(user: request.user, group: request.group)
                    : .removeMember(user: request.user, group: request.group)
                return (change, request.actor)
            case .registerContentType:
                let request = try Warden_V1_RegisterContentTypeRequest(serializedBytes: body)
                let name = try ContentTypeName(request.contentType, field: "content_type")
                let type = try ContentType(
                    name: name,
                    defaults: request.hasDefaults ? request.defaults : true,
                    custom: request.custom
                )
                return (.register(type), request.actor)
            case .deleteObject:
                let request = try Warden_V1_DeleteObjectRequest(serializedBytes: body)
                let type = try ContentTypeName(request.object.contentType, field: "object.content_type")
                try Limits.checkIdentifier(request.object.pk, field: "object.pk")
                return (.deleteObject(contentType: type, pk: request.object.pk), request.actor)
            default:
                throw ServiceError(.internal, "not a single write: \(method)")
            }
        } catch let error as ServiceError {
            throw error
        } catch let error as ValidationError {
            throw ServiceError(error)
        } catch {
            throw ServiceError(.invalidArgument, "the request body is not a valid \(method) message: \(error)")
        }
    }

    static func writeResponse(_ revision: Revision, changed: Bool) -> Warden_V1_WriteResponse {
        var proto = Warden_V1_WriteResponse()
        proto.revision = revision.rawValue
        proto.changed = changed
        return proto
    }
}
