import Foundation
import Testing
import WardenIndex
import WardenModel
import WardenSQLiteStore
import WardenService
import WardenStore

/// Object grants are kept in `object_grants`, keyed by object, and found from their subject
/// through `subject_grants` (single writes, schema version 2) or `subject_packs` (bulk grants,
/// schema version 3). After every kind of write, every row must be found from its subject, and
/// older files must be upgraded in place.
@Suite("Store: the subject side (subject_grants, subject_packs) and its migrations")
struct SubjectGrantsTests {
    /// Whether the subject side covers `object_grants` exactly; returns its row count.
    static func tablesAgree(_ store: SQLiteStore) throws -> Int {
        let audit = try store.subjectIndexAudit()
        #expect(audit.uncovered == 0 && audit.danglingSubjectRows == 0, "\(audit)")
        return audit.objectRows
    }

    @Test("every write kind keeps every object grant reachable from its subject, cascades included")
    func tablesAgreeAfterEveryWrite() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        let replica = try IndexReplica(store: store)
        _ = try replica.apply(batch: Fixture.basics)
        var random = SystemRandomNumberGenerator()
        let subjects: [Subject] = [.user("1"), .user("2"), .user("3"), .group("editors")]
        func randomGrants(_ count: Int) -> [Grant] {
            (0..<count).map { _ in
                Fixture.grant(
                    subjects.randomElement(using: &random)!,
                    Fixture.file,
                    ["read_file", "view_file"].randomElement(using: &random)!,
                    "/f\(Int.random(in: 0..<40, using: &random))"
                )
            }
        }
        // A bulk with duplicates inside it and rows already held.
        let first = randomGrants(300)
        let outcome = try replica.bulkGrant(first + first.prefix(50))
        #expect(outcome.count == Set(first.map { "\($0)" }).count)
        #expect(try Self.tablesAgree(store) == outcome.count)
        #expect(try replica.bulkGrant(first).count == 0)
        for round in 0..<6 {
            switch round {
            case 0: _ = try replica.bulkRevoke(randomGrants(60))
            case 1:
                for grant in randomGrants(20) { _ = try replica.apply(.grant(grant)) }
                for grant in randomGrants(20) { _ = try replica.apply(.revoke(grant)) }
            case 2: _ = try replica.apply(.deleteObject(contentType: Fixture.file, pk: "/f1"))
            case 3: _ = try replica.pruneOrphans(contentType: Fixture.file, livePKs: (0..<30).map { "/f\($0)" })
            case 4: _ = try replica.apply(.deleteUser(id: "2"))
            default: _ = try replica.apply(.deleteGroup(name: "editors"))
            }
            _ = try Self.tablesAgree(store)
            #expect(try indexEqualsDatabase(replica.index, replica.store))
        }
        #expect(
            try sqliteValue(database.path, "SELECT count(*) FROM object_grants WHERE subject = -1 OR subject = 2")
                == "0"
        )
        #expect(
            try sqliteValue(
                database.path,
                "SELECT count(*) FROM object_grants WHERE pk = '/f1' OR CAST(substr(pk, 3) AS INTEGER) >= 30"
            ) == "0"
        )
        #expect(try sqliteValue(database.path, "PRAGMA page_size") == "8192")
        // A fresh process loads the same state.
        let reloaded = try IndexReplica(store: try database.open())
        #expect(try indexEqualsDatabase(reloaded.index, reloaded.store))
    }

    /// Version 1's schema, as Warden wrote it before `subject_grants` (an index on `subject`).
    static let versionOne = """
        CREATE TABLE users (uid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, username TEXT UNIQUE,
            is_active INTEGER NOT NULL, is_superuser INTEGER NOT NULL);
        CREATE TABLE groups (gid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE members (uid INTEGER NOT NULL, gid INTEGER NOT NULL, PRIMARY KEY (uid, gid)) WITHOUT ROWID;
        CREATE INDEX members_by_group ON members (gid);
        CREATE TABLE content_types (ctid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE permissions (pid INTEGER PRIMARY KEY, ctid INTEGER NOT NULL, codename TEXT NOT NULL, UNIQUE (ctid, codename));
        CREATE TABLE model_grants (subject INTEGER NOT NULL, pid INTEGER NOT NULL, revision INTEGER NOT NULL,
            PRIMARY KEY (subject, pid)) WITHOUT ROWID;
        CREATE TABLE object_grants (pid INTEGER NOT NULL, pk TEXT NOT NULL, subject INTEGER NOT NULL, revision INTEGER NOT NULL,
            PRIMARY KEY (pid, pk, subject)) WITHOUT ROWID;
        CREATE INDEX object_grants_by_subject ON object_grants (subject);
        CREATE TABLE changelog (revision INTEGER PRIMARY KEY, time INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL);
        CREATE TABLE removed_rows (revision INTEGER NOT NULL, pid INTEGER NOT NULL, pk TEXT, subject INTEGER NOT NULL);
        CREATE INDEX removed_rows_by_revision ON removed_rows (revision);
        PRAGMA user_version = 1;
        """

    @Test("a file written by schema version 1 is upgraded in place: its grants load, and cascades still remove them")
    func upgradesVersionOne() throws {
        let database = TemporaryDatabase()
        try sqlite(
            database.path,
            Self.versionOne + """
                INSERT INTO content_types (ctid, name) VALUES (1, 'files.file');
                INSERT INTO permissions (pid, ctid, codename) VALUES (1, 1, 'read_file'), (2, 1, 'view_file');
                INSERT INTO users (uid, id, username, is_active, is_superuser) VALUES (1, '1', 'ada', 1, 0), (2, '2', 'joe', 1, 0);
                INSERT INTO groups (gid, name) VALUES (1, 'editors');
                INSERT INTO members (uid, gid) VALUES (1, 1);
                INSERT INTO object_grants (pid, pk, subject, revision) VALUES
                    (1, '/a', 1, 1), (2, '/a', 1, 1), (1, '/b', 1, 1), (1, '/a', 2, 1), (1, '/b', -1, 1), (2, '/c', -1, 1);
                INSERT INTO model_grants (subject, pid, revision) VALUES (2, 2, 1);
                INSERT INTO changelog (revision, time, kind, payload) VALUES (1, 0, 'BULK_GRANTED', '{"count":7}');
                """
        )
        let store = try database.open()
        let replica = try IndexReplica(store: store)
        #expect(try sqliteValue(database.path, "PRAGMA user_version") == "3")
        // A file made elsewhere keeps its page size (SQLite's default); new files get 8 KiB.
        #expect(try sqliteValue(database.path, "PRAGMA page_size") == "4096")
        #expect(
            try sqliteValue(database.path, "SELECT count(*) FROM sqlite_master WHERE name = 'object_grants_by_subject'")
                == "0"
        )
        #expect(try Self.tablesAgree(store) == 6)
        #expect(replica.index.statistics.grants == 7)
        #expect(try indexEqualsDatabase(replica.index, replica.store))
        let read = Fixture.permission(Fixture.file, "read_file")
        let check = CheckRequest(
            subject: .user("1"),
            permission: "files.read_file",
            object: ObjectRef(contentType: "files.file", pk: "/b")
        )
        #expect(try replica.index.check(check).value.allowed)
        // Cascades find the upgraded rows through subject_grants, and bulk rows through packs.
        _ = try replica.apply(.deleteUser(id: "1"))
        #expect(try Self.tablesAgree(store) == 3)
        _ = try replica.apply(.deleteGroup(name: "editors"))
        #expect(try Self.tablesAgree(store) == 1)
        _ = try replica.apply(.deleteObject(contentType: Fixture.file, pk: "/a"))
        #expect(try Self.tablesAgree(store) == 0)
        _ = try replica.apply(.grant(try Grant(subject: .user("2"), permission: read, pk: "/d")))
        #expect(try Self.tablesAgree(store) == 1)
        #expect(try indexEqualsDatabase(replica.index, replica.store))
    }

    @Test("a bulk packs only its new rows; stale entries are counted and compacted; cascades clear packs")
    func packsAndCompaction() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        let replica = try IndexReplica(store: store)
        _ = try replica.apply(batch: Fixture.basics)
        func grants(_ user: String, _ range: Range<Int>) -> [Grant] {
            range.map { Fixture.grant(.user(user), Fixture.file, "read_file", "/p\($0)") }
        }
        _ = try replica.bulkGrant(grants("1", 0..<3000) + grants("2", 0..<10))
        var audit = try store.subjectIndexAudit()
        #expect(audit.packedEntries == 3010 && audit.staleEntries == 0 && audit.uncovered == 0)
        // Rows already held are not packed again; only the new ones are.
        _ = try replica.bulkGrant(grants("1", 2900..<3100))
        audit = try store.subjectIndexAudit()
        #expect(audit.packedEntries == 3110 && audit.objectRows == 3110)
        // Revoking 1,400 leaves them stale: below half of the packed entries, no compaction yet.
        _ = try replica.bulkRevoke(grants("1", 0..<1400))
        audit = try store.subjectIndexAudit()
        #expect(audit.packedEntries == 3110 && audit.staleEntries == 1400)
        #expect(try sqliteValue(database.path, "SELECT stale FROM subject_pack_stale WHERE subject = 1") == "1400")
        // 200 more make 1,600 stale entries of user 1, at least half of its 3,100: at the end of
        // the call its packs become one pack of the 1,500 rows left, and its count starts again.
        _ = try replica.bulkRevoke(grants("1", 1400..<1600))
        audit = try store.subjectIndexAudit()
        #expect(audit.objectRows == 1510 && audit.uncovered == 0)
        #expect(audit.packedEntries == 1510 && audit.staleEntries == 0)
        #expect(try sqliteValue(database.path, "SELECT count(*) FROM subject_packs WHERE subject = 1") == "1")
        #expect(try sqliteValue(database.path, "SELECT count(*) FROM subject_pack_stale WHERE subject = 1") == "0")
        // A revoked row granted again singly is in subject_grants too; the cascade takes both.
        _ = try replica.apply(.revoke(grants("1", 2000..<2001)[0]))
        _ = try replica.apply(.grant(grants("1", 2000..<2001)[0]))
        #expect(try Self.tablesAgree(store) == 1510)
        #expect(try sqliteValue(database.path, "SELECT stale FROM subject_pack_stale WHERE subject = 1") == "1")
        _ = try replica.apply(.deleteUser(id: "1"))
        audit = try store.subjectIndexAudit()
        #expect(audit.objectRows == 10 && audit.packedEntries == 10 && audit.uncovered == 0)
        #expect(try sqliteValue(database.path, "SELECT count(*) FROM subject_pack_stale") == "0")
        #expect(try indexEqualsDatabase(replica.index, replica.store))
    }

    @Test("a malformed pack written by another tool is a store error, not a crash, and changes nothing")
    func malformedPack() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        let replica = try IndexReplica(store: store)
        _ = try replica.apply(batch: Fixture.basics)
        _ = try replica.bulkGrant([Fixture.grant(.user("1"), Fixture.file, "read_file", "/a")])
        try sqlite(database.path, "UPDATE subject_packs SET pks = X'01FF' WHERE subject = 1")
        #expect(throws: StoreError.self) { try replica.apply(.deleteUser(id: "1")) }
        #expect(try sqliteValue(database.path, "SELECT count(*) FROM object_grants") == "1")
        #expect(try sqliteValue(database.path, "SELECT count(*) FROM users WHERE id = '1'") == "1")
    }
}
