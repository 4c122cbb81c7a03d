import WardenIndex
import WardenModel
import WardenStore

extension WardenService {
    /// Builds a grant from a request's strings. With a content type, the permission is a bare
    /// codename or `app_label.codename` of that type's app, and the store decides whether it is
    /// registered (so a failed role-permission operation records its event); without one,
    /// `app_label.codename` is resolved as a check resolves it.
    public func makeGrant(
        subject: Subject,
        permission: String,
        contentType: String?,
        pk: String?,
        field: String = "grant"
    ) throws(ServiceError) -> Grant {
        do {
            let ref: PermissionRef
            if let contentType {
                let type = try ContentTypeName(contentType, field: "\(field).content_type")
                try Limits.checkPermissionString(permission, field: "\(field).permission")
                let parts = permission.split(separator: ".", omittingEmptySubsequences: false)
                switch parts.count {
                case 1: ref = try PermissionRef(contentType: type, codename: permission)
                case 2 where String(parts[0]).isExactly(type.appLabel):
                    ref = try PermissionRef(contentType: type, codename: String(parts[1]))
                default:
                    throw ServiceError(
                        .invalidArgument,
                        "\(field).permission: \"\(permission)\" is not a permission of content type \(type) "
                            + "(write a bare codename or \(type.appLabel).codename)"
                    )
                }
            } else {
                ref = try resolvePermission(permission, field: "\(field).permission")
            }
            if let pk { try Limits.checkIdentifier(pk, field: "\(field).pk") }  // named as the request spells it
            return try Grant(subject: subject, permission: ref, pk: pk)
        } catch let error as ServiceError {
            throw error
        } catch let error as ValidationError {
            throw ServiceError(error)
        } catch {
            throw ServiceError(.internal, "grant: unexpected error", cause: "\(error)")
        }
    }

    /// `app_label.codename` resolved on the index as a check resolves it. A permission the index
    /// does not know may have been registered through another process or host a moment ago:
    /// the index catches up with the store once and looks again, so a write is not refused on a
    /// state older than the database's.
    private func resolvePermission(_ permission: String, field: String) throws(ServiceError) -> PermissionRef {
        do {
            return try index.permissionRef(permission, contentType: nil, field: field)
        } catch  where error.code == .notFound {
            do { try replica.catchUp() } catch { throw ServiceError(error) }
            do { return try index.permissionRef(permission, contentType: nil, field: field) } catch {
                throw ServiceError(error)
            }
        } catch {
            throw ServiceError(error)
        }
    }

    /// Commits one write and applies it to the index before returning. Blocks for the commit.
    /// With an actor, refuses escalation first (`PERMISSION_DENIED` and a `WRITE_REFUSED` event),
    /// on the state the write commits on (`checked`).
    public func write(_ change: Change, actor: String?) throws(ServiceError) -> WriteOutcome {
        guard let actor = try checkedActor(actor) else {
            do { return try replica.apply(change) } catch { throw ServiceError(error) }
        }
        return try checked(actor) { at in
            if let reason = refusal(of: change, by: actor) { try refuse(change, reason: reason, actor: actor, at: at) }
            return try replica.apply(change, actor: actor, ifAt: at)
        }
    }

    /// Commits several changes in one transaction, each at its own revision with its own event;
    /// a change that fails refuses the whole batch. With an actor, any escalation refuses it.
    /// Blocks.
    public func write(batch changes: [Change], actor: String?) throws(ServiceError) -> [WriteOutcome] {
        guard changes.count <= settings.maxBatchItems else {
            throw ServiceError(
                .invalidArgument,
                "records: at most \(settings.maxBatchItems) in one WriteBatch (got \(changes.count))"
            )
        }
        let actor = try checkedActor(actor)
        guard !changes.isEmpty else { return [] }
        guard let actor else {
            do { return try replica.apply(batch: changes) } catch { throw ServiceError(error) }
        }
        return try checked(actor) { at in
            for (position, change) in changes.enumerated() {
                if let reason = refusal(of: change, by: actor) {
                    try refuse(
                        changes.count == 1 ? change : nil,
                        reason: "records[\(position)]: \(reason)",
                        actor: actor,
                        at: at
                    )
                }
            }
            return try replica.apply(batch: changes, actor: actor, ifAt: at)
        }
    }

    /// The whole state at one revision, as the changes that rebuild it (types, users, groups,
    /// memberships, then grants).
    public func export() -> Evaluated<[Change]> { index.export() }

    /// Bulk-grants (or revokes) in one transaction with one summary event. Blocks.
    public func bulk(_ grants: [Grant], revoke: Bool, actor: String?) throws(ServiceError) -> BulkOutcome {
        guard let actor = try checkedActor(actor) else {
            do {
                return revoke ? try replica.bulkRevoke(grants) : try replica.bulkGrant(grants)
            } catch {
                throw ServiceError(error)
            }
        }
        return try checked(actor) { at in
            for (position, grant) in grants.enumerated() {
                let change: Change = revoke ? .revoke(grant) : .grant(grant)
                if let reason = refusal(of: change, by: actor) {
                    try refuse(nil, reason: "grants[\(position)]: \(reason)", actor: actor, at: at)
                }
            }
            return revoke
                ? try replica.bulkRevoke(grants, actor: actor, ifAt: at)
                : try replica.bulkGrant(grants, actor: actor, ifAt: at)
        }
    }

    /// Removes grants on objects of `contentType` whose pks are not in `livePKs`. Blocks.
    public func pruneOrphans(contentType: String, livePKs: [String], actor: String?) throws(ServiceError) -> BulkOutcome
    {
        let actor = try checkedActor(actor)
        do {
            let type = try ContentTypeName(contentType, field: "content_type")
            for (position, pk) in livePKs.enumerated() {
                try Limits.checkIdentifier(pk, field: "live_pks[\(position)]")
            }
            return try replica.pruneOrphans(contentType: type, livePKs: livePKs, actor: actor)
        } catch let error as ValidationError {
            throw ServiceError(error)
        } catch let error as StoreError {
            throw ServiceError(error)
        } catch {
            throw ServiceError(.internal, "prune orphans: unexpected error", cause: "\(error)")
        }
    }

    private func checkedActor(_ actor: String?) throws(ServiceError) -> String? {
        guard let actor, !actor.isEmpty else { return nil }
        do { try Limits.checkIdentifier(actor, field: "actor") } catch { throw ServiceError(error) }
        return actor
    }

    /// How many times a write with an actor is checked and tried while other writes keep moving
    /// the revision under it, before it answers `UNAVAILABLE`.
    static let escalationAttempts = 20

    /// Runs `attempt` for a write with an actor: on the index caught up with the store, at its
    /// revision `at`, committing only if the store is still at `at` (`ifAt`). Escalation checks
    /// thereby hold for the state the write commits on, as new as its own transaction sees: a
    /// sidecar whose index is behind never approves (or refuses) what an up-to-date one would
    /// not. When another writer, on this host or another, committed in between, the store
    /// answers `ABORTED` and nothing is written: catch up, check again.
    private func checked<T>(_ actor: String, _ attempt: (Revision) throws -> T) throws(ServiceError) -> T {
        for _ in 0..<Self.escalationAttempts {
            do {
                try replica.catchUp()
                return try attempt(index.revision)
            } catch let error as StoreError where error.code == .aborted {
                continue
            } catch let error as StoreError {
                throw ServiceError(error)
            } catch let error as ServiceError {
                throw error
            } catch {
                throw ServiceError(.internal, "write: unexpected error", cause: "\(error)")
            }
        }
        throw ServiceError(
            .unavailable,
            "the permission state changed under each of \(Self.escalationAttempts) checks of actor \(actor)'s write; retry"
        )
    }

    /// Records the refusal, decided on the state at `at` (`ABORTED` when the store moved on),
    /// and throws `PERMISSION_DENIED`.
    private func refuse(_ change: Change?, reason: String, actor: String, at: Revision) throws -> Never {
        let event = try replica.store.recordRefusal(attempted: change, message: reason, actor: actor, ifAt: at)
        try replica.catchUp()
        logger.notice(
            "write refused",
            metadata: ["actor": "\(actor)", "reason": "\(reason)", "revision": "\(event.revision)"]
        )
        throw ServiceError(.permissionDenied, reason)
    }
}
