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
        // One chunk: taken as it is, not copied.
        let revision = try snapshot(chunkSize: Int.max) { changes = $0 }
        return StoreSnapshot(revision: revision, changes: changes)
    }

    /// Streams everything, consistently (one read transaction), to `deliver` in chunks: first
    /// the registrations, users, groups and memberships (all in the first chunk, which may hold
    /// more than `chunkSize`), then grants, up to `chunkSize` changes a chunk. Returns the
    /// snapshot's revision. `deliver` runs on the calling
    /// thread, inside the read transaction: it must not read from the store (writes may run
    /// meanwhile).
    public func snapshot(chunkSize: Int, _ deliver: ([Change]) throws -> Void) throws(StoreError) -> Revision {
        try backend.read { reader in
            let revision = try reader.latestRevision()
            let names = try Names(reader, withUserRows: true)
            var changes = names.types
            changes += names.users.map(Change.putUser)
            changes += names.groupNames.map { .putGroup(name: $0) }
            try reader.memberships { uid, gid in
                guard let user = names.user(uid), let group = names.group(gid) else { return }
                changes.append(.addMember(user: user, group: group))
            }
            func next() {
                changes = []
                if chunkSize < 1 << 20 { changes.reserveCapacity(chunkSize) }
            }
            if changes.count >= chunkSize {
                try deliver(changes)
                next()
            }
            for selection in [GrantSelection.model, .object] {
                try reader.grants(selection) { row in
                    guard let grant = try names.grant(row) else { return }
                    changes.append(.grant(grant))
                    if changes.count >= chunkSize {
                        try deliver(changes)
                        next()
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
