import Foundation
import Testing
import WardenIndex
import WardenModel
import WardenService
import WardenStore

/// Schema version 2: object grants are kept in two tables, `object_grants` keyed by object and
/// `subject_grants` keyed by subject, written by the store itself. They must hold the same rows
/// after every kind of write, and a version 1 file must be upgraded in place.
@Suite("Store: subject_grants and the version 2 migration")
struct SubjectGrantsTests {
    /// Whether both tables hold exactly the same rows; returns how many.
    static func tablesAgree(_ path: String) throws -> Int {
        let objects = Int(try sqliteValue(path, "SELECT count(*) FROM object_grants"))!
        let subjects = Int(try sqliteValue(path, "SELECT count(*) FROM subject_grants"))!
        let both = Int(try sqliteValue(path, "SELECT count(*) FROM object_grants JOIN subject_grants USING (subject, pid, pk)"))!
        #expect(objects == subjects && subjects == both, "object_grants \(objects), subject_grants \(subjects), in both \(both)")
        return objects
    }

    @Test("every write kind keeps subject_grants equal to object_grants, cascades included")
    func tablesAgreeAfterEveryWrite() throws {
        let database = TemporaryDatabase()
        let replica = try IndexReplica(store: try database.open())
        _ = try replica.apply(batch: Fixture.basics)
        var random = SystemRandomNumberGenerator()
        let subjects: [Subject] = [.user("1"), .user("2"), .user("3"), .group("editors")]
        func randomGrants(_ count: Int) -> [Grant] {
            (0..<count).map { _ in
                Fixture.grant(
                    subjects.randomElement(using: &random)!, Fixture.file, ["read_file", "view_file"].randomElement(using: &random)!,
                    "/f\(Int.random(in: 0..<40, using: &random))"
                )
            }
        }
        // A bulk with duplicates inside it and rows already held.
        let first = randomGrants(300)
        let outcome = try replica.bulkGrant(first + first.prefix(50))
        #expect(outcome.count == Set(first.map { "\($0)" }).count)
        #expect(try Self.tablesAgree(database.path) == outcome.count)
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
            _ = try Self.tablesAgree(database.path)
            #expect(try indexEqualsDatabase(replica.index, replica.store))
        }
        #expect(try sqliteValue(database.path, "SELECT count(*) FROM object_grants WHERE subject = -1 OR subject = 2") == "0")
        #expect(try sqliteValue(database.path, "SELECT count(*) FROM object_grants WHERE pk = '/f1' OR CAST(substr(pk, 3) AS INTEGER) >= 30") == "0")
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
        let replica = try IndexReplica(store: try database.open())
        #expect(try sqliteValue(database.path, "PRAGMA user_version") == "2")
        #expect(try sqliteValue(database.path, "SELECT count(*) FROM sqlite_master WHERE name = 'object_grants_by_subject'") == "0")
        #expect(try Self.tablesAgree(database.path) == 6)
        #expect(replica.index.statistics.grants == 7)
        #expect(try indexEqualsDatabase(replica.index, replica.store))
        let read = Fixture.permission(Fixture.file, "read_file")
        let check = CheckRequest(subject: .user("1"), permission: "files.read_file", object: ObjectRef(contentType: "files.file", pk: "/b"))
        #expect(try replica.index.check(check).value.allowed)
        // Cascades find the upgraded rows through subject_grants.
        _ = try replica.apply(.deleteUser(id: "1"))
        #expect(try Self.tablesAgree(database.path) == 3)
        _ = try replica.apply(.deleteGroup(name: "editors"))
        #expect(try Self.tablesAgree(database.path) == 1)
        _ = try replica.apply(.deleteObject(contentType: Fixture.file, pk: "/a"))
        #expect(try Self.tablesAgree(database.path) == 0)
        _ = try replica.apply(.grant(try Grant(subject: .user("2"), permission: read, pk: "/d")))
        #expect(try Self.tablesAgree(database.path) == 1)
        #expect(try indexEqualsDatabase(replica.index, replica.store))
    }
}
