import WardenModel
import WardenStore

/// A write transaction's state: the revision the counter held when the transaction locked it,
/// and the newest revision appended since (restored when a savepoint rolls back).
final class WriteTransaction {
    let connection: PostgresConnection
    let locked: Revision
    var appended: Revision?

    init(connection: PostgresConnection, locked: Revision) {
        self.connection = connection
        self.locked = locked
    }
}

/// A write transaction on the write connection (`READ COMMITTED`, holding the revision lock,
/// under `PostgresBackend.writeLock`). Inserts never raise a unique violation (`ON CONFLICT DO
/// NOTHING`, then the affected row count), so a failed statement is a real failure.
public struct PostgresWriter: PostgresReading, BackendWriter {
    let transaction: WriteTransaction
    var connection: PostgresConnection { transaction.connection }

    /// The write connection's session setup: the temporary table bulk writes `COPY` into,
    /// emptied at each commit; and no JIT compilation, which the planner starts for a bulk's
    /// 100k-row statement and which cost it about 0.3 s of its 1 s here.
    static let setup = [
        "CREATE TEMP TABLE IF NOT EXISTS bulk_rows (pid bigint, pk text COLLATE \"C\", subject bigint) ON COMMIT DELETE ROWS",
        "SET jit = off",
    ]

    /// The counter as locked, or the newest revision this transaction appended.
    public func latestRevision() throws -> Revision {
        max(transaction.locked, transaction.appended ?? .zero)
    }

    public func savepoint<T>(_ body: () throws -> T) throws -> Result<T, any Error> {
        try connection.execute("SAVEPOINT write")
        let appended = transaction.appended
        do {
            let value = try body()
            try connection.execute("RELEASE SAVEPOINT write")
            return .success(value)
        } catch {
            transaction.appended = appended
            do {
                // A failed statement aborts the transaction until this rollback.
                try connection.execute("ROLLBACK TO SAVEPOINT write")
                try connection.execute("RELEASE SAVEPOINT write")
            } catch _ {
                // The connection broke: the whole transaction fails, with the first cause.
                throw error
            }
            return .failure(error)
        }
    }

    /// Runs a statement; true when it affected a row.
    private func changed(_ sql: String, _ parameters: [String?]) throws -> Bool {
        try connection.query(sql, parameters).affected > 0
    }

    // MARK: Users, groups, memberships

    public func userKey(_ id: String) throws -> Int64? {
        let rows = try connection.query("SELECT uid FROM users WHERE id = $1", [id])
        return rows.rows > 0 ? rows.int64(0, 0) : nil
    }

    public func user(_ id: String) throws -> UserRow? {
        let rows = try connection.query("SELECT username, is_active, is_superuser FROM users WHERE id = $1", [id])
        guard rows.rows > 0 else { return nil }
        return UserRow(username: try rows.optionalText(0, 0), isActive: rows.bool(0, 1), isSuperuser: rows.bool(0, 2))
    }

    public func usernameOwner(_ username: String, other id: String) throws -> String? {
        let rows = try connection.query("SELECT id FROM users WHERE username = $1 AND id <> $2", [username, id])
        return rows.rows > 0 ? try rows.text(0, 0) : nil
    }

    public func insertUser(_ user: User) throws {
        try connection.query(
            "INSERT INTO users (id, username, is_active, is_superuser) VALUES ($1, $2, $3, $4)",
            [user.id, user.username, Self.bool(user.isActive), Self.bool(user.isSuperuser)]
        )
    }

    public func updateUser(_ user: User) throws {
        try connection.query(
            "UPDATE users SET username = $1, is_active = $2, is_superuser = $3 WHERE id = $4",
            [user.username, Self.bool(user.isActive), Self.bool(user.isSuperuser), user.id]
        )
    }

    public func deleteUser(uid: Int64) throws {
        try connection.query("DELETE FROM users WHERE uid = $1", [String(uid)])
    }

    public func groupKey(_ name: String) throws -> Int64? {
        let rows = try connection.query("SELECT gid FROM groups WHERE name = $1", [name])
        return rows.rows > 0 ? rows.int64(0, 0) : nil
    }

    public func insertGroup(_ name: String) throws -> Bool {
        try changed("INSERT INTO groups (name) VALUES ($1) ON CONFLICT DO NOTHING", [name])
    }

    public func deleteGroup(gid: Int64) throws {
        try connection.query("DELETE FROM groups WHERE gid = $1", [String(gid)])
    }

    public func insertMembership(uid: Int64, gid: Int64) throws -> Bool {
        try changed(
            "INSERT INTO members (uid, gid) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [String(uid), String(gid)]
        )
    }

    public func deleteMembership(uid: Int64, gid: Int64) throws -> Bool {
        try changed("DELETE FROM members WHERE uid = $1 AND gid = $2", [String(uid), String(gid)])
    }

    public func deleteMemberships(uid: Int64) throws {
        try connection.query("DELETE FROM members WHERE uid = $1", [String(uid)])
    }

    public func deleteMemberships(gid: Int64) throws {
        try connection.query("DELETE FROM members WHERE gid = $1", [String(gid)])
    }

    // MARK: Content types and permissions

    public func insertContentType(_ name: String) throws -> (ctid: Int64, inserted: Bool) {
        // The outer SELECT does not see the row the CTE inserts (one snapshot): one row either way.
        let rows = try connection.query(
            """
            WITH inserted AS (INSERT INTO content_types (name) VALUES ($1) ON CONFLICT DO NOTHING RETURNING type_id)
            SELECT type_id, true FROM inserted UNION ALL SELECT type_id, false FROM content_types WHERE name = $1
            """,
            [name]
        )
        return (rows.int64(0, 0), rows.bool(0, 1))
    }

    public func insertPermission(ctid: Int64, codename: String) throws -> Bool {
        try changed(
            "INSERT INTO permissions (type_id, codename) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [String(ctid), codename]
        )
    }

    public func permissionCount(ctid: Int64) throws -> Int {
        Int(try connection.query("SELECT count(*) FROM permissions WHERE type_id = $1", [String(ctid)]).int64(0, 0))
    }

    public func permissions(codename: String, appLabel: String) throws -> [(pid: Int64, contentType: String)] {
        let rows = try connection.query(
            "SELECT pid, name FROM permissions JOIN content_types USING (type_id) WHERE codename = $1 AND starts_with(name, $2)",
            [codename, appLabel + "."]
        )
        return try (0..<rows.rows).map { row in (rows.int64(row, 0), try rows.text(row, 1)) }
    }

    // MARK: Grants

    public func insertModelGrant(subject: Int64, pid: Int64, revision: Revision) throws -> Bool {
        try changed(
            "INSERT INTO model_grants (subject, pid, revision) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [String(subject), String(pid), String(revision.rawValue)]
        )
    }

    public func deleteModelGrant(subject: Int64, pid: Int64) throws -> Bool {
        try changed("DELETE FROM model_grants WHERE subject = $1 AND pid = $2", [String(subject), String(pid)])
    }

    /// A new row goes to `subject_grants` too, in the same statement.
    public func insertObjectGrant(pid: Int64, pk: String, subject: Int64, revision: Revision) throws -> Bool {
        try connection.query(
            """
            WITH new AS (
                INSERT INTO object_grants (pid, pk, subject, revision) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING
                RETURNING pid, pk, subject
            ), side AS (INSERT INTO subject_grants (subject, pid, pk) SELECT subject, pid, pk FROM new ON CONFLICT DO NOTHING)
            SELECT count(*) FROM new
            """,
            [String(pid), pk, String(subject), String(revision.rawValue)]
        ).int64(0, 0) > 0
    }

    /// A pack entry naming the row stays, stale: a cascade deleting a row that is gone deletes
    /// nothing, and the subject's packs go with its cascade.
    public func deleteObjectGrant(pid: Int64, pk: String, subject: Int64) throws -> Bool {
        try connection.query(
            """
            WITH gone AS (DELETE FROM object_grants WHERE pid = $1 AND pk = $2 AND subject = $3 RETURNING 1),
            side AS (DELETE FROM subject_grants WHERE subject = $3 AND pid = $1 AND pk = $2)
            SELECT count(*) FROM gone
            """,
            [String(pid), pk, String(subject)]
        ).int64(0, 0) > 0
    }

    /// The subject's object rows are found through `subject_grants` and its packs (a packed
    /// row that is gone deletes nothing; one found twice is deleted once); both go with them.
    public func deleteGrants(subject: Int64) throws {
        try connection.query("DELETE FROM model_grants WHERE subject = $1", [String(subject)])
        try connection.query(
            """
            WITH single AS (DELETE FROM subject_grants WHERE subject = $1 RETURNING pid, pk),
            packed AS (DELETE FROM subject_packs WHERE subject = $1 RETURNING pids, pks)
            DELETE FROM object_grants o USING (
                SELECT pid, pk FROM single UNION ALL SELECT u.pid, u.pk FROM packed, unnest(packed.pids, packed.pks) AS u (pid, pk)
            ) r
            WHERE o.pid = r.pid AND o.pk = r.pk AND o.subject = $1
            """,
            [String(subject)]
        )
    }

    public func deleteObjectGrants(contentType: String, pk: String) throws -> Int {
        Int(
            try connection.query(
                """
                WITH gone AS (
                    DELETE FROM object_grants WHERE pk = $1 AND pid IN
                    (SELECT pid FROM permissions JOIN content_types USING (type_id) WHERE name = $2)
                    RETURNING pid, pk, subject
                ), side AS (\(Self.deleteSubjectGrants))
                SELECT count(*) FROM gone
                """,
                [pk, contentType]
            ).int64(0, 0)
        )
    }

    /// Deletes the `subject_grants` rows of the object rows a statement's `gone` CTE deleted.
    static let deleteSubjectGrants =
        "DELETE FROM subject_grants s USING gone g WHERE s.subject = g.subject AND s.pid = g.pid AND s.pk = g.pk"

    // MARK: Changelog

    public func appendEvent(_ row: EventRow) throws {
        try connection.query(
            "INSERT INTO changelog (revision, time, kind, payload) VALUES ($1, $2, $3, $4)",
            [String(row.revision.rawValue), String(row.time), row.kind, row.payload]
        )
        transaction.appended = max(transaction.appended ?? .zero, row.revision)
    }

    public func newestRevision(before time: Int64) throws -> Revision {
        Revision(
            UInt64(
                try connection.query("SELECT COALESCE(max(revision), 0) FROM changelog WHERE time < $1", [String(time)])
                    .int64(0, 0)
            )
        )
    }

    public func deleteEvents(through revision: Revision) throws -> Int {
        let deleted = try connection.query("DELETE FROM changelog WHERE revision <= $1", [String(revision.rawValue)])
            .affected
        try connection.query("DELETE FROM removed_rows WHERE revision <= $1", [String(revision.rawValue)])
        return deleted
    }

    static func bool(_ value: Bool) -> String { value ? "t" : "f" }
}
