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

extension SQLiteStore {
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
    public func apply(_ change: Change, actor: String?) throws(StoreError) -> WriteOutcome {
        try validate(change)
        return try commits.submit(WriteTicket(change: change, actor: actor)) { commitQueued($0) }.get()
    }

    /// Commits queued single writes in one transaction, each in a savepoint: a change that
    /// fails rolls back alone and its caller gets the error. Returns once `COMMIT` has returned:
    /// when the transaction fails (busy, I/O, a full disk), every write of it fails.
    private func commitQueued(_ tickets: [WriteTicket]) -> [Result<WriteOutcome, StoreError>] {
        do {
            return try locked {
                try connection.transaction {
                    // Read under BEGIN IMMEDIATE's write lock: another process may have committed.
                    var current = try latestRevision()
                    var results: [Result<WriteOutcome, StoreError>] = []
                    results.reserveCapacity(tickets.count)
                    for ticket in tickets {
                        let revision = current.next
                        try connection.execute("SAVEPOINT write")
                        do {
                            let (outcome, error) = try commitOne(ticket.change, at: revision, current: current, actor: ticket.actor)
                            try connection.execute("RELEASE write")
                            if outcome.event != nil { current = revision }
                            results.append(error.map { .failure($0) } ?? .success(outcome))
                        } catch {
                            do {
                                try connection.execute("ROLLBACK TO write")
                                try connection.execute("RELEASE write")
                            } catch _ {
                                // SQLite ended the transaction itself (a full disk, an I/O
                                // error): the whole transaction fails, with the first cause.
                                throw error
                            }
                            results.append(.failure(Self.storeError(error)))
                        }
                    }
                    return results
                }
            }
        } catch {
            // The transaction itself failed (busy, I/O, COMMIT): nothing of it committed.
            return tickets.map { _ in .failure(error) }
        }
    }

    /// One change inside the caller's transaction: its outcome, and the error to give its
    /// caller after the commit (a failed role-permission operation records its event and throws).
    private func commitOne(_ change: Change, at revision: Revision, current: Revision, actor: String?) throws
        -> (WriteOutcome, StoreError?)
    {
        switch try perform(change, at: revision) {
        case .unchanged:
            return (WriteOutcome(revision: current, changed: false, event: nil), nil)
        case .changed:
            let event = ChangeEvent(revision: revision, kind: change.eventKind, time: Self.now(), change: change, actor: actor)
            try record(event)
            return (WriteOutcome(revision: revision, changed: true, event: event), nil)
        case .roleFailure(let failure, let message, let error):
            let event = ChangeEvent(
                revision: revision, kind: .rolePermissionOperationFailed, time: Self.now(), failure: failure,
                attempted: change, message: message, actor: actor
            )
            try record(event)
            return (WriteOutcome(revision: revision, changed: false, event: event), error.map { StoreError($0.code, $0.message, event: event) })
        }
    }

    static func storeError(_ error: Error) -> StoreError {
        switch error {
        case let error as StoreError: error
        case let error as SQLiteError: .sqlite(error)
        default: StoreError(.internal, "the store failed", cause: "\(error)")
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
    public func apply(batch changes: [Change], actor: String?) throws(StoreError) -> [WriteOutcome] {
        for change in changes { try validate(change) }
        return try locked {
            try connection.transaction {
                var current = try latestRevision()
                var outcomes: [WriteOutcome] = []
                outcomes.reserveCapacity(changes.count)
                for (position, change) in changes.enumerated() {
                    let revision = current.next
                    let outcome: WriteOutcome
                    do {
                        let refusal: StoreError?
                        (outcome, refusal) = try commitOne(change, at: revision, current: current, actor: actor)
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
    }

    /// What `perform` did.
    enum Performed {
        case unchanged
        case changed
        /// A role-permission operation failed; the event is recorded and, with `error`, thrown.
        case roleFailure(RolePermissionFailure, String, StoreError?)
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

    /// Runs the change's SQL inside the caller's transaction.
    func perform(_ change: Change, at revision: Revision) throws -> Performed {
        switch change {
        case .putUser(let user): return try putUser(user)
        case .deleteUser(let id):
            guard let uid = try userKey(id) else { return .unchanged }
            try deleteSubject(uid)
            try connection.statement("DELETE FROM members WHERE uid = ?").run(.integer(uid))
            try connection.statement("DELETE FROM users WHERE uid = ?").run(.integer(uid))
            return .changed
        case .putGroup(let name):
            try connection.statement("INSERT OR IGNORE INTO groups (name) VALUES (?)").run(.text(name))
            return connection.changes > 0 ? .changed : .unchanged
        case .deleteGroup(let name):
            guard let gid = try groupID(name) else { return .unchanged }
            try deleteSubject(-gid)
            try connection.statement("DELETE FROM members WHERE gid = ?").run(.integer(gid))
            try connection.statement("DELETE FROM groups WHERE gid = ?").run(.integer(gid))
            return .changed
        case .addMember(let user, let group):
            guard let uid = try userKey(user) else { throw StoreError(.notFound, "user: \"\(user)\" is not registered") }
            guard let gid = try groupID(group) else { throw StoreError(.notFound, "group: \"\(group)\" is not registered") }
            try connection.statement("INSERT OR IGNORE INTO members (uid, gid) VALUES (?, ?)").run(.integer(uid), .integer(gid))
            return connection.changes > 0 ? .changed : .unchanged
        case .removeMember(let user, let group):
            guard let uid = try userKey(user), let gid = try groupID(group) else { return .unchanged }
            try connection.statement("DELETE FROM members WHERE uid = ? AND gid = ?").run(.integer(uid), .integer(gid))
            return connection.changes > 0 ? .changed : .unchanged
        case .register(let type): return try register(type)
        case .grant(let grant): return try grant.pk == nil ? grantModel(grant, at: revision) : grantObject(grant, at: revision)
        case .revoke(let grant): return try grant.pk == nil ? revokeModel(grant) : revokeObject(grant)
        case .deleteObject(let type, let pk):
            let holders = try connection.statement(
                "SELECT pid, subject FROM object_grants WHERE pk = ? AND pid IN "
                    + "(SELECT pid FROM permissions JOIN content_types USING (ctid) WHERE name = ?)"
            ).bind(.text(pk), .text(type.description))
            var rows: [(pid: Int64, subject: Int64)] = []
            while try holders.step() { rows.append((holders.int64(0), holders.int64(1))) }
            holders.reset()
            var stale = StaleEntries()
            for row in rows { try deleteObjectRow(pid: row.pid, pk: pk, subject: row.subject, stale: &stale) }
            try flush(stale)
            return rows.isEmpty ? .unchanged : .changed
        }
    }

    private func putUser(_ user: User) throws -> Performed {
        if let username = user.username {
            let owner = try connection.statement("SELECT id FROM users WHERE username = ? AND id != ?").bind(.text(username), .text(user.id))
            if try owner.step() {
                throw StoreError(.alreadyExists, "user.username: \"\(username)\" already belongs to user \"\(try owner.text(0))\"")
            }
        }
        let existing = try connection.statement("SELECT username, is_active, is_superuser FROM users WHERE id = ?").bind(.text(user.id))
        if try existing.step() {
            let same = try existing.optionalText(0).map(ExactString.init) == user.username.map(ExactString.init)
                && (existing.int64(1) != 0) == user.isActive && (existing.int64(2) != 0) == user.isSuperuser
            if same { return .unchanged }
            try connection.statement("UPDATE users SET username = ?, is_active = ?, is_superuser = ? WHERE id = ?")
                .run(.optional(user.username), .bool(user.isActive), .bool(user.isSuperuser), .text(user.id))
        } else {
            try connection.statement("INSERT INTO users (id, username, is_active, is_superuser) VALUES (?, ?, ?, ?)")
                .run(.text(user.id), .optional(user.username), .bool(user.isActive), .bool(user.isSuperuser))
        }
        return .changed
    }

    private func register(_ type: ContentType) throws -> Performed {
        try connection.statement("INSERT OR IGNORE INTO content_types (name) VALUES (?)").run(.text(type.name.description))
        var changed = connection.changes > 0
        let ctid = try connection.statement("SELECT ctid FROM content_types WHERE name = ?").bind(.text(type.name.description))
        _ = try ctid.step()
        let id = ctid.int64(0)
        let insert = try connection.statement("INSERT OR IGNORE INTO permissions (ctid, codename) VALUES (?, ?)")
        for codename in type.codenames {
            try insert.run(.integer(id), .text(codename))
            changed = changed || connection.changes > 0
        }
        guard changed else { return .unchanged }
        // Registration is additive: the cap counts what earlier registrations gave the type.
        let held = Int(try connection.statement("SELECT COUNT(*) FROM permissions WHERE ctid = ?").bind(.integer(id)).stepInteger())
        guard held <= Limits.maxCodenamesPerContentType else { throw StoreError.invalid(ContentType.tooMany(held)) }
        return .changed
    }

    /// Removes every grant of a subject (the first half of a user or group cascade).
    private func deleteSubject(_ subject: Int64) throws {
        try connection.statement("DELETE FROM model_grants WHERE subject = ?").run(.integer(subject))
        let held = try connection.statement("SELECT pid, pk FROM subject_grants WHERE subject = ?").bind(.integer(subject))
        var rows: [(pid: Int64, pk: String)] = []
        while try held.step() { rows.append((held.int64(0), try held.text(1))) }
        held.reset()
        rows += try packedRows(of: subject)
        let delete = try connection.statement("DELETE FROM object_grants WHERE pid = ? AND pk = ? AND subject = ?")
        for row in rows { try delete.run(.integer(row.pid), .text(row.pk), .integer(subject)) }
        try connection.statement("DELETE FROM subject_grants WHERE subject = ?").run(.integer(subject))
        try dropPacks(of: subject)
    }

    /// Deletes one object grant row, and its subject side; true when it was there. Stale pack
    /// entries are counted in `stale`, for the caller to `flush`.
    @discardableResult
    func deleteObjectRow(pid: Int64, pk: String, subject: Int64, stale: inout StaleEntries) throws -> Bool {
        try connection.statement("DELETE FROM object_grants WHERE pid = ? AND pk = ? AND subject = ?")
            .run(.integer(pid), .text(pk), .integer(subject))
        guard connection.changes > 0 else { return false }
        try unindex(subject: subject, pid: pid, pk: pk, stale: &stale)
        return true
    }

    // MARK: Grants

    private func grantObject(_ grant: Grant, at revision: Revision) throws -> Performed {
        guard let subject = try subjectKey(grant.subject) else { throw Self.unknownSubject(grant.subject) }
        let pid = try permissionID(grant.permission).get()
        try connection.statement("INSERT OR IGNORE INTO object_grants (pid, pk, subject, revision) VALUES (?, ?, ?, ?)")
            .run(.integer(pid), .text(grant.pk!), .integer(subject), .revision(revision))
        guard connection.changes > 0 else { return .unchanged }
        try connection.statement("INSERT INTO subject_grants (subject, pid, pk) VALUES (?, ?, ?)")
            .run(.integer(subject), .integer(pid), .text(grant.pk!))
        return .changed
    }

    private func revokeObject(_ grant: Grant) throws -> Performed {
        guard let subject = try subjectKey(grant.subject), case .success(let pid) = try permissionID(grant.permission) else {
            return .unchanged
        }
        var stale = StaleEntries()
        let deleted = try deleteObjectRow(pid: pid, pk: grant.pk!, subject: subject, stale: &stale)
        try flush(stale)
        return deleted ? .changed : .unchanged
    }

    private func grantModel(_ grant: Grant, at revision: Revision) throws -> Performed {
        let (subject, pid): (Int64, Int64)
        switch try roleTarget(grant) {
        case .success(let target): (subject, pid) = target
        case .failure(let failed): return failed.performed
        }
        try connection.statement("INSERT OR IGNORE INTO model_grants (subject, pid, revision) VALUES (?, ?, ?)")
            .run(.integer(subject), .integer(pid), .revision(revision))
        if connection.changes > 0 { return .changed }
        return .roleFailure(.alreadyExists, "\(grant.subject) already holds \(grant.permission)", nil)
    }

    private func revokeModel(_ grant: Grant) throws -> Performed {
        let (subject, pid): (Int64, Int64)
        switch try roleTarget(grant) {
        case .success(let target): (subject, pid) = target
        case .failure(let failed): return failed.performed
        }
        try connection.statement("DELETE FROM model_grants WHERE subject = ? AND pid = ?").run(.integer(subject), .integer(pid))
        if connection.changes > 0 { return .changed }
        return .roleFailure(.notFound, "\(grant.subject) does not hold \(grant.permission)", nil)
    }

    /// A role-permission operation that cannot name its subject or permission.
    struct RoleTargetFailure: Error {
        let performed: Performed
    }

    /// The subject key and `pid` of a role-permission operation, or the failure to record:
    /// `not_found` for an unknown subject or permission, `invalid_type` for a codename of
    /// another content type.
    private func roleTarget(_ grant: Grant) throws -> Result<(Int64, Int64), RoleTargetFailure> {
        guard let subject = try subjectKey(grant.subject) else {
            let error = Self.unknownSubject(grant.subject)
            return .failure(RoleTargetFailure(performed: .roleFailure(.notFound, error.message, error)))
        }
        switch try permissionID(grant.permission) {
        case .success(let pid): return .success((subject, pid))
        case .failure(let error):
            let failure: RolePermissionFailure = error.code == .notFound ? .notFound : .invalidType
            return .failure(RoleTargetFailure(performed: .roleFailure(failure, error.message, error)))
        }
    }

    // MARK: Lookups

    func userKey(_ id: String) throws -> Int64? {
        let statement = try connection.statement("SELECT uid FROM users WHERE id = ?").bind(.text(id))
        return try statement.step() ? statement.int64(0) : nil
    }

    func groupID(_ name: String) throws -> Int64? {
        let statement = try connection.statement("SELECT gid FROM groups WHERE name = ?").bind(.text(name))
        return try statement.step() ? statement.int64(0) : nil
    }

    /// A user's `uid`, or minus a group's `gid`.
    func subjectKey(_ subject: Subject) throws -> Int64? {
        switch subject {
        case .user(let id): try userKey(id)
        case .group(let name): try groupID(name).map { -$0 }
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
    func permissionID(_ permission: PermissionRef) throws -> Result<Int64, StoreError> {
        let statement = try connection.statement(
            "SELECT pid, name FROM permissions JOIN content_types USING (ctid) WHERE codename = ? AND name LIKE ? ESCAPE '\\'"
        ).bind(.text(permission.codename), .text(permission.contentType.appLabel.replacingOccurrences(of: "_", with: "\\_") + ".%"))
        var others: [String] = []
        while try statement.step() {
            let name = try statement.text(1)
            if ExactString(name) == ExactString(permission.contentType.description) { return .success(statement.int64(0)) }
            others.append(name)
        }
        if others.isEmpty {
            return .failure(StoreError(.notFound, "permission: \"\(permission)\" is not registered for content type \(permission.contentType)"))
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
    func record(_ event: ChangeEvent) throws {
        var payload = EventPayload(event.change ?? event.attempted, attempted: event.change == nil && event.attempted != nil)
        payload.count = event.count
        payload.failure = event.failure?.rawValue
        payload.message = event.message
        payload.actor = event.actor
        try connection.statement("INSERT INTO changelog (revision, time, kind, payload) VALUES (?, ?, ?, ?)")
            .run(.revision(event.revision), .integer(event.time), .text(event.kind.rawValue), .text(payload.encoded()))
    }
}
