import Foundation
import Testing
import WardenIndex
import WardenModel
import WardenSQLiteStore
import WardenService
import WardenStore

@Suite("Store: schema, changelog, followers")
struct ChangelogTests {
    @Test("a new file gets the current schema; an older one is upgraded; a newer one is refused untouched")
    func migrations() throws {
        let database = TemporaryDatabase()
        #expect(try database.open().schemaVersion >= 1)
        // An empty file from before any schema (version 0) is upgraded in place.
        let older = TemporaryDatabase()
        FileManager.default.createFile(atPath: older.path, contents: Data())
        let upgraded = try older.open()
        #expect(upgraded.schemaVersion >= 1)
        _ = try upgraded.apply(.putGroup(name: "g"))
        // A file stamped by a newer Warden is refused, and left as it was.
        let newer = TemporaryDatabase()
        let store = try newer.open()
        _ = try store.apply(.putGroup(name: "g"))
        try sqlite(newer.path, "PRAGMA user_version = 99")
        do {
            _ = try newer.open()
            Issue.record("opened a newer schema")
        } catch let error as StoreError {
            #expect(error.code == .failedPrecondition && error.message.contains("99"))
        }
        #expect(try sqliteValue(newer.path, "PRAGMA user_version") == "99")
    }

    @Test("invalid UTF-8 written into the file by another tool is refused, never repaired into another id")
    func invalidUTF8() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        _ = try store.apply(.putUser(Fixture.user("1")))
        // 0xC3 0x28 is not UTF-8; String(decoding:) would turn it into "\u{FFFD}(".
        try sqlite(
            database.path,
            "INSERT INTO users (id, is_active, is_superuser) VALUES (CAST(X'C328' AS TEXT), 1, 0)"
        )
        do {
            _ = try store.snapshot()
            Issue.record("loaded invalid UTF-8")
        } catch {
            #expect(error.code == .internal && error.cause?.contains("invalid UTF-8") == true)
        }
    }

    @Test(
        "retention by count and by age keeps the newest event and names the oldest retained",
        arguments: BackendUnderTest.all
    )
    func retention(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let store = try backend.open(database)
        for n in 0..<50 { _ = try store.apply(.putGroup(name: "g\(n)")) }
        #expect(try store.pruneChangelog(RetentionPolicy(maxEvents: 10, maxAgeMilliseconds: 3_600_000)) == 40)
        #expect(try store.events(after: Revision(40)).count == 10)
        do {
            _ = try store.events(after: Revision(5))
            Issue.record("read pruned events")
        } catch {
            #expect(error.code == .outOfRange && error.oldestRetained == Revision(41) && error.message.contains("41"))
        }
        // By age: everything older than a minute from a clock an hour ahead goes, but the newest stays.
        let later = StoreClock.now() + 3_600_000
        #expect(try store.pruneChangelog(RetentionPolicy(maxEvents: 1000, maxAgeMilliseconds: 60_000), now: later) == 9)
        #expect(try store.revision == Revision(50))
        #expect(try store.events(after: Revision(49)).map(\.revision) == [Revision(50)])
        // Reading from the current revision is never out of range.
        #expect(try store.events(after: Revision(50)).isEmpty)
    }

    @Test("a follower that fell behind retention reloads from a snapshot", arguments: BackendUnderTest.all)
    func followerReloads(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let writer = try IndexReplica(store: backend.open(database))
        let follower = try IndexReplica(store: backend.open(database))
        for change in Fixture.basics { _ = try writer.apply(change) }
        for n in 0..<20 { _ = try writer.apply(.grant(Fixture.grant(.user("1"), Fixture.car, "view_car", "\(n)"))) }
        try writer.store.pruneChangelog(RetentionPolicy(maxEvents: 5))
        #expect(try follower.catchUp() == writer.index.revision)
        #expect(try indexEqualsDatabase(follower.index, follower.store))
    }

    @Test(
        "min_revision: a read waits for catch-up, or fails UNAVAILABLE at its deadline",
        arguments: BackendUnderTest.all
    )
    func minRevision(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let writer = try IndexReplica(store: backend.open(database))
        let follower = try IndexReplica(store: backend.open(database))
        let outcome = try writer.apply(.putGroup(name: "late"))
        #expect(try follower.waitFor(outcome.revision, timeout: .seconds(5)) >= outcome.revision)
        do {
            _ = try follower.waitFor(outcome.revision.next.next, timeout: .milliseconds(50))
            Issue.record("answered from an older state")
        } catch {
            #expect(error.code == .unavailable)
        }
    }

    @Test(
        "a following replica sees another connection's writes, bulk included, within a bounded time",
        arguments: BackendUnderTest.all
    )
    func following(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let writer = try IndexReplica(store: backend.open(database))
        let follower = try IndexReplica(store: backend.open(database))
        follower.startFollowing()
        defer { follower.stop() }
        for change in Fixture.basics { _ = try writer.apply(change) }
        let bulk = try writer.bulkGrant((0..<1000).map { Fixture.grant(.user("2"), Fixture.car, "drive_car", "\($0)") })
        // The writes may all commit before the follower's store listens for commits (PostgreSQL's
        // LISTEN connection takes a while): it must catch up all the same, with no later commit.
        #expect(poll { follower.index.revision >= bulk.revision })
        #expect(follower.index.revision == bulk.revision)
        #expect(try indexEqualsDatabase(follower.index, follower.store))
    }
}

/// Runs SQL on a file through its own connection (the `sqlite3` shell may not be installed).
func sqlite(_ path: String, _ sql: String) throws {
    let store = try SQLiteStoreProbe(path: path)
    try store.execute(sql)
}

func sqliteValue(_ path: String, _ sql: String) throws -> String {
    try SQLiteStoreProbe(path: path).value(sql)
}
