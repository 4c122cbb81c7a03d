import WardenModel
import WardenStore

/// The reads of `StoreBackend` on one SQLite connection, for read and write transactions alike.
protocol SQLiteReading: BackendReader {
    var connection: SQLiteConnection { get }
}

/// A read transaction on the read-only connection.
public struct SQLiteReader: SQLiteReading {
    let connection: SQLiteConnection
}

extension SQLiteReading {
    public func latestRevision() throws -> Revision {
        Revision(UInt64(try connection.integer("SELECT COALESCE(MAX(revision), 0) FROM changelog")))
    }

    public func oldestRevision() throws -> Revision {
        Revision(UInt64(try connection.integer("SELECT COALESCE(MIN(revision), 0) FROM changelog")))
    }

    public func events(after revision: Revision, limit: Int) throws -> [EventRow] {
        let rows = try connection.statement(
            "SELECT revision, time, kind, payload FROM changelog WHERE revision > ? ORDER BY revision LIMIT ?"
        ).bind(.revision(revision), .integer(Int64(limit)))
        var events: [EventRow] = []
        while try rows.step() {
            events.append(
                EventRow(
                    revision: Revision(UInt64(rows.int64(0))),
                    time: rows.int64(1),
                    kind: try rows.text(2),
                    payload: try rows.text(3)
                )
            )
        }
        return events
    }

    public func permissions() throws -> [PermissionRow] {
        let types = try connection.statement(
            "SELECT ctid, name, codename, pid FROM content_types JOIN permissions USING (ctid) ORDER BY ctid, pid"
        )
        var rows: [PermissionRow] = []
        while try types.step() {
            rows.append(
                PermissionRow(
                    ctid: types.int64(0),
                    contentType: try types.text(1),
                    codename: try types.text(2),
                    pid: types.int64(3)
                )
            )
        }
        return rows
    }

    public func users(_ body: (Int64, String, UserRow) throws -> Void) throws {
        let users = try connection.statement("SELECT uid, id, username, is_active, is_superuser FROM users")
        while try users.step() {
            try body(
                users.int64(0),
                try users.text(1),
                UserRow(
                    username: try users.optionalText(2),
                    isActive: users.int64(3) != 0,
                    isSuperuser: users.int64(4) != 0
                )
            )
        }
    }

    public func groups(_ body: (Int64, String) throws -> Void) throws {
        let groups = try connection.statement("SELECT gid, name FROM groups")
        while try groups.step() { try body(groups.int64(0), try groups.text(1)) }
    }

    public func memberships(_ body: (Int64, Int64) throws -> Void) throws {
        let members = try connection.statement("SELECT uid, gid FROM members")
        while try members.step() { try body(members.int64(0), members.int64(1)) }
    }

    public func grants(_ selection: GrantSelection, _ body: (GrantRow) throws -> Void) throws {
        switch selection {
        case .model: try each("SELECT subject, pid, NULL FROM model_grants", nil, body)
        case .object: try each("SELECT subject, pid, pk FROM object_grants", nil, body)
        case .addedAt(let revision):
            try each("SELECT subject, pid, NULL FROM model_grants WHERE revision = ?", revision, body)
            try each("SELECT subject, pid, pk FROM object_grants WHERE revision = ?", revision, body)
        case .removedAt(let revision):
            try each("SELECT subject, pid, pk FROM removed_rows WHERE revision = ?", revision, body)
        }
    }

    private func each(_ sql: String, _ revision: Revision?, _ body: (GrantRow) throws -> Void) throws {
        let statement = try connection.statement(sql)
        if let revision { try statement.bind(.revision(revision), at: 1) }
        defer { statement.reset() }
        // Rows come in key order, each pk once per grant on its object: one string per run.
        var pk: String?
        while try statement.step() {
            try body(
                GrantRow(
                    subject: statement.int64(0),
                    pid: statement.int64(1),
                    pk: try statement.optionalText(2, reusing: &pk)
                )
            )
        }
    }
}
