import Foundation
import Testing
import WardenIndex
import WardenModel
import WardenService
import WardenStore

@testable import WardenPostgresStore

/// PostgreSQL's subject side (schema version 2): object grants are found from their subject
/// through `subject_grants` (single writes) and `subject_packs` (one row per subject and bulk),
/// not through an index on `object_grants (subject)`. After every kind of write, every row must
/// be found from its subject, so that a user or group cascade removes all of it; a version 1
/// database is upgraded in place.
@Suite(
    "PostgreSQL backend: the subject side (subject_grants, subject_packs)",
    .enabled(if: PostgresTestServer.isEnabled)
)
struct PostgresSubjectSideTests {
    /// What the audit found: object rows, rows found neither in `subject_grants` nor in a pack of
    /// their subject, `subject_grants` rows naming no object row, and packed entries.
    struct Audit: Equatable, CustomStringConvertible {
        let objectRows: Int
        let uncovered: Int
        let danglingSubjectRows: Int
        let packedEntries: Int
        var description: String {
            "\(objectRows) object rows, \(uncovered) uncovered, \(danglingSubjectRows) dangling subject_grants rows, \(packedEntries) packed entries"
        }
    }

    static func audit(_ uri: String) throws -> Audit {
        let row = try PostgresTestServer.execute(
            uri,
            """
            SELECT (SELECT count(*) FROM object_grants),
                (SELECT count(*) FROM object_grants o
                 WHERE NOT EXISTS (SELECT 1 FROM subject_grants s WHERE s.subject = o.subject AND s.pid = o.pid AND s.pk = o.pk)
                 AND NOT EXISTS (
                     SELECT 1 FROM subject_packs p, unnest(p.pids, p.pks) AS u (pid, pk)
                     WHERE p.subject = o.subject AND u.pid = o.pid AND u.pk = o.pk
                 )),
                (SELECT count(*) FROM subject_grants s
                 WHERE NOT EXISTS (SELECT 1 FROM object_grants o WHERE o.subject = s.subject AND o.pid = s.pid AND o.pk = s.pk)),
                (SELECT COALESCE(sum(cardinality(pids)), 0) FROM subject_packs)
            """
        )[0].map { Int($0 ?? "") ?? -1 }
        return Audit(objectRows: row[0], uncovered: row[1], danglingSubjectRows: row[2], packedEntries: row[3])
    }

    /// Audits and expects full coverage; returns the object row count.
    @discardableResult
    static func covered(_ uri: String, _ step: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int
    {
        let audit = try audit(uri)
        #expect(
            audit.uncovered == 0 && audit.danglingSubjectRows == 0,
            "after \(step): \(audit)",
            sourceLocation: sourceLocation
        )
        return audit.objectRows
    }

    static func grants(
        _ subject: Subject,
        _ codename: String,
        _ pks: some Sequence<Int>,
        _ prefix: String = "/b"
    ) -> [Grant] {
        pks.map { Fixture.grant(subject, Fixture.file, codename, "\(prefix)\($0)") }
    }

    static let subjects: [Subject] = [.user("1"), .user("2"), .user("3"), .group("editors")]

    @Test(
        "every write kind keeps every object grant reachable from its subject; deleting the subjects removes all their rows"
    )
    func everyWriteKindCovered() throws {
        let database = TemporaryDatabase()
        let uri = try database.postgresURI()
        let replica = try IndexReplica(store: try database.openPostgres())
        _ = try replica.apply(batch: Fixture.basics)
        func step(_ name: String) throws -> Int {
            let rows = try Self.covered(uri, name)
            #expect(try indexEqualsDatabase(replica.index, replica.store), "after \(name)")
            return rows
        }
        // Single grants: 10 of user 1, 5 of the group, and a model grant.
        let singles =
            Self.grants(.user("1"), "read_file", 0..<10, "/s")
            + Self.grants(.group("editors"), "view_file", 0..<5, "/s")
        for grant in singles { _ = try replica.apply(.grant(grant)) }
        _ = try replica.apply(.grant(Fixture.grant(.user("3"), Fixture.file, "view_file")))
        #expect(try step("single grants") == 15)
        // A bulk with duplicates inside it and rows already held (singles): only new rows count.
        let bulk = Self.subjects.flatMap { Self.grants($0, "read_file", 0..<50) + Self.grants($0, "view_file", 0..<50) }
        #expect(try replica.bulkGrant(bulk + bulk.prefix(50) + singles).count == 400)
        #expect(try step("a bulk grant") == 415)
        #expect(try Self.audit(uri).packedEntries == 400)
        #expect(try PostgresTestServer.execute(uri, "SELECT count(*) FROM subject_packs") == [["4"]])
        // The same bulk again adds nothing, and no pack.
        #expect(try replica.bulkGrant(bulk).count == 0)
        #expect(try PostgresTestServer.execute(uri, "SELECT count(*) FROM subject_packs") == [["4"]])
        // Single revokes of a single row and of a bulk row.
        _ = try replica.apply(.revoke(singles[0]))
        _ = try replica.apply(.revoke(Self.grants(.user("2"), "read_file", [0])[0]))
        #expect(try step("single revokes") == 413)
        // A bulk revoke of bulk rows and of a single row.
        #expect(try replica.bulkRevoke(Self.grants(.user("3"), "view_file", 0..<20) + [singles[1]]).count == 21)
        #expect(try step("a bulk revoke") == 392)
        // Deleting objects: bulk rows of every subject, and single rows.
        _ = try replica.apply(.deleteObject(contentType: Fixture.file, pk: "/b1"))
        _ = try replica.apply(.deleteObject(contentType: Fixture.file, pk: "/s2"))
        #expect(try step("deleteObject") == 383)
        // Pruning orphans: /b40.../b49 go.
        let live = (0..<40).map { "/b\($0)" } + (0..<10).map { "/s\($0)" }
        #expect(try replica.pruneOrphans(contentType: Fixture.file, livePKs: live).count == 80)
        #expect(try step("pruneOrphans") == 303)
        // Revoked bulk rows granted again: singly (subject_grants), and by a bulk (a new pack).
        _ = try replica.apply(.grant(Self.grants(.user("2"), "read_file", [0])[0]))
        #expect(try replica.bulkGrant(Self.grants(.user("3"), "view_file", 0..<5)).count == 5)
        #expect(try step("re-grants") == 309)
        // Deleting the subjects removes every one of their rows, their subject_grants and packs.
        _ = try replica.apply(.deleteUser(id: "2"))
        #expect(try PostgresTestServer.execute(uri, "SELECT count(*) FROM object_grants WHERE subject = 2") == [["0"]])
        #expect(try step("deleting user 2") > 0)
        _ = try replica.apply(.deleteGroup(name: "editors"))
        _ = try replica.apply(.deleteUser(id: "1"))
        _ = try replica.apply(.deleteUser(id: "3"))
        #expect(try step("deleting the subjects") == 0)
        #expect(
            try PostgresTestServer.execute(
                uri,
                "SELECT (SELECT count(*) FROM object_grants) + (SELECT count(*) FROM subject_grants) + (SELECT count(*) FROM subject_packs)"
            ) == [["0"]]
        )
        #expect(try PostgresTestServer.execute(uri, "SELECT count(*) FROM model_grants") == [["0"]])
        // A fresh process loads the same state.
        let reloaded = try IndexReplica(store: try database.openPostgres())
        #expect(try indexEqualsDatabase(reloaded.index, reloaded.store))
    }

    @Test(
        "a version 1 database is upgraded in place: its rows load, are found from their subjects, and cascades remove them"
    )
    func upgradesVersionOne() throws {
        let database = TemporaryDatabase()
        let uri = try database.postgresURI()
        try PostgresTestServer.execute(
            uri,
            """
            CREATE TABLE warden_schema (version integer NOT NULL);
            INSERT INTO warden_schema (version) VALUES (1);
            \(PostgresSchema.migrations[0]);
            INSERT INTO content_types (name) VALUES ('files.file');
            INSERT INTO permissions (type_id, codename) VALUES (1, 'read_file'), (1, 'view_file');
            INSERT INTO users (id, username, is_active, is_superuser) VALUES ('1', 'ada', true, false), ('2', 'joe', true, false);
            INSERT INTO groups (name) VALUES ('editors');
            INSERT INTO members (uid, gid) VALUES (1, 1);
            INSERT INTO object_grants (pid, pk, subject, revision) VALUES
                (1, '/a', 1, 1), (2, '/a', 1, 1), (1, '/b', 1, 1), (1, '/a', 2, 1), (1, '/b', -1, 1), (2, '/c', -1, 1);
            INSERT INTO model_grants (subject, pid, revision) VALUES (2, 2, 1);
            INSERT INTO changelog (revision, time, kind, payload) VALUES (1, 0, 'BULK_GRANTED', '{"count":7}');
            UPDATE warden_revision SET revision = 1;
            """
        )
        let store = try database.openPostgres()
        #expect(store.backend.previousSchemaVersion == 1)
        #expect(try PostgresTestServer.execute(uri, "SELECT version FROM warden_schema") == [["2"]])
        #expect(
            try PostgresTestServer.execute(uri, "SELECT to_regclass('object_grants_by_subject') IS NULL") == [["t"]]
        )
        #expect(try Self.covered(uri, "the upgrade") == 6)
        #expect(try PostgresTestServer.execute(uri, "SELECT count(*) FROM subject_grants") == [["6"]])
        let replica = try IndexReplica(store: store)
        #expect(replica.index.statistics.grants == 7)
        #expect(try indexEqualsDatabase(replica.index, replica.store))
        let check = CheckRequest(
            subject: .user("1"),
            permission: "files.read_file",
            object: ObjectRef(contentType: "files.file", pk: "/b")
        )
        #expect(try replica.index.check(check).value.allowed)
        // A bulk after the upgrade is packed; cascades find both kinds.
        #expect(
            try replica.bulkGrant(
                Self.grants(.user("1"), "read_file", 0..<3) + Self.grants(.group("editors"), "read_file", [0])
            ).count == 4
        )
        #expect(try Self.covered(uri, "a bulk after the upgrade") == 10)
        _ = try replica.apply(.deleteUser(id: "1"))
        #expect(try Self.covered(uri, "deleting user 1") == 4)
        _ = try replica.apply(.deleteGroup(name: "editors"))
        #expect(try Self.covered(uri, "deleting the group") == 1)
        #expect(
            try PostgresTestServer.execute(uri, "SELECT subject, pid, pk FROM object_grants") == [["2", "1", "/a"]]
        )
        #expect(try indexEqualsDatabase(replica.index, replica.store))
    }
}
