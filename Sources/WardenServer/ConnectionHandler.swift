import CPeerCredentials
import Logging
import NIOCore
import NIOPosix
import SwiftProtobuf
import WardenModel
import WardenProto
import WardenService
import WardenWire

/// What every connection shares.
final class ServerContext: Sendable {
    let service: WardenService
    let pool: NIOThreadPool
    let configuration: ServerConfiguration
    let logger: Logger
    let stats = ServerStats()

    init(service: WardenService, pool: NIOThreadPool, configuration: ServerConfiguration, logger: Logger) {
        self.service = service
        self.pool = pool
        self.configuration = configuration
        self.logger = logger
    }
}

/// One client connection: reads frames, runs each request, writes responses (out of order when
/// some wait for a thread). Reads run inline on the event loop; whatever may block (writes,
/// waits for `min_revision`, bulk streams, watch history) runs on the server's thread pool.
/// All state is touched on the connection's event loop only.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let server: ServerContext
    var service: WardenService { server.service }
    var context: ChannelHandlerContext!
    /// Responses written since the last flush.
    var out = ByteBuffer()
    var caller: Caller?
    var role = Role.none
    /// The start of a frame whose rest has not arrived.
    var pending = ByteBuffer()
    /// Frames that arrived before the peer's credentials were known.
    var early: [Frame] = []
    /// Requests running on the pool, with a serial so a late answer to a reused id is dropped.
    var running: [UInt32: UInt64] = [:]
    var serial: UInt64 = 0
    /// Client streams (bulk, prune) collecting chunks until END_STREAM.
    var uploads: [UInt32: Upload] = [:]
    /// Watches of this connection.
    var watches: [UInt32: WatchStream] = [:]
    var isOpen = true
    /// When the frame being handled now arrived at `handle` (monotonic nanoseconds).
    var requestStart: UInt64 = 0

    init(server: ServerContext) {
        self.server = server
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        out = context.channel.allocator.buffer(capacity: 4096)
    }

    func channelActive(context: ChannelHandlerContext) {
        server.stats.connectionOpened()
        readCredentials(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        server.stats.connectionClosed()
        for watch in watches.values { watch.handle?.cancel() }
        watches = [:]
        uploads = [:]
        running = [:]
        context.fireChannelInactive()
    }

    private func readCredentials(context: ChannelHandlerContext) {
        let option = warden_so_peercred()
        guard option != 0, let provider = context.channel as? SocketOptionProvider else {
            credentialsKnown(nil)
            return
        }
        let future: EventLoopFuture<warden_peer_credentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(option)
        )
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        future.whenComplete { result in
            handler.value.credentialsKnown(try? result.get())
        }
    }

    private func credentialsKnown(_ credentials: warden_peer_credentials?) {
        if let credentials {
            let caller = Caller(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
            self.caller = caller
            role = service.role(of: caller)
            if role == .none {
                server.logger.notice("peer not admitted", metadata: ["peer": "\(caller)"])
            }
        } else {
            caller = Caller(pid: 0, uid: .max, gid: .max)
            role = .none
            server.logger.warning("peer credentials unavailable; the connection is refused every request")
        }
        let frames = early
        early = []
        for frame in frames { handle(frame) }
        flush()
    }

    /// Cuts frames straight from what the socket read (no decoder handler in between, so a
    /// frame is never boxed); a partial frame waits in `pending` for the rest.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if pending.readableBytes > 0 {
            pending.writeBuffer(&bytes)
            swap(&bytes, &pending)
        }
        do {
            while isOpen, let frame = try FrameDecoder.next(from: &bytes, maxFrameSize: server.configuration.maxFrameSize) {
                received(frame)
            }
        } catch let error as FrameError {
            let code: ServiceError.Code = if case .tooLarge = error { .resourceExhausted } else { .invalidArgument }
            connectionError(ServiceError(code, error.description))
            return
        } catch {
            context.close(promise: nil)
            return
        }
        if bytes.readableBytes > 0 {
            bytes.discardReadBytes()
            pending = bytes
        } else {
            pending.clear()
        }
    }

    private func received(_ frame: Frame) {
        if caller == nil {
            guard early.count < 1024 else {
                connectionError(ServiceError(.resourceExhausted, "more than 1024 frames before the peer's credentials were read"))
                return
            }
            early.append(frame)
        } else {
            handle(frame)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Framing errors are handled where frames are cut (`channelRead`); this is the socket's own.
        if !(error is ChannelError) && !(error is IOError) {
            server.logger.warning("connection error", metadata: ["error": "\(error)"])
        }
        context.close(promise: nil)
    }

    /// Answers on request id 0 and closes the connection once the answer is written (or after
    /// `grace`, when the client does not read).
    func connectionError(_ error: ServiceError, grace: TimeAmount = .seconds(1)) {
        guard isOpen else { return }
        isOpen = false
        reply(error: error, requestID: 0, method: 0)
        let bytes = out
        out = context.channel.allocator.buffer(capacity: 0)
        let context = self.context!
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in channel.close(promise: nil) }
        context.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) }
    }

    // MARK: Responses

    /// Writes a response; `started` is when the request's handling began (default: the frame
    /// being handled now), for its latency.
    func reply(_ message: some SwiftProtobuf.Message, requestID: UInt32, method: UInt16, end: Bool = true, started: UInt64? = nil) {
        do {
            try Frame.encode(message, requestID: requestID, method: method, flags: end ? .endStream : [], into: &out)
            if end { server.stats.record(method: method, started: started ?? requestStart) }
        } catch {
            reply(error: ServiceError(.internal, "encoding failed", cause: "\(error)"), requestID: requestID, method: method)
        }
    }

    func reply(error: any Error, requestID: UInt32, method: UInt16, started: UInt64? = nil) {
        let name = Warden_V1_Method(rawValue: Int(method)).map { "\($0)" } ?? "method \(method)"
        let (code, status) = StatusMapping.status(for: error, method: name, logger: server.logger)
        try? Frame.encode(status, requestID: requestID, method: method, flags: .endStream, status: code.rawValue, into: &out)
        if requestID != 0 { server.stats.record(method: method, status: code.rawValue, started: started ?? requestStart) }
    }

    func flush() {
        guard out.readableBytes > 0, isOpen else { return }
        let bytes = out
        out = context.channel.allocator.buffer(capacity: 4096)
        context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }
}
