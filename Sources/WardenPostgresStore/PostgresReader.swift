import WardenModel
import WardenStore

/// The reads of `StoreBackend` on one PostgreSQL connection, for read and write transactions
/// alike.
protocol PostgresReading: BackendReader {
    var connection: PostgresConnection { get }
}

/// A read transaction (`REPEATABLE READ READ ONLY`: one snapshot) on the read connection.
public struct PostgresReader: PostgresReading {
    let connection: PostgresConnection

    /// The counter, consistent with the changelog in this snapshot (both move in one
    /// transaction).
    public func latestRevision() throws -> Revision {
        Revision(UInt64(try connection.query("SELECT revision FROM warden_revision").int64(0, 0)))
    }

    /// The database's schema version.
    func schemaVersion() throws -> Int {
        Int(try connection.query("SELECT max(version) FROM warden_schema").int64(0, 0))
    }
}

extension PostgresReading {
    /// Rows per `FETCH` of a streamed read.
    static var fetchSize: Int { 10_000 }

    public func oldestRevision() throws -> Revision {
        Revision(UInt64(try connection.query("SELECT COALESCE(min(revision), 0) FROM changelog").int64(0, 0)))
    }

    public func events(after revision: Revision, limit: Int) throws -> [EventRow] {
        let rows = try connection.query(
            "SELECT revision, time, kind, payload FROM changelog WHERE revision > $1 ORDER BY revision LIMIT $2",
            [String(revision.rawValue), String(limit)]
        )
        return try (0..<rows.rows).map { row in
            EventRow(
                revision: Revision(UInt64(rows.int64(row, 0))),
                time: rows.int64(row, 1),
                kind: try rows.text(row, 2),
                payload: try rows.text(row, 3)
            )
        }
    }

    public func permissions() throws -> [PermissionRow] {
        let rows = try connection.query(
            "SELECT type_id, name, codename, pid FROM content_types JOIN permissions USING (type_id) ORDER BY type_id, pid"
        )
        return try (0..<rows.rows).map { row in
            PermissionRow(
                ctid: rows.int64(row, 0),
                contentType: try rows.text(row, 1),
                codename: try rows.text(row, 2),
                pid: rows.int64(row, 3)
            )
        }
    }

    public func users(_ body: (Int64, String, UserRow) throws -> Void) throws {
        try stream("SELECT uid, id, username, is_active, is_superuser FROM users") { rows, row in
            try body(
                rows.int64(row, 0),
                try rows.text(row, 1),
                UserRow(
                    username: try rows.optionalText(row, 2),
                    isActive: rows.bool(row, 3),
                    isSuperuser: rows.bool(row, 4)
                )
            )
        }
    }

    public func groups(_ body: (Int64, String) throws -> Void) throws {
        try stream("SELECT gid, name FROM groups") { rows, row in try body(rows.int64(row, 0), try rows.text(row, 1)) }
    }

    public func memberships(_ body: (Int64, Int64) throws -> Void) throws {
        try stream("SELECT uid, gid FROM members") { rows, row in try body(rows.int64(row, 0), rows.int64(row, 1)) }
    }

    public func grants(_ selection: GrantSelection, _ body: (GrantRow) throws -> Void) throws {
        func each(_ sql: String) throws {
            // Rows of one object often come together: one string per run of its pk.
            var pk: String?
            try stream(sql) { rows, row in
                try body(
                    GrantRow(
                        subject: rows.int64(row, 0),
                        pid: rows.int64(row, 1),
                        pk: try rows.optionalText(row, 2, reusing: &pk)
                    )
                )
            }
        }
        switch selection {
        case .model: try each("SELECT subject, pid, NULL FROM model_grants")
        case .object: try each("SELECT subject, pid, pk FROM object_grants")
        case .addedAt(let revision):
            try each("SELECT subject, pid, NULL FROM model_grants WHERE revision = \(revision.rawValue)")
            try each("SELECT subject, pid, pk FROM object_grants WHERE revision = \(revision.rawValue)")
        case .removedAt(let revision):
            try each("SELECT subject, pid, pk FROM removed_rows WHERE revision = \(revision.rawValue)")
        }
    }

    /// Streams the rows of `sql` (no parameters; integers only are interpolated) through a
    /// cursor, `fetchSize` at a time: a million grants never sit in memory at once.
    func stream(_ sql: String, _ body: (PostgresResult, Int) throws -> Void) throws {
        try connection.execute("DECLARE warden_rows NO SCROLL CURSOR FOR \(sql)")
        defer { _ = try? connection.execute("CLOSE warden_rows") }
        while true {
            let rows = try connection.execute("FETCH \(Self.fetchSize) FROM warden_rows")
            for row in 0..<rows.rows { try body(rows, row) }
            if rows.rows < Self.fetchSize { return }
        }
    }
}
