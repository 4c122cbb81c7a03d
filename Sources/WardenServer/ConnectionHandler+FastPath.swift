import NIOCore
import NIOPosix
import SwiftProtobuf
import WardenIndex
import WardenModel
import WardenProto
import WardenService
import WardenWire

/// The request path's fast lane: Check and BatchCheck decoded and answered straight from the
/// frame's bytes (`CheckCodec`), declining to the generic path when they cannot.
extension ConnectionHandler {
    /// Check through `CheckCodec`; `false` when it declines (the generic path then answers).
    func fastCheck(_ frame: Frame) throws(ServiceError) -> Bool {
        let answer = try frame.body.withUnsafeReadableBytes { (bytes) throws(ServiceError) -> Evaluated<Decision>? in
            guard let fields = CheckCodec.check(bytes), service.hasReached(Revision(fields.minRevision)) else {
                return nil
            }
            if let answer = service.check(raw: fields.raw(bytes)) { return answer }
            guard let request = fields.request(bytes) else { return nil }
            return try service.check(request)
        }
        guard let answer else { return false }
        CheckCodec.writeCheckResponse(
            answer.value,
            revision: answer.revision,
            requestID: frame.requestID,
            method: frame.method,
            to: &out
        )
        server.stats.record(method: frame.method, started: requestStart)
        return true
    }

    /// BatchCheck through `CheckCodec`; `false` when it declines. A large batch is evaluated on
    /// the pool, so the batches of one connection use every core (reads share the index lock).
    func fastBatchCheck(_ frame: Frame) throws(ServiceError) -> Bool {
        guard let (items, minRevision) = frame.body.withUnsafeReadableBytes({ CheckCodec.batch($0) }),
            service.hasReached(Revision(minRevision))
        else { return false }
        if items.count < Self.parallelBatch {
            guard let response = try Self.evaluate(items, frame, service, allocator: context.channel.allocator) else {
                return false
            }
            out.writeImmutableBuffer(response)
            server.stats.record(method: frame.method, started: requestStart)
            return true
        }
        let service = self.service
        let allocator = context.channel.allocator
        let started = requestStart
        // On the pool in the connection's turn, like writes: a reader pipelining large batches
        // takes its share of the pool, not all of it.
        let evaluate = { @Sendable () throws -> ByteBuffer? in
            try Self.evaluate(items, frame, service, allocator: allocator)
        }
        runInTurn(frame, evaluate) { handler, result in
            switch result {
            case .success(let response?):
                handler.out.writeImmutableBuffer(response)
                handler.server.stats.record(method: frame.method, started: started)
            case .success(nil):
                // Declined (invalid UTF-8 somewhere, or audits): the generic path answers, if
                // the client is still there.
                guard handler.isOpen else { return }
                do {
                    try handler.dispatch(.batchCheck, frame, deadline: nil, fast: false)
                } catch {
                    handler.reply(error: error, requestID: frame.requestID, method: frame.method)
                }
            case .failure(let error):
                handler.reply(error: error, requestID: frame.requestID, method: frame.method, started: started)
            }
            handler.flush()
        }
        return true
    }

    /// Batches of at least this many items are evaluated on the pool.
    static let parallelBatch = 256

    /// Evaluates a batch's items and encodes the response frame; `nil` when the fast path declines.
    private static func evaluate(
        _ items: [CheckCodec.Fields],
        _ frame: Frame,
        _ service: WardenService,
        allocator: ByteBufferAllocator
    ) throws(ServiceError) -> ByteBuffer? {
        let answers = try frame.body.withUnsafeReadableBytes {
            (bytes) throws(ServiceError) -> Evaluated<[Result<Decision, IndexError>]>? in
            try service.check(raw: items.map { $0.raw(bytes) }) { position in items[position].request(bytes) }
        }
        guard let answers else { return nil }
        var response = allocator.buffer(capacity: 16 + answers.value.count * 8)
        CheckCodec.writeBatchResponse(
            answers.value,
            revision: answers.revision,
            requestID: frame.requestID,
            method: frame.method,
            to: &response
        )
        return response
    }
}
