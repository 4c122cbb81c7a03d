import WardenModel
import WardenStore

extension SQLiteWriter {
    /// Object grant rows per bulk `INSERT` statement (4 values a row, within SQLite's limits).
    /// SQLite spends as much on running a statement as on inserting its row, so one statement a
    /// row halves the rate.
    static let rowsPerInsert = 64

    /// Inserts `rows` into `object_grants` in its key order (a B-tree takes sorted rows at about
    /// half the cost of rows in random order), then packs the new ones' subject side
    /// (`SubjectPack`). Returns how many rows were new.
    public func insertObjectGrants(_ rows: BulkRows, revision: Revision) throws -> Int {
        guard !rows.rows.isEmpty else { return 0 }
        let byObject = rows.sortedByObject()
        var isNew = [Bool](repeating: false, count: byObject.count)
        var count = 0
        try rows.bytes.withUnsafeBufferPointer { bytes in
            let base = bytes.baseAddress!
            func bind(_ statement: SQLiteStatement, _ row: BulkRows.Row, at: Int32) throws {
                try statement.bindInteger(row.pid, at: at)
                try statement.bindText(base + Int(row.pkStart), count: Int(row.pkCount), at: at + 1)
                try statement.bindInteger(row.subject, at: at + 2)
            }
            func sql(_ rows: Int) -> String {
                "INSERT OR IGNORE INTO object_grants (pid, pk, subject, revision) VALUES "
                    + Array(repeating: "(?, ?, ?, ?)", count: rows).joined(separator: ", ")
            }
            // Which rows of a statement that inserted some but not all are new: those carrying
            // this revision (duplicates were dropped, so no other row of this call has it).
            let mine = try connection.statement(
                "SELECT revision = ? FROM object_grants WHERE pid = ? AND pk = ? AND subject = ?"
            )
            let full = try connection.statement(sql(SQLiteWriter.rowsPerInsert))
            var start = 0
            while start < byObject.count {
                let end = min(start + SQLiteWriter.rowsPerInsert, byObject.count)
                let statement =
                    end - start == SQLiteWriter.rowsPerInsert ? full : try connection.statement(sql(end - start))
                statement.reset()
                var position: Int32 = 1
                for row in byObject[start..<end] {
                    try bind(statement, row, at: position)
                    try statement.bindInteger(Int64(revision.rawValue), at: position + 3)
                    position += 4
                }
                while try statement.step() {}
                let inserted = connection.changes
                count += inserted
                if inserted == end - start {
                    for index in start..<end { isNew[index] = true }
                } else if inserted > 0 {
                    for index in start..<end {
                        mine.reset()
                        try mine.bindInteger(Int64(revision.rawValue), at: 1)
                        try bind(mine, byObject[index], at: 2)
                        isNew[index] = try mine.step() && mine.int64(0) != 0
                    }
                    mine.reset()
                }
                start = end
            }
            full.reset()
            try pack(byObject, isNew: isNew, bytes: base, at: revision)
        }
        return count
    }

    public func removeObjectGrants(_ rows: BulkRows, revision: Revision) throws -> Int {
        let remember = try connection.statement(
            "INSERT INTO removed_rows (revision, pid, pk, subject) VALUES (?, ?, ?, ?)"
        )
        var stale = StaleEntries()
        var count = 0
        for row in rows.sortedByObject() {
            let pk = rows.pk(row)
            guard try deleteObjectRow(pid: row.pid, pk: pk, subject: row.subject, stale: &stale) else { continue }
            count += 1
            remember.reset()
            try remember.run(.revision(revision), .integer(row.pid), .text(pk), .integer(row.subject))
        }
        try flush(stale)
        return count
    }

    public func removeModelGrant(subject: Int64, pid: Int64, revision: Revision) throws -> Bool {
        guard try deleteModelGrant(subject: subject, pid: pid) else { return false }
        try connection.statement("INSERT INTO removed_rows (revision, pid, pk, subject) VALUES (?, ?, NULL, ?)")
            .run(.revision(revision), .integer(pid), .integer(subject))
        return true
    }

    /// The live pks stream through a temporary table, so their number has no limit.
    public func pruneObjectGrants(contentType: String, keeping livePKs: [String], revision: Revision) throws -> Int {
        try connection.execute("CREATE TEMP TABLE IF NOT EXISTS live_pks (pk TEXT PRIMARY KEY) WITHOUT ROWID")
        try connection.execute("DELETE FROM live_pks")
        let insert = try connection.statement("INSERT OR IGNORE INTO live_pks (pk) VALUES (?)")
        for pk in livePKs {
            insert.reset()
            try insert.run(.text(pk))
        }
        let orphans =
            "FROM object_grants WHERE pk NOT IN (SELECT pk FROM live_pks) AND pid IN "
            + "(SELECT pid FROM permissions JOIN content_types USING (ctid) WHERE name = ?)"
        try connection.statement(
            "INSERT INTO removed_rows (revision, pid, pk, subject) SELECT ?, pid, pk, subject " + orphans
        )
        .run(.revision(revision), .text(contentType))
        try connection.statement("DELETE " + orphans).run(.text(contentType))
        let count = connection.changes
        let removed = try connection.statement("SELECT subject, pid, pk FROM removed_rows WHERE revision = ?").bind(
            .revision(revision)
        )
        var rows: [(subject: Int64, pid: Int64, pk: String)] = []
        while try removed.step() { rows.append((removed.int64(0), removed.int64(1), try removed.text(2))) }
        removed.reset()
        var stale = StaleEntries()
        for row in rows { try unindex(subject: row.subject, pid: row.pid, pk: row.pk, stale: &stale) }
        try flush(stale)
        try connection.execute("DELETE FROM live_pks")
        if count == 0 {
            try connection.statement("DELETE FROM removed_rows WHERE revision = ?").run(.revision(revision))
        }
        return count
    }
}
