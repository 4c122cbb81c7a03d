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

extension BackedStore {
    /// Reads everything, consistently (one read transaction), for loading an index at start.
    public func snapshot() throws(StoreError) -> StoreSnapshot {
        var changes: [Change] = []
        let revision = try snapshot(chunkSize: Int.max) { changes += $0 }
        return StoreSnapshot(revision: revision, changes: changes)
    }

    /// Streams everything, consistently (one read transaction), to `deliver` in chunks: first
    /// the registrations, users, groups and memberships, then grants, `chunkSize` at a time.
    /// Returns the snapshot's revision. `deliver` runs on the calling thread, inside the read
    /// transaction: it must not read from the store (writes may run meanwhile).
    public func snapshot(chunkSize: Int, _ deliver: ([Change]) throws -> Void) throws(StoreError) -> Revision {
        try backend.read { reader in
            let revision = try reader.latestRevision()
            let names = try Names(reader, withUserRows: true)
            var changes = names.types
            changes += names.users.map(Change.putUser)
            changes += names.groupNames.map { .putGroup(name: $0) }
            try reader.memberships { uid, gid in
                guard case .user(let user)? = names.subjects[uid], case .group(let group)? = names.subjects[-gid] else {
                    return
                }
                changes.append(.addMember(user: user, group: group))
            }
            try deliver(changes)
            changes = []
            for selection in [GrantSelection.model, .object] {
                try reader.grants(selection) { row in
                    guard let grant = try names.grant(row) else { return }
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

    /// Changelog events after `revision`, oldest first, at most `limit`. `OUT_OF_RANGE` (naming
    /// the oldest retained revision) when events after `revision` have been pruned. One read
    /// transaction: the check against retention and the rows agree.
    public func events(after revision: Revision, limit: Int) throws(StoreError) -> [ChangeEvent] {
        try backend.read { reader in
            let oldest = try reader.oldestRevision()
            let latest = try reader.latestRevision()
            if revision < latest && oldest.rawValue > revision.rawValue + 1 {
                throw StoreError(
                    .outOfRange,
                    "revision \(revision) is older than the changelog retains; the oldest retained revision is \(oldest)",
                    oldestRetained: oldest
                )
            }
            return try reader.events(after: revision, limit: limit).map(Self.event)
        }
    }

    /// The event a changelog row holds.
    static func event(_ row: EventRow) throws -> ChangeEvent {
        guard let kind = ChangeEventKind(rawValue: row.kind) else {
            throw StoreError(.internal, "unknown event kind \(row.kind) in the changelog")
        }
        let payload = try EventPayload.decode(row.payload)
        let change = try payload.decodedChange()
        let attempted = payload.attempted == true
        return ChangeEvent(
            revision: row.revision,
            kind: kind,
            time: row.time,
            change: attempted ? nil : change,
            count: payload.count,
            failure: payload.failure.flatMap(RolePermissionFailure.init(rawValue:)),
            attempted: attempted ? change : nil,
            message: payload.message,
            actor: payload.actor
        )
    }

    /// The rows a summary event stands for, as changes to replay: the grants a `BULK_GRANTED`
    /// added (still present), or the grants a `BULK_REVOKED` or `ORPHANS_PRUNED` removed.
    public func replay(_ event: ChangeEvent) throws(StoreError) -> [Change] {
        let selection: GrantSelection
        switch event.kind {
        case .bulkGranted: selection = .addedAt(event.revision)
        case .bulkRevoked, .orphansPruned: selection = .removedAt(event.revision)
        default: return event.change.map { [$0] } ?? []
        }
        return try backend.read { reader in
            let names = try Names(reader, withUserRows: false)
            var changes: [Change] = []
            // A removed row's subject may be gone since; its revoke is then moot.
            try reader.grants(selection) { row in
                guard let grant = try names.grant(row) else { return }
                changes.append(event.kind == .bulkGranted ? .grant(grant) : .revoke(grant))
            }
            return changes
        }
    }

    /// Deletes changelog rows past the policy (and the replay rows of deleted summaries);
    /// returns how many events went. The newest row always stays.
    @discardableResult
    public func pruneChangelog(_ policy: RetentionPolicy, now: Int64) throws(StoreError) -> Int {
        try writing { writer in
            let latest = Int64(try writer.latestRevision().rawValue)
            let byCount = latest - Int64(max(policy.maxEvents, 1))
            let byAge = Int64(try writer.newestRevision(before: now - policy.maxAgeMilliseconds).rawValue)
            let cutoff = min(max(byCount, byAge), latest - 1)
            guard cutoff > 0 else { return 0 }
            return try writer.deleteEvents(through: Revision(UInt64(cutoff)))
        }
    }
}

/// Keys to names, read in the same transaction as the rows that use them.
private struct Names {
    var subjects: [Int64: Subject] = [:]
    var permissions: [Int64: PermissionRef] = [:]
    /// Registrations, by `ctid` (as stored, uncapped: a database from before the codename cap
    /// may hold more).
    var types: [Change] = []
    var users: [User] = []
    var groupNames: [String] = []

    init(_ reader: some BackendReader, withUserRows: Bool) throws {
        var codenames: [(ctid: Int64, name: String, codename: String)] = []
        for row in try reader.permissions() {
            permissions[row.pid] = try PermissionRef(
                contentType: ContentTypeName(row.contentType),
                codename: row.codename
            )
            codenames.append((row.ctid, row.contentType, row.codename))
        }
        for (_, rows) in Dictionary(grouping: codenames, by: \.ctid).sorted(by: { $0.key < $1.key }) {
            types.append(
                .register(ContentType(stored: try ContentTypeName(rows[0].name), codenames: rows.map(\.codename)))
            )
        }
        try reader.users { uid, id, row in
            subjects[uid] = .user(id)
            if withUserRows {
                users.append(
                    try User(id: id, username: row.username, isActive: row.isActive, isSuperuser: row.isSuperuser)
                )
            }
        }
        try reader.groups { gid, name in
            subjects[-gid] = .group(name)
            if withUserRows { groupNames.append(name) }
        }
    }

    /// The grant of a row; `nil` when its subject or permission no longer exists.
    func grant(_ row: GrantRow) throws -> Grant? {
        guard let subject = subjects[row.subject], let permission = permissions[row.pid] else { return nil }
        return try Grant(subject: subject, permission: permission, pk: row.pk)
    }
}
