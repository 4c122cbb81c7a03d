import Foundation
import WardenIndex
import WardenModel
import WardenProto
import WardenService

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
            subject: subject(proto.hasSubject ? proto.subject : nil),
            permission: proto.permission,
            object: proto.hasObject ? object(proto.object) : nil,
            contentType: proto.contentType.isEmpty ? nil : proto.contentType,
            acceptGlobalPerms: optional(proto.hasAcceptGlobalPerms, proto.acceptGlobalPerms)
        )
    }

    static func listObjects(_ proto: Warden_V1_ListObjectsRequest) -> ListObjectsQuery {
        var query = ListObjectsQuery(
            subject: subject(proto.hasSubject ? proto.subject : nil),
            permissions: proto.permissions,
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

    /// The reply to a ListObjects, naming the content type it lists on every page; `packed`: the
    /// pks in `packed_pks` (the request asked for it).
    static func listObjectsResponse(_ answer: Evaluated<ObjectListing>, packed: Bool) -> Warden_V1_ListObjectsResponse {
        var proto = Warden_V1_ListObjectsResponse()
        proto.revision = answer.revision.rawValue
        proto.contentType = answer.value.contentType.description
        switch answer.value.list {
        case .unrestricted(let why):
            proto.unrestricted = true
            proto.unrestrictedReason = decision(why)
        case .objects(let pks, let next):
            if packed { proto.packedPks = Self.packed(pks) } else { proto.pks = pks }
            proto.nextPageToken = next ?? ""
        }
        return proto
    }

    /// The pks' UTF-8 bytes joined by NUL (`packed_pks`; pks never hold NUL), copied from each
    /// string's own storage (appending a `String.UTF8View` goes byte by byte).
    static func packed(_ pks: [String]) -> Data {
        var size = max(0, pks.count - 1)
        for pk in pks { size += pk.utf8.count }
        var data = Data(count: size)
        data.withUnsafeMutableBytes { (out: UnsafeMutableRawBufferPointer) in
            var offset = 0
            for (position, var pk) in pks.enumerated() {
                if position > 0 {
                    out[offset] = 0
                    offset += 1
                }
                pk.withUTF8 { utf8 in
                    guard let bytes = utf8.baseAddress, !utf8.isEmpty else { return }
                    out.baseAddress!.advanced(by: offset).copyMemory(from: bytes, byteCount: utf8.count)
                    offset += utf8.count
                }
            }
        }
        return data
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

    /// A `PermissionMode`; a value the proto does not know is `INVALID_ARGUMENT`.
    static func mode(_ proto: Warden_V1_PermissionMode) throws(ServiceError) -> PermissionsQuery.Mode {
        switch proto {
        case .both: .both
        case .userOnly: .user
        case .groupsOnly: .groups
        case .UNRECOGNIZED(let mode):
            throw ServiceError(.invalidArgument, "mode: \(mode) is not BOTH, USER_ONLY or GROUPS_ONLY")
        }
    }

    static func permissions(_ proto: Warden_V1_GetPermissionsRequest, mode: PermissionsQuery.Mode) -> PermissionsQuery {
        var query = PermissionsQuery(
            subject: subject(proto.hasSubject ? proto.subject : nil),
            object: object(proto.object),
            mode: mode
        )
        query.acceptGlobalPerms = optional(proto.hasAcceptGlobalPerms, proto.acceptGlobalPerms)
        return query
    }

    static func permissionSets(
        _ proto: Warden_V1_BatchGetPermissionsRequest,
        mode: PermissionsQuery.Mode
    ) -> PermissionSetsQuery {
        var query = PermissionSetsQuery(
            subject: subject(proto.hasSubject ? proto.subject : nil),
            contentType: proto.contentType,
            pks: proto.pks,
            mode: mode
        )
        query.acceptGlobalPerms = optional(proto.hasAcceptGlobalPerms, proto.acceptGlobalPerms)
        return query
    }

    static func permissionSetsResponse(_ answer: Evaluated<PermissionSets>) -> Warden_V1_BatchGetPermissionsResponse {
        var proto = Warden_V1_BatchGetPermissionsResponse()
        proto.codenames = answer.value.codenames
        proto.masks = Data(answer.value.masks)
        proto.revision = answer.revision.rawValue
        return proto
    }
}
