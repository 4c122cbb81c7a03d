#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import WardenService
import WardenWire

/// Warden's socket server: a Unix socket listener speaking the framed protocol of
/// `docs/protocol.md` on SwiftNIO.
public final class WardenServer: Sendable {
    public let configuration: ServerConfiguration
    private let context: ServerContext
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// Binds the socket (removing a stale socket file first), sets its mode and starts serving.
    public init(service: WardenService, configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        let threads = configuration.eventLoopThreads > 0 ? configuration.eventLoopThreads : System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let pool = NIOThreadPool(numberOfThreads: configuration.blockingThreads)
        pool.start()
        let context = ServerContext(service: service, pool: pool, configuration: configuration, logger: logger)
        // Bind under a umask that leaves the socket to its owner until chmod sets the configured
        // mode: no moment where it is wider than asked.
        let previousMask = umask(0o177)
        defer { umask(previousMask) }
        let channel: any Channel
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 1024)
                .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: false)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ConnectionHandler(server: context))
                    }
                }
                .bind(unixDomainSocketPath: configuration.socketPath, cleanupExistingSocketFile: true)
                .wait()
        } catch {
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            throw error
        }
        func undo(_ problem: String) -> ServiceError {
            let error = errno
            try? channel.close().wait()
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            return ServiceError(.failedPrecondition, "\(problem) failed (errno \(error))")
        }
        if let socketGroup = configuration.socketGroup, chown(configuration.socketPath, uid_t.max, gid_t(socketGroup)) != 0 {
            throw undo("socket_group: chown to gid \(socketGroup)")
        }
        guard chmod(configuration.socketPath, mode_t(configuration.socketMode)) == 0 else {
            throw undo("socket_mode: chmod \(String(configuration.socketMode, radix: 8))")
        }
        self.channel = channel
        self.group = group
        self.context = context
        logger.info("serving", metadata: ["socket": "\(configuration.socketPath)", "revision": "\(service.index.revision)"])
    }

    /// Stops accepting, closes every connection, stops the threads and removes the socket file.
    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
        try? context.pool.syncShutdownGracefully()
        unlink(configuration.socketPath)
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
        unlink(configuration.socketPath)
    }

    /// Connections open now.
    public var connections: Int { context.stats.connections }
}
