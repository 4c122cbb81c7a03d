#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Logging
import WardenIndex
import WardenServer
import WardenService
import WardenStore

/// `warden serve`: the sidecar on its embedded default. Flags `--socket PATH`, `--db PATH`;
/// environment `WARDEN_SOCKET`, `WARDEN_DB`, and the allow lists `WARDEN_READER_UIDS`,
/// `WARDEN_READER_GIDS`, `WARDEN_ADMIN_UIDS`, `WARDEN_ADMIN_GIDS` (comma-separated; default: the
/// server's own uid is admin). Stops cleanly on SIGTERM and SIGINT.
func serve(_ arguments: [String]) throws {
    let environment = ProcessInfo.processInfo.environment
    var socketPath = environment["WARDEN_SOCKET"] ?? "var/warden.sock"
    var databasePath = environment["WARDEN_DB"] ?? "var/warden.db"
    var rest = arguments[...]
    while let flag = rest.popFirst() {
        guard let value = rest.popFirst() else { throw ServeError("\(flag): needs a value") }
        switch flag {
        case "--socket": socketPath = value
        case "--db": databasePath = value
        default: throw ServeError("\(flag): unknown flag (serve takes --socket PATH and --db PATH)")
        }
    }
    for path in [socketPath, databasePath] {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
    }
    var policy = AccessPolicy.ownerOnly(uid: getuid())
    policy.readerUIDs.formUnion(try ids(environment, "WARDEN_READER_UIDS"))
    policy.readerGIDs.formUnion(try ids(environment, "WARDEN_READER_GIDS"))
    if environment["WARDEN_ADMIN_UIDS"] != nil { policy.adminUIDs = try ids(environment, "WARDEN_ADMIN_UIDS") }
    policy.adminGIDs.formUnion(try ids(environment, "WARDEN_ADMIN_GIDS"))

    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = .info
        return handler
    }
    let logger = Logger(label: "warden")
    var settings = PermissionIndex.Settings()
    if let text = environment["WARDEN_ACCEPT_GLOBAL_PERMS"] {
        guard let value = Bool(text) else { throw ServeError("WARDEN_ACCEPT_GLOBAL_PERMS: must be true or false (got \(text))") }
        settings.acceptGlobalPerms = value
    }
    if let anonymous = environment["WARDEN_ANONYMOUS_USER"], !anonymous.isEmpty { settings.anonymousUser = anonymous }
    let replica = try IndexReplica(store: SQLiteStore(path: databasePath), settings: settings)
    replica.startFollowing()
    let service = WardenService(replica: replica, policy: policy, logger: logger)
    var configuration = ServerConfiguration(socketPath: socketPath)
    if let text = environment["WARDEN_WATCH_BACKLOG_BYTES"] {
        guard let bytes = Int(text), bytes > 0 else { throw ServeError("WARDEN_WATCH_BACKLOG_BYTES: must be a positive number of bytes (got \(text))") }
        configuration.maxWatchBacklogBytes = bytes
    }
    let server = try WardenServer(service: service, configuration: configuration, logger: logger)
    print("warden: serving \(socketPath) (database \(databasePath), revision \(replica.index.revision))")
    fflush(nil)

    let stop = DispatchSemaphore(value: 0)
    var sources: [DispatchSourceSignal] = []
    for signalNumber in [SIGTERM, SIGINT] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { stop.signal() }
        source.resume()
        sources.append(source)
    }
    stop.wait()
    logger.info("stopping")
    server.shutdown()
    replica.stop()
}

private func ids(_ environment: [String: String], _ name: String) throws -> Set<UInt32> {
    guard let text = environment[name], !text.isEmpty else { return [] }
    var ids: Set<UInt32> = []
    for part in text.split(separator: ",") {
        guard let id = UInt32(part.trimmingCharacters(in: .whitespaces)) else {
            throw ServeError("\(name): \"\(part)\" is not a uid or gid (comma-separated numbers)")
        }
        ids.insert(id)
    }
    return ids
}

struct ServeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
