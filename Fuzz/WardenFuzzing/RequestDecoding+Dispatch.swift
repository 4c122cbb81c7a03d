// The server's decoding is internal to WardenServer: the harness reaches it through @testable,
// which debug builds (swift test) and the fuzz build (-enable-testing) allow. Other release builds
// compile this file to nothing.
#if DEBUG || WARDEN_FUZZING
import NIOCore
import SwiftProtobuf
import WardenIndex
import WardenModel
import WardenProto
@testable import WardenServer
@testable import WardenService
import WardenWire

extension RequestDecoding {
    public static func run(_ input: [UInt8], service: WardenService) -> Outcome {
        run(method: methodID(input.first ?? 0), body: Array(input.dropFirst()), service: service)
    }

    public static func run(method id: UInt16, body bytes: [UInt8], service: WardenService) -> Outcome {
        var outcome = Outcome()
        let body = ByteBuffer(bytes: bytes)
        guard let method = Warden_V1_Method(rawValue: Int(id)), method.isKnown else {
            outcome.error = ServiceError(.unimplemented, "method: \(id) is not a Warden method")
            return outcome
        }
        outcome.method = method
        do {
            try answer(method, body, service, &outcome.disagreements)
        } catch {
            outcome.error = error
        }
        return outcome
    }

    /// `dispatch`, method by method.
    static func answer(_ method: Warden_V1_Method, _ body: ByteBuffer, _ service: WardenService,
                       _ disagreements: inout [String]) throws(ServiceError) {
        switch method {
        case .check: try check(body, service, &disagreements)
        case .batchCheck: try batchCheck(body, service, &disagreements)
        case .listObjects:
            let request = try decode(Warden_V1_ListObjectsRequest.self, body)
            guard service.hasReached(Revision(request.minRevision)) else { return }  // the server waits on the pool
            _ = try service.listObjects(ProtoMapping.listObjects(request))
        case .listSubjects:
            let request = try decode(Warden_V1_ListSubjectsRequest.self, body)
            guard request.hasObject else { throw ServiceError(.invalidArgument, "object: required") }
            guard service.hasReached(Revision(request.minRevision)) else { return }
            _ = try service.listSubjects(ProtoMapping.listSubjects(request))
        case .getPermissions:
            let request = try decode(Warden_V1_GetPermissionsRequest.self, body)
            guard request.hasObject else { throw ServiceError(.invalidArgument, "object: required") }
            if case .UNRECOGNIZED(let mode) = request.mode {
                throw ServiceError(.invalidArgument, "mode: \(mode) is not BOTH, USER_ONLY or GROUPS_ONLY")
            }
            guard service.hasReached(Revision(request.minRevision)) else { return }
            _ = try service.permissions(ProtoMapping.permissions(request))
        case .grant, .revoke, .putUser, .deleteUser, .putGroup, .deleteGroup, .addMember, .removeMember,
            .registerContentType, .deleteObject:
            let (change, actor) = try ProtoMapping.change(method: method, body: body, service: service)
            try write([change], actor: actor, service)
        case .writeBatch:
            let request = try decode(Warden_V1_WriteBatchRequest.self, body)
            var changes: [Change] = []
            for (position, record) in request.records.enumerated() {
                changes.append(try ProtoMapping.change(record, field: "records[\(position)]", service: service))
            }
            guard changes.count <= service.settings.maxBatchItems else {
                throw ServiceError(.invalidArgument, "records: at most \(service.settings.maxBatchItems) in one WriteBatch")
            }
            try write(changes, actor: request.actor, service)
        case .bulkGrant, .bulkRevoke: try bulk(method, body, service, &disagreements)
        case .pruneOrphans:
            let request = try ConnectionHandler.decodeChunk(Warden_V1_PruneOrphansRequest.self, body, 0)
            try checkActor(request.actor)
            do {
                _ = try ContentTypeName(request.contentType, field: "content_type")
                for (position, pk) in request.livePks.enumerated() { try Limits.checkIdentifier(pk, field: "live_pks[\(position)]") }
            } catch {
                throw ServiceError(error)
            }
        case .watch:
            let request = try decode(Warden_V1_WatchRequest.self, body)
            let filter = try ProtoMapping.watchFilter(request)
            let after = request.hasAfterRevision ? Revision(request.afterRevision) : nil
            try service.watch(after: after, filter: filter, sink: DiscardingSink()).cancel()
        case .export:
            _ = try decode(Warden_V1_ExportRequest.self, body)
        case .health, .stats, .unspecified, .UNRECOGNIZED:
            break
        }
    }

    /// `ConnectionHandler.decode`.
    static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, _ body: ByteBuffer) throws(ServiceError) -> M {
        do {
            return try M(serializedBytes: body)
        } catch {
            throw ServiceError(.invalidArgument, "the request body is not a valid \(M.protoMessageName) (\(error))")
        }
    }

    /// BulkGrant and BulkRevoke's rows, mapped the way `finishUpload` maps them (each distinct
    /// permission resolved once) and, to compare, each row on its own.
    static func bulk(_ method: Warden_V1_Method, _ body: ByteBuffer, _ service: WardenService,
                     _ disagreements: inout [String]) throws(ServiceError) {
        let request = try ConnectionHandler.decodeChunk(Warden_V1_BulkGrantRequest.self, body, 0)
        var resolved: [PermissionKey: PermissionRef] = [:]
        var grants: [Grant] = []
        for wire in request.grants {
            let field = "grants[\(grants.count)]"
            let alone = Result { () throws(ServiceError) in try ProtoMapping.grant(wire, field: field, service: service) }
            let key = PermissionKey(permission: ExactString(wire.permission), contentType: ExactString(wire.contentType))
            let cached = Result { () throws(ServiceError) -> Grant in
                guard let permission = resolved[key] else {
                    let grant = try ProtoMapping.grant(wire, field: field, service: service)
                    resolved[key] = grant.permission
                    return grant
                }
                let subject = try ProtoMapping.requiredSubject(wire.hasSubject ? wire.subject : nil, field: "\(field).subject")
                do throws(ValidationError) {
                    return try Grant(subject: subject, permission: permission, pk: wire.hasPk ? wire.pk : nil)
                } catch {
                    throw ServiceError(ValidationError(field: "\(field).pk", rule: error.rule))
                }
            }
            if !same(alone, cached) {
                disagreements.append("\(field): resolved once \(describe(cached)), alone \(describe(alone))")
            }
            grants.append(try cached.get())
        }
        try write(grants.map { method == .bulkRevoke ? .revoke($0) : .grant($0) }, actor: request.actor, service)
    }

    /// A write's checks short of committing: the actor, escalation, then the index's own
    /// validation on a scratch copy of the sample state.
    static func write(_ changes: [Change], actor: String, _ service: WardenService) throws(ServiceError) {
        try checkActor(actor)
        if !actor.isEmpty {
            for change in changes {
                if let reason = service.refusal(of: change, by: actor) { throw ServiceError(.permissionDenied, reason) }
            }
        }
        let scratch = PermissionIndex()
        do {
            try scratch.apply(sample)
            try scratch.apply(changes)
        } catch {
            throw ServiceError(error)
        }
    }

    /// `WardenService.checkedActor`.
    static func checkActor(_ actor: String) throws(ServiceError) {
        guard !actor.isEmpty else { return }
        do { try Limits.checkIdentifier(actor, field: "actor") } catch { throw ServiceError(error) }
    }

    static let sample: [Change] = (try? SampleService.changes()) ?? []

    static func same<T: Equatable>(_ a: Result<T, ServiceError>, _ b: Result<T, ServiceError>) -> Bool {
        switch (a, b) {
        case (.success(let x), .success(let y)): x == y
        case (.failure(let x), .failure(let y)): x.code == y.code && x.message == y.message
        default: false
        }
    }

    static func describe<T>(_ result: Result<T, ServiceError>) -> String {
        switch result {
        case .success(let value): "\(value)"
        case .failure(let error): "\(error)"
        }
    }
}

/// A watch sink that drops everything: the harness cancels its watch at once.
final class DiscardingSink: WatchSink {
    func deliver(_ items: [WatchItem]) {}
    func end(_ error: ServiceError) {}
}
#endif
