import WardenModel

/// What a bulk write or an orphan prune did.
public struct BulkOutcome: Hashable, Sendable {
    /// The revision of the summary event; the current revision when nothing changed.
    public let revision: Revision
    /// Rows granted, revoked or pruned (rows already in the asked-for state are not counted).
    public let count: Int
    /// Rows asked for.
    public let requested: Int
    /// The summary event (`BULK_GRANTED`, `BULK_REVOKED`, `ORPHANS_PRUNED`), or `nil` when
    /// nothing changed.
    public let event: ChangeEvent?
}

extension SQLiteStore {
    /// Grants every grant of `grants` in one transaction, with one `BULK_GRANTED` event and no
    /// per-row events. Any unknown subject or permission refuses the whole call (nothing is
    /// written) with an error naming the item's position.
    public func bulkGrant(_ grants: [Grant], actor: String?) throws(StoreError) -> BulkOutcome {
        try bulk(grants, granting: true, actor: actor)
    }

    /// Revokes every grant of `grants` in one transaction, with one `BULK_REVOKED` event.
    /// Unknown subjects and permissions revoke nothing, as single revokes do.
    public func bulkRevoke(_ grants: [Grant], actor: String?) throws(StoreError) -> BulkOutcome {
        try bulk(grants, granting: false, actor: actor)
    }

    private func bulk(_ grants: [Grant], granting: Bool, actor: String?) throws(StoreError) -> BulkOutcome {
        try locked {
            try connection.transaction {
                // Read under BEGIN IMMEDIATE's write lock: another process may have committed.
                let current = try latestRevision()
                let revision = current.next
                var resolver = Resolver(store: self, required: granting)
                var count = 0
                let insertModel = try connection.statement(
                    "INSERT OR IGNORE INTO model_grants (subject, pid, revision) VALUES (?, ?, ?)"
                )
                let deleteModel = try connection.statement("DELETE FROM model_grants WHERE subject = ? AND pid = ?")
                let remember = try connection.statement("INSERT INTO removed_rows (revision, pid, pk, subject) VALUES (?, ?, ?, ?)")
                var objectRows = BulkRows(capacity: granting ? grants.count : 0)
                var stale = StaleEntries()
                for (position, grant) in grants.enumerated() {
                    let resolved: (subject: Int64, pid: Int64)?
                    do {
                        resolved = try resolver.resolve(grant)
                    } catch let error as StoreError where grants.count > 1 {
                        throw StoreError(error.code, "change \(position + 1) of \(grants.count): \(error.message)")
                    }
                    guard let (subject, pid) = resolved else { continue }
                    if granting {
                        if let pk = grant.pk {
                            objectRows.append(pid: pid, pk: pk, subject: subject)
                        } else {
                            insertModel.reset()
                            try insertModel.run(.integer(subject), .integer(pid), .revision(revision))
                            count += connection.changes
                        }
                    } else {
                        if let pk = grant.pk {
                            guard try deleteObjectRow(pid: pid, pk: pk, subject: subject, stale: &stale) else { continue }
                        } else {
                            deleteModel.reset()
                            try deleteModel.run(.integer(subject), .integer(pid))
                            guard connection.changes > 0 else { continue }
                        }
                        count += 1
                        remember.reset()
                        try remember.run(.revision(revision), .integer(pid), .optional(grant.pk), .integer(subject))
                    }
                }
                count += try insert(objectRows, at: revision)
                try flush(stale)
                guard count > 0 else {
                    return BulkOutcome(revision: current, count: 0, requested: grants.count, event: nil)
                }
                let event = ChangeEvent(
                    revision: revision, kind: granting ? .bulkGranted : .bulkRevoked, time: Self.now(), count: count, actor: actor
                )
                try record(event)
                return BulkOutcome(revision: revision, count: count, requested: grants.count, event: event)
            }
        }
    }

    /// guardian's `clean_orphan_obj_perms` for one content type: removes every object grant on
    /// a pk that is not in `livePKs`, in one transaction with one `ORPHANS_PRUNED` event. The
    /// live pks stream through a temporary table, so their number has no limit.
    public func pruneOrphans(contentType: ContentTypeName, livePKs: some Sequence<String>, actor: String?)
        throws(StoreError) -> BulkOutcome
    {
        try locked {
            try connection.transaction {
                // Read under BEGIN IMMEDIATE's write lock: another process may have committed.
                let current = try latestRevision()
                let revision = current.next
                try connection.execute("CREATE TEMP TABLE IF NOT EXISTS live_pks (pk TEXT PRIMARY KEY) WITHOUT ROWID")
                try connection.execute("DELETE FROM live_pks")
                let insert = try connection.statement("INSERT OR IGNORE INTO live_pks (pk) VALUES (?)")
                var requested = 0
                for (position, pk) in livePKs.enumerated() {
                    do throws(ValidationError) { try Limits.checkIdentifier(pk, field: "live_pks[\(position)]") } catch {
                        throw StoreError.invalid(error)
                    }
                    insert.reset()
                    try insert.run(.text(pk))
                    requested += 1
                }
                let orphans = "FROM object_grants WHERE pk NOT IN (SELECT pk FROM live_pks) AND pid IN "
                    + "(SELECT pid FROM permissions JOIN content_types USING (ctid) WHERE name = ?)"
                try connection.statement("INSERT INTO removed_rows (revision, pid, pk, subject) SELECT ?, pid, pk, subject " + orphans)
                    .run(.revision(revision), .text(contentType.description))
                try connection.statement("DELETE " + orphans).run(.text(contentType.description))
                let count = connection.changes
                let removed = try connection.statement("SELECT subject, pid, pk FROM removed_rows WHERE revision = ?")
                    .bind(.revision(revision))
                var rows: [(subject: Int64, pid: Int64, pk: String)] = []
                while try removed.step() { rows.append((removed.int64(0), removed.int64(1), try removed.text(2))) }
                removed.reset()
                var stale = StaleEntries()
                for row in rows { try unindex(subject: row.subject, pid: row.pid, pk: row.pk, stale: &stale) }
                try flush(stale)
                try connection.execute("DELETE FROM live_pks")
                guard count > 0 else {
                    try connection.statement("DELETE FROM removed_rows WHERE revision = ?").run(.revision(revision))
                    return BulkOutcome(revision: current, count: 0, requested: requested, event: nil)
                }
                let event = ChangeEvent(revision: revision, kind: .orphansPruned, time: Self.now(), count: count, actor: actor)
                try record(event)
                return BulkOutcome(revision: revision, count: count, requested: requested, event: event)
            }
        }
    }
}

extension SQLiteStore {
    /// Object grant rows per bulk `INSERT` statement (4 values a row, within SQLite's limits).
    /// SQLite spends as much on running a statement as on inserting its row, so one statement a
    /// row halves the rate.
    static let rowsPerInsert = 64

    /// Inserts `rows` into `object_grants` in its key order (a B-tree takes sorted rows at about
    /// half the cost of rows in random order), then packs the new ones' subject side
    /// (`SubjectPack`). Returns how many rows were new.
    func insert(_ rows: BulkRows, at revision: Revision) throws -> Int {
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
            let mine = try connection.statement("SELECT revision = ? FROM object_grants WHERE pid = ? AND pk = ? AND subject = ?")
            let full = try connection.statement(sql(Self.rowsPerInsert))
            var start = 0
            while start < byObject.count {
                let end = min(start + Self.rowsPerInsert, byObject.count)
                let statement = end - start == Self.rowsPerInsert ? full : try connection.statement(sql(end - start))
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
}

/// Subject and permission ids for a bulk call, cached: a bulk names few distinct ones. Subject
/// names are compared byte for byte (`NameTable`): `Subject`'s own equality is Swift's canonical
/// equivalence.
struct Resolver {
    let store: SQLiteStore
    /// Whether unknown names are errors (grants) or skipped (revokes).
    let required: Bool
    private var users = NameTable<Int64?>()
    private var groups = NameTable<Int64?>()
    /// Content types and codenames are ASCII, where Swift's equality is byte equality.
    private var permissions: [PermissionRef: Result<Int64, StoreError>] = [:]
    /// The first few permissions seen and their pids, compared before hashing: a bulk names few,
    /// and comparing two short strings costs less than hashing one. Two arrays, so a comparison
    /// copies nothing.
    private var fewPermissions: [PermissionRef] = []
    private var fewPIDs: [Result<Int64, StoreError>] = []

    init(store: SQLiteStore, required: Bool) {
        self.store = store
        self.required = required
    }

    /// The subject key and `pid`, or `nil` when a revoke names something unknown.
    mutating func resolve(_ grant: Grant) throws -> (subject: Int64, pid: Int64)? {
        let subject = try key(grant.subject)
        let pid: Result<Int64, StoreError>
        if let recent = fewPermissions.firstIndex(of: grant.permission) {
            pid = fewPIDs[recent]
        } else if let cached = permissions[grant.permission] {
            pid = cached
        } else {
            pid = try store.permissionID(grant.permission)
            permissions[grant.permission] = pid
            if fewPermissions.count < 16 {
                fewPermissions.append(grant.permission)
                fewPIDs.append(pid)
            }
        }
        guard let subject else {
            if required { throw SQLiteStore.unknownSubject(grant.subject) }
            return nil
        }
        switch pid {
        case .success(let pid): return (subject, pid)
        case .failure(let error):
            if required { throw error }
            return nil
        }
    }

    private mutating func key(_ subject: Subject) throws -> Int64? {
        switch subject {
        case .user(let id):
            if let cached = users.value(for: id) { return cached }
            let key = try store.userKey(id)
            users.insert(key, for: id)
            return key
        case .group(let name):
            if let cached = groups.value(for: name) { return cached }
            let key = try store.groupID(name).map { -$0 }
            groups.insert(key, for: name)
            return key
        }
    }
}
