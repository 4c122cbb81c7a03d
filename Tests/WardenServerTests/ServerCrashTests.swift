import Foundation
import Synchronization
import Testing
import WardenClient
import WardenModel
import WardenProto
import WardenStore
import WardenTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Crash recovery of the server (issue #8): eight writers on four connections make mixed writes
/// (grants, revokes, users, groups, memberships, object deletions, bulk streams, write batches)
/// while the `warden serve` process gets SIGKILL at a random moment; a new process starts on
/// the same database and must hold every acknowledged write, each write in flight at the kill
/// whole or not at all, and an index equal to the database. `WARDEN_SERVER_CRASH_ROUNDS` rounds
/// (3 by default; `make crash-test` 20); `WARDEN_SERVER_CRASH_SEED` replays a seed's writes and
/// kill delays (not the threads' timing).
@Suite("Server crash recovery", .serialized)
struct ServerCrashTests {
    static let contentType = "crash.doc"
    static let codenames = ["add_doc", "change_doc", "delete_doc", "share_doc", "view_doc"]
    static let connections = 4
    static let writersPerConnection = 2

    @Test(
        "SIGKILL under concurrent writes: no acknowledged write lost, none half-applied, index = database",
        arguments: TestBackend.allCases
    )
    func killUnderLoad(_ backend: TestBackend) async throws {
        _ = try await backend.withDatabase(for: "server crash test") { database in
            try await Self.killUnderLoad(database: database)
        }
    }

    /// The crash test on the database `database` names (`nil`: an SQLite file in the server's
    /// folder); every restarted server opens the same database.
    static func killUnderLoad(database: String?) async throws {
        let environment = ProcessInfo.processInfo.environment
        let rounds = Int(environment["WARDEN_SERVER_CRASH_ROUNDS"] ?? "") ?? 3
        let seed = UInt64(environment["WARDEN_SERVER_CRASH_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64.max)
        let backend = database == nil ? "SQLite" : "PostgreSQL"
        print(
            "server crash test on \(backend): seed \(seed) (WARDEN_SERVER_CRASH_SEED=\(seed) replays the writes and kill delays)"
        )
        var random = SplitMix64(seed: seed)

        var server = try await ServerProcess(databasePath: database)
        defer {
            server.kill(signal: SIGKILL)
            server.removeFolder()
        }
        let setup = try await server.connect()
        _ = try await setup.registerContentType(Self.contentType, custom: ["share_doc"])
        await setup.close()

        var writers = (0..<(Self.connections * Self.writersPerConnection)).map { WriterState(index: $0) }
        var totals = RoundReport(indexEqualsDatabase: true)
        for round in 1...rounds {
            let delay = random.int(20...400)
            let seeds = writers.map { _ in random.next() }
            let (outcomes, start) = try await Self.load(
                server,
                writers: writers,
                seeds: seeds,
                killAfter: .milliseconds(delay)
            )
            for outcome in outcomes { writers[outcome.writer].take(outcome) }
            for outcome in outcomes { #expect(outcome.unexpected.isEmpty, "round \(round): \(outcome.unexpected)") }

            server = try await server.restarted()
            let report = try await Self.verify(server, writers: &writers, outcomes: outcomes, since: start)
            totals.add(report)
            print("round \(round)/\(rounds): SIGKILL \(delay) ms after the first acknowledgement; \(report)")
            #expect(report.lost == 0, "round \(round): \(report.problems.joined(separator: "; "))")
            #expect(report.halfApplied == 0, "round \(round): \(report.problems.joined(separator: "; "))")
            #expect(report.readMismatches == 0, "round \(round): \(report.problems.joined(separator: "; "))")
            #expect(report.indexEqualsDatabase, "round \(round): \(report.problems.joined(separator: "; "))")
        }

        // A clean stop at the end, and the database alone, opened cold, holds the same state.
        #expect(server.stop() == 0)
        let snapshot = try server.openStore().snapshot()
        let stored = Set(snapshot.changes.compactMap(Fact.init))
        for writer in writers {
            #expect(
                stored.filter { $0.owner?.hasPrefix(writer.prefix) == true } == writer.state.facts,
                "writer \(writer.index)"
            )
        }
        #expect(totals.acknowledged >= rounds)
        print(
            "server crash test on \(backend): \(rounds) rounds, \(totals.acknowledged) acknowledged writes, \(totals.lost) lost, "
                + "\(totals.halfApplied) half-applied (seed \(seed); \(totals.inFlight) writes in flight at a kill: "
                + "\(totals.applied) applied whole, \(totals.absent) absent, \(totals.noEffect) without effect either way, "
                + "\(totals.inFlightBulk) of them bulk streams or batches; \(totals.checks) checks and \(totals.lists) lists "
                + "after restarts agreed with the acknowledged state; index = database after every restart: "
                + "\(totals.indexEqualsDatabase ? "yes" : "NO"))"
        )
    }

    /// Runs the writers against `server` until it is SIGKILLed `killAfter` the round's first
    /// acknowledgement; returns each writer's outcome and the revision the round started at.
    static func load(
        _ server: ServerProcess,
        writers: [WriterState],
        seeds: [UInt64],
        killAfter: Duration
    ) async throws -> ([WriterOutcome], UInt64) {
        var connections: [WardenConnection] = []
        for _ in 0..<Self.connections { connections.append(try await server.connect()) }
        let start = try await connections[0].health().revision
        let kill = KillSwitch()
        let outcomes = try await withThrowingTaskGroup(of: WriterOutcome.self) { group in
            for writer in writers {
                let connection = connections[writer.index % Self.connections]
                let seed = seeds[writer.index]
                group.addTask { await Self.write(writer, on: connection, seed: seed, kill: kill) }
            }
            let began = ContinuousClock.now
            while kill.acknowledged.load(ordering: .relaxed) == 0 && ContinuousClock.now - began < .seconds(30) {
                try await Task.sleep(for: .milliseconds(1))
            }
            try await Task.sleep(for: killAfter)
            kill.killing.store(true, ordering: .sequentiallyConsistent)
            let status = server.kill(signal: SIGKILL)
            kill.killed.store(true, ordering: .sequentiallyConsistent)
            #expect(status == SIGKILL, "the server ended before the kill: \(server.output.suffix(500))")
            var outcomes: [WriterOutcome] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        for connection in connections { await connection.close() }
        return (outcomes.sorted { $0.writer < $1.writer }, start)
    }

    /// One writer's round: writes one at a time until the connection fails at the kill.
    static func write(
        _ writer: WriterState,
        on connection: WardenConnection,
        seed: UInt64,
        kill: KillSwitch
    ) async -> WriterOutcome {
        var random = SplitMix64(seed: seed)
        var state = writer.state
        var acknowledged: [AcknowledgedWrite] = []
        while true {
            let write = writer.generator.next(state, &random)
            let sentBeforeKill = !kill.killed.load(ordering: .sequentiallyConsistent)
            do {
                let ack = try await connection.send(write)
                state.apply(write)
                acknowledged.append(AcknowledgedWrite(write: write, ack: ack))
                kill.acknowledged.add(1, ordering: .relaxed)
            } catch {
                let expected = kill.killing.load(ordering: .sequentiallyConsistent)
                return WriterOutcome(
                    writer: writer.index,
                    acknowledged: acknowledged,
                    inFlight: write,
                    sentBeforeKill: sentBeforeKill,
                    unexpected: expected ? [] : ["\(write): \(error)"]
                )
            }
        }
    }

    /// After a restart: the server's Export, Check and ListObjects answers against each writer's
    /// acknowledged state (with and without its write in flight), and the server's index
    /// against the database file read cold by this process.
    static func verify(
        _ server: ServerProcess,
        writers: inout [WriterState],
        outcomes: [WriterOutcome],
        since start: UInt64
    ) async throws -> RoundReport {
        var report = RoundReport()
        let warden = try await server.connect()
        defer { Task { await warden.close() } }
        let health = try await warden.health()
        var records: [Warden_V1_Record] = []
        var exportRevision: UInt64 = 0
        for try await chunk in warden.export() {
            records += chunk.records
            exportRevision = chunk.revision
        }
        let exported = Set(records.compactMap(Fact.init))

        // The index (Export) equals the database, read by a store of this process.
        let store = try server.openStore()
        let snapshot = try store.snapshot()
        let stored = Set(snapshot.changes.compactMap(Fact.init))
        report.facts = stored.count
        report.revision = snapshot.revision.rawValue
        report.indexEqualsDatabase =
            exported == stored && exportRevision == snapshot.revision.rawValue
            && health.revision == snapshot.revision.rawValue
        if !report.indexEqualsDatabase {
            report.problems.append(
                "index ≠ database: revisions \(exportRevision)/\(health.revision) vs \(snapshot.revision); only in the index "
                    + "\(Self.sample(exported.subtracting(stored))), only in the file \(Self.sample(stored.subtracting(exported)))"
            )
        }
        let maxAcknowledged = outcomes.flatMap(\.acknowledged).map(\.ack.revision).max() ?? 0
        if snapshot.revision.rawValue < maxAcknowledged {
            report.problems.append("revision \(snapshot.revision) after restart, \(maxAcknowledged) acknowledged")
            report.lost += 1
        }
        let events = Dictionary(
            try store.events(after: Revision(start), limit: 10_000_000).map { ($0.revision.rawValue, $0) },
            uniquingKeysWith: { $1 }
        )

        for outcome in outcomes {
            var writer = writers[outcome.writer]
            report.acknowledged += outcome.acknowledged.count
            // Every acknowledged write that changed something has its event at its revision.
            for acknowledged in outcome.acknowledged where acknowledged.ack.changed {
                let event = events[acknowledged.ack.revision]
                let recorded: Bool =
                    switch acknowledged.write {
                    case .bulkGrant: event?.kind == .bulkGranted && event?.count == Int(acknowledged.ack.count)
                    case .bulkRevoke: event?.kind == .bulkRevoked && event?.count == Int(acknowledged.ack.count)
                    case .batch: event != nil
                    default: event?.change == acknowledged.write.change
                    }
                if !recorded {
                    report.lost += 1
                    report.problems.append(
                        "writer \(outcome.writer): \(acknowledged.write) acknowledged at \(acknowledged.ack.revision), "
                            + "the changelog has \(event.map { "\($0.kind) count \($0.count ?? 0)" } ?? "nothing") there"
                    )
                }
            }
            // The state is the acknowledged one, with the write in flight whole or not at all.
            let actual = FactSet(facts: exported.filter { $0.owner?.hasPrefix(writer.prefix) == true })
            let without = writer.state
            let with = outcome.inFlight.map { without.applying($0) } ?? without
            if outcome.sentBeforeKill {
                report.inFlight += 1
                if case .bulkGrant = outcome.inFlight { report.inFlightBulk += 1 }
                if case .bulkRevoke = outcome.inFlight { report.inFlightBulk += 1 }
                if case .batch = outcome.inFlight { report.inFlightBulk += 1 }
                if with == without {
                    report.noEffect += 1
                } else if actual == with {
                    report.applied += 1
                } else if actual == without {
                    report.absent += 1
                }
            }
            let damaged = without.facts.intersection(with.facts).subtracting(actual.facts)
                .union(actual.facts.subtracting(without.facts.union(with.facts)))
            if !damaged.isEmpty {
                let writes = Set(damaged.compactMap { writer.provenance[$0] })
                report.lost += max(writes.count, 1)
                report.problems.append(
                    "writer \(outcome.writer): acknowledged facts missing or revived: \(Self.sample(damaged))"
                )
            } else if actual != without && actual != with {
                report.halfApplied += 1
                report.problems.append(
                    "writer \(outcome.writer): \(outcome.inFlight.map { "\($0)" } ?? "-") half-applied: "
                        + "\(Self.sample(actual.facts.symmetricDifference(with.facts))) differ from it whole"
                )
            }
            // The restarted server's reads agree with the state it should hold.
            let reference = actual == with ? with : without
            try await checkReads(warden, writer: writer, reference: reference, report: &report)
            writer.adopt(actual)
            writers[outcome.writer] = writer
        }
        return report
    }

    /// A few facts, for a message.
    static func sample(_ facts: Set<Fact>) -> String {
        facts.map(\.description).sorted().prefix(5).joined(separator: ", ")
            + (facts.count > 5 ? ", … (\(facts.count))" : "")
    }

    /// Check (one BatchCheck of every user × permission × object of the writer) and ListObjects
    /// (every user × permission) against `reference`.
    static func checkReads(
        _ warden: WardenConnection,
        writer: WriterState,
        reference: FactSet,
        report: inout RoundReport
    ) async throws {
        let generator = writer.generator
        var request = Warden_V1_BatchCheckRequest()
        var expected: [Bool] = []
        for user in generator.userPool {
            for codename in Self.codenames {
                for pk in generator.pkPool {
                    var item = Warden_V1_CheckItem()
                    item.subject = .user(user)
                    item.permission = "crash.\(codename)"
                    item.object = Warden_V1_ObjectRef(Self.contentType, pk)
                    request.items.append(item)
                    expected.append(reference.allows(user, contentType: Self.contentType, codename, pk: pk))
                }
                var list = Warden_V1_ListObjectsRequest()
                list.subject = .user(user)
                list.permissions = ["crash.\(codename)"]
                list.contentType = Self.contentType
                let answer = try await warden.listAllObjects(list)
                let want = reference.objects(user, contentType: Self.contentType, codename)
                let got: Set<String>? = answer.unrestricted == nil ? Set(answer.pks) : nil
                report.lists += 1
                if got != want {
                    report.readMismatches += 1
                    report.problems.append(
                        "ListObjects \(user) \(codename): \(String(describing: got)), expected \(String(describing: want))"
                    )
                }
            }
        }
        let results = try await warden.batchCheck(request).results
        report.checks += results.count
        for (position, result) in results.enumerated() {
            guard case .decision(let decision)? = result.result, decision.allowed == expected[position] else {
                report.readMismatches += 1
                let item = request.items[position]
                report.problems.append(
                    "Check \(item.subject.user) \(item.permission) \(item.object.pk): \(result), expected \(expected[position])"
                )
                continue
            }
        }
    }
}

/// What one writer knows between rounds: its acknowledged state, and which write last set or
/// removed each fact (to count lost writes, not facts).
struct WriterState: Sendable {
    let index: Int
    let generator: WriteGenerator
    var state = FactSet()
    var provenance: [Fact: Int] = [:]
    var writes = 0

    init(index: Int) {
        self.index = index
        generator = WriteGenerator(
            prefix: "w\(index).",
            contentType: ServerCrashTests.contentType,
            codenames: ServerCrashTests.codenames
        )
    }

    var prefix: String { "w\(index)." }

    /// Takes a round's acknowledged writes.
    mutating func take(_ outcome: WriterOutcome) {
        for acknowledged in outcome.acknowledged {
            writes += 1
            let after = state.applying(acknowledged.write)
            for fact in after.facts.symmetricDifference(state.facts) { provenance[fact] = writes }
            state = after
        }
    }

    /// Takes the state the restarted server holds (the acknowledged one, with or without the
    /// write in flight) as the next round's starting point.
    mutating func adopt(_ actual: FactSet) {
        guard actual != state else { return }
        writes += 1
        for fact in actual.facts.symmetricDifference(state.facts) { provenance[fact] = writes }
        state = actual
    }
}

struct AcknowledgedWrite: Sendable {
    let write: Write
    let ack: WriteAck
}

/// A writer's round: what the server acknowledged, and the write it had sent when the
/// connection failed.
struct WriterOutcome: Sendable {
    let writer: Int
    let acknowledged: [AcknowledgedWrite]
    let inFlight: Write?
    /// Whether the write in flight was sent before the server was known dead (else it was
    /// refused by a closed connection and cannot have reached the server).
    let sentBeforeKill: Bool
    /// Errors before the kill: none expected.
    let unexpected: [String]
}

/// The round's shared flags: acknowledgements so far, and the kill's progress.
final class KillSwitch: Sendable {
    let acknowledged = Atomic<Int>(0)
    /// Set just before SIGKILL: from then on a failed request is expected.
    let killing = Atomic<Bool>(false)
    /// Set once the process has ended: a request sent after it is not in flight.
    let killed = Atomic<Bool>(false)
}

/// One round's figures, or the whole run's.
struct RoundReport: CustomStringConvertible {
    var acknowledged = 0
    var inFlight = 0
    var inFlightBulk = 0
    var applied = 0
    var absent = 0
    var noEffect = 0
    var lost = 0
    var halfApplied = 0
    var checks = 0
    var lists = 0
    var readMismatches = 0
    var indexEqualsDatabase = false
    var facts = 0
    var revision: UInt64 = 0
    var problems: [String] = []

    /// Adds another round's figures (the whole run's totals).
    mutating func add(_ round: RoundReport) {
        acknowledged += round.acknowledged
        inFlight += round.inFlight
        inFlightBulk += round.inFlightBulk
        applied += round.applied
        absent += round.absent
        noEffect += round.noEffect
        lost += round.lost
        halfApplied += round.halfApplied
        checks += round.checks
        lists += round.lists
        readMismatches += round.readMismatches
        indexEqualsDatabase = indexEqualsDatabase && round.indexEqualsDatabase
    }

    var description: String {
        "\(acknowledged) acknowledged writes, \(inFlight) in flight at the kill (\(applied) applied whole, \(absent) absent, "
            + "\(noEffect) without effect; \(inFlightBulk) bulk/batch), lost \(lost), half-applied \(halfApplied); "
            + "revision \(revision), index \(indexEqualsDatabase ? "=" : "≠") database (\(facts) facts), "
            + "\(checks) checks and \(lists) lists, \(readMismatches) wrong"
    }
}
