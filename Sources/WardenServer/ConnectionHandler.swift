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
    /// Threads that read watch history, a page at a time: never the ones writes need.
    let replayPool: NIOThreadPool
    let configuration: ServerConfiguration
    let logger: Logger
    let stats = ServerStats()
    /// Bytes of client streams held, all connections together.
    let streams: StreamBudget

    init(service: WardenService, pool: NIOThreadPool, configuration: ServerConfiguration, logger: Logger) {
        self.service = service
        self.pool = pool
        self.replayPool = NIOThreadPool(numberOfThreads: configuration.replayThreads)
        replayPool.start()
        self.configuration = configuration
        self.logger = logger
        streams = StreamBudget(limit: configuration.maxStreamBytesTotal)
    }
}

/// One client connection: reads frames, runs each request, writes responses (out of order when
/// some wait for a thread). Reads run inline on the event loop, those waiting for `min_revision`
/// once the replica reaches it; whatever may block (writes, bulk streams) runs on the server's
/// thread pool, watch history on its replay pool.
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
    /// The peer's credentials are known and admit it: only then is anything read, and only then
    /// does the connection count against `max_connections`.
    var admitted = false
    /// Requests running on the pool, with a serial so a late answer to a reused id is dropped.
    var running: [UInt32: UInt64] = [:]
    var serial: UInt64 = 0
    /// This connection's requests on the pool, and those waiting for their turn (`offload`).
    var poolTurns = PoolTurns()
    /// Client streams (bulk, prune) collecting chunks until END_STREAM.
    var uploads: [UInt32: Upload] = [:]
    /// Watches of this connection.
    var watches: [UInt32: WatchStream] = [:]
    /// Takes back each `min_revision` wait of this connection still registered on the replica,
    /// by its `running` token (`readWhenReached`): run when the connection closes.
    var revisionWaits: [UInt64: () -> Void] = [:]
    var isOpen = true
    /// When the frame being handled now arrived at `handle` (monotonic nanoseconds).
    var requestStart: UInt64 = 0
    /// When the incomplete frame in `pending` began to arrive (monotonic ns); 0: none pending.
    var partialSince: UInt64 = 0
    /// When the last frame arrived (monotonic ns), for the idle timeout.
    var lastFrame: UInt64 = 0
    /// The frame-timeout and idle checks, each scheduled at most once at a time.
    var frameTimer: Scheduled<Void>?
    var idleTimer: Scheduled<Void>?
    /// Reading is paused while the client does not take its responses (see
    /// `channelWritabilityChanged`).
    var readingPaused = false

    init(server: ServerContext) {
        self.server = server
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        out = context.channel.allocator.buffer(capacity: 4096)
    }

    /// Drops the context: the context holds the handler, and a handler holding its context
    /// back would keep both (and their buffers) alive after the connection closed, about 4.7 KiB
    /// per connection (found by the soak test). Nothing uses `context` once `isOpen` is false,
    /// which `channelInactive` sets before this runs.
    func handlerRemoved(context: ChannelHandlerContext) {
        isOpen = false
        frameTimer?.cancel()
        idleTimer?.cancel()
        self.context = nil
    }

    /// Reads nothing until the peer's credentials are known: a peer that is not admitted is
    /// answered PERMISSION_DENIED on request id 0 and closed before a byte of it is read, and it
    /// never holds one of the `max_connections` slots (docs/operations.md, "Identities").
    func channelActive(context: ChannelHandlerContext) {
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        readCredentials(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        if admitted { server.stats.connectionClosed() }
        for watch in watches.values { watch.handle?.cancel() }
        watches = [:]
        let waits = revisionWaits
        revisionWaits = [:]
        for takeBack in waits.values { takeBack() }
        uploads = [:]
        running = [:]
        frameTimer?.cancel()
        idleTimer?.cancel()
        context.fireChannelInactive()
    }

    /// Reads SO_PEERCRED; on the channel's own loop the answer is there at once.
    private func readCredentials(context: ChannelHandlerContext) {
        let option = warden_so_peercred()
        guard option != 0, let provider = context.channel as? SocketOptionProvider else {
            credentialsKnown(nil)
            return
        }
        let future: EventLoopFuture<warden_peer_credentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(option)
        )
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        future.whenComplete { result in
            handler.value.credentialsKnown(try? result.get())
        }
    }

    private func credentialsKnown(_ credentials: warden_peer_credentials?) {
        guard isOpen else { return }
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
            server.logger.warning("peer credentials unavailable; the connection is refused")
        }
        do {
            try service.authorize(role, .reader, method: "connect")
        } catch {
            connectionError(error)
            return
        }
        admitted = true
        let open = server.stats.connectionOpened()
        let limit = server.configuration.maxConnections
        guard open <= limit else {
            server.logger.warning(
                "connection refused: max_connections reached",
                metadata: ["max_connections": "\(limit)"]
            )
            connectionError(
                ServiceError(
                    .resourceExhausted,
                    "connections: \(limit) are open, the server's max_connections; try again later"
                )
            )
            return
        }
        lastFrame = ServerStats.now()
        scheduleIdleCheck(after: server.configuration.idleTimeout)
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        context.read()
    }

    /// Cuts frames straight from what the socket read (no decoder handler in between, so a
    /// frame is never boxed); a partial frame waits in `pending` for the rest.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard admitted else { return }  // nothing is read before admission; a read in flight is dropped
        var bytes = unwrapInboundIn(data)
        if pending.readableBytes > 0 {
            pending.writeBuffer(&bytes)
            swap(&bytes, &pending)
        }
        var frames = 0
        do {
            while isOpen,
                let frame = try FrameDecoder.next(from: &bytes, maxFrameSize: server.configuration.maxFrameSize)
            {
                frames += 1
                handle(frame)
            }
        } catch let error as FrameError {
            let code: ServiceError.Code = if case .tooLarge = error { .resourceExhausted } else { .invalidArgument }
            connectionError(ServiceError(code, error.description))
            return
        } catch {
            context.close(promise: nil)
            return
        }
        if frames > 0 { lastFrame = ServerStats.now() }
        if bytes.readableBytes > 0 {
            bytes.discardReadBytes()
            pending = bytes
            if frames > 0 || partialSince == 0 {
                partialSince = frames > 0 ? lastFrame : ServerStats.now()
                if frameTimer == nil { scheduleFrameCheck(after: server.configuration.frameTimeout) }
            }
        } else {
            pending.clear()
            partialSince = 0
        }
    }

    // MARK: Slow and idle clients

    /// Closes the connection if the frame pending since `partialSince` is still incomplete
    /// `frameTimeout` after it began; otherwise checks again when the current one would expire.
    private func scheduleFrameCheck(after delay: Duration) {
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        frameTimer = context.eventLoop.scheduleTask(in: .nanoseconds(delay.nanoseconds)) {
            let this = handler.value
            this.frameTimer = nil
            guard this.isOpen, this.partialSince != 0 else { return }
            let timeout = this.server.configuration.frameTimeout
            let waited = Duration.nanoseconds(Int64(ServerStats.now() &- this.partialSince))
            if waited >= timeout {
                this.connectionError(
                    ServiceError(
                        .deadlineExceeded,
                        "frame: incomplete \(timeout) after its first bytes arrived (\(this.pending.readableBytes) bytes of it came)"
                    )
                )
            } else {
                this.scheduleFrameCheck(after: timeout - waited)
            }
        }
    }

    /// Closes the connection when no frame arrived for `idleTimeout` and nothing of it runs.
    private func scheduleIdleCheck(after delay: Duration?) {
        guard let delay else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: .nanoseconds(delay.nanoseconds)) {
            let this = handler.value
            this.idleTimer = nil
            guard this.isOpen, let timeout = this.server.configuration.idleTimeout else { return }
            let quiet = Duration.nanoseconds(Int64(ServerStats.now() &- this.lastFrame))
            let busy = !this.running.isEmpty || !this.watches.isEmpty || !this.uploads.isEmpty || this.partialSince != 0
            if quiet >= timeout && !busy {
                this.connectionError(
                    ServiceError(.unavailable, "connection: idle for \(timeout), the server's idle_timeout; reconnect")
                )
            } else {
                this.scheduleIdleCheck(after: quiet >= timeout ? timeout : timeout - quiet)
            }
        }
    }

    /// Backpressure: while the client does not take its responses (the channel's outbound
    /// buffer is above its high water mark), the server stops reading its requests, so a client
    /// that never reads costs a bounded buffer, not memory without end. Reading resumes when the
    /// buffer drains below the low water mark.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        if admitted && writable == readingPaused {
            readingPaused = !writable
            try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: writable)
            if writable { context.read() }
        }
        context.fireChannelWritabilityChanged()
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
    func reply(
        _ message: some SwiftProtobuf.Message,
        requestID: UInt32,
        method: UInt16,
        end: Bool = true,
        started: UInt64? = nil
    ) {
        do {
            try Frame.encode(message, requestID: requestID, method: method, flags: end ? .endStream : [], into: &out)
            if end { server.stats.record(method: method, started: started ?? requestStart) }
        } catch {
            reply(
                error: ServiceError(.internal, "encoding failed", cause: "\(error)"),
                requestID: requestID,
                method: method
            )
        }
    }

    func reply(error: any Error, requestID: UInt32, method: UInt16, started: UInt64? = nil) {
        let name = Warden_V1_Method(rawValue: Int(method)).map { "\($0)" } ?? "method \(method)"
        let (code, status) = StatusMapping.status(for: error, method: name, logger: server.logger)
        try? Frame.encode(
            status,
            requestID: requestID,
            method: method,
            flags: .endStream,
            status: code.rawValue,
            into: &out
        )
        if requestID != 0 {
            server.stats.record(method: method, status: code.rawValue, started: started ?? requestStart)
        }
    }

    func flush() {
        guard out.readableBytes > 0, isOpen else { return }
        let bytes = out
        out = context.channel.allocator.buffer(capacity: 4096)
        context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }
}
