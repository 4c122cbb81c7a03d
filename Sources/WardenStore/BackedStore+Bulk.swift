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

extension BackedStore {
    /// Grants every grant of `grants` in one transaction, with one `BULK_GRANTED` event and no
    /// per-row events. Any unknown subject or permission refuses the whole call (nothing is
    /// written) with an error naming the item's position.
    public func bulkGrant(_ grants: [Grant], actor: String?, ifAt expected: Revision?) throws(StoreError) -> BulkOutcome
    {
        try bulk(grants, granting: true, actor: actor, expected: expected)
    }

    /// Revokes every grant of `grants` in one transaction, with one `BULK_REVOKED` event.
    /// Unknown subjects and permissions revoke nothing, as single revokes do.
    public func bulkRevoke(
        _ grants: [Grant],
        actor: String?,
        ifAt expected: Revision?
    ) throws(StoreError) -> BulkOutcome {
        try bulk(grants, granting: false, actor: actor, expected: expected)
    }

    private func bulk(
        _ grants: [Grant],
        granting: Bool,
        actor: String?,
        expected: Revision?
    ) throws(StoreError) -> BulkOutcome {
        try writing { writer in
            // Read under the revision lock: another process or host may have committed.
            let current = try writer.latestRevision()
            if let expected, expected != current { throw StoreError.moved(from: expected, to: current) }
            let revision = current.next
            var resolver = Resolver(store: self, writer: writer, required: granting)
            var count = 0
            var objectRows = BulkRows(capacity: grants.count)
            for (position, grant) in grants.enumerated() {
                let resolved: (subject: Int64, pid: Int64)?
                do {
                    resolved = try resolver.resolve(grant)
                } catch let error as StoreError where grants.count > 1 {
                    throw StoreError(error.code, "change \(position + 1) of \(grants.count): \(error.message)")
                }
                guard let (subject, pid) = resolved else { continue }
                if let pk = grant.pk {
                    objectRows.append(pid: pid, pk: pk, subject: subject)
                } else if granting {
                    if try writer.insertModelGrant(subject: subject, pid: pid, revision: revision) { count += 1 }
                } else {
                    if try writer.removeModelGrant(subject: subject, pid: pid, revision: revision) { count += 1 }
                }
            }
            if !objectRows.rows.isEmpty {
                count +=
                    granting
                    ? try writer.insertObjectGrants(objectRows, revision: revision)
                    : try writer.removeObjectGrants(objectRows, revision: revision)
            }
            guard count > 0 else {
                return BulkOutcome(revision: current, count: 0, requested: grants.count, event: nil)
            }
            let event = ChangeEvent(
                revision: revision,
                kind: granting ? .bulkGranted : .bulkRevoked,
                time: StoreClock.now(),
                count: count,
                actor: actor
            )
            try record(writer, event)
            return BulkOutcome(revision: revision, count: count, requested: grants.count, event: event)
        }
    }

    /// guardian's `clean_orphan_obj_perms` for one content type: removes every object grant on
    /// a pk that is not in `livePKs`, in one transaction with one `ORPHANS_PRUNED` event.
    public func pruneOrphans(
        contentType: ContentTypeName,
        livePKs: some Sequence<String>,
        actor: String?
    )
        throws(StoreError) -> BulkOutcome
    {
        var live: [String] = []
        for (position, pk) in livePKs.enumerated() {
            do throws(ValidationError) { try Limits.checkIdentifier(pk, field: "live_pks[\(position)]") } catch {
                throw StoreError.invalid(error)
            }
            live.append(pk)
        }
        return try writing { writer in
            // Read under the revision lock: another process or host may have committed.
            let current = try writer.latestRevision()
            let revision = current.next
            let count = try writer.pruneObjectGrants(
                contentType: contentType.description,
                keeping: live,
                revision: revision
            )
            guard count > 0 else {
                return BulkOutcome(revision: current, count: 0, requested: live.count, event: nil)
            }
            let event = ChangeEvent(
                revision: revision,
                kind: .orphansPruned,
                time: StoreClock.now(),
                count: count,
                actor: actor
            )
            try record(writer, event)
            return BulkOutcome(revision: revision, count: count, requested: live.count, event: event)
        }
    }
}

/// Subject and permission ids for a bulk call, cached: a bulk names few distinct ones. Subject
/// names are compared byte for byte (`NameTable`): `Subject`'s own equality is Swift's canonical
/// equivalence.
struct Resolver<Backend: StoreBackend> {
    let store: BackedStore<Backend>
    let writer: Backend.Writer
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

    init(store: BackedStore<Backend>, writer: Backend.Writer, required: Bool) {
        self.store = store
        self.writer = writer
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
            pid = try store.permissionID(writer, grant.permission)
            permissions[grant.permission] = pid
            if fewPermissions.count < 16 {
                fewPermissions.append(grant.permission)
                fewPIDs.append(pid)
            }
        }
        guard let subject else {
            if required { throw BackedStore<Backend>.unknownSubject(grant.subject) }
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
            let key = try writer.userKey(id)
            users.insert(key, for: id)
            return key
        case .group(let name):
            if let cached = groups.value(for: name) { return cached }
            let key = try writer.groupKey(name).map { -$0 }
            groups.insert(key, for: name)
            return key
        }
    }
}
