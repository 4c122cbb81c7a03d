import WardenIndex
import WardenModel
import WardenTestSupport

// One seeded property-test scenario. See PropertyTests.swift for an overview.

/// One seeded scenario: an index and the reference, kept in step, compared query by query.
final class PropertyRun {
    let seed: UInt64
    var rng: SplitMix64
    let settings: PermissionIndex.Settings
    let index: PermissionIndex
    var reference: ReferenceEvaluator
    /// The revision the index should be at.
    var revision: UInt64 = 0
    var step = 0
    /// Mismatch reports, in order.
    var mismatches: [String] = []
    /// States diverged (a change applied on one side only): later comparisons are meaningless.
    var diverged = false
    var compared = 0
    var pagesCompared = 0
    var batchesApplied = 0
    var changesApplied = 0
    var unspecified: [String: Int] = [:]
    /// What kinds of answers were compared (to see that the generators reach every rule).
    var coverage: [String: Int] = [:]
    /// The compared queries that fell under a rule docs/semantics.md decided late.
    let tally = RefTally()
    var dumpedState = false
    var grantCache: (revision: UInt64, grants: [ReferenceEvaluator.GrantRow])? = nil

    init(seed: UInt64, settings: PermissionIndex.Settings) {
        self.seed = seed
        rng = SplitMix64(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 17)
        self.settings = settings
        index = PermissionIndex(settings: settings)
        reference = ReferenceEvaluator(settings: settings)
    }

    // MARK: Driving

    func run(rounds: Int, queriesPerRound: Int) {
        setUp()
        queries(60)
        for _ in 0..<rounds where !diverged {
            switch rng.int(0..<100) {
            case 0..<50: applyBoth(randomBatch(size: 1))
            case 50..<78: applyBoth(randomBatch(size: rng.int(2...6)))
            case 78..<90: applyBoth(randomBatch(size: rng.int(33...60)))
            default: applyBoth(churnBatch(size: rng.int(33...50)))
            }
            queries(queriesPerRound)
        }
    }

    func setUp() {
        var changes: [Change] = []
        for (name, custom) in PropertyUniverse.initialTypes {
            changes.append(.register(try! ContentType(name: ContentTypeName(name), custom: custom)))
        }
        var freeUsernames = PropertyUniverse.usernames.compactMap { $0 }
        for id in PropertyUniverse.userIDs where rng.chance(0.85) {
            var username: String? = nil
            if !freeUsernames.isEmpty && rng.chance(0.7) {
                username = freeUsernames.remove(at: rng.int(0..<freeUsernames.count))
            }
            changes.append(
                .putUser(try! User(id: id, username: username, isActive: rng.chance(0.8), isSuperuser: rng.chance(0.2)))
            )
        }
        let skipped = rng.int(0..<PropertyUniverse.groupNames.count)
        for (position, name) in PropertyUniverse.groupNames.enumerated() where position != skipped {
            changes.append(.putGroup(name: name))
        }
        var scratch = reference
        for change in changes { _ = scratch.applyOne(change) }
        for user in PropertyUniverse.userIDs {
            for group in PropertyUniverse.groupNames where rng.chance(0.35) {
                let change = Change.addMember(user: user, group: group)
                if scratch.applyOne(change) == nil { changes.append(change) }
            }
        }
        for _ in 0..<rng.int(70...130) {
            let change = Change.grant(randomGrant(scratch))
            if scratch.applyOne(change) == nil { changes.append(change) }
        }
        if seed % 2 == 0 {
            applyBoth(changes)  // one batch (> 32 changes: the deferred-sort path)
        } else {
            var start = 0
            while start < changes.count && !diverged {
                let end = min(changes.count, start + rng.int(1...5))
                applyBoth(Array(changes[start..<end]))
                start = end
            }
        }
    }

    func queries(_ count: Int) {
        for _ in 0..<count where !diverged {
            step += 1
            switch rng.int(0..<100) {
            case 0..<36: compareCheck(randomCheck())
            case 36..<44: compareChecks((0..<rng.int(1...6)).map { _ in randomCheck() })
            case 44..<72: compareListObjects(randomListObjects())
            case 72..<86: compareListSubjects(randomListSubjects())
            case 86..<94: comparePermissions(randomPermissionsQuery())
            default: comparePermissionSets(randomPermissionSetsQuery())
            }
        }
    }
}
