import NIOCore

/// The first handler of an HTTP connection, on raw bytes, before the HTTP decoder: what bounds a
/// client of `HTTPEndpoint`.
/// - **Head size**: more than `maxHeadBytes` received since the last answer (a request line and
///   headers that long, or a body) is answered `431 Request Header Fields Too Large` and closed.
///   The endpoints take no body, so every request fits in its head.
/// - **Time**: a connection is closed `timeout` after it opened or after its last answer began,
///   whatever it is doing: a client that trickles a header a byte at a time (slowloris), one that
///   sits idle, and one that leaves its answer unread each hold the connection at most `timeout`.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Sent as is, straight to the socket, when the head is too large.
    static let tooLarge =
        "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + "Content-Length: 26\r\nConnection: close\r\n\r\nrequest head is too large\n"

    private let maxHeadBytes: Int
    private let timeout: TimeAmount
    /// Bytes received since the last answer began.
    private var unanswered = 0
    private var deadline: Scheduled<Void>?
    private var refused = false

    init(maxHeadBytes: Int, timeout: TimeAmount) {
        self.maxHeadBytes = maxHeadBytes
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let bytes = unwrapInboundIn(data)
        unanswered += bytes.readableBytes
        guard unanswered <= maxHeadBytes else {
            refused = true
            let channel = context.channel
            let answer = context.channel.allocator.buffer(string: Self.tooLarge)
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(answer))).whenComplete { _ in
                channel.close(promise: nil)
            }
            return
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !refused else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        unanswered = 0
        arm(context)
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }
}
