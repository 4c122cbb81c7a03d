import WardenModel

/// The whole permission state at one revision, as one batch of changes an index can apply.
public struct StoreSnapshot: Sendable {
    public let revision: Revision
    /// Registrations, users, groups, memberships, then grants.
    public let changes: [Change]
}

/// How much of the changelog to keep. A row goes when it is past either limit; the newest row
/// always stays (it carries the current revision).
public struct RetentionPolicy: Hashable, Sendable {
    /// Keep at most this many rows.
    public var maxEvents: Int
    /// Keep rows younger than this many milliseconds.
    public var maxAgeMilliseconds: Int64

    public init(maxEvents: Int = 1_000_000, maxAgeMilliseconds: Int64 = 7 * 24 * 3600 * 1000) {
        self.maxEvents = maxEvents
        self.maxAgeMilliseconds = maxAgeMilliseconds
    }
}

extension SQLiteStore {
    /// Reads everything, consistently (one read transaction), for loading an index at start.
    public func snapshot() throws(StoreError) -> StoreSnapshot {
        var changes: [Change] = []
        let revision = try snapshot(chunkSize: Int.max) { changes += $0 }
        return StoreSnapshot(revision: revision, changes: changes)
    }

    /// Streams everything, consistently (one read transaction), to `deliver` in chunks: first
    /// the registrations, users, groups and memberships, then grants, `chunkSize` at a time.
    /// Returns the snapshot's revision. `deliver` runs on the calling thread, under the store's
    /// read lock: it must not read from the store (writes may run meanwhile).
    public func snapshot(chunkSize: Int, _ deliver: ([Change]) throws -> Void) throws(StoreError) -> Revision {
        try reading { connection in
            try connection.execute("BEGIN")
            defer {
                connection.resetStatements()
                try? connection.execute("COMMIT")
            }
            let revision = try Self.latestRevision(connection)
            var changes: [Change] = []
            var permissions: [Int64: PermissionRef] = [:]
            var codenames: [(type: Int64, name: String, codename: String)] = []
            let types = try connection.statement(
                "SELECT ctid, name, codename, pid FROM content_types JOIN permissions USING (ctid) ORDER BY ctid, pid"
            )
            while try types.step() {
                let name = try types.text(1)
                let codename = try types.text(2)
                permissions[types.int64(3)] = try PermissionRef(contentType: ContentTypeName(name), codename: codename)
                codenames.append((types.int64(0), name, codename))
            }
            for (_, rows) in Dictionary(grouping: codenames, by: \.type).sorted(by: { $0.key < $1.key }) {
                // As stored, uncapped: a file from before the codename cap may hold more.
                changes.append(.register(ContentType(stored: try ContentTypeName(rows[0].name), codenames: rows.map(\.codename))))
            }
            var subjects: [Int64: Subject] = [:]
            let users = try connection.statement("SELECT uid, id, username, is_active, is_superuser FROM users")
            while try users.step() {
                let user = try User(
                    id: users.text(1), username: users.optionalText(2), isActive: users.int64(3) != 0,
                    isSuperuser: users.int64(4) != 0
                )
                subjects[users.int64(0)] = .user(user.id)
                changes.append(.putUser(user))
            }
            let groups = try connection.statement("SELECT gid, name FROM groups")
            while try groups.step() {
                let name = try groups.text(1)
                subjects[-groups.int64(0)] = .group(name)
                changes.append(.putGroup(name: name))
            }
            let members = try connection.statement("SELECT uid, gid FROM members")
            while try members.step() {
                guard case .user(let user)? = subjects[members.int64(0)], case .group(let group)? = subjects[-members.int64(1)]
                else { continue }
                changes.append(.addMember(user: user, group: group))
            }
            try deliver(changes)
            changes = []
            for sql in ["SELECT subject, pid, NULL FROM model_grants", "SELECT subject, pid, pk FROM object_grants"] {
                try eachGrant(connection, sql, [], subjects, permissions) { grant in
                    changes.append(.grant(grant))
                    if changes.count >= chunkSize {
                        try deliver(changes)
                        changes.removeAll(keepingCapacity: true)
                    }
                }
            }
            if !changes.isEmpty { try deliver(changes) }
            return revision
        }
    }

    /// Grants from rows of `(subject, pid, pk)`.
    private func grantRows(
        _ connection: SQLiteConnection, _ sql: String, _ values: [SQLiteValue], _ subjects: [Int64: Subject],
        _ permissions: [Int64: PermissionRef]
    ) throws -> [Grant] {
        var grants: [Grant] = []
        try eachGrant(connection, sql, values, subjects, permissions) { grants.append($0) }
        return grants
    }

    /// Calls `body` with the grant of each row of `(subject, pid, pk)`; rows naming a subject or
    /// permission that no longer exists are skipped.
    private func eachGrant(
        _ connection: SQLiteConnection, _ sql: String, _ values: [SQLiteValue], _ subjects: [Int64: Subject], _ permissions: [Int64: PermissionRef],
        _ body: (Grant) throws -> Void
    ) throws {
        let statement = try connection.statement(sql)
        for (offset, value) in values.enumerated() { try statement.bind(value, at: Int32(offset + 1)) }
        while try statement.step() {
            guard let subject = subjects[statement.int64(0)], let permission = permissions[statement.int64(1)] else { continue }
            try body(try Grant(subject: subject, permission: permission, pk: statement.optionalText(2)))
        }
    }

    /// Changelog events after `revision`, oldest first, at most `limit`. `OUT_OF_RANGE` (naming
    /// the oldest retained revision) when events after `revision` have been pruned.
    /// Reads the read-only connection, in one read transaction: the check against retention
    /// and the rows agree.
    public func events(after revision: Revision, limit: Int) throws(StoreError) -> [ChangeEvent] {
        try reading { connection in
            try connection.execute("BEGIN")
            defer {
                connection.resetStatements()
                try? connection.execute("COMMIT")
            }
            let oldest = Revision(UInt64(try connection.integer("SELECT COALESCE(MIN(revision), 0) FROM changelog")))
            let latest = try Self.latestRevision(connection)
            if revision < latest && oldest.rawValue > revision.rawValue + 1 {
                throw StoreError(
                    .outOfRange,
                    "revision \(revision) is older than the changelog retains; the oldest retained revision is \(oldest)",
                    oldestRetained: oldest
                )
            }
            let rows = try connection.statement(
                "SELECT revision, time, kind, payload FROM changelog WHERE revision > ? ORDER BY revision LIMIT ?"
            ).bind(.revision(revision), .integer(Int64(limit)))
            var events: [ChangeEvent] = []
            while try rows.step() {
                let kindName = try rows.text(2)
                guard let kind = ChangeEventKind(rawValue: kindName) else {
                    throw StoreError(.internal, "unknown event kind \(kindName) in the changelog")
                }
                let payload = try EventPayload.decode(rows.text(3))
                let change = try payload.decodedChange()
                let attempted = payload.attempted == true
                events.append(
                    ChangeEvent(
                        revision: Revision(UInt64(rows.int64(0))), kind: kind, time: rows.int64(1),
                        change: attempted ? nil : change, count: payload.count,
                        failure: payload.failure.flatMap(RolePermissionFailure.init(rawValue:)),
                        attempted: attempted ? change : nil, message: payload.message, actor: payload.actor
                    )
                )
            }
            return events
        }
    }

    /// The rows a summary event stands for, as changes to replay: the grants a `BULK_GRANTED`
    /// added (still present), or the grants a `BULK_REVOKED` or `ORPHANS_PRUNED` removed.
    public func replay(_ event: ChangeEvent) throws(StoreError) -> [Change] {
        try reading { connection in
            try connection.execute("BEGIN")
            defer {
                connection.resetStatements()
                try? connection.execute("COMMIT")
            }
            var subjects: [Int64: Subject] = [:]
            let users = try connection.statement("SELECT uid, id FROM users")
            while try users.step() { subjects[users.int64(0)] = .user(try users.text(1)) }
            let groups = try connection.statement("SELECT gid, name FROM groups")
            while try groups.step() { subjects[-groups.int64(0)] = .group(try groups.text(1)) }
            var permissions: [Int64: PermissionRef] = [:]
            let types = try connection.statement("SELECT pid, name, codename FROM content_types JOIN permissions USING (ctid)")
            while try types.step() {
                permissions[types.int64(0)] = try PermissionRef(contentType: ContentTypeName(types.text(1)), codename: types.text(2))
            }
            let at = SQLiteValue.revision(event.revision)
            switch event.kind {
            case .bulkGranted:
                return try (grantRows(connection, "SELECT subject, pid, NULL FROM model_grants WHERE revision = ?", [at], subjects, permissions)
                    + grantRows(connection, "SELECT subject, pid, pk FROM object_grants WHERE revision = ?", [at], subjects, permissions))
                    .map(Change.grant)
            case .bulkRevoked, .orphansPruned:
                // A removed row's subject may be gone since; its revoke is then moot.
                return try grantRows(connection, "SELECT subject, pid, pk FROM removed_rows WHERE revision = ?", [at], subjects, permissions)
                    .map(Change.revoke)
            default:
                return event.change.map { [$0] } ?? []
            }
        }
    }

    /// Deletes changelog rows past the policy (and the replay rows of deleted summaries);
    /// returns how many events went.
    @discardableResult
    public func pruneChangelog(_ policy: RetentionPolicy, now: Int64) throws(StoreError) -> Int {
        try locked {
            try connection.transaction {
                let latest = Int64(try latestRevision().rawValue)
                let byCount = latest - Int64(max(policy.maxEvents, 1))
                let byAge = try connection.statement("SELECT COALESCE(MAX(revision), 0) FROM changelog WHERE time < ?")
                    .bind(.integer(now - policy.maxAgeMilliseconds))
                _ = try byAge.step()
                let cutoff = min(max(byCount, byAge.int64(0)), latest - 1)
                try connection.statement("DELETE FROM changelog WHERE revision <= ?").run(.integer(cutoff))
                let deleted = connection.changes
                try connection.statement("DELETE FROM removed_rows WHERE revision <= ?").run(.integer(cutoff))
                return deleted
            }
        }
    }
}
