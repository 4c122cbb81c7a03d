#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import SwiftProtobuf
import WardenModel
import WardenProto
import WardenService
import WardenWire

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
}

/// The grants of one chunk of a bulk stream, its `actor` field, and how many grants came before
/// it in the stream.
struct DecodedChunk: Sendable {
    let grants: [Grant]
    let actor: String
    let offset: Int

    static let none = DecodedChunk(grants: [], actor: "", offset: 0)
}

/// A bulk row's permission as sent, compared byte for byte.
struct PermissionKey: Hashable {
    let permission: ExactString
    let contentType: ExactString
}

/// Resolves a bulk stream's permissions, each distinct one once: a bulk names few.
struct BulkResolver {
    let service: WardenService
    /// By the bytes sent (permission, content type); looked up by `BulkCodec` items.
    private var byBytes: [(permission: [UInt8], contentType: [UInt8], ref: PermissionRef)] = []
    private var lastHit = 0
    /// By the strings decoded, for swift-protobuf's messages.
    private var byKey: [PermissionKey: PermissionRef] = [:]

    init(service: WardenService) {
        self.service = service
    }

    /// The permission an item names, if it resolved before or resolves now; `nil` when it
    /// does not resolve (the caller's slow path then refuses with the precise error).
    mutating func permission(_ item: BulkCodec.Item, _ bytes: UnsafeRawBufferPointer) -> PermissionRef? {
        let permission = UnsafeRawBufferPointer(rebasing: bytes[item.permission])
        let contentType = UnsafeRawBufferPointer(rebasing: bytes[item.contentType])
        func matches(_ entry: (permission: [UInt8], contentType: [UInt8], ref: PermissionRef)) -> Bool {
            entry.permission.elementsEqual(permission) && entry.contentType.elementsEqual(contentType)
        }
        if lastHit < byBytes.count && matches(byBytes[lastHit]) { return byBytes[lastHit].ref }
        if let found = byBytes.firstIndex(where: matches) {
            lastHit = found
            return byBytes[found].ref
        }
        let type = String(decoding: contentType, as: UTF8.self)
        guard let grant = try? service.makeGrant(
            subject: .user("-"), permission: String(decoding: permission, as: UTF8.self),
            contentType: type.isEmpty ? nil : type, pk: nil
        ) else { return nil }
        byBytes.append((Array(permission), Array(contentType), grant.permission))
        lastHit = byBytes.count - 1
        return grant.permission
    }

    /// Maps a wire grant and appends it, or refuses naming `grants[n]`: its position in the
    /// stream, `offset` (the grants of earlier chunks) plus its position in `grants`.
    mutating func append(_ wire: Warden_V1_Grant, to grants: inout [Grant], offset: Int) throws(ServiceError) {
        let field = "grants[\(offset + grants.count)]"
        let key = PermissionKey(permission: ExactString(wire.permission), contentType: ExactString(wire.contentType))
        guard let permission = byKey[key] else {
            let grant = try ProtoMapping.grant(wire, field: field, service: service)
            byKey[key] = grant.permission
            grants.append(grant)
            return
        }
        let subject = try ProtoMapping.requiredSubject(wire.hasSubject ? wire.subject : nil, field: "\(field).subject")
        do throws(ValidationError) {
            grants.append(try Grant(subject: subject, permission: permission, pk: wire.hasPk ? wire.pk : nil))
        } catch {
            throw ServiceError(ValidationError(field: "\(field).pk", rule: error.rule))
        }
    }
}

extension BulkCodec.Item {
    /// The item as swift-protobuf's message (its strings are valid UTF-8: the reader checked).
    func wire(_ bytes: UnsafeRawBufferPointer) -> Warden_V1_Grant {
        func string(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        var wire = Warden_V1_Grant()
        if hasSubject {
            var subject = Warden_V1_Subject()
            if let user { subject.user = string(user) } else if let group { subject.group = string(group) }
            wire.subject = subject
        }
        wire.permission = string(permission)
        wire.contentType = string(contentType)
        if let pk { wire.pk = string(pk) }
        return wire
    }
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
        guard upload.bytes <= server.configuration.maxStreamBytes else {
            uploads[id] = Upload(method: upload.method, refused: true)
            if frame.flags.contains(.endStream) { uploads[id] = nil }
            reply(
                error: ServiceError(.resourceExhausted, "the stream exceeds \(server.configuration.maxStreamBytes) bytes; send it as several calls"),
                requestID: id, method: frame.method
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
            upload.decoded.append(previous.flatMap { previous in
                pool.runIfActive(eventLoop: eventLoop) {
                    try Self.bulkChunk(chunk, number: number, offset: previous.offset + previous.grants.count, service: service)
                }
            })
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

    private func finishUpload(_ upload: Upload, _ frame: Frame) {
        let chunks = upload.chunks
        switch upload.method {
        case .bulkGrant, .bulkRevoke:
            let revoke = upload.method == .bulkRevoke
            let decoded = upload.decoded
            // The body starts once the last chunk is decoded, so every `wait` below returns at
            // once. The chunks are chained: the first failing one, in stream order, fails the call.
            let ready = decoded.last.map { $0.map { _ in () } }
            offload(frame, deadline: upload.deadline, after: ready) { service throws(ServiceError) in
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
                let grants = Self.concatenated(chunks.map(\.grants))
                let outcome = try service.bulk(grants, revoke: revoke, actor: chunks.first?.actor ?? "")
                return Self.bulkResponse(outcome.revision, count: outcome.count, requested: outcome.requested)
            }
        case .pruneOrphans:
            offload(frame, deadline: upload.deadline) { service throws(ServiceError) in
                var pks: [String] = []
                var contentType = ""
                var actor = ""
                for (number, chunk) in chunks.enumerated() {
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
            let offset = decoded.last.map { $0.offset + $0.grants.count } ?? 0
            decoded.append(try bulkChunk(chunk, number: number, offset: offset, service: service))
        }
        return (concatenated(decoded.map(\.grants)), decoded.first?.actor ?? "")
    }

    /// One array of the chunks' grants, in order.
    static func concatenated(_ parts: [[Grant]]) -> [Grant] {
        guard parts.count > 1 else { return parts.first ?? [] }
        var grants: [Grant] = []
        grants.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts { grants.append(contentsOf: part) }
        return grants
    }

    /// The grants of one chunk of a bulk stream, and its actor. The chunk is read in place
    /// (`BulkCodec`); each distinct permission is resolved once, and consecutive grants of one
    /// subject share its string. A chunk the fast reader does not handle, and a grant it cannot
    /// build, go through swift-protobuf and `ProtoMapping`, which refuse with the usual messages
    /// (a grant's position counts from the start of the stream: `offset` grants came before).
    static func bulkChunk(_ chunk: ByteBuffer, number: Int, offset: Int, service: WardenService) throws(ServiceError) -> DecodedChunk {
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
                    let grant = try? Grant(subject: subject, permission: permission, pk: item.pk.map { String(decoding: bytes[$0], as: UTF8.self) })
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
            return x.count == y.count && (x == y || memcmp(bytes.baseAddress! + x.lowerBound, bytes.baseAddress! + y.lowerBound, x.count) == 0)
        }
        return same(a.user, b.user) && same(a.group, b.group)
    }

    static func decodeChunk<M: SwiftProtobuf.Message>(_ type: M.Type, _ chunk: ByteBuffer, _ number: Int) throws(ServiceError) -> M {
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
                error: ServiceError(.cancelled, "cancelled by the client; nothing was written"), requestID: id,
                method: UInt16(upload.method.rawValue)
            )
        } else if let watch = watches.removeValue(forKey: id) {
            watch.ended = true
            watch.handle?.cancel()
            reply(error: ServiceError(.cancelled, "cancelled by the client"), requestID: id, method: UInt16(Warden_V1_Method.watch.rawValue))
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
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        server.stats.running.add(1, ordering: .relaxed)
        server.pool.runIfActive(eventLoop: context.eventLoop) { () throws -> ByteBuffer in
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
        }.whenComplete { result in
            let handler = handler.value
            handler.server.stats.running.subtract(1, ordering: .relaxed)
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
