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
        guard chmod(configuration.socketPath, mode_t(configuration.socketMode)) == 0 else {
            let error = errno
            try? channel.close().wait()
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            throw ServiceError(.failedPrecondition, "socket_mode: chmod \(String(configuration.socketMode, radix: 8)) failed (errno \(error))")
        }
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

    /// Connections open now.
    public var connections: Int { context.stats.connections }
}
