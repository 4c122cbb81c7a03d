import Testing
import WardenModel

@testable import WardenIndex

/// `PermissionIndex.prepare(_ run:)`: several revisions' changes applied to one copy, each as
/// `apply(_:at:)` would in turn, published at once (a follower's catch-up of many events).
@Suite("Index: runs of revisions prepared aside")
struct PreparedRunTests {
    @Test("a run of revisions publishes the state their applies in turn build, at the last revision")
    func runEqualsApplies() throws {
        for seed: UInt64 in [4, 5, 9] {
            // `run.index` applies batch by batch; `prepared` takes the accepted ones as runs.
            let run = PropertyRun(seed: seed, settings: PermissionIndex.Settings())
            run.setUp()
            let prepared = PermissionIndex()
            try prepared.apply(run.index.export().value, at: run.index.revision)
            for round in 0..<12 {
                var steps: [RevisionChanges] = []
                for step in 0..<8 {
                    let batch = step % 3 == 2 ? run.churnBatch(size: 40) : run.randomBatch(size: step % 2 == 0 ? 1 : 45)
                    run.applyBoth(batch)
                    #expect(!run.diverged)
                    // Batches the index refused moved nothing; each accepted one is a revision.
                    if steps.last?.revision ?? prepared.revision != run.index.revision {
                        steps.append(RevisionChanges(batch, at: run.index.revision))
                    }
                }
                let before = PreparedBatchTests.rows(prepared)
                let aside = try prepared.prepare(steps)
                #expect(PreparedBatchTests.rows(prepared) == before, "unpublished, the live state is unchanged")
                let published = prepared.publish(aside)
                #expect(published)
                #expect(
                    PreparedBatchTests.rows(prepared) == PreparedBatchTests.rows(run.index),
                    "seed \(seed), round \(round)"
                )
                #expect(prepared.revision == run.index.revision)
            }
        }
    }

    @Test("a refused revision refuses the whole run, naming it; the index is unchanged")
    func refusedRun() throws {
        let index = PermissionIndex()
        let type = try ContentType(name: ContentTypeName("lab.experiment"), custom: [])
        try index.apply([.register(type), .putUser(try User(id: "1"))], at: Revision(1))
        let view = try PermissionRef(contentType: type.name, codename: "view_experiment")
        let steps = [
            RevisionChanges([.putUser(try User(id: "2"))], at: Revision(2)),
            RevisionChanges([.grant(try Grant(subject: .user("2"), permission: view, pk: "7"))], at: Revision(3)),
            RevisionChanges([.deleteUser(id: "2")], at: Revision(4)),
            // User 2 is gone by now: refused, though the run's first step created it.
            RevisionChanges([.grant(try Grant(subject: .user("2"), permission: view, pk: "8"))], at: Revision(5)),
        ]
        #expect {
            _ = try index.prepare(steps)
        } throws: { error in
            (error as? IndexError)?.code == .notFound
                && (error as? IndexError)?.message.hasPrefix("revision 5: ") == true
        }
        let accepted = try index.prepare(Array(steps.prefix(3)))
        #expect(index.revision == Revision(1))
        let published = index.publish(accepted)
        #expect(published)
        #expect(index.revision == Revision(4))
        #expect(index.statistics.users == 1 && index.statistics.grants == 0)
    }
}
