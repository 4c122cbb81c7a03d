#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import Synchronization
import NIOPosix
import WardenService
import WardenSync
import WardenWire

/// Warden's socket server: a Unix socket listener speaking the framed protocol of
/// `docs/protocol.md` on SwiftNIO.
public final class WardenServer: Sendable {
    public let configuration: ServerConfiguration
    private let context: ServerContext
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let socketFile: SocketFile
    /// The socket file's state at the last `watchSocketFile()`, to log each change once.
    private let lastSocketStatus = Locked(SocketFile.Status.present)

    /// Claims the socket path (refusing while another server holds it), binds the socket with
    /// its mode (removing a stale socket first) and starts serving.
    /// `socketFile`: the path as claimed by the caller (the daemon claims it before it opens the
    /// database); `nil`: claimed here.
    public init(service: WardenService, configuration: ServerConfiguration, socketFile: SocketFile? = nil, logger: Logger) throws {
        let socketFile = try socketFile ?? SocketFile(claiming: configuration.socketPath)
        self.configuration = configuration
        let threads = configuration.eventLoopThreads > 0 ? configuration.eventLoopThreads : System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let pool = NIOThreadPool(numberOfThreads: configuration.blockingThreads)
        pool.start()
        let context = ServerContext(service: service, pool: pool, configuration: configuration, logger: logger)
        var bound: (any Channel)?
        do {
            // The socket is created with its mode by bind itself, never chmod-ed by path
            // (`SocketFile`), after the path is claimed: one server per socket path.
            try socketFile.bind(mode: configuration.socketMode, group: configuration.socketGroup) {
                bound = try ServerBootstrap(group: group)
                    .serverChannelOption(ChannelOptions.backlog, value: 1024)
                    .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: false)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(ConnectionHandler(server: context))
                        }
                    }
                    .bind(unixDomainSocketPath: configuration.socketPath, cleanupExistingSocketFile: false)
                    .wait()
            }
        } catch {
            try? bound?.close().wait()
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            throw error
        }
        let channel = bound!
        self.channel = channel
        self.socketFile = socketFile
        self.group = group
        self.context = context
        logger.info("serving", metadata: ["socket": "\(configuration.socketPath)", "revision": "\(service.index.revision)"])
    }

    /// Stops accepting, closes every connection, stops the threads and removes the socket file.
    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
        try? context.pool.syncShutdownGracefully()
        socketFile.removeSocket()
    }

    /// A graceful stop: stops accepting, lets requests running on the pool (writes, waits,
    /// bulk commits) finish for up to `grace`, then closes every connection, stops the threads
    /// and removes the socket file. Requests answered inline are answered before their
    /// connection closes.
    public func shutdown(grace: Duration) async {
        try? await channel.close()
        let deadline = ContinuousClock.now + grace
        while context.stats.running.load(ordering: .relaxed) > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        let unfinished = context.stats.running.load(ordering: .relaxed)
        if unfinished > 0 {
            context.logger.warning("shutdown grace over; closing with requests still running", metadata: ["running": "\(unfinished)"])
        }
        try? await group.shutdownGracefully()
        try? await context.pool.shutdownGracefully()
        socketFile.removeSocket()
    }

    /// Logs when the socket file goes missing or is replaced (someone deleted it, or another
    /// process bound the path), and when it is back: until then no client can connect. Returns
    /// the state; call it periodically (the daemon does, every second).
    @discardableResult
    public func watchSocketFile() -> String {
        let status = socketFile.status()
        let previous = lastSocketStatus.withLock { last in
            defer { last = status }
            return last
        }
        if status != previous {
            switch status {
            case .present:
                context.logger.notice("socket file is this server's again", metadata: ["socket": "\(configuration.socketPath)"])
            case .missing:
                context.logger.error(
                    "socket file was deleted: no client can connect; restart the server to recreate it",
                    metadata: ["socket": "\(configuration.socketPath)"]
                )
            case .replaced:
                context.logger.error(
                    "socket file was replaced by another file: no client reaches this server; restart it",
                    metadata: ["socket": "\(configuration.socketPath)"]
                )
            }
        }
        return "\(status)"
    }

    /// Connections open now.
    public var connections: Int { context.stats.connections }
}
