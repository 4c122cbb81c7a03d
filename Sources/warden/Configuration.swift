import Foundation
import WardenIndex
import WardenSQLiteStore
import WardenServer
import WardenService
import WardenStore

/// Everything `warden serve` can be told, resolved once at start: a flag wins over a `WARDEN_*`
/// environment variable, which wins over the config file (`--config` / `WARDEN_CONFIG`, a JSON
/// object with the settings' snake_case names), which wins over the default. An invalid value
/// fails the start with a message naming the setting and where it came from.
struct Configuration: Sendable {
    var socket = "var/warden.sock"
    var database = "var/warden.db"
    /// A file holding the PostgreSQL password (`database` a `postgresql://` URI).
    var databasePasswordFile: String?
    var socketMode: UInt32 = 0o660
    /// The mode a new database file (and its `-wal`, `-shm`) is created with.
    var databaseMode: UInt32 = 0o600
    /// `nil`: the server's own group.
    var socketGroup: UInt32?
    var readerUIDs: Set<UInt32> = []
    var readerGIDs: Set<UInt32> = []
    /// `nil`: the server's own uid.
    var adminUIDs: Set<UInt32>?
    var adminGIDs: Set<UInt32> = []
    var anonymousUser: String?
    var acceptGlobalPerms = true
    var synchronous = SQLiteStore.Synchronous.full
    var retentionEvents = 1_000_000
    var retentionAge: Duration = .seconds(7 * 24 * 3600)
    var maxFrameBytes = 4 << 20
    var maxBatchItems = 10_000
    var maxInFlight = 1024
    var maxStreamBytes = 1 << 30
    var maxStreamBytesTotal = 1 << 30
    var maxChunkItems = 100_000
    var watchBacklogBytes = 8 << 20
    var blockingThreads = 16
    var maxConnections = 4096
    var frameTimeout: Duration = .seconds(10)
    /// `nil`: never.
    var idleTimeout: Duration?
    var shutdownGrace: Duration = .seconds(10)
    var auditSampleRate = 1.0
    var logLevel = "info"
    var logFormat = "text"
    /// `nil`: no HTTP listener.
    var httpAddress: HTTPAddress?

    /// A setting: its name (snake_case in the file, `--kebab-case` as a flag, `WARDEN_UPPER` in
    /// the environment), its help, and how a value applies.
    struct Setting: Sendable {
        let name: String
        let help: String
        let apply: @Sendable (inout Configuration, String) throws -> Void

        var flag: String { "--" + name.replacingOccurrences(of: "_", with: "-") }
        var environment: String { "WARDEN_" + name.uppercased() }
    }

    static let settings: [Setting] = [
        Setting(name: "socket", help: "the Unix socket's path") { $0.socket = try nonEmpty($1) },
        Setting(
            name: "database",
            help: "the SQLite file's path, or a PostgreSQL URI: postgresql://USER@HOST:PORT/DB?... (var/warden.db)"
        ) {
            $0.database = try nonEmpty($1)
        },
        Setting(
            name: "database_password_file",
            help: "a file holding the PostgreSQL password (else the URI's, PGPASSWORD or PGPASSFILE)"
        ) {
            let path = try nonEmpty($1)
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw Problem("\(path) is not a readable file")
            }
            $0.databasePasswordFile = path
        },
        Setting(name: "socket_mode", help: "the socket file's mode, octal (0660)") {
            $0.socketMode = try octalMode($1)
        },
        Setting(
            name: "database_mode",
            help: "the mode a new SQLite database file gets, octal: 0600, 0640 or 0660 (0600)"
        ) {
            let mode = try octalMode($1)
            guard DatabaseFile.isAllowed(mode_t(mode)) else {
                throw Problem("must be 0600, 0640 or 0660 (the owner reads and writes, others nothing)")
            }
            $0.databaseMode = mode
        },
        Setting(name: "socket_group", help: "the group the socket file is given, a name or a gid (the server's own)") {
            $0.socketGroup = try group($1)
        },
        Setting(name: "reader_uids", help: "uids admitted as readers, comma-separated") { $0.readerUIDs = try ids($1) },
        Setting(name: "reader_gids", help: "gids admitted as readers, comma-separated") { $0.readerGIDs = try ids($1) },
        Setting(name: "admin_uids", help: "uids admitted as admins (default: the server's own uid)") {
            $0.adminUIDs = try ids($1)
        },
        Setting(name: "admin_gids", help: "gids admitted as admins, comma-separated") { $0.adminGIDs = try ids($1) },
        Setting(name: "anonymous_user", help: "the user id requests without a subject are evaluated as") {
            $0.anonymousUser = $1.isEmpty ? nil : $1
        },
        Setting(name: "accept_global_perms", help: "whether model grants imply object access (true)") {
            $0.acceptGlobalPerms = try bool($1)
        },
        Setting(
            name: "synchronous",
            help: "SQLite synchronous: full (default; durable at reply) or normal (SQLite only)"
        ) {
            guard let value = SQLiteStore.Synchronous(rawValue: $1.uppercased()) else {
                throw Problem("must be full or normal")
            }
            $0.synchronous = value
        },
        Setting(name: "retention_events", help: "changelog events kept, at most (1000000)") {
            $0.retentionEvents = try positive($1)
        },
        Setting(name: "retention_age", help: "changelog events kept at least this long: 30s, 15m, 12h, 7d (7d)") {
            $0.retentionAge = try duration($1)
        },
        Setting(name: "max_frame_bytes", help: "the largest frame accepted (4194304)") {
            $0.maxFrameBytes = try positive($1)
        },
        Setting(
            name: "max_batch_items",
            help: "checks in one BatchCheck, pks in one BatchGetPermissions, at most (10000)"
        ) { $0.maxBatchItems = try positive($1) },
        Setting(name: "max_in_flight", help: "requests of one connection waiting for a thread, at most (1024)") {
            $0.maxInFlight = try positive($1)
        },
        Setting(name: "max_stream_bytes", help: "bytes of one bulk or prune stream, at most (1073741824)") {
            $0.maxStreamBytes = try positive($1)
        },
        Setting(
            name: "max_stream_bytes_total",
            help: "bytes of bulk and prune streams held at once, all connections together (1073741824)"
        ) {
            $0.maxStreamBytesTotal = try positive($1)
        },
        Setting(name: "max_chunk_items", help: "grants in one bulk chunk, pks in one prune chunk, at most (100000)") {
            $0.maxChunkItems = try positive($1)
        },
        Setting(name: "watch_backlog_bytes", help: "unread watch bytes before a watcher is cut off (8388608)") {
            $0.watchBacklogBytes = try positive($1)
        },
        Setting(name: "blocking_threads", help: "threads for writes and waits (16)") {
            $0.blockingThreads = try positive($1)
        },
        Setting(name: "max_connections", help: "admitted connections open at once, at most; more are refused (4096)") {
            $0.maxConnections = try positive($1)
        },
        Setting(name: "frame_timeout", help: "how long a frame may take to arrive once begun: 10s") {
            let timeout = try duration($1)
            guard timeout > .zero else { throw Problem("must be more than 0") }
            $0.frameTimeout = timeout
        },
        Setting(name: "idle_timeout", help: "close connections with no request for this long; 0: never (0)") {
            let timeout = try duration($1 == "0" ? "0s" : $1)
            $0.idleTimeout = timeout > .zero ? timeout : nil
        },
        Setting(name: "shutdown_grace", help: "how long in-flight requests may finish at shutdown: 10s") {
            $0.shutdownGrace = try duration($1)
        },
        Setting(
            name: "audit_sample_rate",
            help: "the share of checks audited to watchers that ask, at most, in (0, 1] (1)"
        ) {
            guard let rate = Double($1), rate > 0, rate <= 1 else { throw Problem("must be a number in (0, 1]") }
            $0.auditSampleRate = rate
        },
        Setting(
            name: "http_address",
            help: "serve /metrics, /healthz and /readyz over HTTP on HOST:PORT or a Unix socket path (containing '/'); "
                + "loopback recommended (off)"
        ) {
            if $1.isEmpty {
                $0.httpAddress = nil  // an empty value turns a file's or the environment's listener off
            } else {
                guard let address = HTTPAddress(parsing: $1) else { throw Problem(HTTPAddress.rule) }
                $0.httpAddress = address
            }
        },
        Setting(name: "log_level", help: "trace, debug, info, notice, warning, error or critical (info)") {
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains($1) else {
                throw Problem("must be trace, debug, info, notice, warning, error or critical")
            }
            $0.logLevel = $1
        },
        Setting(name: "log_format", help: "text or json (JSON lines) (text)") {
            guard ["text", "json"].contains($1) else { throw Problem("must be text or json") }
            $0.logFormat = $1
        },
    ]

    /// Resolves flags over environment over file over defaults.
    static func resolve(
        flags: [String: String],
        environment: [String: String],
        configFile: String?
    ) throws -> Configuration {
        var fileValues: [String: String] = [:]
        let filePath = configFile ?? environment["WARDEN_CONFIG"]
        if let filePath { fileValues = try readFile(filePath) }
        var configuration = Configuration()
        for setting in settings {
            let candidates: [(String, String?)] = [
                ("flag \(setting.flag)", flags[setting.name]),
                ("environment variable \(setting.environment)", environment[setting.environment]),
                ("config file \(filePath ?? "")", fileValues[setting.name]),
            ]
            guard let (source, value) = candidates.first(where: { $0.1 != nil }), let value else { continue }
            do {
                try setting.apply(&configuration, value.trimmingCharacters(in: .whitespaces))
            } catch let problem as Problem {
                throw ConfigurationError("\(setting.name) (\(source)): \(problem.rule) (got \"\(value)\")")
            }
        }
        return configuration
    }

    private static func readFile(_ path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("config: cannot read \(path)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ConfigurationError("config: \(path) is not a JSON object")
        }
        let known = Set(settings.map(\.name))
        var values: [String: String] = [:]
        for (key, value) in object {
            guard known.contains(key) else {
                throw ConfigurationError(
                    "config: \(path) has an unknown setting \"\(key)\" (known: \(known.sorted().joined(separator: ", ")))"
                )
            }
            switch value {
            case let array as [Any]: values[key] = array.map { "\($0)" }.joined(separator: ",")
            case let bool as Bool where "\(type(of: value))".contains("Bool"): values[key] = bool ? "true" : "false"
            default: values[key] = "\(value)"
            }
        }
        return values
    }

    // MARK: Parsing values

    struct Problem: Error {
        let rule: String
        init(_ rule: String) { self.rule = rule }
    }

    static func nonEmpty(_ text: String) throws -> String {
        guard !text.isEmpty else { throw Problem("must not be empty") }
        return text
    }

    static func octalMode(_ text: String) throws -> UInt32 {
        guard let mode = UInt32(text.hasPrefix("0o") ? String(text.dropFirst(2)) : text, radix: 8), mode <= 0o777 else {
            throw Problem("must be an octal mode such as 0660")
        }
        return mode
    }

    static func ids(_ text: String) throws -> Set<UInt32> {
        var ids: Set<UInt32> = []
        for part in text.split(separator: ",") {
            guard let id = UInt32(part.trimmingCharacters(in: .whitespaces)) else {
                throw Problem("must be uids or gids separated by commas")
            }
            ids.insert(id)
        }
        return ids
    }

    /// A group name (looked up in the group database) or a numeric gid.
    static func group(_ text: String) throws -> UInt32 {
        if let gid = UInt32(text) { return gid }
        guard !text.isEmpty, let entry = getgrnam(text) else {
            throw Problem("must be a group name known to this machine or a numeric gid")
        }
        return entry.pointee.gr_gid
    }

    static func bool(_ text: String) throws -> Bool {
        switch text.lowercased() {
        case "true", "1", "yes", "on": true
        case "false", "0", "no", "off": false
        default: throw Problem("must be true or false")
        }
    }

    static func positive(_ text: String) throws -> Int {
        guard let value = Int(text), value > 0 else { throw Problem("must be a positive whole number") }
        return value
    }

    static func duration(_ text: String) throws -> Duration {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, milliseconds) in units where text.hasSuffix(suffix) {
            if suffix == "s" && text.hasSuffix("ms") { continue }
            guard let count = Int64(text.dropLast(suffix.count)), count >= 0 else { break }
            return .milliseconds(count * milliseconds)
        }
        throw Problem("must be a whole number with a unit: ms, s, m, h or d (e.g. 30s, 7d)")
    }

    // MARK: What it configures

    func accessPolicy(ownUID: UInt32) -> AccessPolicy {
        AccessPolicy(
            readerUIDs: readerUIDs,
            readerGIDs: readerGIDs,
            adminUIDs: adminUIDs ?? [ownUID],
            adminGIDs: adminGIDs
        )
    }

    var indexSettings: PermissionIndex.Settings {
        PermissionIndex.Settings(acceptGlobalPerms: acceptGlobalPerms, anonymousUser: anonymousUser)
    }

    var retention: RetentionPolicy {
        RetentionPolicy(maxEvents: retentionEvents, maxAgeMilliseconds: Int64(retentionAge.components.seconds) * 1000)
    }
}

/// A configuration that cannot start a server; the message names the setting.
struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
