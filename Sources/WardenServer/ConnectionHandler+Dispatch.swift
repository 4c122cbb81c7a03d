import NIOCore
import NIOPosix
import SwiftProtobuf
import WardenIndex
import WardenModel
import WardenProto
import WardenService
import WardenWire

extension Warden_V1_Method {
    /// The role a caller needs for the method.
    var neededRole: Role {
        switch self {
        case .check, .batchCheck, .listObjects, .listSubjects, .getPermissions, .batchGetPermissions, .watch, .health,
            .stats,
            .export:
            .reader
        default: .admin
        }
    }
}

extension Warden_V1_Method {
    var isKnown: Bool {
        switch self {
        case .unspecified, .UNRECOGNIZED: false
        default: true
        }
    }

    /// Methods whose requests are client streams of chunks.
    var isClientStream: Bool { self == .bulkGrant || self == .bulkRevoke || self == .pruneOrphans }
}

extension ConnectionHandler {
    func handle(_ frame: Frame) {
        guard isOpen else { return }  // closing after a connection-level error: nothing more runs
        requestStart = ServerStats.now()
        let id = frame.requestID
        guard id != 0 else {
            // Id 0 is the connection's own: an answer on it would fail every request of the client.
            connectionError(
                ServiceError(.invalidArgument, "request_id: 0 is reserved for the server's connection errors")
            )
            return
        }
        guard frame.flags.isSubset(of: Frame.Flags.known) else {
            let upload = uploads.removeValue(forKey: id)
            if upload?.refused == true { return }  // already answered
            let open = upload != nil || watches[id] != nil
            if let watch = watches.removeValue(forKey: id) {
                watch.ended = true
                watch.handle?.cancel()
            }
            reply(
                error: ServiceError(
                    .invalidArgument,
                    "flags: unknown bits \(frame.flags.rawValue)" + (open ? "; the stream is ended" : "")
                ),
                requestID: id,
                method: frame.method
            )
            return
        }
        if frame.flags.contains(.cancel) {
            cancel(id, method: frame.method)
            return
        }
        if uploads[id] != nil {
            continueUpload(frame)
            return
        }
        guard running[id] == nil && watches[id] == nil else {
            // An answer on the id would read as the open request's: the client could not tell
            // them apart, so the connection ends (docs/protocol.md, "request_id rules").
            connectionError(
                ServiceError(
                    .invalidArgument,
                    "request_id: \(id) is reused while its request is still open; the connection is closed"
                )
            )
            return
        }
        guard let method = Warden_V1_Method(rawValue: Int(frame.method)), method.isKnown else {
            reply(
                error: ServiceError(.unimplemented, "method: \(frame.method) is not a Warden method"),
                requestID: id,
                method: frame.method
            )
            return
        }
        do {
            try service.authorize(role, method.neededRole, method: "\(method)")
        } catch {
            reply(error: error, requestID: id, method: frame.method)
            if method.isClientStream && !frame.flags.contains(.endStream) {
                uploads[id] = Upload(method: method, refused: true)
            }
            return
        }
        let deadline =
            frame.timeoutMilliseconds == 0 ? nil : ContinuousClock.now + .milliseconds(frame.timeoutMilliseconds)
        do {
            try dispatch(method, frame, deadline: deadline)
        } catch {
            reply(error: error, requestID: id, method: frame.method)
        }
    }

    func dispatch(
        _ method: Warden_V1_Method,
        _ frame: Frame,
        deadline: ContinuousClock.Instant?,
        fast: Bool = true
    ) throws {
        switch method {
        case .check:
            if fast, try fastCheck(frame) { return }
            let request = try decode(Warden_V1_CheckRequest.self, frame)
            read(frame, minRevision: request.minRevision, deadline: deadline) { service throws(ServiceError) in
                let answer = try service.check(ProtoMapping.check(request))
                var response = Warden_V1_CheckResponse()
                response.decision = ProtoMapping.decision(answer.value)
                response.revision = answer.revision.rawValue
                return response
            }
        case .batchCheck:
            let limit = service.settings.maxBatchItems
            try Self.limitItems(frame.body, field: 1, limit: limit) {
                "items: at most \(limit) checks in one BatchCheck (got \($0))"
            }
            if fast, try fastBatchCheck(frame) { return }
            let request = try decode(Warden_V1_BatchCheckRequest.self, frame)
            read(frame, minRevision: request.minRevision, deadline: deadline) { service throws(ServiceError) in
                let answers = try service.check(request.items.map(ProtoMapping.check))
                var response = Warden_V1_BatchCheckResponse()
                response.revision = answers.revision.rawValue
                response.results = answers.value.map { result in
                    var item = Warden_V1_CheckResult()
                    switch result {
                    case .success(let decision): item.decision = ProtoMapping.decision(decision)
                    case .failure(let error):
                        var status = Warden_V1_Status()
                        status.code = UInt32(StatusMapping.code(ServiceError(error).code).rawValue)
                        status.message = error.message
                        item.error = status
                    }
                    return item
                }
                return response
            }
        case .listObjects:
            let request = try decode(Warden_V1_ListObjectsRequest.self, frame)
            read(frame, minRevision: request.minRevision, deadline: deadline) { service throws(ServiceError) in
                ProtoMapping.listObjectsResponse(
                    try service.listObjects(ProtoMapping.listObjects(request)),
                    packed: request.packedPks
                )
            }
        case .listSubjects:
            let request = try decode(Warden_V1_ListSubjectsRequest.self, frame)
            guard request.hasObject else { throw ServiceError(.invalidArgument, "object: required") }
            read(frame, minRevision: request.minRevision, deadline: deadline) { service throws(ServiceError) in
                ProtoMapping.listSubjectsResponse(try service.listSubjects(ProtoMapping.listSubjects(request)))
            }
        case .getPermissions:
            let request = try decode(Warden_V1_GetPermissionsRequest.self, frame)
            guard request.hasObject else { throw ServiceError(.invalidArgument, "object: required") }
            let mode = try ProtoMapping.mode(request.mode)
            read(frame, minRevision: request.minRevision, deadline: deadline) { service throws(ServiceError) in
                let answer = try service.permissions(ProtoMapping.permissions(request, mode: mode))
                var response = Warden_V1_GetPermissionsResponse()
                response.codenames = answer.value
                response.revision = answer.revision.rawValue
                return response
            }
        case .batchGetPermissions:
            let limit = service.settings.maxBatchItems
            try Self.limitItems(frame.body, field: 3, limit: limit) {
                "pks: at most \(limit) pks in one BatchGetPermissions (got \($0))"
            }
            let request = try decode(Warden_V1_BatchGetPermissionsRequest.self, frame)
            let query = ProtoMapping.permissionSets(request, mode: try ProtoMapping.mode(request.mode))
            read(frame, minRevision: request.minRevision, deadline: deadline) { service throws(ServiceError) in
                ProtoMapping.permissionSetsResponse(try service.permissionSets(query))
            }
        case .grant, .revoke, .putUser, .deleteUser, .putGroup, .deleteGroup, .addMember, .removeMember,
            .registerContentType, .deleteObject:
            let (change, actor) = try ProtoMapping.change(method: method, body: frame.body, service: service)
            offload(frame, deadline: deadline) { service throws(ServiceError) in
                let outcome = try service.write(change, actor: actor)
                return ProtoMapping.writeResponse(outcome.revision, changed: outcome.changed)
            }
        case .writeBatch:
            let limit = service.settings.maxBatchItems
            try Self.limitItems(frame.body, field: 1, limit: limit) {
                "records: at most \(limit) in one WriteBatch (got \($0))"
            }
            let request = try decode(Warden_V1_WriteBatchRequest.self, frame)
            var changes: [Change] = []
            changes.reserveCapacity(request.records.count)
            for (position, record) in request.records.enumerated() {
                changes.append(try ProtoMapping.change(record, field: "records[\(position)]", service: service))
            }
            let (batch, actor) = (changes, request.actor)
            offload(frame, deadline: deadline) { service throws(ServiceError) in
                let outcomes = try service.write(batch: batch, actor: actor)
                var response = Warden_V1_WriteBatchResponse()
                response.revision = (outcomes.last?.revision ?? service.index.revision).rawValue
                response.changed = UInt64(outcomes.filter(\.changed).count)
                return response
            }
        case .export:
            let request = try decode(Warden_V1_ExportRequest.self, frame)
            startExport(frame, chunkSize: request.chunkSize == 0 ? 10_000 : Int(request.chunkSize))
        case .bulkGrant, .bulkRevoke, .pruneOrphans:
            startUpload(method, frame, deadline: deadline)
        case .watch:
            try startWatch(frame)
        case .health:
            var response = Warden_V1_HealthResponse()
            response.status = "SERVING"
            response.revision = service.index.revision.rawValue
            reply(response, requestID: frame.requestID, method: frame.method)
        case .stats:
            reply(stats(), requestID: frame.requestID, method: frame.method)
        case .unspecified, .UNRECOGNIZED:
            throw ServiceError(.unimplemented, "method: \(frame.method) is not a Warden method")
        }
    }

    /// Refuses a message whose repeated field `field` holds more than `limit` items, counted in
    /// its bytes before anything is decoded: decoded, 4 MiB of empty items would take hundreds
    /// of MiB. An item takes at least 2 bytes, so a body of up to `2 × limit` bytes is not read.
    static func limitItems(
        _ body: ByteBuffer,
        field: UInt64,
        limit: Int,
        _ refusal: (Int) -> String
    ) throws(ServiceError) {
        guard body.readableBytes / 2 > limit else { return }
        let count = body.withUnsafeReadableBytes { CheckCodec.occurrences(of: field, in: $0) }
        guard count <= limit else { throw ServiceError(.invalidArgument, refusal(count)) }
    }

    func decode<M: SwiftProtobuf.Message>(_ type: M.Type, _ frame: Frame) throws(ServiceError) -> M {
        do {
            return try M(serializedBytes: frame.body)
        } catch {
            throw ServiceError(.invalidArgument, "the request body is not a valid \(M.protoMessageName) (\(error))")
        }
    }

    /// Runs a read inline when the index has reached `minRevision`, else inline once it does
    /// (`readWhenReached`: no thread waits).
    private func read<Response: SwiftProtobuf.Message>(
        _ frame: Frame,
        minRevision: UInt64,
        deadline: ContinuousClock.Instant?,
        _ body: @escaping @Sendable (WardenService) throws(ServiceError) -> Response
    ) {
        guard service.hasReached(Revision(minRevision)) else {
            readWhenReached(frame, Revision(minRevision), deadline: deadline, body)
            return
        }
        do {
            reply(try body(service), requestID: frame.requestID, method: frame.method)
        } catch {
            reply(error: error, requestID: frame.requestID, method: frame.method)
        }
    }

    /// Marks `id` open while work outside `offload` (a large batch, an export; `runInTurn`) runs on the pool,
    /// so a request reusing it is refused; `unmarkRunning` with the token ends it.
    func markRunning(_ id: UInt32) -> UInt64 {
        serial += 1
        running[id] = serial
        return serial
    }

    func unmarkRunning(_ id: UInt32, _ token: UInt64) {
        if running[id] == token { running[id] = nil }
    }

    /// `markRunning` for a request that will be answered later, unless the connection already
    /// has `max_in_flight` open: then answers RESOURCE_EXHAUSTED and returns `nil`.
    func admitRunning(_ frame: Frame) -> UInt64? {
        guard running.count < server.configuration.maxInFlight else {
            reply(
                error: ServiceError(
                    .resourceExhausted,
                    "more than \(server.configuration.maxInFlight) requests of this connection are waiting"
                ),
                requestID: frame.requestID,
                method: frame.method
            )
            return nil
        }
        return markRunning(frame.requestID)
    }

    /// Runs work that may block on the pool; answers when it is done or when the deadline passes
    /// (whichever is first; a write past its deadline may still commit, as in gRPC). The work
    /// waits for the connection's turn on the pool (`PoolTurns`), so connections are served fairly.
    func offload<Response: SwiftProtobuf.Message>(
        _ frame: Frame,
        deadline: ContinuousClock.Instant?,
        after ready: EventLoopFuture<Void>? = nil,
        _ body: @escaping @Sendable (WardenService) throws(ServiceError) -> Response
    ) {
        let id = frame.requestID
        let method = frame.method
        guard let token = admitRunning(frame) else { return }
        let service = self.service
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let started = requestStart
        server.stats.running.add(1, ordering: .relaxed)
        let pool = server.pool
        let eventLoop = context.eventLoop
        let start: @Sendable () -> EventLoopFuture<Response> = {
            pool.runIfActive(eventLoop: eventLoop) { () throws -> Response in
                // Past its deadline before a thread took it (a slow upload, a busy pool): not started.
                if let deadline, ContinuousClock.now >= deadline {
                    throw ServiceError(
                        .deadlineExceeded,
                        "the deadline passed before the request started; nothing was done"
                    )
                }
                return try body(service)
            }
        }
        takeTurn {
            let this = handler.value
            guard this.running[id] == token else {
                // Answered while it waited for its turn (its deadline passed, the connection closed).
                this.server.stats.running.subtract(1, ordering: .relaxed)
                return false
            }
            // With `ready`, the body starts on the pool once it succeeds (a bulk stream's chunks are
            // decoded), without holding a pool thread while it waits; its failure is the answer.
            (ready.map { $0.flatMap { start() } } ?? start()).whenComplete { result in
                let handler = handler.value
                handler.server.stats.running.subtract(1, ordering: .relaxed)
                handler.turnEnded()
                guard handler.running[id] == token else { return }
                handler.running[id] = nil
                switch result {
                case .success(let response): handler.reply(response, requestID: id, method: method, started: started)
                case .failure(let error as NIOThreadPoolError.ThreadPoolInactive):
                    handler.reply(
                        error: ServiceError(
                            .unavailable,
                            "the server is shutting down; nothing was done",
                            cause: "\(error)"
                        ),
                        requestID: id,
                        method: method,
                        started: started
                    )
                case .failure(let error): handler.reply(error: error, requestID: id, method: method, started: started)
                }
                handler.flush()
            }
            return true
        }
        if let deadline {
            context.eventLoop.scheduleTask(
                deadline: NIODeadline.now() + .nanoseconds(Int64((deadline - .now).nanoseconds))
            ) {
                let handler = handler.value
                guard handler.running[id] == token else { return }
                handler.running[id] = nil
                handler.reply(
                    error: ServiceError(.deadlineExceeded, "the deadline passed before the answer"),
                    requestID: id,
                    method: method,
                    started: started
                )
                handler.flush()
            }
        }
    }

    private func stats() -> Warden_V1_StatsResponse {
        let statistics = service.statistics
        var response = Warden_V1_StatsResponse()
        response.revision = statistics.revision.rawValue
        response.users = UInt64(statistics.users)
        response.groups = UInt64(statistics.groups)
        response.contentTypes = UInt64(statistics.contentTypes)
        response.permissions = UInt64(statistics.permissions)
        response.objects = UInt64(statistics.objects)
        response.objectGrants = UInt64(statistics.objectGrants)
        response.modelGrants = UInt64(statistics.modelGrants)
        response.connections = UInt64(server.stats.connections)
        response.watchers = UInt64(service.hub.count)
        response.uptimeMs = UInt64((ContinuousClock.now - server.stats.started).nanoseconds / 1_000_000)
        response.methods = server.stats.methods
        response.prometheus = server.configuration.metricsText?() ?? ""
        return response
    }
}

extension Duration {
    /// Whole nanoseconds, clamped at 0.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
