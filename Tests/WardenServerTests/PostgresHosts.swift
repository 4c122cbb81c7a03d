import Foundation
import Testing
import WardenClient
import WardenProto

/// Several `warden serve` processes ("hosts") sharing one PostgreSQL database, each with its own
/// folder, socket and log, and a connection to each: the shape of an app scaled to N pods.
///
/// Thread safety: `servers` and `connections` change only in `replace`, which the test's own
/// task calls between phases (no other task reads them then).
final class PostgresHosts: @unchecked Sendable {
    let database: PostgresTestDatabase
    private(set) var servers: [ServerProcess]
    private(set) var connections: [WardenConnection]

    /// The content type the multi-host tests write, and the users their grants name.
    static let contentType = "hosts.doc"
    static let permission = "hosts.view_doc"
    static func user(_ index: Int) -> String { "u\(index)" }
    static func object(_ pk: String) -> Warden_V1_ObjectRef { Warden_V1_ObjectRef(contentType, pk) }

    private init(database: PostgresTestDatabase, servers: [ServerProcess], connections: [WardenConnection]) {
        self.database = database
        self.servers = servers
        self.connections = connections
    }

    /// Starts `count` servers on a fresh database of `cluster` (the shared one when `nil`), runs
    /// `body`, then stops them and drops the database. Skips (with a printed note) when
    /// PostgreSQL is not configured; fails under `WARDEN_REQUIRE_POSTGRES=1`.
    static func with(
        _ count: Int,
        test: String,
        cluster: PostgresCluster? = nil,
        _ body: (PostgresHosts) async throws -> Void
    ) async throws {
        guard let cluster = try cluster ?? PostgresCluster.shared(for: test) else { return }
        let database = try await cluster.createDatabase(prefix: "h")
        var servers: [ServerProcess] = []
        var connections: [WardenConnection] = []
        do {
            for _ in 0..<count {
                let server = try await ServerProcess(databasePath: database.uri)
                servers.append(server)
                connections.append(try await server.connect())
            }
        } catch {
            for server in servers { server.kill9() }
            await database.drop()
            throw error
        }
        let hosts = PostgresHosts(database: database, servers: servers, connections: connections)
        do {
            try await body(hosts)
        } catch {
            await hosts.shutdown()
            throw error
        }
        await hosts.shutdown()
    }

    /// Puts a new server (started on the same database) in place of host `index`, which ended.
    func replace(_ index: Int, with server: ServerProcess) async throws {
        await connections[index].close()
        servers[index] = server
        connections[index] = try await server.connect()
    }

    /// Registers the content type and `users` users through host 0, and waits until every host
    /// has them (a write resolves its permission and subject on its host's index, so a grant
    /// through a host that has not yet followed the registration is refused `NOT_FOUND`);
    /// returns the revision.
    @discardableResult
    func seed(users: Int = 4) async throws -> UInt64 {
        let warden = connections[0]
        var revision = try await warden.registerContentType(Self.contentType).revision
        for index in 0..<users { revision = try await warden.putUser(Self.user(index)).revision }
        for host in connections.indices { try await waitFor(revision, on: host) }
        return revision
    }

    /// Waits (with a read at `min_revision`, no polling) until host `index` has applied
    /// `revision`; returns the revision it answered at.
    @discardableResult
    func waitFor(_ revision: UInt64, on index: Int, timeout: Duration = .seconds(120)) async throws -> UInt64 {
        try await Self.waitFor(revision, on: connections[index], timeout: timeout)
    }

    static func waitFor(
        _ revision: UInt64,
        on warden: WardenConnection,
        timeout: Duration = .seconds(120)
    ) async throws -> UInt64 {
        try await warden.check(.user("nobody"), permission, minRevision: revision, timeout: timeout).revision
    }

    /// Polls every host's Health (no `min_revision`: no read makes it catch up) until each is at
    /// `revision`, which only its follower, woken by the database, can bring it to; returns
    /// the revisions the hosts last reported.
    func followed(_ revision: UInt64, seconds: Double = 60) async throws -> [UInt64] {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while true {
            var revisions: [UInt64] = []
            for warden in connections { revisions.append(try await warden.health().revision) }
            if revisions.allSatisfy({ $0 >= revision }) || ContinuousClock.now > deadline { return revisions }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Every host's Export: its revision and records, as facts.
    func exports() async throws -> [(revision: UInt64, facts: Set<Fact>)] {
        var exports: [(UInt64, Set<Fact>)] = []
        for warden in connections {
            var revision: UInt64 = 0
            var facts: Set<Fact> = []
            for try await chunk in warden.export() {
                revision = chunk.revision
                facts.formUnion(chunk.records.compactMap(Fact.init))
            }
            exports.append((revision, facts))
        }
        return exports
    }

    /// The servers' logs' tails, for a failure's message.
    var logs: String {
        servers.enumerated().map {
            "host \($0.offset) (\($0.element.isRunning ? "running" : "ended")): \($0.element.output.suffix(1500))"
        }
        .joined(separator: "\n")
    }

    func shutdown() async {
        for connection in connections { await connection.close() }
        for server in servers {
            server.stop()
            server.removeFolder()
        }
        await database.drop()
    }
}

/// Latency figures of a series of calls, for printing (never asserted on).
struct LatencySummary: CustomStringConvertible {
    let count: Int
    let p50: Double
    let p99: Double
    let max: Double

    /// From durations in seconds.
    init(_ seconds: [Double]) {
        let sorted = seconds.sorted()
        count = sorted.count
        func at(_ fraction: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.down)))]
        }
        p50 = at(0.5)
        p99 = at(0.99)
        max = sorted.last ?? 0
    }

    var description: String {
        String(format: "%d calls, p50 %.2f ms, p99 %.2f ms, max %.2f ms", count, p50 * 1000, p99 * 1000, max * 1000)
    }
}

extension Duration {
    /// This duration in seconds, as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
