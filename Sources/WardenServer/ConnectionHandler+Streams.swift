import NIOCore
import SwiftProtobuf
import WardenModel
import WardenProto
import WardenService
import WardenWire

#if canImport(Glibc)
import Glibc
#endif

/// A client stream (BulkGrant, BulkRevoke, PruneOrphans) collecting its chunks. Nothing is
/// written until END_STREAM: a stream that is cancelled or whose connection drops writes nothing.
/// A bulk stream's chunks are decoded on the thread pool as they arrive, while the client is
/// still sending; an orphan prune's are decoded at the end.
struct Upload {
    let method: Warden_V1_Method
    /// Refused (not authorized): later chunks are dropped unanswered.
    var refused = false
    var chunks: [ByteBuffer] = []
    /// A bulk stream's chunks, decoded (or failing with the chunk's error), in order.
    var decoded: [EventLoopFuture<DecodedChunk>] = []
    var bytes = 0
    var deadline: ContinuousClock.Instant?
    /// The stream's part of the server-wide `maxStreamBytesTotal`, held until its commit has run.
    var share: StreamBudget.Share?
}

extension ConnectionHandler {
    func startUpload(_ method: Warden_V1_Method, _ frame: Frame, deadline: ContinuousClock.Instant?) {
        uploads[frame.requestID] = Upload(method: method, deadline: deadline)
        continueUpload(frame)
    }

    func continueUpload(_ frame: Frame) {
        let id = frame.requestID
        guard var upload = uploads[id] else { return }
        if upload.refused {
            if frame.flags.contains(.endStream) { uploads[id] = nil }
            return
        }
        upload.bytes += frame.body.readableBytes
        let configuration = server.configuration
        guard upload.bytes <= configuration.maxStreamBytes else {
            refuseUpload(
                frame,
                upload.method,
                "the stream exceeds \(configuration.maxStreamBytes) bytes; send it as several calls"
            )
            return
        }
        let share = upload.share ?? StreamBudget.Share(server.streams)
        upload.share = share
        guard share.take(frame.body.readableBytes) else {
            refuseUpload(
                frame,
                upload.method,
                """
                client streams of all connections hold more than \(configuration.maxStreamBytesTotal) bytes, \
                the server's max_stream_bytes_total; try again later
                """
            )
            return
        }
        if upload.method == .bulkGrant || upload.method == .bulkRevoke {
            // Chunk after chunk: each needs the grant count before it, to name a bad grant's
            // position in the stream. A failed chunk fails the ones after it.
            let chunk = frame.body
            let number = upload.decoded.count
            let service = self.service
            let pool = server.pool
            let eventLoop = context.eventLoop
            let previous = upload.decoded.last ?? eventLoop.makeSucceededFuture(DecodedChunk.none)
            let maxItems = configuration.maxChunkItems
            upload.decoded.append(
                previous.flatMap { previous in
                    pool.runIfActive(eventLoop: eventLoop) {
                        try Self.bulkChunk(
                            chunk,
                            number: number,
                            offset: previous.end,
                            maxItems: maxItems,
                            service: service
                        )
                    }
                }
            )
        } else {
            upload.chunks.append(frame.body)
        }
        guard frame.flags.contains(.endStream) else {
            uploads[id] = upload
            return
        }
        uploads[id] = nil
        finishUpload(upload, frame)
    }

    /// Refuses an open stream (at once, `RESOURCE_EXHAUSTED`); its later chunks are dropped up to
    /// END_STREAM, and what it held is released.
    private func refuseUpload(_ frame: Frame, _ method: Warden_V1_Method, _ message: String) {
        uploads[frame.requestID] = frame.flags.contains(.endStream) ? nil : Upload(method: method, refused: true)
        reply(error: ServiceError(.resourceExhausted, message), requestID: frame.requestID, method: frame.method)
    }

    private func finishUpload(_ upload: Upload, _ frame: Frame) {
        let chunks = upload.chunks
        let share = upload.share
        let maxItems = server.configuration.maxChunkItems
        switch upload.method {
        case .bulkGrant, .bulkRevoke:
            let revoke = upload.method == .bulkRevoke
            let decoded = upload.decoded
            // The body starts once the last chunk is decoded, so every `wait` below returns at
            // once. The chunks are chained: the first failing one, in stream order, fails the call.
            let ready = decoded.last.map { $0.map { _ in () } }
            offload(frame, deadline: upload.deadline, after: ready) { service throws(ServiceError) in
                defer { withExtendedLifetime(share) {} }
                var chunks: [DecodedChunk] = []
                chunks.reserveCapacity(decoded.count)
                for future in decoded {
                    do {
                        chunks.append(try future.wait())
                    } catch let error as ServiceError {
                        throw error
                    } catch {
                        throw ServiceError(.internal, "decoding a chunk failed", cause: "\(error)")
                    }
                }
                let grants = Self.concatenated(chunks)
                let outcome = try service.bulk(grants, revoke: revoke, actor: chunks.first?.actor ?? "")
                return Self.bulkResponse(outcome.revision, count: outcome.count, requested: outcome.requested)
            }
        case .pruneOrphans:
            offload(frame, deadline: upload.deadline) { service throws(ServiceError) in
                defer { withExtendedLifetime(share) {} }
                var pks: [String] = []
                var contentType = ""
                var actor = ""
                for (number, chunk) in chunks.enumerated() {
                    try Self.limitItems(chunk, field: 2, limit: maxItems) { count in
                        "chunk \(number): at most \(maxItems) live_pks in one chunk, the server's max_chunk_items (got \(count)); send smaller chunks"
                    }
                    let request = try Self.decodeChunk(Warden_V1_PruneOrphansRequest.self, chunk, number)
                    if number == 0 {
                        contentType = request.contentType
                        actor = request.actor
                    }
                    pks.append(contentsOf: request.livePks)
                }
                let outcome = try service.pruneOrphans(contentType: contentType, livePKs: pks, actor: actor)
                return Self.bulkResponse(outcome.revision, count: outcome.count, requested: outcome.requested)
            }
        default:
            break
        }
    }

    /// The grants of a bulk stream's chunks, and the actor of its first chunk (the fuzzing
    /// harness's entry; the server decodes chunk by chunk as they arrive, `bulkChunk`).
    static func bulkGrants(_ chunks: [ByteBuffer], service: WardenService) throws(ServiceError) -> ([Grant], String) {
        var decoded: [DecodedChunk] = []
        for (number, chunk) in chunks.enumerated() {
            decoded.append(try bulkChunk(chunk, number: number, offset: decoded.last?.end ?? 0, service: service))
        }
        return (concatenated(decoded), decoded.first?.actor ?? "")
    }

    /// One array of the chunks' grants, in order, taken out of the chunks: each chunk's part is
    /// freed once copied, so the stream's grants are held about once, not twice.
    static func concatenated(_ chunks: [DecodedChunk]) -> [Grant] {
        guard chunks.count > 1 else { return chunks.first?.grants.take() ?? [] }
        var grants: [Grant] = []
        grants.reserveCapacity(chunks.reduce(0) { $0 + $1.grants.count })
        for chunk in chunks { grants.append(contentsOf: chunk.grants.take()) }
        return grants
    }

    /// The grants of one chunk of a bulk stream, and its actor. The chunk is read in place
    /// (`BulkCodec`); each distinct permission is resolved once, and consecutive grants of one
    /// subject share its string. A chunk the fast reader does not handle, and a grant it cannot
    /// build, go through swift-protobuf and `ProtoMapping`, which refuse with the usual messages
    /// (a grant's position counts from the start of the stream: `offset` grants came before).
    static func bulkChunk(
        _ chunk: ByteBuffer,
        number: Int,
        offset: Int,
        maxItems: Int = .max,
        service: WardenService
    ) throws(ServiceError) -> DecodedChunk {
        try limitItems(chunk, field: 1, limit: maxItems) { count in
            "chunk \(number): at most \(maxItems) grants in one chunk, the server's max_chunk_items (got \(count)); send smaller chunks"
        }
        var grants: [Grant] = []
        var actor = ""
        var resolver = BulkResolver(service: service)
        let fast = try chunk.withUnsafeReadableBytes { bytes throws(ServiceError) -> Bool in
            guard let (items, actorRange) = BulkCodec.request(bytes) else { return false }
            actor = String(decoding: bytes[actorRange], as: UTF8.self)
            grants.reserveCapacity(items.count)
            var last: (item: BulkCodec.Item, subject: Subject)?
            for item in items {
                let subject: Subject
                if let last, Self.sameSubject(last.item, item, bytes) {
                    subject = last.subject
                } else if let user = item.user {
                    subject = .user(String(decoding: bytes[user], as: UTF8.self))
                } else if let group = item.group {
                    subject = .group(String(decoding: bytes[group], as: UTF8.self))
                } else {
                    try resolver.append(item.wire(bytes), to: &grants, offset: offset)  // refuses: no subject
                    continue
                }
                guard let permission = resolver.permission(item, bytes),
                    let grant = try? Grant(
                        subject: subject,
                        permission: permission,
                        pk: item.pk.map { String(decoding: bytes[$0], as: UTF8.self) }
                    )
                else {
                    try resolver.append(item.wire(bytes), to: &grants, offset: offset)
                    continue
                }
                last = (item, subject)
                grants.append(grant)
            }
            return true
        }
        if fast { return DecodedChunk(grants: grants, actor: actor, offset: offset) }
        let request = try Self.decodeChunk(Warden_V1_BulkGrantRequest.self, chunk, number)
        grants.reserveCapacity(request.grants.count)
        for wire in request.grants { try resolver.append(wire, to: &grants, offset: offset) }
        return DecodedChunk(grants: grants, actor: request.actor, offset: offset)
    }

    /// Whether two items name the same subject, byte for byte.
    private static func sameSubject(_ a: BulkCodec.Item, _ b: BulkCodec.Item, _ bytes: UnsafeRawBufferPointer) -> Bool {
        func same(_ x: Range<Int>?, _ y: Range<Int>?) -> Bool {
            guard let x, let y else { return x == nil && y == nil }
            return x.count == y.count
                && (x == y
                    || memcmp(bytes.baseAddress! + x.lowerBound, bytes.baseAddress! + y.lowerBound, x.count) == 0)
        }
        return same(a.user, b.user) && same(a.group, b.group)
    }

    static func decodeChunk<M: SwiftProtobuf.Message>(
        _ type: M.Type,
        _ chunk: ByteBuffer,
        _ number: Int
    ) throws(ServiceError) -> M {
        do {
            return try M(serializedBytes: chunk)
        } catch {
            throw ServiceError(.invalidArgument, "chunk \(number): not a valid \(M.protoMessageName) (\(error))")
        }
    }

    static func bulkResponse(_ revision: Revision, count: Int, requested: Int) -> Warden_V1_BulkResponse {
        var response = Warden_V1_BulkResponse()
        response.revision = revision.rawValue
        response.count = UInt64(count)
        response.requested = UInt64(requested)
        return response
    }

    /// A CANCEL frame: drops an upload (nothing written) or ends a watch; answers CANCELLED.
    func cancel(_ id: UInt32, method: UInt16) {
        if let upload = uploads.removeValue(forKey: id) {
            guard !upload.refused else { return }  // already answered
            reply(
                error: ServiceError(.cancelled, "cancelled by the client; nothing was written"),
                requestID: id,
                method: UInt16(upload.method.rawValue)
            )
        } else if let watch = watches.removeValue(forKey: id) {
            watch.ended = true
            watch.handle?.cancel()
            reply(
                error: ServiceError(.cancelled, "cancelled by the client"),
                requestID: id,
                method: UInt16(Warden_V1_Method.watch.rawValue)
            )
        }
        // Anything else (already answered, unknown id): nothing to do.
    }

    // MARK: Export

    /// Export: the index's state at one revision, taken and encoded on the pool, written as
    /// frames of `chunkSize` records; the last frame has END_STREAM.
    func startExport(_ frame: Frame, chunkSize: Int) {
        let service = self.service
        let allocator = context.channel.allocator
        let id = frame.requestID
        let method = frame.method
        let started = requestStart
        let encodeAll = { @Sendable () throws -> ByteBuffer in
            let state = service.export()
            var out = allocator.buffer(capacity: 1 << 16)
            var response = Warden_V1_ExportResponse()
            response.revision = state.revision.rawValue
            for change in state.value {
                guard let record = ProtoMapping.record(change) else { continue }
                response.records.append(record)
                if response.records.count == chunkSize {
                    try Frame.encode(response, requestID: id, method: method, into: &out)
                    response.records.removeAll(keepingCapacity: true)
                }
            }
            try Frame.encode(response, requestID: id, method: method, flags: .endStream, into: &out)
            return out
        }
        runInTurn(frame, encodeAll) { handler, result in
            switch result {
            case .success(let frames):
                handler.flush()
                handler.out.writeImmutableBuffer(frames)
                handler.server.stats.record(method: method, started: started)
            case .failure(let error):
                handler.reply(error: error, requestID: id, method: method, started: started)
            }
            handler.flush()
        }
    }
}
