import Foundation
import NIOPosix
import WardenClient
import WardenProto

// The several-hosts benchmark of docs/benchmarks.md (issue 17): real `warden serve` processes,
// two sidecars (A, B) on one PostgreSQL database and one on an SQLite file (S), measured in
// one run over their sockets. Run in release: `make bench-hosts` (it starts a throwaway
// PostgreSQL cluster), or by hand with `--postgres URI` of a server where it may CREATE DATABASE.
// `--grants N` sets the bulk's size (1,000,000); `--writes N` the single writes per phase.
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
guard let adminURI = option("--postgres") ?? ProcessInfo.processInfo.environment["WARDEN_TEST_POSTGRES"] else {
    print("usage: WardenHostsBench --postgres postgresql:///DB?host=DIR&user=USER [--grants N] [--writes N]")
    exit(2)
}
let bulkSize = option("--grants").flatMap(Int.init) ?? 1_000_000
let writes = option("--writes").flatMap(Int.init) ?? 2000
let users = 10_000

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func percentile(_ samples: [UInt64], _ p: Double) -> Double {
    guard !samples.isEmpty else { return .nan }
    let sorted = samples.sorted()
    return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000
}

func line(_ name: String, _ value: String, _ note: String = "") {
    print(
        name.padding(toLength: 58, withPad: " ", startingAt: 0)
            + value.padding(toLength: 26, withPad: " ", startingAt: 0) + note
    )
}

/// Runs `psql URI -c SQL`.
func psql(_ uri: String, _ sql: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["psql", "-q", "-v", "ON_ERROR_STOP=1", uri, "-c", sql]
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw BenchError("psql failed: \(sql)") }
}

/// `uri` with its database name replaced.
func database(_ uri: String, named name: String) -> String {
    guard let scheme = uri.range(of: "://") else { return uri }
    let rest = uri[scheme.upperBound...]
    let slash = rest.firstIndex(of: "/") ?? rest.endIndex
    let query = rest[slash...].firstIndex(of: "?") ?? rest.endIndex
    return String(uri[..<slash]) + "/" + name + String(uri[query...])
}

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("warden-hosts-\(getpid())")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
let databaseName = "warden_bench_\(getpid())"
try psql(adminURI, "CREATE DATABASE \(databaseName)")
let sharedURI = database(adminURI, named: databaseName)
let binary =
    ProcessInfo.processInfo.environment["WARDEN_LOAD_SERVER"].map(URL.init(fileURLWithPath:))
    ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("warden")
let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)

/// A `warden serve` process and a connection to it.
final class Sidecar: @unchecked Sendable {
    let name: String
    let process = Process()
    let socket: String
    let log: URL
    var connection: WardenConnection!
    /// Seconds from the process's start to its first answer.
    var startSeconds = 0.0

    init(_ name: String, database: String) async throws {
        self.name = name
        socket = folder.appendingPathComponent("\(name).sock").path
        log = folder.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = binary
        process.arguments = ["serve", "--socket", socket, "--database", database]
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        let started = now()
        try process.run()
        for _ in 0..<30_000 where connection == nil {
            if !process.isRunning {
                throw BenchError("\(name) exited: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            }
            if let client = try? await WardenConnection.connect(
                socketPath: socket,
                group: group,
                defaultTimeout: .seconds(600)
            ),
                (try? await client.health()) != nil
            {
                connection = client
            } else {
                usleep(2000)
            }
        }
        guard connection != nil else { throw BenchError("\(name) did not start") }
        startSeconds = Double(now() - started) / 1e9
    }

    /// The index load time the server logged ("index loaded ... seconds=").
    var loggedLoadSeconds: String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        guard let range = text.range(of: "seconds=") else { return "?" }
        return String(text[range.upperBound...].prefix { $0 == "." || $0.isNumber || $0 == "\"" }).replacingOccurrences(
            of: "\"",
            with: ""
        )
    }

    func stop() async {
        await connection?.close()
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
    }
}

print(
    "warden hosts benchmark: \(bulkSize) grants in the bulk, \(writes) single writes, \(ProcessInfo.processInfo.activeProcessorCount) cores"
)
let hostA = try await Sidecar("a", database: sharedURI)
let hostB = try await Sidecar("b", database: sharedURI)
let sqlite = try await Sidecar("s", database: folder.appendingPathComponent("s.db").path)
defer { try? FileManager.default.removeItem(at: folder) }

// Set-up, not measured: the type and the users, on both stores.
for host in [hostA, sqlite] {
    _ = try await host.connection.registerContentType("bench.doc", custom: ["share_doc"])
    var records: [Warden_V1_Record] = []
    for user in 0..<users {
        records.append(
            .with {
                $0.user = .with {
                    $0.id = "u\(user)"
                    $0.isActive = true
                }
            }
        )
    }
    _ = try await host.connection.writeBatch(records)
    _ = try await host.connection.grant(Warden_V1_Grant(.user("u1"), "bench.view_doc", pk: "probe"))
}

print("")
line("figure", "measured", "note / target")

// 1. Single durable grants, one in flight, alternating blocks of 100 between the backends.
var singles: [String: [UInt64]] = ["postgres": [], "sqlite": []]
var written = 0
while written < writes {
    for (name, host) in [("postgres", hostA), ("sqlite", sqlite)] {
        for index in written..<min(written + 100, writes) {
            let start = now()
            _ = try await host.connection.grant(
                Warden_V1_Grant(.user("u\(index % users)"), "bench.change_doc", pk: "s\(index)")
            )
            singles[name]!.append(now() - start)
        }
    }
    written += 100
}
for name in ["postgres", "sqlite"] {
    line(
        "single durable grant p50 / p99, \(name)",
        String(format: "%.0f / %.0f µs", percentile(singles[name]!, 0.5), percentile(singles[name]!, 0.99))
    )
}

// 2. Follower lag: a grant on A, its event on B's watch; from A's reply to B's delivery.
let lagWrites = min(writes, 1000)
let startRevision = try await hostB.connection.health().revision
let replies = ReplyTimes()
let watcher = Task {
    var arrivals: [UInt64: UInt64] = [:]
    for try await event in hostB.connection.watch(afterRevision: try await hostA.connection.health().revision) {
        arrivals[event.revision] = now()
        if arrivals.count == lagWrites { break }
    }
    return arrivals
}
_ = startRevision
try await Task.sleep(for: .milliseconds(200))  // the watch is open (not a correctness matter: a benchmark)
for index in 0..<lagWrites {
    let reply = try await hostA.connection.grant(
        Warden_V1_Grant(.user("u\(index % users)"), "bench.share_doc", pk: "l\(index)")
    )
    replies.add(reply.revision, now())
}
let arrivals = try await watcher.value
var lags: [UInt64] = []
var early = 0
for (revision, replied) in replies.all {
    guard let arrived = arrivals[revision] else { continue }
    if arrived >= replied {
        lags.append(arrived - replied)
    } else {
        early += 1
        lags.append(0)
    }
}
line(
    "follower lag, A's reply → B's watch, p50 / p99",
    String(format: "%.0f / %.0f µs", percentile(lags, 0.5), percentile(lags, 0.99)),
    "\(lags.count) writes (\(early) arrived before A's reply); target ≤ 5 ms p50"
)

// 3. Check p50, one in flight, on the SQLite-backed and the PostgreSQL-backed server.
for (name, host) in [("sqlite", sqlite), ("postgres", hostA)] {
    var samples: [UInt64] = []
    for index in 0..<6000 {
        let start = now()
        _ = try await host.connection.check(
            .user("u\(index % users)"),
            "bench.change_doc",
            object: Warden_V1_ObjectRef("bench.doc", "s\(index % writes)")
        )
        if index >= 1000 { samples.append(now() - start) }
    }
    line(
        "Check p50 / p99, one in flight, \(name)-backed",
        String(format: "%.1f / %.1f µs", percentile(samples, 0.5), percentile(samples, 0.99))
    )
}

// 4. BulkGrant on A while a probe checks on B, one in flight; then the same bulk on SQLite.
let grants = (0..<bulkSize).map { Warden_V1_Grant(.user("u\($0 % users)"), "bench.view_doc", pk: "d\($0)") }
for (name, host, probe) in [("postgres", hostA, hostB), ("sqlite", sqlite, sqlite)] {
    let stop = StopFlag()
    let prober = Task {
        var samples: [UInt64] = []
        while !stop.isSet {
            let start = now()
            _ = try await probe.connection.check(
                .user("u1"),
                "bench.view_doc",
                object: Warden_V1_ObjectRef("bench.doc", "probe")
            )
            samples.append(now() - start)
        }
        return samples
    }
    let start = now()
    let bulk = try await host.connection.bulkGrant(grants, chunkSize: 10_000)
    let seconds = Double(now() - start) / 1e9
    // B has the bulk once a read at its revision answers there.
    let seen = try await probe.connection.check(
        .user("u1"),
        "bench.view_doc",
        object: Warden_V1_ObjectRef("bench.doc", "d1"),
        minRevision: bulk.revision,
        timeout: .seconds(600)
    )
    let visible = Double(now() - start) / 1e9
    stop.set()
    let probes = try await prober.value
    line(
        "BulkGrant \(bulk.count) grants, \(name), end to end",
        String(format: "%.0f grants/s", Double(bulk.count) / seconds),
        String(format: "%.2f s%@", seconds, name == "postgres" ? "; target ≥ 300k/s" : "")
    )
    if name == "postgres" {
        line(
            "  visible on host B (min_revision read answered)",
            String(format: "%.2f s after the start", visible),
            seen.decision.allowed ? "granted" : "NOT GRANTED"
        )
        line(
            "  probe on host B meanwhile, p50 / p99 / max",
            String(
                format: "%.0f / %.0f / %.0f µs",
                percentile(probes, 0.5),
                percentile(probes, 0.99),
                percentile(probes, 1.0)
            ),
            "\(probes.count) checks; target: no stall > 10 ms"
        )
    } else {
        line(
            "  probe on the same server meanwhile, p50 / p99 / max",
            String(
                format: "%.0f / %.0f / %.0f µs",
                percentile(probes, 0.5),
                percentile(probes, 0.99),
                percentile(probes, 1.0)
            ),
            "\(probes.count) checks"
        )
    }
}

// 5. Cold start of a new sidecar on the database the bulk filled, and of one on the SQLite file.
let total = try await hostA.connection.stats().objectGrants
let cold = try await Sidecar("c", database: sharedURI)
line(
    "cold start on PostgreSQL, \(total) grants",
    String(format: "%.2f s to the first answer", cold.startSeconds),
    "index load \(cold.loggedLoadSeconds) s (logged); target ≤ 3 s"
)
await cold.stop()
await sqlite.stop()
let coldSQLite = try await Sidecar("s2", database: folder.appendingPathComponent("s.db").path)
line(
    "cold start on SQLite, same data",
    String(format: "%.2f s to the first answer", coldSQLite.startSeconds),
    "index load \(coldSQLite.loggedLoadSeconds) s (logged)"
)
await coldSQLite.stop()

await hostA.stop()
await hostB.stop()
try? psql(adminURI, "DROP DATABASE \(databaseName) WITH (FORCE)")
try await group.shutdownGracefully()

final class ReplyTimes: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [(UInt64, UInt64)] = []
    func add(_ revision: UInt64, _ time: UInt64) { lock.withLock { times.append((revision, time)) } }
    var all: [(UInt64, UInt64)] { lock.withLock { times } }
}

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
