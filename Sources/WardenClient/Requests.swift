import NIOCore
import WardenProto
import WardenSync
import WardenWire

/// Where a response frame goes.
enum Responder {
    /// One frame ends the request; it resumes the caller's task straight from the event loop.
    case unary(UnsafeContinuation<Frame, any Error>)
    /// One frame ends the request, awaited later (a client stream's answer, tests).
    case promise(EventLoopPromise<Frame>)
    /// Every frame of a server stream, until one with END_STREAM.
    case stream(@Sendable (Frame) -> Void)

    /// Hands `frame` over (the caller removed the responder if the frame ends the request).
    func deliver(_ frame: Frame) {
        switch self {
        case .unary(let continuation): continuation.resume(returning: frame)
        case .promise(let promise): promise.succeed(frame)
        case .stream(let deliver): deliver(frame)
        }
    }

    /// Ends the request with `error` (a stream gets it as a last frame).
    func fail(_ error: WardenError, id: UInt32) {
        switch self {
        case .unary(let continuation): continuation.resume(throwing: error)
        case .promise(let promise): promise.fail(error)
        case .stream(let deliver): deliver(Requests.errorFrame(error, id: id))
        }
    }
}

/// The open requests of one connection, by request id, shared by the callers' threads (which
/// register a request before writing it) and the event loop (which answers them). A responder
/// is resumed by whoever removes it from the table, once: the answer, a failed write, or the
/// connection's end. Also keeps why the connection ended, so that a request made later fails
/// with the server's own word (a refused peer's `PERMISSION_DENIED` on request id 0), not a bare
/// "closed".
final class Requests: Sendable {
    private struct Table {
        var open: [UInt32: Responder] = [:]
        /// Set once, when the connection ended: every later request fails with it.
        var end: WardenError?
    }

    private let table = Locked(Table())

    /// Why the connection ended; `nil` while it is open.
    var end: WardenError? { table.withLock { $0.end } }

    /// Registers `responder` for `id`; when the connection already ended, returns why instead.
    func register(_ id: UInt32, _ responder: Responder) -> WardenError? {
        table.withLock { table in
            if let end = table.end { return end }
            table.open[id] = responder
            return nil
        }
    }

    /// Hands `frame` to its request's responder (none: a late answer to a request that already
    /// failed, dropped). A unary request, or a stream's END_STREAM frame, closes the request.
    func answer(_ frame: Frame) {
        let responder: Responder? = table.withLock { table in
            guard let responder = table.open[frame.requestID] else { return nil }
            if case .stream = responder, !frame.flags.contains(.endStream) { return responder }
            table.open[frame.requestID] = nil
            return responder
        }
        responder?.deliver(frame)
    }

    /// Takes and releases the table's lock: a caller resumed with an answer is then ordered after
    /// the event loop's hand-over (which removed the responder under this lock) in a way
    /// ThreadSanitizer sees (`WardenConnection.answer` says why).
    func handedOver() {
        table.withLock { _ in }
    }

    /// Fails the request `id` with `error`, unless it was already answered or failed.
    func fail(_ id: UInt32, _ error: WardenError) {
        table.withLock { $0.open.removeValue(forKey: id) }?.fail(error, id: id)
    }

    /// Ends the connection's requests: every open one fails with `error`, and so does every later
    /// one. The first reason is kept.
    func failAll(_ error: WardenError) {
        let (open, reason): ([UInt32: Responder], WardenError) = table.withLock { table in
            if table.end == nil { table.end = error }
            let open = table.open
            table.open = [:]
            return (open, table.end!)
        }
        for (id, responder) in open { responder.fail(reason, id: id) }
    }

    /// The error for a write that failed with `error`: why the connection ended when known
    /// (the server's status on request id 0), else `UNAVAILABLE`.
    func writeFailure(_ error: any Error) -> WardenError {
        end ?? WardenError(code: .unavailable, message: "the connection to Warden is closed (\(error))")
    }

    /// A synthetic END_STREAM frame carrying a client-side error, for stream responders.
    static func errorFrame(_ error: WardenError, id: UInt32) -> Frame {
        var status = Warden_V1_Status()
        status.code = UInt32(error.code.rawValue)
        status.message = error.message
        let bytes: [UInt8] = (try? status.serializedBytes()) ?? []
        return Frame(
            requestID: id,
            method: 0,
            flags: .endStream,
            status: error.code.rawValue,
            body: ByteBuffer(bytes: bytes)
        )
    }
}
