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
    static func answer(
        _ method: Warden_V1_Method,
        _ body: ByteBuffer,
        _ service: WardenService,
        _ disagreements: inout [String]
    ) throws(ServiceError) {
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
            let mode = try ProtoMapping.mode(request.mode)
            guard service.hasReached(Revision(request.minRevision)) else { return }
            _ = try service.permissions(ProtoMapping.permissions(request, mode: mode))
        case .batchGetPermissions:
            let request = try decode(Warden_V1_BatchGetPermissionsRequest.self, body)
            let query = ProtoMapping.permissionSets(request, mode: try ProtoMapping.mode(request.mode))
            guard service.hasReached(Revision(request.minRevision)) else { return }
            _ = try service.permissionSets(query)
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
                throw ServiceError(
                    .invalidArgument,
                    "records: at most \(service.settings.maxBatchItems) in one WriteBatch"
                )
            }
            try write(changes, actor: request.actor, service)
        case .bulkGrant, .bulkRevoke: try bulk(method, body, service, &disagreements)
        case .pruneOrphans:
            let request = try ConnectionHandler.decodeChunk(Warden_V1_PruneOrphansRequest.self, body, 0)
            try checkActor(request.actor)
            do {
                _ = try ContentTypeName(request.contentType, field: "content_type")
                for (position, pk) in request.livePks.enumerated() {
                    try Limits.checkIdentifier(pk, field: "live_pks[\(position)]")
                }
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

    /// BulkGrant and BulkRevoke's rows as the server maps them (`bulkGrants`: the bulk codec, the
    /// permissions resolved once) against each row decoded by swift-protobuf and mapped alone.
    static func bulk(
        _ method: Warden_V1_Method,
        _ body: ByteBuffer,
        _ service: WardenService,
        _ disagreements: inout [String]
    ) throws(ServiceError) {
        let server = Result { () throws(ServiceError) in try ConnectionHandler.bulkGrants([body], service: service) }
        let alone = Result { () throws(ServiceError) -> ([Grant], String) in
            let request = try ConnectionHandler.decodeChunk(Warden_V1_BulkGrantRequest.self, body, 0)
            var grants: [Grant] = []
            for wire in request.grants {
                grants.append(try ProtoMapping.grant(wire, field: "grants[\(grants.count)]", service: service))
            }
            return (grants, request.actor)
        }
        if !same(server.map { Rows(grants: $0.0, actor: $0.1) }, alone.map { Rows(grants: $0.0, actor: $0.1) }) {
            disagreements.append("the server read \(describe(server)), each row alone \(describe(alone))")
        }
        let (grants, actor) = try server.get()
        try write(grants.map { method == .bulkRevoke ? .revoke($0) : .grant($0) }, actor: actor, service)
    }

    /// A bulk chunk's reading, comparable.
    struct Rows: Equatable {
        var grants: [Grant]
        var actor: String
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
