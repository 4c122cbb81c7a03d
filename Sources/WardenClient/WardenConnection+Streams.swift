import NIOCore
import SwiftProtobuf
import WardenProto
import WardenWire

extension WardenConnection {
    /// BulkGrant: sends `grants` as a stream of chunks of `chunkSize`; the server commits them in
    /// one transaction after the last chunk, with one BULK_GRANTED event.
    public func bulkGrant(
        _ grants: some Sequence<Warden_V1_Grant>,
        actor: String? = nil,
        chunkSize: Int = 10_000,
        timeout: Duration? = nil
    ) async throws -> Warden_V1_BulkResponse {
        try await bulk(.bulkGrant, grants, actor: actor, chunkSize: chunkSize, timeout: timeout)
    }

    /// BulkRevoke: as `bulkGrant`, revoking.
    public func bulkRevoke(
        _ grants: some Sequence<Warden_V1_Grant>,
        actor: String? = nil,
        chunkSize: Int = 10_000,
        timeout: Duration? = nil
    ) async throws -> Warden_V1_BulkResponse {
        try await bulk(.bulkRevoke, grants, actor: actor, chunkSize: chunkSize, timeout: timeout)
    }

    private func bulk(
        _ method: Warden_V1_Method,
        _ grants: some Sequence<Warden_V1_Grant>,
        actor: String?,
        chunkSize: Int,
        timeout: Duration?
    ) async throws -> Warden_V1_BulkResponse {
        var chunks: [Warden_V1_BulkGrantRequest] = []
        var chunk = Warden_V1_BulkGrantRequest()
        chunk.actor = actor ?? ""
        var bytes = 0
        for grant in grants {
            chunk.grants.append(grant)
            bytes += Self.estimatedSize(grant)
            if chunk.grants.count == chunkSize || bytes >= Self.chunkBytes {
                chunks.append(chunk)
                chunk = Warden_V1_BulkGrantRequest()
                bytes = 0
            }
        }
        if !chunk.grants.isEmpty || chunks.isEmpty { chunks.append(chunk) }
        return try await stream(method, chunks, timeout: timeout)
    }

    /// PruneOrphans: removes grants on objects of `contentType` whose pks are not in `livePKs`.
    public func pruneOrphans(
        contentType: String,
        livePKs: some Sequence<String>,
        actor: String? = nil,
        chunkSize: Int = 50_000
    ) async throws -> Warden_V1_BulkResponse {
        var chunks: [Warden_V1_PruneOrphansRequest] = []
        var chunk = Warden_V1_PruneOrphansRequest()
        chunk.contentType = contentType
        chunk.actor = actor ?? ""
        var bytes = 0
        for pk in livePKs {
            chunk.livePks.append(pk)
            bytes += pk.utf8.count + 3
            if chunk.livePks.count == chunkSize || bytes >= Self.chunkBytes {
                chunks.append(chunk)
                chunk = Warden_V1_PruneOrphansRequest()
                bytes = 0
            }
        }
        if !chunk.livePks.isEmpty || chunks.isEmpty { chunks.append(chunk) }
        return try await stream(.pruneOrphans, chunks, timeout: nil)
    }

    /// A chunk is closed at this many bytes (about), far below the server's 4 MiB frame limit
    /// whatever the strings' lengths.
    static let chunkBytes = 1 << 20

    /// An upper bound of a grant's encoded size: its strings and their tags and lengths.
    static func estimatedSize(_ grant: Warden_V1_Grant) -> Int {
        let subject = grant.subject.user.utf8.count + grant.subject.group.utf8.count
        return subject + grant.permission.utf8.count + grant.contentType.utf8.count + grant.pk.utf8.count + 16
    }

    /// Sends a client stream: every chunk under one request id, END_STREAM on the last.
    func stream<Chunk: SwiftProtobuf.Message>(
        _ method: Warden_V1_Method,
        _ chunks: [Chunk],
        timeout: Duration?
    ) async throws -> Warden_V1_BulkResponse {
        let id = makeRequestID()
        let promise = channel.eventLoop.makePromise(of: Frame.self)
        if let end = requests.register(id, .promise(promise)) {
            promise.fail(end)
            throw end
        }
        chunks: for (position, chunk) in chunks.enumerated() {
            var bytes = channel.allocator.buffer(capacity: 1024)
            do {
                let last = position == chunks.count - 1
                try Frame.encode(
                    chunk,
                    requestID: id,
                    method: UInt16(method.rawValue),
                    flags: last ? .endStream : [],
                    timeoutMilliseconds: Self.milliseconds(timeout ?? defaultTimeout),
                    into: &bytes
                )
            } catch {
                let failure = WardenError(code: .invalidArgument, message: "cannot encode the request: \(error)")
                requests.fail(id, failure)
                throw failure
            }
            // Waits for each chunk to be written, so a long stream does not pile up in memory twice.
            let failure: WardenError
            switch writer.write(bytes) {
            case .written:
                continue
            case .queued(let written):
                do {
                    try await written.get()
                    continue
                } catch {
                    failure = requests.writeFailure(error)
                }
            case .failed(let error) where FrameWriter.serverClosed(error):
                break chunks  // the event loop fails the request with the server's reason
            case .failed(let error):
                failure = requests.writeFailure(error)
            }
            requests.fail(id, failure)
            throw failure
        }
        return try Self.decode(try await promise.futureResult.get(), as: Warden_V1_BulkResponse.self)
    }

    /// Watch: events after `afterRevision` (from now when `nil`), then live ones. Ending the
    /// iteration (or the task) cancels the watch on the server.
    public func watch(
        afterRevision: UInt64? = nil,
        kinds: [Warden_V1_EventKind] = [],
        contentTypes: [String] = [],
        auditChecks: Bool = false,
        auditSampleRate: Double = 0
    ) -> AsyncThrowingStream<Warden_V1_Event, any Error> {
        var request = Warden_V1_WatchRequest()
        if let afterRevision { request.afterRevision = afterRevision }
        request.kinds = kinds
        request.contentTypes = contentTypes
        request.auditChecks = auditChecks
        request.auditSampleRate = auditSampleRate
        return watch(request)
    }

    /// Watch with a request built by the caller; as
    /// `watch(afterRevision:kinds:contentTypes:auditChecks:auditSampleRate:)`.
    public func watch(_ request: Warden_V1_WatchRequest) -> AsyncThrowingStream<Warden_V1_Event, any Error> {
        serverStream(.watch, request, as: Warden_V1_WatchResponse.self, endsWithData: false) { $0.events }
    }

    /// Commits records in one transaction, each at its own revision with its own event.
    /// `timeout`: the call's deadline (the connection's default when `nil`).
    public func writeBatch(
        _ records: [Warden_V1_Record],
        actor: String? = nil,
        timeout: Duration? = nil
    ) async throws
        -> Warden_V1_WriteBatchResponse
    {
        var request = Warden_V1_WriteBatchRequest()
        request.records = records
        request.actor = actor ?? ""
        return try await call(.writeBatch, request, returning: Warden_V1_WriteBatchResponse.self, timeout: timeout)
    }

    /// Export: the whole state at one revision, as records (types, users, groups, memberships,
    /// grants), in chunks as they arrive.
    public func export(chunkSize: UInt32 = 10_000) -> AsyncThrowingStream<Warden_V1_ExportResponse, any Error> {
        var request = Warden_V1_ExportRequest()
        request.chunkSize = chunkSize
        return serverStream(.export, request, as: Warden_V1_ExportResponse.self, endsWithData: true) { [$0] }
    }

    /// A server stream: every frame's response, turned into elements by `elements`, until the
    /// frame with END_STREAM (which carries data when `endsWithData`, else only a status).
    /// Ending the iteration early cancels the stream on the server.
    func serverStream<Response: SwiftProtobuf.Message, Element: Sendable>(
        _ wireMethod: Warden_V1_Method,
        _ request: some SwiftProtobuf.Message,
        as type: Response.Type,
        endsWithData: Bool,
        _ elements: @escaping @Sendable (Response) -> [Element]
    ) -> AsyncThrowingStream<Element, any Error> {
        let id = makeRequestID()
        let method = UInt16(wireMethod.rawValue)
        let (stream, continuation) = AsyncThrowingStream<Element, any Error>.makeStream()
        var bytes = channel.allocator.buffer(capacity: 64)
        do {
            try Frame.encode(request, requestID: id, method: method, flags: .endStream, into: &bytes)
        } catch {
            continuation.finish(throwing: error)
            return stream
        }
        let deliver: @Sendable (Frame) -> Void = { frame in
            let end = frame.status != 0 || frame.flags.contains(.endStream)
            if end && !(endsWithData && frame.status == 0) {
                do {
                    _ = try Self.decode(frame, as: Response.self)
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
                return
            }
            guard let response = try? Response(serializedBytes: frame.body) else {
                continuation.finish(
                    throwing: WardenError(code: .internal, message: "a frame is not a \(Response.protoMessageName)")
                )
                return
            }
            for element in elements(response) { continuation.yield(element) }
            if end { continuation.finish() }
        }
        let writer = self.writer
        continuation.onTermination = { termination in
            guard case .cancelled = termination else { return }
            var cancel = ByteBuffer()
            Frame.writeHeader(
                to: &cancel,
                bodyLength: 0,
                requestID: id,
                method: method,
                flags: .cancel,
                status: 0,
                timeoutMilliseconds: 0
            )
            _ = writer.write(cancel)
        }
        start(id, bytes, .stream(deliver))
        return stream
    }
}
