import Foundation
import Testing
import WardenIndex
import WardenModel
import WardenService
import WardenStore

/// A snapshot reads every row of a store to load an index at start, by the fastest means it has
/// (keys index arrays, each subject checked once, a pk's string shared by the rows that repeat
/// it, ASCII text copied without the generic UTF-8 check): what it loads is exactly what the
/// store holds, and what breaks a rule still fails the load with that rule.
@Suite("Snapshot: reading a whole store")
struct SnapshotReadTests {
    /// pks that follow one another in key order and differ by little: a run of one pk, a pk that
    /// extends the one before, one as long as the one before, non-ASCII ones, the longest allowed.
    static let pks = [
        "a", "a", "a", "ab", "ac", "a\u{e9}", "a\u{e9}b", "\u{65e5}\u{672c}", "b", String(repeating: "z", count: 255),
    ]

    @Test("runs of one pk, pks that share a prefix and non-ASCII pks load exactly", arguments: BackendUnderTest.all)
    func exactRows(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let store = try backend.open(database)
        _ = try store.apply(batch: Fixture.basics)
        var grants: [Grant] = []
        for (n, pk) in Self.pks.enumerated() {
            let subject: Subject = n % 4 == 3 ? .group("editors") : .user("\(n % 3 + 1)")
            grants.append(Fixture.grant(subject, Fixture.file, "read_file", pk))
            grants.append(Fixture.grant(.user("1"), Fixture.car, n % 2 == 0 ? "drive_car" : "view_car", pk))
        }
        grants.append(Fixture.grant(.group("editors"), Fixture.order, "change_order"))
        for grant in grants { _ = try store.apply(.grant(grant)) }
        // A bulk grant writes its rows another way (subject packs): read back the same.
        let bulk = (0..<50).map { Fixture.grant(.user("\($0 % 3 + 1)"), Fixture.file, "read_file", "bulk-\($0 / 5)") }
        _ = try store.bulkGrant(bulk)

        let snapshot = try store.snapshot()
        let loaded = Set(
            snapshot.changes.compactMap { change -> Grant? in
                if case .grant(let grant) = change { grant } else { nil }
            }
        )
        #expect(fingerprint(loaded.map(Change.grant)) == fingerprint(Set(grants + bulk).map(Change.grant)))
        let replica = try IndexReplica(store: backend.open(database))
        #expect(try indexEqualsDatabase(replica.index, store))
        // In chunks as small as one change, the same state.
        var chunked: [Change] = []
        #expect(try store.snapshot(chunkSize: 1) { chunked += $0 } == snapshot.revision)
        #expect(fingerprint(chunked) == fingerprint(snapshot.changes))
    }

    @Test("invalid UTF-8 in a stored pk, right after a valid pk it begins with, is refused, never repaired")
    func invalidPK() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        _ = try store.apply(batch: Fixture.basics)
        _ = try store.apply(.grant(Fixture.grant(.user("1"), Fixture.file, "read_file", "a")))
        // `a` then `a` 0xC3 0x28 (not UTF-8) on the same permission: read one after the other.
        let pid = try sqliteValue(database.path, "SELECT pid FROM permissions WHERE codename = 'read_file'")
        let uid = try sqliteValue(database.path, "SELECT uid FROM users WHERE id = '1'")
        try sqlite(
            database.path,
            "INSERT INTO object_grants (pid, pk, subject, revision) VALUES (\(pid), CAST(X'61C328' AS TEXT), \(uid), 1)"
        )
        do {
            _ = try store.snapshot()
            Issue.record("loaded invalid UTF-8")
        } catch {
            #expect(error.code == .internal && error.cause?.contains("invalid UTF-8") == true)
        }
    }

    @Test("keys far apart (a uid and a gid in the billions) load as dense ones do")
    func sparseKeys() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        _ = try store.apply(batch: Fixture.basics)
        let grants = [
            Fixture.grant(.user("2"), Fixture.file, "read_file", "f1"),
            Fixture.grant(.user("2"), Fixture.car, "drive_car"),
            Fixture.grant(.group("editors"), Fixture.file, "read_file", "f2"),
            Fixture.grant(.user("1"), Fixture.file, "read_file", "f2"),
        ]
        for grant in grants { _ = try store.apply(.grant(grant)) }
        let uid = try sqliteValue(database.path, "SELECT uid FROM users WHERE id = '2'")
        let gid = try sqliteValue(database.path, "SELECT gid FROM groups WHERE name = 'editors'")
        let (bigUID, bigGID) = (7_000_000_000, 9_000_000_000)
        try sqlite(
            database.path,
            """
            UPDATE users SET uid = \(bigUID) WHERE uid = \(uid);
            UPDATE groups SET gid = \(bigGID) WHERE gid = \(gid);
            UPDATE members SET gid = \(bigGID) WHERE gid = \(gid);
            UPDATE model_grants SET subject = \(bigUID) WHERE subject = \(uid);
            UPDATE object_grants SET subject = \(bigUID) WHERE subject = \(uid);
            UPDATE object_grants SET subject = -\(bigGID) WHERE subject = -\(gid);
            UPDATE subject_grants SET subject = \(bigUID) WHERE subject = \(uid);
            UPDATE subject_grants SET subject = -\(bigGID) WHERE subject = -\(gid);
            """
        )
        let snapshot = try store.snapshot()
        let loaded = snapshot.changes.compactMap { change -> Grant? in
            if case .grant(let grant) = change { grant } else { nil }
        }
        #expect(fingerprint(loaded.map(Change.grant)) == fingerprint(grants.map(Change.grant)))
        #expect(snapshot.changes.contains(.addMember(user: "1", group: "editors")))
        let replica = try IndexReplica(store: database.open())
        #expect(try indexEqualsDatabase(replica.index, store))
    }

    @Test("a grant of a stored group whose name breaks its rule fails the load, naming the rule")
    func invalidSubject() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        _ = try store.apply(batch: Fixture.basics)
        _ = try store.apply(.grant(Fixture.grant(.group("editors"), Fixture.file, "read_file", "f1")))
        // Written by another tool: a name with a NUL byte, which no write of Warden's accepts.
        try sqlite(database.path, "UPDATE groups SET name = CAST(X'656400' AS TEXT) WHERE name = 'editors'")
        do {
            _ = try store.snapshot()
            Issue.record("loaded a group name with a NUL byte")
        } catch {
            #expect(error.code == .internal && error.cause?.contains("NUL") == true)
        }
    }
}
