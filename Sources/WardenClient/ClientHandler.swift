import NIOCore
import WardenProto
import WardenSync
import WardenWire

/// Where a response frame goes.
enum Responder {
    /// One frame ends the request.
    case unary(EventLoopPromise<Frame>)
    /// Every frame of a server stream, until one with END_STREAM.
    case stream(@Sendable (Frame) -> Void)
}

/// A request to write: its frames (already encoded) and who takes the answer.
struct Outgoing {
    let requestID: UInt32
    let bytes: ByteBuffer
    /// `nil` for frames of a request already registered (later chunks, cancel).
    let responder: Responder?
}

/// Why a connection ended, kept past its close: a request made later fails with the server's
/// own word (a refused peer's `PERMISSION_DENIED` on request id 0), not with a bare "closed".
final class ConnectionEnd: Sendable {
    private let error = Locked<WardenError?>(nil)

    var reason: WardenError? { error.withLock { $0 } }

    /// Keeps the first reason only.
    func record(_ reason: WardenError) { error.withLock { if $0 == nil { $0 = reason } } }
}

/// Matches response frames to requests by id; fails every open request when the connection ends.
/// Flushes once per burst of writes, so pipelined requests share a syscall.
final class ClientHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = Outgoing
    typealias OutboundOut = ByteBuffer

    private var pending: [UInt32: Responder] = [:]
    private var closedError: WardenError?
    private var flushScheduled = false
    let end: ConnectionEnd

    init(end: ConnectionEnd) {
        self.end = end
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let outgoing = unwrapOutboundIn(data)
        if let closedError {
            if case .unary(let promise)? = outgoing.responder { promise.fail(closedError) }
            if case .stream(let deliver)? = outgoing.responder { deliver(Self.errorFrame(closedError, id: outgoing.requestID)) }
            promise?.fail(closedError)
            return
        }
        if let responder = outgoing.responder { pending[outgoing.requestID] = responder }
        context.write(wrapOutboundOut(outgoing.bytes), promise: promise)
        guard !flushScheduled else { return }
        flushScheduled = true
        // Runs after the writes already queued on the loop: one flush for the burst.
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = bound.value
            handler.flushScheduled = false
            context.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.requestID == 0 && frame.status != 0 {
            // The server's word on the connection itself (framing error): it closes next.
            let status = (try? Warden_V1_Status(serializedBytes: frame.body)) ?? Warden_V1_Status()
            failAll(WardenError(status, code: frame.status))
            return
        }
        guard let responder = pending[frame.requestID] else { return }
        switch responder {
        case .unary(let promise):
            pending[frame.requestID] = nil
            promise.succeed(frame)
        case .stream(let deliver):
            if frame.flags.contains(.endStream) { pending[frame.requestID] = nil }
            deliver(frame)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(WardenError(code: .unavailable, message: "the connection to Warden closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(WardenError(code: .unavailable, message: "the connection to Warden failed: \(error)"))
        context.close(promise: nil)
    }

    private func failAll(_ error: WardenError) {
        if closedError == nil {
            closedError = error
            end.record(error)
        }
        let open = pending
        pending = [:]
        for (id, responder) in open {
            switch responder {
            case .unary(let promise): promise.fail(error)
            case .stream(let deliver): deliver(Self.errorFrame(error, id: id))
            }
        }
    }

    /// A synthetic END_STREAM frame carrying a client-side error, for stream responders.
    static func errorFrame(_ error: WardenError, id: UInt32) -> Frame {
        var status = Warden_V1_Status()
        status.code = UInt32(error.code.rawValue)
        status.message = error.message
        let bytes: [UInt8] = (try? status.serializedBytes()) ?? []
        return Frame(requestID: id, method: 0, flags: .endStream, status: error.code.rawValue, body: ByteBuffer(bytes: bytes))
    }
}
