import ArgumentParser
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

/// `warden serve`: the sidecar.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the sidecar: the framed protocol of docs/protocol.md on a Unix socket.",
        discussion: """
            Loads the database into the in-memory index, then answers on the socket until SIGTERM or \
            SIGINT. On either signal it stops accepting, lets in-flight requests finish for up to \
            --shutdown-grace, closes the database and removes the socket file, then exits 0.

            Every setting can be given as a flag, as a WARDEN_* environment variable (the flag's name \
            in upper case with underscores: --socket-mode is WARDEN_SOCKET_MODE), or in a JSON config \
            file (--config or WARDEN_CONFIG; keys in snake_case: {"socket_mode": "0660"}). A flag wins \
            over the environment, which wins over the file. An invalid value stops the start with a \
            message naming the setting.

            Defaults: socket ./var/warden.sock, database ./var/warden.db (folders are created), only \
            the server's own uid admitted, as admin.
            """
    )

    @Option(name: .customLong("config"), help: "A JSON config file (also WARDEN_CONFIG).") var config: String?
    @Option(name: .customLong("socket"), help: Self.help("socket")) var socket: String?
    @Option(name: .customLong("database"), help: Self.help("database")) var database: String?
    @Option(name: .customLong("database-password-file"), help: Self.help("database_password_file"))
    var databasePasswordFile: String?
    @Option(name: .customLong("socket-mode"), help: Self.help("socket_mode")) var socketMode: String?
    @Option(name: .customLong("socket-group"), help: Self.help("socket_group")) var socketGroup: String?
    @Option(name: .customLong("database-mode"), help: Self.help("database_mode")) var databaseMode: String?
    @Option(name: .customLong("reader-uids"), help: Self.help("reader_uids")) var readerUids: String?
    @Option(name: .customLong("reader-gids"), help: Self.help("reader_gids")) var readerGids: String?
    @Option(name: .customLong("admin-uids"), help: Self.help("admin_uids")) var adminUids: String?
    @Option(name: .customLong("admin-gids"), help: Self.help("admin_gids")) var adminGids: String?
    @Option(name: .customLong("anonymous-user"), help: Self.help("anonymous_user")) var anonymousUser: String?
    @Option(name: .customLong("accept-global-perms"), help: Self.help("accept_global_perms")) var acceptGlobalPerms:
        String?
    @Option(name: .customLong("synchronous"), help: Self.help("synchronous")) var synchronous: String?
    @Option(name: .customLong("retention-events"), help: Self.help("retention_events")) var retentionEvents: String?
    @Option(name: .customLong("retention-age"), help: Self.help("retention_age")) var retentionAge: String?
    @Option(name: .customLong("max-frame-bytes"), help: Self.help("max_frame_bytes")) var maxFrameBytes: String?
    @Option(name: .customLong("max-batch-items"), help: Self.help("max_batch_items")) var maxBatchItems: String?
    @Option(name: .customLong("max-in-flight"), help: Self.help("max_in_flight")) var maxInFlight: String?
    @Option(name: .customLong("max-stream-bytes"), help: Self.help("max_stream_bytes")) var maxStreamBytes: String?
    @Option(name: .customLong("max-stream-bytes-total"), help: Self.help("max_stream_bytes_total"))
    var maxStreamBytesTotal: String?
    @Option(name: .customLong("max-chunk-items"), help: Self.help("max_chunk_items")) var maxChunkItems: String?
    @Option(name: .customLong("watch-backlog-bytes"), help: Self.help("watch_backlog_bytes")) var watchBacklogBytes:
        String?
    @Option(name: .customLong("blocking-threads"), help: Self.help("blocking_threads")) var blockingThreads: String?
    @Option(name: .customLong("max-connections"), help: Self.help("max_connections")) var maxConnections: String?
    @Option(name: .customLong("frame-timeout"), help: Self.help("frame_timeout")) var frameTimeout: String?
    @Option(name: .customLong("idle-timeout"), help: Self.help("idle_timeout")) var idleTimeout: String?
    @Option(name: .customLong("shutdown-grace"), help: Self.help("shutdown_grace")) var shutdownGrace: String?
    @Option(name: .customLong("audit-sample-rate"), help: Self.help("audit_sample_rate")) var auditSampleRate: String?
    @Option(name: .customLong("log-level"), help: Self.help("log_level")) var logLevel: String?
    @Option(name: .customLong("log-format"), help: Self.help("log_format")) var logFormat: String?
    @Option(name: .customLong("http-address"), help: Self.help("http_address")) var httpAddress: String?

    static func help(_ name: String) -> ArgumentHelp {
        let setting = Configuration.settings.first { $0.name == name }!
        return ArgumentHelp(
            "\(setting.help.prefix(1).uppercased() + setting.help.dropFirst()). Env: \(setting.environment)."
        )
    }

    var flagValues: [String: String] {
        let values: [String: String?] = [
            "socket": socket,
            "database": database,
            "database_password_file": databasePasswordFile,
            "socket_mode": socketMode,
            "socket_group": socketGroup,
            "database_mode": databaseMode,
            "reader_uids": readerUids,
            "reader_gids": readerGids,
            "admin_uids": adminUids,
            "admin_gids": adminGids,
            "anonymous_user": anonymousUser,
            "accept_global_perms": acceptGlobalPerms,
            "synchronous": synchronous,
            "retention_events": retentionEvents,
            "retention_age": retentionAge,
            "max_frame_bytes": maxFrameBytes,
            "max_batch_items": maxBatchItems,
            "max_in_flight": maxInFlight,
            "max_stream_bytes": maxStreamBytes,
            "max_stream_bytes_total": maxStreamBytesTotal,
            "max_chunk_items": maxChunkItems,
            "watch_backlog_bytes": watchBacklogBytes,
            "blocking_threads": blockingThreads,
            "max_connections": maxConnections,
            "frame_timeout": frameTimeout,
            "idle_timeout": idleTimeout,
            "shutdown_grace": shutdownGrace,
            "audit_sample_rate": auditSampleRate,
            "log_level": logLevel,
            "log_format": logFormat,
            "http_address": httpAddress,
        ]
        return values.compactMapValues { $0 }
    }

    func run() async throws {
        let configuration: Configuration
        do {
            configuration = try Configuration.resolve(
                flags: flagValues,
                environment: ProcessInfo.processInfo.environment,
                configFile: config
            )
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        try await Daemon(configuration: configuration).run()
    }
}
