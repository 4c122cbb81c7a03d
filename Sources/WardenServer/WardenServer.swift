import Dispatch
import Logging
import NIOCore
import NIOPosix
import WardenService
import WardenSync
import WardenWire

#if canImport(Glibc)
import Glibc
#endif

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
    public init(
        service: WardenService,
        configuration: ServerConfiguration,
        socketFile: SocketFile? = nil,
        logger: Logger
    ) throws {
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
            try? context.replayPool.syncShutdownGracefully()
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            throw error
        }
        let channel = bound!
        self.channel = channel
        self.socketFile = socketFile
        self.group = group
        self.context = context
        logger.info(
            "serving",
            metadata: ["socket": "\(configuration.socketPath)", "revision": "\(service.index.revision)"]
        )
    }

    /// Stops accepting, ends every watch, stops the threads, closes every connection and removes
    /// the socket file (`shutdown(grace:)` with no grace, blocking).
    public func shutdown() {
        try? channel.close().wait()
        context.service.hub.endAll(.unavailable, Self.stoppingMessage)
        try? context.replayPool.syncShutdownGracefully()
        try? context.pool.syncShutdownGracefully()
        try? group.syncShutdownGracefully()
        context.service.hub.endAll(nil)
        socketFile.removeSocket()
    }

    /// A graceful stop, in the reverse order of the start, so that nothing is handed to a part
    /// already stopped:
    /// 1. stop accepting connections;
    /// 2. let requests running on the pool (writes, waits, bulk commits) finish, for up to `grace`;
    /// 3. end every watch with UNAVAILABLE and the revision to resume from: history replays stop
    ///    at their next page, and no event is handed to a connection any more;
    /// 4. stop the pools: waiting requests are answered UNAVAILABLE, running ones finish (waited
    ///    for until the grace is over, one second at least);
    /// 5. close every connection and stop the event loops;
    /// 6. remove the socket file.
    /// Requests answered inline are answered before their connection closes.
    public func shutdown(grace: Duration) async {
        try? await channel.close()
        let deadline = ContinuousClock.now + grace
        while context.stats.running.load(ordering: .relaxed) > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        let unfinished = context.stats.running.load(ordering: .relaxed)
        if unfinished > 0 {
            context.logger.warning(
                "shutdown grace over; closing with requests still running",
                metadata: ["running": "\(unfinished)"]
            )
        }
        context.service.hub.endAll(.unavailable, Self.stoppingMessage)
        if await !stopPools(by: max(deadline, ContinuousClock.now + .seconds(1))) {
            context.logger.warning("shutdown: requests still running on the pool; closing the connections anyway")
        }
        try? await group.shutdownGracefully()
        context.service.hub.endAll(nil)  // a watch that started after step 3: its connection is gone
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
                context.logger.notice(
                    "socket file is this server's again",
                    metadata: ["socket": "\(configuration.socketPath)"]
                )
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

    /// Stops the replay pool, then the request pool; `false` when they were still busy at `deadline`.
    /// Both report to one serial queue: a pool hands the work it cancels to that queue before it
    /// reports, so when the request pool has reported, every cancelled request has had its answer
    /// handed to its (still running) event loop.
    private func stopPools(by deadline: ContinuousClock.Instant) async -> Bool {
        let (stopped, done) = AsyncStream<Bool>.makeStream()
        let (replayPool, pool) = (context.replayPool, context.pool)
        let queue = DispatchQueue(label: "warden.shutdown")
        replayPool.shutdownGracefully(queue: queue) { _ in
            pool.shutdownGracefully(queue: queue) { _ in
                done.yield(true)
                done.finish()
            }
        }
        let timer = Task {
            try? await Task.sleep(until: deadline)
            done.yield(false)
            done.finish()
        }
        defer { timer.cancel() }
        for await finished in stopped { return finished }
        return false
    }

    static let stoppingMessage = "watch: the server is shutting down"

    /// Connections open now.
    public var connections: Int { context.stats.connections }
}
