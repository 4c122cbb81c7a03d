import Foundation
import Testing
import WardenModel

@testable import WardenSQLiteStore
@testable import WardenStore

/// A write refused for a full disk: `RESOURCE_EXHAUSTED` naming the cause (not `INTERNAL`),
/// reads go on, nothing of a failed write is visible, and writes work again once there is room.
/// SQLite's `max_page_count` makes it answer `SQLITE_FULL` for real (a full volume behind a real
/// server is `Tests/WardenServerTests/DiskFullServerTests.swift`).
@Suite("Disk full")
struct DiskFullTests {
    @Test(
        "single, batch and bulk writes on a full database answer RESOURCE_EXHAUSTED; reads go on; room lets writes resume"
    )
    func fullDatabase() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        _ = try store.apply(batch: Fixture.basics)
        let pages = try store.backend.lock.withLock { _ in try store.backend.connection.integer("PRAGMA page_count") }
        try store.backend.lock.withLock { _ in
            try store.backend.connection.execute("PRAGMA max_page_count = \(pages + 1)")
        }

        var acknowledged: [String] = []
        var refusal: StoreError?
        for n in 0..<20_000 {
            let pk = String(repeating: "p", count: 200) + "\(n)"
            do {
                _ = try store.apply(.grant(Fixture.grant(.user("1"), Fixture.car, "view_car", pk)))
                acknowledged.append(pk)
            } catch {
                refusal = error
                break
            }
        }
        let error = try #require(refusal, "the database never filled")
        print("disk full after \(acknowledged.count) writes: \(error)")
        #expect(error.code == .resourceExhausted)
        #expect(error.message.contains("disk is full") && !error.message.contains(database.folder.path))
        let many = (0..<500).map {
            Fixture.grant(.user("2"), Fixture.car, "view_car", "bulk-\($0)-" + String(repeating: "q", count: 200))
        }
        #expect { _ = try store.bulkGrant(many) } throws: { ($0 as? StoreError)?.code == .resourceExhausted }
        #expect { _ = try store.apply(batch: many.map(Change.grant)) } throws: {
            ($0 as? StoreError)?.code == .resourceExhausted
        }

        // Reads go on and show exactly the acknowledged writes.
        let revision = try store.revision
        #expect(revision.rawValue == UInt64(Fixture.basics.count + acknowledged.count))
        #expect(
            try store.events(after: Revision(UInt64(Fixture.basics.count)), limit: 100_000).count == acknowledged.count
        )
        #expect(try objectPKs(store) == Set(acknowledged))

        // Room again: writes resume.
        try store.backend.lock.withLock { _ in
            try store.backend.connection.execute("PRAGMA max_page_count = 1073741823")
        }
        #expect(
            try store.apply(.grant(Fixture.grant(.user("1"), Fixture.car, "view_car", "after"))).revision
                == revision.next
        )
        #expect(try store.bulkGrant(many).count == many.count)
        let reopened = try database.open()
        #expect(try objectPKs(reopened).isSuperset(of: Set(acknowledged + ["after"])))
    }

    private func objectPKs(_ store: SQLiteStore) throws -> Set<String> {
        var pks: Set<String> = []
        for change in try store.snapshot().changes {
            if case .grant(let grant) = change, grant.subject == .user("1"), let pk = grant.pk { pks.insert(pk) }
        }
        return pks
    }
}
