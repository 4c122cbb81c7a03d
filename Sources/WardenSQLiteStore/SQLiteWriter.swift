import WardenModel
import WardenStore

/// A write transaction on the write connection (`BEGIN IMMEDIATE`, under `SQLiteBackend.lock`).
/// Object grants are found from their subject through `subject_grants` (single writes) or
/// `subject_packs` (bulk grants, `SubjectPack`), kept in the same transaction.
public struct SQLiteWriter: SQLiteReading, BackendWriter {
    let connection: SQLiteConnection

    public func savepoint<T>(_ body: () throws -> T) throws -> Result<T, any Error> {
        try connection.execute("SAVEPOINT write")
        do {
            let value = try body()
            try connection.execute("RELEASE write")
            return .success(value)
        } catch {
            do {
                try connection.execute("ROLLBACK TO write")
                try connection.execute("RELEASE write")
            } catch _ {
                // SQLite ended the transaction itself (a full disk, an I/O error): the whole
                // transaction fails, with the first cause.
                throw error
            }
            return .failure(error)
        }
    }

    // MARK: Users, groups, memberships

    public func userKey(_ id: String) throws -> Int64? {
        let statement = try connection.statement("SELECT uid FROM users WHERE id = ?").bind(.text(id))
        return try statement.step() ? statement.int64(0) : nil
    }

    public func user(_ id: String) throws -> UserRow? {
        let existing = try connection.statement("SELECT username, is_active, is_superuser FROM users WHERE id = ?")
            .bind(.text(id))
        guard try existing.step() else { return nil }
        return UserRow(
            username: try existing.optionalText(0),
            isActive: existing.int64(1) != 0,
            isSuperuser: existing.int64(2) != 0
        )
    }

    public func usernameOwner(_ username: String, other id: String) throws -> String? {
        let owner = try connection.statement("SELECT id FROM users WHERE username = ? AND id != ?").bind(
            .text(username),
            .text(id)
        )
        return try owner.step() ? try owner.text(0) : nil
    }

    public func insertUser(_ user: User) throws {
        try connection.statement("INSERT INTO users (id, username, is_active, is_superuser) VALUES (?, ?, ?, ?)")
            .run(.text(user.id), .optional(user.username), .bool(user.isActive), .bool(user.isSuperuser))
    }

    public func updateUser(_ user: User) throws {
        try connection.statement("UPDATE users SET username = ?, is_active = ?, is_superuser = ? WHERE id = ?")
            .run(.optional(user.username), .bool(user.isActive), .bool(user.isSuperuser), .text(user.id))
    }

    public func deleteUser(uid: Int64) throws {
        try connection.statement("DELETE FROM users WHERE uid = ?").run(.integer(uid))
    }

    public func groupKey(_ name: String) throws -> Int64? {
        let statement = try connection.statement("SELECT gid FROM groups WHERE name = ?").bind(.text(name))
        return try statement.step() ? statement.int64(0) : nil
    }

    public func insertGroup(_ name: String) throws -> Bool {
        try connection.statement("INSERT OR IGNORE INTO groups (name) VALUES (?)").run(.text(name))
        return connection.changes > 0
    }

    public func deleteGroup(gid: Int64) throws {
        try connection.statement("DELETE FROM groups WHERE gid = ?").run(.integer(gid))
    }

    public func insertMembership(uid: Int64, gid: Int64) throws -> Bool {
        try connection.statement("INSERT OR IGNORE INTO members (uid, gid) VALUES (?, ?)").run(
            .integer(uid),
            .integer(gid)
        )
        return connection.changes > 0
    }

    public func deleteMembership(uid: Int64, gid: Int64) throws -> Bool {
        try connection.statement("DELETE FROM members WHERE uid = ? AND gid = ?").run(.integer(uid), .integer(gid))
        return connection.changes > 0
    }

    public func deleteMemberships(uid: Int64) throws {
        try connection.statement("DELETE FROM members WHERE uid = ?").run(.integer(uid))
    }

    public func deleteMemberships(gid: Int64) throws {
        try connection.statement("DELETE FROM members WHERE gid = ?").run(.integer(gid))
    }

    // MARK: Content types and permissions

    public func insertContentType(_ name: String) throws -> (ctid: Int64, inserted: Bool) {
        try connection.statement("INSERT OR IGNORE INTO content_types (name) VALUES (?)").run(.text(name))
        let inserted = connection.changes > 0
        let ctid = try connection.statement("SELECT ctid FROM content_types WHERE name = ?").bind(.text(name))
        _ = try ctid.step()
        return (ctid.int64(0), inserted)
    }

    public func insertPermission(ctid: Int64, codename: String) throws -> Bool {
        try connection.statement("INSERT OR IGNORE INTO permissions (ctid, codename) VALUES (?, ?)").run(
            .integer(ctid),
            .text(codename)
        )
        return connection.changes > 0
    }

    public func permissionCount(ctid: Int64) throws -> Int {
        Int(
            try connection.statement("SELECT COUNT(*) FROM permissions WHERE ctid = ?").bind(.integer(ctid))
                .stepInteger()
        )
    }

    public func permissions(codename: String, appLabel: String) throws -> [(pid: Int64, contentType: String)] {
        let statement = try connection.statement(
            "SELECT pid, name FROM permissions JOIN content_types USING (ctid) WHERE codename = ? AND name LIKE ? ESCAPE '\\'"
        ).bind(.text(codename), .text(appLabel.replacingOccurrences(of: "_", with: "\\_") + ".%"))
        var rows: [(pid: Int64, contentType: String)] = []
        while try statement.step() { rows.append((statement.int64(0), try statement.text(1))) }
        return rows
    }

    // MARK: Grants

    public func insertModelGrant(subject: Int64, pid: Int64, revision: Revision) throws -> Bool {
        try connection.statement("INSERT OR IGNORE INTO model_grants (subject, pid, revision) VALUES (?, ?, ?)")
            .run(.integer(subject), .integer(pid), .revision(revision))
        return connection.changes > 0
    }

    public func deleteModelGrant(subject: Int64, pid: Int64) throws -> Bool {
        try connection.statement("DELETE FROM model_grants WHERE subject = ? AND pid = ?").run(
            .integer(subject),
            .integer(pid)
        )
        return connection.changes > 0
    }

    public func insertObjectGrant(pid: Int64, pk: String, subject: Int64, revision: Revision) throws -> Bool {
        try connection.statement("INSERT OR IGNORE INTO object_grants (pid, pk, subject, revision) VALUES (?, ?, ?, ?)")
            .run(.integer(pid), .text(pk), .integer(subject), .revision(revision))
        guard connection.changes > 0 else { return false }
        try connection.statement("INSERT INTO subject_grants (subject, pid, pk) VALUES (?, ?, ?)")
            .run(.integer(subject), .integer(pid), .text(pk))
        return true
    }

    public func deleteObjectGrant(pid: Int64, pk: String, subject: Int64) throws -> Bool {
        var stale = StaleEntries()
        let deleted = try deleteObjectRow(pid: pid, pk: pk, subject: subject, stale: &stale)
        try flush(stale)
        return deleted
    }

    /// Deletes one object grant row, and its subject side; true when it was there. Stale pack
    /// entries are counted in `stale`, for the caller to `flush`.
    @discardableResult
    func deleteObjectRow(pid: Int64, pk: String, subject: Int64, stale: inout StaleEntries) throws -> Bool {
        try connection.statement("DELETE FROM object_grants WHERE pid = ? AND pk = ? AND subject = ?")
            .run(.integer(pid), .text(pk), .integer(subject))
        guard connection.changes > 0 else { return false }
        try unindex(subject: subject, pid: pid, pk: pk, stale: &stale)
        return true
    }

    public func deleteGrants(subject: Int64) throws {
        try connection.statement("DELETE FROM model_grants WHERE subject = ?").run(.integer(subject))
        let held = try connection.statement("SELECT pid, pk FROM subject_grants WHERE subject = ?").bind(
            .integer(subject)
        )
        var rows: [(pid: Int64, pk: String)] = []
        while try held.step() { rows.append((held.int64(0), try held.text(1))) }
        held.reset()
        rows += try packedRows(of: subject)
        let delete = try connection.statement("DELETE FROM object_grants WHERE pid = ? AND pk = ? AND subject = ?")
        for row in rows { try delete.run(.integer(row.pid), .text(row.pk), .integer(subject)) }
        try connection.statement("DELETE FROM subject_grants WHERE subject = ?").run(.integer(subject))
        try dropPacks(of: subject)
    }

    public func deleteObjectGrants(contentType: String, pk: String) throws -> Int {
        let holders = try connection.statement(
            "SELECT pid, subject FROM object_grants WHERE pk = ? AND pid IN "
                + "(SELECT pid FROM permissions JOIN content_types USING (ctid) WHERE name = ?)"
        ).bind(.text(pk), .text(contentType))
        var rows: [(pid: Int64, subject: Int64)] = []
        while try holders.step() { rows.append((holders.int64(0), holders.int64(1))) }
        holders.reset()
        var stale = StaleEntries()
        for row in rows { try deleteObjectRow(pid: row.pid, pk: pk, subject: row.subject, stale: &stale) }
        try flush(stale)
        return rows.count
    }

    // MARK: Changelog

    public func appendEvent(_ row: EventRow) throws {
        try connection.statement("INSERT INTO changelog (revision, time, kind, payload) VALUES (?, ?, ?, ?)")
            .run(.revision(row.revision), .integer(row.time), .text(row.kind), .text(row.payload))
    }

    public func newestRevision(before time: Int64) throws -> Revision {
        let byAge = try connection.statement("SELECT COALESCE(MAX(revision), 0) FROM changelog WHERE time < ?").bind(
            .integer(time)
        )
        return Revision(UInt64(try byAge.stepInteger()))
    }

    public func deleteEvents(through revision: Revision) throws -> Int {
        try connection.statement("DELETE FROM changelog WHERE revision <= ?").run(.revision(revision))
        let deleted = connection.changes
        try connection.statement("DELETE FROM removed_rows WHERE revision <= ?").run(.revision(revision))
        return deleted
    }
}
