import Foundation
import Testing
import WardenIndex
import WardenModel
import WardenTestSupport

// Property tests: random scenarios over a small universe (so that ids, pks, names and codenames
// collide often), each query answered by both the index and `ReferenceEvaluator` (a brute-force
// reading of docs/semantics.md) and compared, before and after random incremental changes.
//
// Every mismatch is recorded with the seed and the step, the query, both answers and (for the
// first mismatch of a seed) the reference's whole state. The generator is deterministic, so
// `WARDEN_PROPERTY_SEED=N swift test --filter PropertyTests` replays seed N alone, and
// `WARDEN_PROPERTY_COVERAGE=1` prints which kinds of answers each seed compared.
// Cases that docs/semantics.md does not decide are skipped and counted ("unspecified").
//
// The pieces, one file each:
// - PropertyUniverse.swift: the universe and the pieces of queries (subjects, types, pks,
//   permission strings, failing strings, page tokens);
// - PropertyQueries.swift: the random queries;
// - PropertyChanges.swift: the random changes and their application to both sides;
// - PropertyComparison.swift: answering each query on both sides and comparing;
// - PropertyRendering.swift: the text of answers and of the reference's state;
// - PropertyRun.swift: one seeded scenario;
// - ConcurrencyTests.swift: readers against a writer, without the reference;
// - ReferenceEvaluator.swift: the reference itself.

@Suite("Property tests: the index agrees with the reference evaluator")
struct PropertyTests {
    static func run(seed: UInt64, settings: PermissionIndex.Settings) {
        let environment = ProcessInfo.processInfo.environment
        if let only = environment["WARDEN_PROPERTY_SEED"].flatMap(UInt64.init), only != seed { return }
        let run = PropertyRun(seed: seed, settings: settings)
        run.run(rounds: 30, queriesPerRound: 10)
        let limit = 12
        for mismatch in run.mismatches.prefix(limit) { Issue.record(Comment(rawValue: mismatch)) }
        if run.mismatches.count > limit {
            Issue.record(Comment(rawValue: "seed \(seed): \(run.mismatches.count - limit) more mismatches not shown"))
        }
        let skipped = run.unspecified.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        let decided = run.tally.counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        if environment["WARDEN_PROPERTY_COVERAGE"] != nil {
            for (category, count) in run.coverage.sorted(by: { $0.key < $1.key }) {
                print("coverage seed \(seed) \(category) = \(count)")
            }
        }
        print(
            "PropertyTests seed \(seed): \(run.compared) answers compared (\(run.pagesCompared) follow-up pages), "
                + "\(run.batchesApplied) batches / \(run.changesApplied) changes applied, "
                + "\(run.mismatches.count) mismatches, skipped as unspecified: \(skipped); "
                + "compared under late-decided rules: \(decided)"
        )
    }

    @Test("default settings", arguments: 0..<20)
    func defaultSettings(seed: Int) {
        Self.run(seed: UInt64(seed), settings: .init())
    }

    @Test("accept_global_perms=false, anonymous user \"1\"", arguments: 100..<106)
    func globalPermsOffAnonymous(seed: Int) {
        Self.run(seed: UInt64(seed), settings: .init(acceptGlobalPerms: false, anonymousUser: "1"))
    }

    @Test("anonymous user \"caf\\u{E9}\" (precomposed)", arguments: 200..<203)
    func anonymousPrecomposed(seed: Int) {
        Self.run(seed: UInt64(seed), settings: .init(acceptGlobalPerms: true, anonymousUser: "caf\u{E9}"))
    }
}
