import Testing
import WardenModel

@testable import WardenIndex

/// `PermissionIndex.prepare` and `publish`: a batch applied to a copy of the state must leave
/// the index exactly as `apply` would, and the live state untouched until it is published.
@Suite("Index: batches prepared aside")
struct PreparedBatchTests {
    @Test("copy() copies every stored property of IndexState")
    func copiesEveryField() {
        // The size of the 17 stored properties `copy()` lists. A property added or removed
        // changes it: then update `copy()` and this figure.
        #expect(
            MemoryLayout<IndexState>.size == 296,
            "IndexState's stored properties changed: update IndexState.copy()"
        )
    }

    @Test("a prepared batch publishes the state apply builds; readers see the old state until then")
    func preparedEqualsApplied() throws {
        for seed: UInt64 in [2, 3, 8] {
            // The property tests' scenario drives `run.index` with `apply`; `prepared` follows
            // through `prepare` and `publish`, from the same start.
            let run = PropertyRun(seed: seed, settings: PermissionIndex.Settings())
            run.setUp()
            let prepared = PermissionIndex()
            try prepared.apply(run.index.export().value, at: run.index.revision)
            var published = 0
            for round in 0..<60 {
                let batch = round % 3 == 2 ? run.churnBatch(size: 40) : run.randomBatch(size: round % 2 == 0 ? 1 : 45)
                let before = prepared.export().value
                do {
                    let aside = try prepared.prepare(batch, at: Revision(prepared.revision.rawValue + 1))
                    #expect(prepared.export().value == before, "unpublished, the live state is unchanged")
                    let didPublish = prepared.publish(aside)
                    #expect(didPublish)
                    published += 1
                } catch {
                    #expect(prepared.export().value == before)
                }
                run.applyBoth(batch)
                #expect(!run.diverged)
                // Object slots may be numbered differently (the two were built in different
                // orders), so the exports are compared as sets, byte for byte.
                #expect(Self.rows(prepared) == Self.rows(run.index), "seed \(seed), round \(round)")
                #expect(prepared.revision == run.index.revision)
            }
            #expect(published > 30, "most batches apply")
        }
    }

    /// An index's export as a set of byte strings.
    static func rows(_ index: PermissionIndex) -> Set<[UInt8]> {
        Set(index.export().value.map { Array("\($0)".utf8) })
    }

    @Test("a batch prepared on an older revision does not publish")
    func stalePreparedBatch() throws {
        let index = PermissionIndex()
        let type = try ContentType(name: ContentTypeName("lab.experiment"), custom: [])
        try index.apply([.register(type), .putUser(try User(id: "1"))])
        let grant = try Grant(
            subject: .user("1"),
            permission: PermissionRef(contentType: type.name, codename: "view_experiment"),
            pk: "7"
        )
        let aside = try index.prepare([.grant(grant)], at: Revision(index.revision.rawValue + 1))
        try index.apply([.putUser(try User(id: "2"))])
        let didPublish = index.publish(aside)
        #expect(!didPublish)
        #expect(index.statistics.grants == 0)
    }
}
