import Foundation
import Logging
import Metrics
import ServiceLifecycle
import WardenServer
import WardenService
import WardenStore
import WardenTelemetry

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's composition root: logging and metrics are bootstrapped here and nowhere else;
/// the store, the replica, the service and the server are built here and run as services of a
/// `ServiceGroup` that stops them in reverse order on SIGTERM or SIGINT.
struct Daemon {
    let configuration: Configuration

    func run() async throws {
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        let format = LogFormat(rawValue: configuration.logFormat) ?? .text
        LoggingSystem.bootstrap { label in Telemetry.makeLogHandler(label: label, format: format, level: level) }
        let registry = Telemetry.bootstrapMetrics()
        let logger = Logger(label: "warden")

        try createFolders(logger: logger)
        // One server per socket path: claimed before the database is opened, so a second
        // server is refused before it does any work.
        let socketFile: SocketFile
        do {
            socketFile = try SocketFile(claiming: configuration.socket)
        } catch {
            logger.critical(
                "cannot claim the socket path",
                metadata: ["socket": "\(configuration.socket)", "error": "\(error)"]
            )
            throw error
        }
        // Before the index loads, so /readyz answers 503 while it does.
        let readiness = Readiness()
        let http = try await startHTTP(readiness: readiness, metrics: { registry.emitToBuffer() }, logger: logger)
        do {
            try await serve(
                socketFile: socketFile,
                metricsText: { registry.emitToString() },
                readiness: readiness,
                logger: logger
            )
        } catch {
            await http?.shutdown()
            throw error
        }
        await http?.shutdown()
    }

    /// Loads the index, serves the socket until a graceful shutdown, and stops.
    private func serve(
        socketFile: SocketFile,
        metricsText: @escaping @Sendable () -> String,
        readiness: Readiness,
        logger: Logger
    ) async throws {
        let started = ContinuousClock.now
        let replica: IndexReplica
        do {
            replica = try IndexReplica(store: try openStore(logger: logger), settings: configuration.indexSettings)
        } catch {
            logger.critical(
                "cannot open the database",
                metadata: ["database": "\(databaseLocation.description)", "error": "\(error)"]
            )
            throw error
        }
        let statistics = replica.index.statistics
        logger.info(
            "index loaded",
            metadata: [
                "database": "\(databaseLocation.description)", "revision": "\(statistics.revision)",
                "grants": "\(statistics.grants)",
                "seconds":
                    "\(String(format: "%.2f", Double((ContinuousClock.now - started).components.attoseconds) / 1e18 + Double((ContinuousClock.now - started).components.seconds)))",
            ]
        )
        replica.startFollowing()
        var serviceSettings = WardenService.Settings()
        serviceSettings.maxBatchItems = configuration.maxBatchItems
        serviceSettings.auditSampleRate = configuration.auditSampleRate
        let service = WardenService(
            replica: replica,
            policy: configuration.accessPolicy(ownUID: getuid()),
            settings: serviceSettings,
            logger: logger
        )
        var serverConfiguration = ServerConfiguration(socketPath: configuration.socket)
        serverConfiguration.socketMode = configuration.socketMode
        serverConfiguration.maxFrameSize = configuration.maxFrameBytes
        serverConfiguration.maxInFlight = configuration.maxInFlight
        serverConfiguration.maxStreamBytes = configuration.maxStreamBytes
        serverConfiguration.maxStreamBytesTotal = configuration.maxStreamBytesTotal
        serverConfiguration.maxChunkItems = configuration.maxChunkItems
        serverConfiguration.maxWatchBacklogBytes = configuration.watchBacklogBytes
        serverConfiguration.blockingThreads = configuration.blockingThreads
        serverConfiguration.socketGroup = configuration.socketGroup
        serverConfiguration.maxConnections = configuration.maxConnections
        serverConfiguration.frameTimeout = configuration.frameTimeout
        serverConfiguration.idleTimeout = configuration.idleTimeout
        raiseOpenFileLimit(logger: logger)
        serverConfiguration.metricsText = metricsText
        let server = try WardenServer(
            service: service,
            configuration: serverConfiguration,
            socketFile: socketFile,
            logger: logger
        )
        // Ready once the index holds what the database held when the socket opened: on a
        // follower, commits made by other hosts during the load are applied first.
        _ = try? replica.catchUp()
        readiness.set(.ready)
        print(
            "warden: serving \(configuration.socket) (database \(databaseLocation.description), revision \(statistics.revision))"
        )
        fflush(nil)

        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(
                        service: Maintenance(
                            service: service,
                            server: server,
                            retention: configuration.retention,
                            logger: logger
                        )
                    ),
                    .init(
                        service: Listener(
                            server: server,
                            readiness: readiness,
                            grace: configuration.shutdownGrace,
                            logger: logger
                        )
                    ),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        replica.stop()
        do {
            try replica.store.checkpoint()
        } catch {
            logger.warning("checkpoint at shutdown failed", metadata: ["error": "\(error)"])
        }
        logger.info("stopped", metadata: ["revision": "\(replica.index.revision)"])
    }
}

extension Daemon {
    /// Raises the soft open-file limit to the hard one (each connection is a descriptor), and
    /// warns when max_connections cannot fit under it.
    func raiseOpenFileLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        // The database, its WAL, the listener, the event loops' own descriptors: 64 is ample.
        let needed = rlim_t(configuration.maxConnections + 64)
        if limit.rlim_cur != rlim_t.max && limit.rlim_cur < needed {  // rlim_t.max: RLIM_INFINITY
            logger.warning(
                "the open-file limit is below max_connections; connections past it fail to be accepted",
                metadata: [
                    "max_connections": "\(configuration.maxConnections)", "open_file_limit": "\(limit.rlim_cur)",
                ]
            )
        }
    }
}

/// The socket server as a service: it serves from its start; on graceful shutdown (it is the
/// last service, so the first stopped) it turns /readyz to 503, stops accepting, lets running requests finish for up to
/// `grace`, ends every watch, stops its threads, closes the connections and removes the socket
/// file (`WardenServer.shutdown(grace:)`); then `Maintenance` stops.
struct Listener: Service {
    let server: WardenServer
    let readiness: Readiness
    let grace: Duration
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        readiness.set(.stopping)
        logger.info("shutting down", metadata: ["grace": "\(grace)"])
        await server.shutdown(grace: grace)
    }
}

/// Periodic work: gauges every second, changelog retention every minute.
struct Maintenance: Service {
    let service: WardenService
    let server: WardenServer
    let retention: RetentionPolicy
    let logger: Logger

    func run() async throws {
        let database = DatabaseWatch(replica: service.replica, logger: logger)
        let grants = Gauge(label: "warden.index.grants")
        let users = Gauge(label: "warden.index.users")
        let objects = Gauge(label: "warden.index.objects")
        let revision = Gauge(label: "warden.revision")
        let watchers = Gauge(label: "warden.watchers")
        let connections = Gauge(label: "warden.connections")
        try? await cancelWhenGracefulShutdown {
            var tick = 0
            while !Task.isCancelled {
                database.check()
                try await step(
                    tick: tick,
                    grants: grants,
                    users: users,
                    objects: objects,
                    revision: revision,
                    watchers: watchers,
                    connections: connections
                )
                tick += 1
            }
        }
    }

    private func step(
        tick: Int,
        grants: Gauge,
        users: Gauge,
        objects: Gauge,
        revision: Gauge,
        watchers: Gauge,
        connections: Gauge
    ) async throws {
        do {
            let statistics = service.statistics
            grants.record(statistics.grants)
            users.record(statistics.users)
            objects.record(statistics.objects)
            revision.record(Int64(statistics.revision.rawValue))
            watchers.record(service.hub.count)
            connections.record(server.connections)
            server.watchSocketFile()
            if tick % 60 == 0 {
                do {
                    let removed = try service.replica.store.pruneChangelog(retention)
                    if removed > 0 { logger.info("changelog pruned", metadata: ["events": "\(removed)"]) }
                } catch {
                    logger.warning("changelog retention failed", metadata: ["error": "\(error)"])
                }
            }
            try await Task.sleep(for: .seconds(1))
        }
    }
}

/// Whether the database answers and its revision, read once a second by `Maintenance` (and
/// kept as gauges), and each change of it logged once: reads go on from the index while the
/// database is away (at its revision), writes answer `UNAVAILABLE`, and the store's connections
/// come back by themselves. On the way back the index catches up at once (the change signal
/// would too, a moment later).
final class DatabaseWatch: @unchecked Sendable {
    private let replica: IndexReplica
    private let logger: Logger
    // Touched only by the maintenance task.
    private var reachable = true
    /// The database's latest revision at the last check: on a follower, less `warden.revision`
    /// (the index's, recorded just after) it is the follower's lag in revisions.
    private let databaseRevision = Gauge(label: "warden.database.revision")
    /// 1 while the database answers, 0 while it does not.
    private let databaseReachable = Gauge(label: "warden.database.reachable")

    init(replica: IndexReplica, logger: Logger) {
        self.replica = replica
        self.logger = logger
    }

    func check() {
        do {
            let revision = try replica.store.revision
            databaseRevision.record(Int64(revision.rawValue))
            databaseReachable.record(1)
            guard !reachable else { return }
            reachable = true
            let caughtUp = try? replica.catchUp()
            logger.notice(
                "database reachable again; the index caught up",
                metadata: ["revision": "\(caughtUp ?? replica.index.revision)", "database_revision": "\(revision)"]
            )
        } catch  where error.code == .unavailable || error.code == .internal {
            databaseReachable.record(0)
            guard reachable else { return }
            reachable = false
            logger.warning(
                "database unreachable: reads answer from the index at its revision, writes answer UNAVAILABLE until it is back",
                metadata: ["revision": "\(replica.index.revision)", "error": "\(error)"]
            )
        } catch {
            logger.warning("database check failed", metadata: ["error": "\(error)"])
        }
    }
}
