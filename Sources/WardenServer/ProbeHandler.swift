import NIOCore
import NIOHTTP1

/// Answers the requests of `HTTPEndpoint`, one at a time in the order they came
/// (`HTTPServerPipelineHandler` holds pipelined ones back):
///
/// | request | answer |
/// |---|---|
/// | `GET /metrics` | 200, the Prometheus text format 0.0.4 |
/// | `GET /healthz` | 200 while the process runs |
/// | `GET /readyz` | 200 when `Readiness` is ready, else 503 naming why |
/// | `HEAD` of those | the same status and headers, no body |
/// | another method on those paths | 405 with `Allow: GET, HEAD` |
/// | another path | 404 |
/// | a request with a body | 413, and the connection closed |
///
/// A query string is ignored (`/metrics?x=1` is `/metrics`). Keep-alive is honoured.
final class ProbeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The content type of the Prometheus text exposition format.
    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"
    private static let paths: Set<Substring> = ["/metrics", "/healthz", "/readyz"]

    private let metrics: @Sendable () -> [UInt8]
    private let readiness: Readiness
    private var head: HTTPRequestHead?
    /// A request with a body was refused: nothing more is read.
    private var refused = false

    init(metrics: @escaping @Sendable () -> [UInt8], readiness: Readiness) {
        self.metrics = metrics
        self.readiness = readiness
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            let length = head.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
            if length > 0 || head.headers.contains(name: "transfer-encoding") {
                refuseBody(context, head)
            } else {
                self.head = head
            }
        case .body:
            if let head { refuseBody(context, head) }
        case .end:
            guard let head else { return }
            self.head = nil
            answer(context, head)
        }
    }

    /// A request that does not parse: `HTTPServerProtocolErrorHandler` has answered 400 with
    /// `Connection: close`; the connection ends here.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func refuseBody(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        refused = true
        self.head = nil
        respond(context, head, status: .payloadTooLarge, body: "these endpoints take no request body\n", close: true)
    }

    private func answer(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard Self.paths.contains(path) else {
            respond(context, head, status: .notFound, body: "not found: /metrics, /healthz and /readyz are served\n")
            return
        }
        guard head.method == .GET || head.method == .HEAD else {
            let allow = [("Allow", "GET, HEAD")]
            respond(context, head, status: .methodNotAllowed, body: "only GET and HEAD are allowed\n", extra: allow)
            return
        }
        switch path {
        case "/metrics":
            let text = metrics()
            var body = context.channel.allocator.buffer(capacity: text.count)
            body.writeBytes(text)
            respond(context, head, status: .ok, body: body, contentType: Self.metricsContentType)
        case "/healthz":
            respond(context, head, status: .ok, body: "ok\n")
        default:
            if let reason = readiness.reason {
                respond(context, head, status: .serviceUnavailable, body: "not ready: \(reason)\n")
            } else {
                respond(context, head, status: .ok, body: "ready\n")
            }
        }
    }

    private func respond(
        _ context: ChannelHandlerContext,
        _ head: HTTPRequestHead,
        status: HTTPResponseStatus,
        body: String,
        extra: [(String, String)] = [],
        close: Bool = false
    ) {
        let buffer = context.channel.allocator.buffer(string: body)
        respond(context, head, status: status, body: buffer, extra: extra, close: close)
    }

    private func respond(
        _ context: ChannelHandlerContext,
        _ head: HTTPRequestHead,
        status: HTTPResponseStatus,
        body: ByteBuffer,
        contentType: String = "text/plain; charset=utf-8",
        extra: [(String, String)] = [],
        close: Bool = false
    ) {
        let keepAlive = head.isKeepAlive && !close
        var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", "\(body.readableBytes)")] + extra)
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let responseHead = HTTPResponseHead(version: head.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
