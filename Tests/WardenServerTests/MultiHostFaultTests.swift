import Foundation
import Testing
import WardenClient
import WardenProto
import WardenTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Faults with several hosts on one PostgreSQL (issue #17, "Database trouble"): a host killed
/// with SIGKILL mid-write, PostgreSQL restarted under load, every Warden connection terminated
/// under load. Nothing acknowledged is lost; writes fail `UNAVAILABLE` while the database is
/// away, reads keep answering; every host converges on one revision and one state.
/// Needs `WARDEN_TEST_POSTGRES` (PostgresCluster); skips without it.
@Suite("Several hosts on one PostgreSQL: faults", .serialized)
struct MultiHostFaultTests {
    @Test("kill -9 of a host under concurrent writes: the other hosts and its restart hold every acknowledged write")
    func killOneHost() async throws {
        let seed =
            UInt64(ProcessInfo.processInfo.environment["WARDEN_SERVER_CRASH_SEED"] ?? "")
            ?? UInt64.random(in: 1...UInt64.max)
        try await PostgresHosts.with(3, test: "multi-host kill -9") { hosts in
            var random = SplitMix64(seed: seed)
            let registered = try await hosts.connections[1].registerContentType(
                ServerCrashTests.contentType,
                custom: ["share_doc"]
            )
            try await hosts.waitFor(registered.revision, on: 0)
            var writers = (0..<(ServerCrashTests.connections * ServerCrashTests.writersPerConnection)).map {
                WriterState(index: $0)
            }
            let seeds = writers.map { _ in random.next() }
            let delay = random.int(150...500)
            let (outcomes, start) = try await ServerCrashTests.load(
                hosts.servers[0],
                writers: writers,
                seeds: seeds,
                killAfter: .milliseconds(delay)
            )
            for outcome in outcomes { writers[outcome.writer].take(outcome) }
            for outcome in outcomes { #expect(outcome.unexpected.isEmpty, "\(outcome.unexpected)") }
            let acknowledged = outcomes.map(\.acknowledged.count).reduce(0, +)

            // The database's revision now (no host writes any more): each survivor waits for it.
            let revision = try hosts.servers[1].openStore().revision.rawValue
            for host in 1...2 {
                try await hosts.waitFor(revision, on: host)
                var copy = writers
                let report = try await ServerCrashTests.verify(
                    hosts.servers[host],
                    writers: &copy,
                    outcomes: outcomes,
                    since: start
                )
                print(
                    "multi-host kill -9 (seed \(seed)), host \(host) after host 0's SIGKILL \(delay) ms in: \(report)"
                )
                Self.expectIntact(report, "host \(host)")
            }
            try await hosts.replace(0, with: try await hosts.servers[0].restarted())
            let report = try await ServerCrashTests.verify(
                hosts.servers[0],
                writers: &writers,
                outcomes: outcomes,
                since: start
            )
            print("multi-host kill -9 (seed \(seed)), host 0 restarted: \(report)")
            Self.expectIntact(report, "host 0 restarted")
            #expect(acknowledged > 0)
        }
    }

    static func expectIntact(_ report: RoundReport, _ host: String) {
        let problems = report.problems.joined(separator: "; ")
        #expect(report.lost == 0, "\(host): \(problems)")
        #expect(report.halfApplied == 0, "\(host): \(problems)")
        #expect(report.readMismatches == 0, "\(host): \(problems)")
        #expect(report.indexEqualsDatabase, "\(host): \(problems)")
    }

    @Test(
        "PostgreSQL restarted under load on three hosts: UNAVAILABLE meanwhile, nothing acknowledged lost, hosts converge"
    )
    func databaseRestart() async throws {
        let test = "multi-host PostgreSQL restart"
        // The restart cuts off every client of the cluster; the shared cluster serves other
        // suites running in parallel, so this test restarts a cluster of its own, where the
        // shared one's folder says the script runs clusters on this machine.
        guard try PostgresCluster.shared(for: test) != nil else { return }
        guard PostgresCluster.environment["WARDEN_TEST_POSTGRES_DIR"].map({ !$0.isEmpty }) == true else {
            if PostgresCluster.required {
                throw ServerError("\(test): WARDEN_REQUIRE_POSTGRES=1 but WARDEN_TEST_POSTGRES_DIR is not set")
            }
            print(
                "\(test): skipped: WARDEN_TEST_POSTGRES_DIR is not set (the folder of a scripts/postgres-cluster.sh cluster)"
            )
            return
        }
        let cluster = try await PostgresCluster.startPrivate()
        do {
            try await PostgresHosts.with(3, test: test, cluster: cluster) { hosts in
                try await Self.disruptUnderLoad(hosts, name: "PostgreSQL restart") { try await cluster.restart() }
            }
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    @Test(
        "every Warden connection terminated under load: UNAVAILABLE meanwhile, nothing acknowledged lost, hosts converge"
    )
    func connectionsTerminated() async throws {
        try await PostgresHosts.with(3, test: "multi-host pg_terminate_backend") { hosts in
            try await Self.disruptUnderLoad(hosts, name: "pg_terminate_backend") {
                let terminated = try await hosts.database.terminateWardenConnections()
                #expect(terminated >= hosts.servers.count, "only \(terminated) Warden connections found to terminate")
                print("pg_terminate_backend: \(terminated) Warden connections terminated")
            }
        }
    }

    /// Writers and readers on every host; `disrupt` once some writes are acknowledged; then
    /// writes must succeed again on every writer, and every host converge on the database's
    /// revision and state, which holds every acknowledged write.
    static func disruptUnderLoad(_ hosts: PostgresHosts, name: String, disrupt: () async throws -> Void) async throws {
        try await hosts.seed(users: HostLoad.writersPerHost)
        let load = HostLoad(hosts: hosts.connections)
        load.start()
        try await load.waitUntil(seconds: 60, "\(name): the first writes") { $0.acknowledged >= 30 }
        let before = load.snapshot()
        let began = ContinuousClock.now
        try await disrupt()
        let disrupted = ContinuousClock.now
        let mark = load.snapshot()
        // Writes succeed again on every writer (each retries after UNAVAILABLE).
        let recovered = await load.waitUntilQuietly(seconds: 180) { now in
            zip(now.perWriter, mark.perWriter).allSatisfy { $0 - $1 >= 3 }
        }
        let writing = ContinuousClock.now
        let totals = await load.stop()
        #expect(
            recovered,
            "\(name): some writer made no 3 writes within 180 s after it: \(load.snapshot().perWriter)\n\(hosts.logs)"
        )
        #expect(
            totals.otherErrors.isEmpty,
            "\(name): writes failed with other codes than UNAVAILABLE: \(totals.otherErrors.prefix(5))"
        )
        #expect(totals.readErrors.isEmpty, "\(name): reads failed: \(totals.readErrors.prefix(5))")

        // Every host converges on the database's revision, with the same state as the database.
        let store = try hosts.servers[0].openStore()
        let revision = try store.revision.rawValue
        let stopped = ContinuousClock.now
        // Followed without a read asking: each host's listener came back after the disruption.
        let followed = try await hosts.followed(revision)
        let converged = ContinuousClock.now
        #expect(
            followed.allSatisfy { $0 == revision },
            "\(name): the hosts stopped at \(followed), the database is at \(revision)"
        )
        for host in hosts.connections.indices { try await hosts.waitFor(revision, on: host) }
        let stored = Set(try store.snapshot().changes.compactMap(Fact.init))
        let exports = try await hosts.exports()
        for (host, export) in exports.enumerated() {
            #expect(
                export.revision == revision,
                "\(name): host \(host) exported revision \(export.revision), the database is at \(revision)"
            )
            #expect(
                export.facts == stored,
                "\(name): host \(host)'s index ≠ the database: \(export.facts.symmetricDifference(stored).count) facts differ"
            )
        }
        let granted = Set(stored.compactMap { if case .grant(let key) = $0 { key.pk } else { nil } })
        let lost = totals.acknowledgedPKs.filter { !granted.contains($0) }
        #expect(lost.isEmpty, "\(name): \(lost.count) acknowledged grants lost: \(lost.prefix(5))")
        print(
            "\(name) under load on \(hosts.connections.count) hosts: "
                + String(format: "the disruption took %.2f s; ", (disrupted - began).seconds)
                + "\(totals.unavailable) writes answered UNAVAILABLE, \(totals.otherErrors.count) other errors; "
                + "\(mark.acknowledged - before.acknowledged) acknowledged during it, \(totals.acknowledged) in all, \(lost.count) lost; "
                + "\(totals.reads) reads answered, \(totals.readErrors.count) failed; "
                + String(format: "every writer wrote again %.2f s after it", (writing - disrupted).seconds)
                + String(
                    format: ", every host followed to the database's revision %d %.3f s after the load stopped",
                    revision,
                    (converged - stopped).seconds
                )
        )
    }
}
