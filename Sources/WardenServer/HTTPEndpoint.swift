import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import WardenSync

#if canImport(Glibc)
import Glibc
#endif

/// The optional HTTP/1.1 listener for Prometheus and Kubernetes: `GET /metrics`, `/healthz` and
/// `/readyz` (`ProbeHandler`), on SwiftNIO's HTTP/1 support.
///
/// It never slows the permission socket: it has its own event loop group of one thread, so a
/// scrape renders there, and a slow or hostile HTTP client costs only its own connection, within
/// the bounds of ``Configuration``. Off unless the daemon is given an address (`--http-address`);
/// loopback is recommended, and binding another address is logged as a warning.
public final class HTTPEndpoint: Sendable {
    /// What the listener binds and how it bounds its clients.
    public struct Configuration: Sendable {
        /// Where it listens.
        public var address: HTTPAddress
        /// Bytes a client may send that are not yet answered: a request line and headers, at
        /// most; past it the answer is 431 and the connection closes (8 KiB).
        public var maxHeadBytes = 8 * 1024
        /// A connection is closed this long after it opened or after its last answer began:
        /// slow, idle and non-reading clients alike (10 s).
        public var requestTimeout: Duration = .seconds(10)
        /// HTTP connections open at once, at most; more are closed as soon as accepted (64).
        public var maxConnections = 64

        public init(address: HTTPAddress) {
            self.address = address
        }
    }

    /// Where it listens, as bound: `127.0.0.1:41234` after a request for port 0, or the path.
    public let boundAddress: String
    /// Whether it listens on a loopback address or a Unix socket only.
    public let isLocal: Bool
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// Binds `configuration.address` and starts serving; `metrics` renders the Prometheus text
    /// on the listener's thread for each scrape.
    public init(
        configuration: Configuration,
        readiness: Readiness,
        metrics: @escaping @Sendable () -> [UInt8],
        logger: Logger
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let open = Locked(0)  // connections open
        let limit = configuration.maxConnections
        let headBytes = configuration.maxHeadBytes
        let timeout = TimeAmount.nanoseconds(configuration.requestTimeout.nanoseconds)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: false)
            .childChannelInitializer { channel in
                let admitted = open.withLock { count in
                    guard count < limit else { return false }
                    count += 1
                    return true
                }
                guard admitted else { return channel.close() }
                channel.closeFuture.whenComplete { _ in open.withLock { $0 -= 1 } }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(HTTPConnectionGuard(maxHeadBytes: headBytes, timeout: timeout))
                    try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try pipeline.addHandler(ProbeHandler(metrics: metrics, readiness: readiness))
                }
            }
        let channel: any Channel
        do {
            switch configuration.address {
            case .tcp(let host, let port):
                channel = try await bootstrap.bind(host: host, port: port).get()
            case .unix(let path):
                try Self.removeStaleSocket(at: path)
                channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false).get()
            }
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        self.group = group
        self.channel = channel
        switch configuration.address {
        case .tcp:
            let local = channel.localAddress
            let ip = local?.ipAddress ?? "?"
            boundAddress = ip.contains(":") ? "[\(ip)]:\(local?.port ?? 0)" : "\(ip):\(local?.port ?? 0)"
            isLocal = Self.isLoopback(local)
        case .unix(let path):
            boundAddress = path
            isLocal = true
        }
        logger.info("http listening", metadata: ["address": "\(boundAddress)"])
        if !isLocal {
            logger.warning(
                "the HTTP listener is bound to a non-loopback address: its endpoints answer anyone who can reach it",
                metadata: ["address": "\(boundAddress)"]
            )
        }
    }

    /// Stops accepting, closes every HTTP connection and stops the listener's thread.
    public func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    /// Whether `address` is 127.0.0.0/8 or ::1.
    static func isLoopback(_ address: SocketAddress?) -> Bool {
        switch address {
        case .v4(let v4): UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let v6): v6.address.sin6_addr == in6addr_loopback
        default: false
        }
    }

    /// Removes a socket file nobody listens on (left by a process that died); refuses a path
    /// that is not a socket, or one that a live process still serves.
    static func removeStaleSocket(at path: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw HTTPEndpointError("\(path) exists and is not a socket")
        }
        let probe = try? SocketAddress(unixDomainSocketPath: path)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        let answered =
            probe.map { address in
                address.withSockAddr { connect(descriptor, $0, socklen_t($1)) == 0 }
            } ?? false
        guard !answered else { throw HTTPEndpointError("\(path) is served by another process") }
        unlink(path)
    }
}

/// The HTTP listener cannot start; the message says why.
public struct HTTPEndpointError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension in6_addr {
    fileprivate static func == (lhs: in6_addr, rhs: in6_addr) -> Bool {
        withUnsafeBytes(of: lhs) { left in withUnsafeBytes(of: rhs) { right in left.elementsEqual(right) } }
    }
}
