import WardenIndex
import WardenModel
import WardenProto

/// The fields CheckRequest and BatchCheck's CheckItem share.
protocol CheckFields {
    var hasSubject: Bool { get }
    var subject: Warden_V1_Subject { get }
    var permission: String { get }
    var hasObject: Bool { get }
    var object: Warden_V1_ObjectRef { get }
    var contentType: String { get }
    var hasAcceptGlobalPerms: Bool { get }
    var acceptGlobalPerms: Bool { get }
}

extension Warden_V1_CheckRequest: CheckFields {}
extension Warden_V1_CheckItem: CheckFields {}

extension ProtoMapping {
    static func check(_ proto: some CheckFields) -> CheckRequest {
        CheckRequest(
            subject: subject(proto.hasSubject ? proto.subject : nil), permission: proto.permission,
            object: proto.hasObject ? object(proto.object) : nil,
            contentType: proto.contentType.isEmpty ? nil : proto.contentType,
            acceptGlobalPerms: optional(proto.hasAcceptGlobalPerms, proto.acceptGlobalPerms)
        )
    }

    static func listObjects(_ proto: Warden_V1_ListObjectsRequest) -> ListObjectsQuery {
        var query = ListObjectsQuery(
            subject: subject(proto.hasSubject ? proto.subject : nil), permissions: proto.permissions,
            contentType: proto.contentType.isEmpty ? nil : proto.contentType
        )
        query.anyPerm = proto.anyPerm
        query.useGroups = proto.hasUseGroups ? proto.useGroups : true
        query.withSuperuser = proto.hasWithSuperuser ? proto.withSuperuser : true
        query.acceptGlobalPerms = optional(proto.hasAcceptGlobalPerms, proto.acceptGlobalPerms)
        query.pageSize = proto.hasPageSize ? Int(proto.pageSize) : nil
        query.pageToken = proto.pageToken.isEmpty ? nil : proto.pageToken
        return query
    }

    static func listObjectsResponse(_ answer: Evaluated<ObjectList>) -> Warden_V1_ListObjectsResponse {
        var proto = Warden_V1_ListObjectsResponse()
        proto.revision = answer.revision.rawValue
        switch answer.value {
        case .unrestricted(let why):
            proto.unrestricted = true
            proto.unrestrictedReason = decision(why)
        case .objects(let pks, let next):
            proto.pks = pks
            proto.nextPageToken = next ?? ""
        }
        return proto
    }

    static func listSubjects(_ proto: Warden_V1_ListSubjectsRequest) -> ListSubjectsQuery {
        var query = ListSubjectsQuery(object: object(proto.object), permissions: proto.permissions)
        query.withSuperusers = proto.withSuperusers
        query.withGroupUsers = proto.hasWithGroupUsers ? proto.withGroupUsers : true
        query.attachPerms = proto.attachPerms
        query.acceptGlobalPerms = optional(proto.hasAcceptGlobalPerms, proto.acceptGlobalPerms)
        return query
    }

    static func listSubjectsResponse(_ answer: Evaluated<SubjectList>) -> Warden_V1_ListSubjectsResponse {
        func access(_ subjects: [SubjectAccess]) -> [Warden_V1_SubjectAccess] {
            subjects.map { subject in
                var proto = Warden_V1_SubjectAccess()
                proto.name = subject.name
                proto.permissions = subject.permissions
                return proto
            }
        }
        var proto = Warden_V1_ListSubjectsResponse()
        proto.users = access(answer.value.users)
        proto.groups = access(answer.value.groups)
        proto.revision = answer.revision.rawValue
        return proto
    }

    static func permissions(_ proto: Warden_V1_GetPermissionsRequest) -> PermissionsQuery {
        let mode: PermissionsQuery.Mode =
            switch proto.mode {
            case .userOnly: .user
            case .groupsOnly: .groups
            default: .both
            }
        var query = PermissionsQuery(subject: subject(proto.hasSubject ? proto.subject : nil), object: object(proto.object), mode: mode)
        query.acceptGlobalPerms = optional(proto.hasAcceptGlobalPerms, proto.acceptGlobalPerms)
        return query
    }
}
