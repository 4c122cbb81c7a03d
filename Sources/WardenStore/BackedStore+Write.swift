import WardenModel

/// What a committed (or idempotently skipped) write did.
public struct WriteOutcome: Hashable, Sendable {
    /// The revision the write committed at; the current revision when it changed nothing and
    /// recorded nothing.
    public let revision: Revision
    /// Whether the permission state changed.
    public let changed: Bool
    /// The event committed with the write: the change's event, a role-permission failure, or
    /// `nil` when nothing was recorded (an idempotent no-op).
    public let event: ChangeEvent?
}

extension BackedStore {
    /// Commits one change, with its event, at the next revision.
    ///
    /// - Object grants, users, groups and memberships: a change that breaks a rule or names an
    ///   unknown subject or permission throws (`INVALID_ARGUMENT`, `NOT_FOUND`,
    ///   `ALREADY_EXISTS`) and writes nothing; one that changes nothing (a grant already held)
    ///   writes nothing and reports `changed: false`.
    /// - Model-level grants and revokes (role-permission operations) always record their
    ///   outcome: a failure commits `ROLE_PERMISSION_OPERATION_FAILED` with `invalid_type`
    ///   (the codename belongs to another content type), `not_found` (unknown subject or
    ///   permission, or a revoke of what is not held) or `already_exists` (a grant already
    ///   held). Those with `invalid_type` and an unknown subject or permission then also throw,
    ///   carrying the committed event; the other two report `changed: false`.
    ///
    /// Group commit: concurrent callers share transactions. The first caller to find no commit
    /// under way commits every queued change in one transaction (one fsync), each in its own
    /// savepoint and at its own revision; the others wait for their outcome.
    public func apply(_ change: Change, actor: String?, ifAt expected: Revision?) throws(StoreError) -> WriteOutcome {
        try validate(change)
        return try commits.submit(WriteTicket(change: change, actor: actor, expected: expected)) { commitQueued($0) }
            .get()
    }

    /// Commits queued single writes in one transaction, each in a savepoint: a change that
    /// fails rolls back alone and its caller gets the error. Returns once `COMMIT` has returned:
    /// when the transaction fails (busy, I/O, a full disk, the database gone), every write of
    /// it fails.
    private func commitQueued(_ tickets: [WriteTicket]) -> [Result<WriteOutcome, StoreError>] {
        do {
            return try writing { writer in
                // Read under the revision lock: another process or host may have committed.
                var current = try writer.latestRevision()
                var results: [Result<WriteOutcome, StoreError>] = []
                results.reserveCapacity(tickets.count)
                for ticket in tickets {
                    if let expected = ticket.expected, expected != current {
                        results.append(.failure(.moved(from: expected, to: current)))
                        continue
                    }
                    let revision = current.next
                    let attempt = try writer.savepoint {
                        try commitOne(writer, ticket.change, at: revision, current: current, actor: ticket.actor)
                    }
                    switch attempt {
                    case .success(let (outcome, error)):
                        if outcome.event != nil { current = revision }
                        results.append(error.map { .failure($0) } ?? .success(outcome))
                    case .failure(let error):
                        results.append(.failure(backend.storeError(error)))
                    }
                }
                return results
            }
        } catch {
            // The transaction itself failed (busy, I/O, COMMIT): nothing of it committed.
            return tickets.map { _ in .failure(error) }
        }
    }

    /// One change inside the caller's transaction: its outcome, and the error to give its
    /// caller after the commit (a failed role-permission operation records its event and throws).
    private func commitOne(
        _ writer: Backend.Writer,
        _ change: Change,
        at revision: Revision,
        current: Revision,
        actor: String?
    )
        throws -> (WriteOutcome, StoreError?)
    {
        switch try perform(writer, change, at: revision) {
        case .unchanged:
            return (WriteOutcome(revision: current, changed: false, event: nil), nil)
        case .changed:
            let event = ChangeEvent(
                revision: revision,
                kind: change.eventKind,
                time: StoreClock.now(),
                change: change,
                actor: actor
            )
            try record(writer, event)
            return (WriteOutcome(revision: revision, changed: true, event: event), nil)
        case .roleFailure(let failure, let message, let error):
            let event = ChangeEvent(
                revision: revision,
                kind: .rolePermissionOperationFailed,
                time: StoreClock.now(),
                failure: failure,
                attempted: change,
                message: message,
                actor: actor
            )
            try record(writer, event)
            return (
                WriteOutcome(revision: revision, changed: false, event: event),
                error.map { StoreError($0.code, $0.message, event: event) }
            )
        }
    }

    /// Commits several changes in one transaction — one fsync for all — each at its own
    /// revision with its own event, exactly as if applied one by one (a no-op records nothing).
    /// A change that would throw refuses the whole batch (nothing is written, the revision does
    /// not move), with an error naming the change (`change 2 of 5: …`). That includes a
    /// model-level grant or revoke naming an unknown subject or permission, or a codename of
    /// another type: `apply` records its `ROLE_PERMISSION_OPERATION_FAILED` event and throws,
    /// but in a refused batch nothing is recorded, that event included. A role-permission
    /// failure that does not throw (a grant already held, a revoke of what is not held) is
    /// recorded as `apply` records it.
    public func apply(
        batch changes: [Change],
        actor: String?,
        ifAt expected: Revision?
    ) throws(StoreError) -> [WriteOutcome] {
        for change in changes { try validate(change) }
        return try writing { writer in
            var current = try writer.latestRevision()
            if let expected, expected != current { throw StoreError.moved(from: expected, to: current) }
            var outcomes: [WriteOutcome] = []
            outcomes.reserveCapacity(changes.count)
            for (position, change) in changes.enumerated() {
                let revision = current.next
                let outcome: WriteOutcome
                do {
                    let refusal: StoreError?
                    (outcome, refusal) = try commitOne(writer, change, at: revision, current: current, actor: actor)
                    // The event of a failed role-permission operation rolls back with the batch.
                    if let refusal { throw StoreError(refusal.code, refusal.message) }
                } catch let error as StoreError where changes.count > 1 {
                    throw StoreError(error.code, "change \(position + 1) of \(changes.count): \(error.message)")
                }
                if outcome.event != nil { current = revision }
                outcomes.append(outcome)
            }
            return outcomes
        }
    }

    /// What `perform` did.
    enum Performed {
        case unchanged
        case changed
        /// A role-permission operation failed; the event is recorded and, with `error`, thrown.
        case roleFailure(RolePermissionFailure, String, StoreError?)

        init(_ changed: Bool) { self = changed ? .changed : .unchanged }
    }

    /// The rules of fields that are plain strings in `Change` (the model types check theirs).
    func validate(_ change: Change) throws(StoreError) {
        do {
            switch change {
            case .deleteUser(let id): try Limits.checkIdentifier(id, field: "user.id")
            case .putGroup(let name), .deleteGroup(let name): try Limits.checkName(name, field: "group.name")
            case .addMember(let user, let group), .removeMember(let user, let group):
                try Limits.checkIdentifier(user, field: "user.id")
                try Limits.checkName(group, field: "group.name")
            case .deleteObject(_, let pk): try Limits.checkIdentifier(pk, field: "object.pk")
            case .putUser, .register, .grant, .revoke: break
            }
        } catch {
            throw .invalid(error)
        }
    }

    /// Runs the change inside the caller's transaction. Cascades are explicit: deleting a user
    /// or group deletes its grants and memberships first; deleting an object deletes every
    /// grant on it.
    func perform(_ writer: Backend.Writer, _ change: Change, at revision: Revision) throws -> Performed {
        switch change {
        case .putUser(let user): return try putUser(writer, user)
        case .deleteUser(let id):
            guard let uid = try writer.userKey(id) else { return .unchanged }
            try writer.deleteGrants(subject: uid)
            try writer.deleteMemberships(uid: uid)
            try writer.deleteUser(uid: uid)
            return .changed
        case .putGroup(let name):
            return Performed(try writer.insertGroup(name))
        case .deleteGroup(let name):
            guard let gid = try writer.groupKey(name) else { return .unchanged }
            try writer.deleteGrants(subject: -gid)
            try writer.deleteMemberships(gid: gid)
            try writer.deleteGroup(gid: gid)
            return .changed
        case .addMember(let user, let group):
            guard let uid = try writer.userKey(user) else {
                throw StoreError(.notFound, "user: \"\(user)\" is not registered")
            }
            guard let gid = try writer.groupKey(group) else {
                throw StoreError(.notFound, "group: \"\(group)\" is not registered")
            }
            return Performed(try writer.insertMembership(uid: uid, gid: gid))
        case .removeMember(let user, let group):
            guard let uid = try writer.userKey(user), let gid = try writer.groupKey(group) else { return .unchanged }
            return Performed(try writer.deleteMembership(uid: uid, gid: gid))
        case .register(let type): return try register(writer, type)
        case .grant(let grant):
            return try grant.pk == nil
                ? grantModel(writer, grant, at: revision) : grantObject(writer, grant, at: revision)
        case .revoke(let grant): return try grant.pk == nil ? revokeModel(writer, grant) : revokeObject(writer, grant)
        case .deleteObject(let type, let pk):
            return Performed(try writer.deleteObjectGrants(contentType: type.description, pk: pk) > 0)
        }
    }

    private func putUser(_ writer: Backend.Writer, _ user: User) throws -> Performed {
        if let username = user.username, let owner = try writer.usernameOwner(username, other: user.id) {
            throw StoreError(.alreadyExists, "user.username: \"\(username)\" already belongs to user \"\(owner)\"")
        }
        if let existing = try writer.user(user.id) {
            let same =
                existing.username.map(ExactString.init) == user.username.map(ExactString.init)
                && existing.isActive == user.isActive && existing.isSuperuser == user.isSuperuser
            if same { return .unchanged }
            try writer.updateUser(user)
        } else {
            try writer.insertUser(user)
        }
        return .changed
    }

    private func register(_ writer: Backend.Writer, _ type: ContentType) throws -> Performed {
        let (ctid, inserted) = try writer.insertContentType(type.name.description)
        var changed = inserted
        for codename in type.codenames {
            changed = try writer.insertPermission(ctid: ctid, codename: codename) || changed
        }
        guard changed else { return .unchanged }
        // Registration is additive: the cap counts what earlier registrations gave the type.
        let held = try writer.permissionCount(ctid: ctid)
        guard held <= Limits.maxCodenamesPerContentType else { throw StoreError.invalid(ContentType.tooMany(held)) }
        return .changed
    }

    // MARK: Grants

    private func grantObject(_ writer: Backend.Writer, _ grant: Grant, at revision: Revision) throws -> Performed {
        guard let subject = try subjectKey(writer, grant.subject) else { throw Self.unknownSubject(grant.subject) }
        let pid = try permissionID(writer, grant.permission).get()
        return Performed(try writer.insertObjectGrant(pid: pid, pk: grant.pk!, subject: subject, revision: revision))
    }

    private func revokeObject(_ writer: Backend.Writer, _ grant: Grant) throws -> Performed {
        guard let subject = try subjectKey(writer, grant.subject),
            case .success(let pid) = try permissionID(writer, grant.permission)
        else {
            return .unchanged
        }
        return Performed(try writer.deleteObjectGrant(pid: pid, pk: grant.pk!, subject: subject))
    }

    private func grantModel(_ writer: Backend.Writer, _ grant: Grant, at revision: Revision) throws -> Performed {
        let (subject, pid): (Int64, Int64)
        switch try roleTarget(writer, grant) {
        case .success(let target): (subject, pid) = target
        case .failure(let failed): return failed.performed
        }
        if try writer.insertModelGrant(subject: subject, pid: pid, revision: revision) { return .changed }
        return .roleFailure(.alreadyExists, "\(grant.subject) already holds \(grant.permission)", nil)
    }

    private func revokeModel(_ writer: Backend.Writer, _ grant: Grant) throws -> Performed {
        let (subject, pid): (Int64, Int64)
        switch try roleTarget(writer, grant) {
        case .success(let target): (subject, pid) = target
        case .failure(let failed): return failed.performed
        }
        if try writer.deleteModelGrant(subject: subject, pid: pid) { return .changed }
        return .roleFailure(.notFound, "\(grant.subject) does not hold \(grant.permission)", nil)
    }

    /// A role-permission operation that cannot name its subject or permission.
    struct RoleTargetFailure: Error {
        let performed: Performed
    }

    /// The subject key and `pid` of a role-permission operation, or the failure to record:
    /// `not_found` for an unknown subject or permission, `invalid_type` for a codename of
    /// another content type.
    private func roleTarget(
        _ writer: Backend.Writer,
        _ grant: Grant
    ) throws -> Result<(Int64, Int64), RoleTargetFailure> {
        guard let subject = try subjectKey(writer, grant.subject) else {
            let error = Self.unknownSubject(grant.subject)
            return .failure(RoleTargetFailure(performed: .roleFailure(.notFound, error.message, error)))
        }
        switch try permissionID(writer, grant.permission) {
        case .success(let pid): return .success((subject, pid))
        case .failure(let error):
            let failure: RolePermissionFailure = error.code == .notFound ? .notFound : .invalidType
            return .failure(RoleTargetFailure(performed: .roleFailure(failure, error.message, error)))
        }
    }

    // MARK: Lookups

    /// A user's `uid`, or minus a group's `gid`.
    func subjectKey(_ writer: Backend.Writer, _ subject: Subject) throws -> Int64? {
        switch subject {
        case .user(let id): try writer.userKey(id)
        case .group(let name): try writer.groupKey(name).map { -$0 }
        }
    }

    static func unknownSubject(_ subject: Subject) -> StoreError {
        switch subject {
        case .user(let id): StoreError(.notFound, "user: \"\(id)\" is not registered")
        case .group(let name): StoreError(.notFound, "group: \"\(name)\" is not registered")
        }
    }

    /// The permission's `pid`; `NOT_FOUND` if no type has the codename, `INVALID_ARGUMENT`
    /// naming the types that do when the named type does not.
    func permissionID(_ writer: Backend.Writer, _ permission: PermissionRef) throws -> Result<Int64, StoreError> {
        var others: [String] = []
        for (pid, name) in try writer.permissions(
            codename: permission.codename,
            appLabel: permission.contentType.appLabel
        ) {
            if ExactString(name) == ExactString(permission.contentType.description) { return .success(pid) }
            others.append(name)
        }
        if others.isEmpty {
            return .failure(
                StoreError(
                    .notFound,
                    "permission: \"\(permission)\" is not registered for content type \(permission.contentType)"
                )
            )
        }
        return .failure(
            StoreError(
                .invalidArgument,
                "permission: \"\(permission.codename)\" belongs to \(others.sorted().joined(separator: " and ")), "
                    + "not to content type \(permission.contentType)"
            )
        )
    }

    /// Appends an event's changelog row.
    func record(_ writer: Backend.Writer, _ event: ChangeEvent) throws {
        var payload = EventPayload(
            event.change ?? event.attempted,
            attempted: event.change == nil && event.attempted != nil
        )
        payload.count = event.count
        payload.failure = event.failure?.rawValue
        payload.message = event.message
        payload.actor = event.actor
        try writer.appendEvent(
            EventRow(revision: event.revision, time: event.time, kind: event.kind.rawValue, payload: payload.encoded())
        )
    }
}
