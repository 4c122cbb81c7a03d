import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster the server tests use, run by `scripts/postgres-cluster.sh`: the shared
/// one named by `WARDEN_TEST_POSTGRES` (a superuser's URI to the database `warden`; `.ci/run`
/// starts it, `WARDEN_TEST_POSTGRES_DIR` is its folder), or a private one a test starts for
/// itself (`startPrivate`) when it must restart the server without cutting off the other tests.
///
/// Without `WARDEN_TEST_POSTGRES` the PostgreSQL tests print a note and skip; with
/// `WARDEN_REQUIRE_POSTGRES=1` they fail instead, as they do when the cluster does not answer.
struct PostgresCluster: Sendable {
    /// A superuser's connection URI to the database `warden`.
    let uri: String
    /// The cluster's folder, when known.
    let folder: String?
    /// Whether this process started the cluster (and `stop` removes it).
    let isPrivate: Bool

    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var required: Bool { environment["WARDEN_REQUIRE_POSTGRES"] == "1" }

    /// The shared cluster; `nil` (after printing why `test` is skipped) when none is configured.
    /// Throws when `WARDEN_REQUIRE_POSTGRES=1` and none is configured.
    static func shared(for test: String) throws -> PostgresCluster? {
        guard let uri = environment["WARDEN_TEST_POSTGRES"], !uri.isEmpty else {
            if required { throw ServerError("\(test): WARDEN_REQUIRE_POSTGRES=1 but WARDEN_TEST_POSTGRES is not set") }
            print(
                "\(test): skipped on PostgreSQL: WARDEN_TEST_POSTGRES is not set (scripts/postgres-cluster.sh start DIR, then export its uri)"
            )
            return nil
        }
        let folder = environment["WARDEN_TEST_POSTGRES_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        return PostgresCluster(uri: uri, folder: folder, isPrivate: false)
    }

    /// A new cluster of this process's own, in a fresh folder under /tmp (the socket's path must
    /// stay short); `stop()` removes it. Needs PostgreSQL's server installed (or root to install it).
    static func startPrivate() async throws -> PostgresCluster {
        let folder = "/tmp/warden-pg-\(UUID().uuidString.prefix(8).lowercased())"
        try await script("start", folder)
        let uri = try await script("uri", folder).trimmingCharacters(in: .whitespacesAndNewlines)
        return PostgresCluster(uri: uri, folder: folder, isPrivate: true)
    }

    /// `pg_ctl restart -m fast`: every client connection is cut off, the server is down for a
    /// moment, then accepts connections again.
    func restart() async throws {
        guard let folder else { throw ServerError("the cluster's folder is unknown: set WARDEN_TEST_POSTGRES_DIR") }
        try await Self.script("restart", folder)
    }

    /// Stops and removes a private cluster (a shared one is left alone).
    func stop() async {
        guard isPrivate, let folder else { return }
        _ = try? await Self.script("stop", folder)
    }

    /// A new, empty database on this cluster for one test, named `warden_<prefix>_<random>`.
    /// Throws (with psql's message) when the cluster does not answer.
    func createDatabase(prefix: String) async throws -> PostgresTestDatabase {
        let name = "warden_\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        do {
            try await psql("CREATE DATABASE \(name)")
        } catch {
            throw ServerError("PostgreSQL at \(uri) does not answer: \(error)")
        }
        return PostgresTestDatabase(cluster: self, name: name, uri: Self.uri(uri, database: name))
    }

    /// Runs `sql` with psql on the cluster (the URI's database unless `database` is given);
    /// returns its unaligned, tuples-only output.
    @discardableResult
    func psql(_ sql: String, database: String? = nil) async throws -> String {
        let target = database.map { Self.uri(uri, database: $0) } ?? uri
        return try await Self.run(
            "/usr/bin/env",
            ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", target, "-c", sql]
        )
    }

    /// `uri` with its database name replaced: `postgresql://AUTHORITY/DB?QUERY`.
    static func uri(_ uri: String, database: String) -> String {
        guard let scheme = uri.range(of: "://") else { return uri }
        let rest = uri[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let query = rest[authorityEnd...].firstIndex(of: "?").map { String(rest[$0...]) } ?? ""
        return String(uri[..<authorityEnd]) + "/" + database + query
    }

    /// The repository's `scripts/postgres-cluster.sh`, found from this file.
    static let scriptPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/postgres-cluster.sh").path

    @discardableResult
    static func script(_ command: String, _ folder: String) async throws -> String {
        try await run("/bin/bash", [scriptPath, command, folder])
    }

    /// Runs a command on a thread of its own (not the test's cooperative pool, which a blocking
    /// wait would hold); returns its stdout, or throws with its stderr when it fails.
    static func run(_ executable: String, _ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runBlocking(executable, arguments) })
            }
        }
    }

    /// posix_spawn, not Foundation's Process: Process learns of a child's exit when a socket the
    /// child inherits closes, and the postmaster that `start` leaves running inherits it too, so
    /// Process would wait for the cluster to stop. Here the child opens its own stdout and
    /// stderr files (no descriptor of this process is passed on: none can leak into another
    /// child either), and `waitpid` waits for that child alone.
    private static func runBlocking(_ executable: String, _ arguments: [String]) throws -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent(
            "warden-cmd-\(UUID().uuidString.prefix(8))"
        ).path
        let (outputPath, errorPath) = (base + ".out", base + ".err")
        defer {
            unlink(outputPath)
            unlink(errorPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw ServerError("posix_spawn \(executable): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let stdout = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // Exited normally with 0 (the wait status's low 7 bits are the signal, the next 8 the code).
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            let stderr = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            throw ServerError(
                "\(arguments.prefix(2).joined(separator: " ")) … failed (wait status \(status)): \(stderr)\(stdout)"
            )
        }
        return stdout
    }
}

/// One test's own database on a cluster; `drop()` removes it (connections cut off first).
struct PostgresTestDatabase: Sendable {
    let cluster: PostgresCluster
    let name: String
    /// The URI the servers get: the cluster's, with this database's name.
    let uri: String

    func drop() async {
        do {
            try await cluster.psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        } catch {
            print("could not drop the test database \(name): \(error)")
        }
    }

    /// Terminates every connection of Warden (`application_name` warden) to this database;
    /// returns how many.
    func terminateWardenConnections() async throws -> Int {
        let output = try await cluster.psql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'warden' AND datname = '\(name)'"
        )
        return Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }
}
