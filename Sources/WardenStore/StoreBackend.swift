import WardenModel

/// A database under Warden's store: SQL and nothing else. `BackedStore` holds every rule
/// (validation, resolution and its messages, role-permission failures, cascades, revisions,
/// the changelog's format, summary replay, retention) and asks a backend only to run
/// statements; `WardenSQLiteStore` and `WardenPostgresStore` are the two backends. A backend
/// passes the conformance suite (`Tests/WardenStoreTests`) unchanged.
///
/// Keys: a user's `uid`, a group's `gid`, a content type's `ctid` and a permission's `pid` are
/// the backend's integer keys, positive. A *subject* is one integer: a user's `uid`, or minus a
/// group's `gid`. Texts are compared byte for byte (SQLite's `BINARY`, PostgreSQL's `C`
/// collation).
public protocol StoreBackend: AnyObject, Sendable {
    associatedtype Writer: BackendWriter
    associatedtype Reader: BackendReader

    /// Runs `body` in one write transaction and commits it. The transaction holds the
    /// database's revision lock from its start to its end: no other writer, of this process or
    /// any other sharing the database, commits between the transaction's `latestRevision()`
    /// and its `COMMIT`, so revisions are assigned and committed in one order. Returns only once
    /// `COMMIT` has returned (the write is as durable as the backend is configured to make it);
    /// an error from `body` or from `COMMIT` rolls everything back and is thrown (backend errors
    /// mapped by `storeError`).
    func write<T>(_ body: (Writer) throws -> T) throws(StoreError) -> T

    /// Runs `body` in one read-only transaction that sees one committed state; it never waits
    /// for writers and writers never wait for it.
    func read<T>(_ body: (Reader) throws -> T) throws(StoreError) -> T

    /// The `StoreError` for an error a backend call threw (busy, unreachable, disk full, ...);
    /// a `StoreError` maps to itself.
    func storeError(_ error: any Error) -> StoreError

    /// Starts telling `signal` of commits: this process's and others' (see `CommitSignal`).
    func startSignalling(_ signal: CommitSignal)

    /// Makes everything committed durable in the database's main storage (a clean shutdown's
    /// last step); a no-op where there is nothing to do.
    func checkpoint() throws(StoreError)
}

/// A changelog row as stored: the event's revision, time, kind and payload (`EventPayload`).
public struct EventRow: Sendable {
    public var revision: Revision
    public var time: Int64
    public var kind: String
    public var payload: String

    public init(revision: Revision, time: Int64, kind: String, payload: String) {
        self.revision = revision
        self.time = time
        self.kind = kind
        self.payload = payload
    }
}

/// A grant as stored: a subject key, a `pid`, and a pk (`nil` for a model-level grant).
public struct GrantRow: Sendable {
    public var subject: Int64
    public var pid: Int64
    public var pk: String?

    public init(subject: Int64, pid: Int64, pk: String?) {
        self.subject = subject
        self.pid = pid
        self.pk = pk
    }
}

/// A permission as stored, with its content type.
public struct PermissionRow: Sendable {
    public var ctid: Int64
    public var contentType: String
    public var codename: String
    public var pid: Int64

    public init(ctid: Int64, contentType: String, codename: String, pid: Int64) {
        self.ctid = ctid
        self.contentType = contentType
        self.codename = codename
        self.pid = pid
    }
}

/// A user row's fields besides its id.
public struct UserRow: Sendable {
    public var username: String?
    public var isActive: Bool
    public var isSuperuser: Bool

    public init(username: String?, isActive: Bool, isSuperuser: Bool) {
        self.username = username
        self.isActive = isActive
        self.isSuperuser = isSuperuser
    }
}

/// Which grant rows a reader streams.
public enum GrantSelection: Sendable {
    /// Every model-level grant (pk `nil`).
    case model
    /// Every object grant.
    case object
    /// The model-level and object grants a bulk grant at this revision added (still present).
    case addedAt(Revision)
    /// The rows a bulk revoke or an orphan prune at this revision removed.
    case removedAt(Revision)
}

/// The reads of a read transaction (and of a write transaction, which sees its own writes).
public protocol BackendReader {
    /// The newest revision in the changelog; 0 when it is empty.
    func latestRevision() throws -> Revision
    /// The oldest revision the changelog retains; 0 when it is empty.
    func oldestRevision() throws -> Revision
    /// Changelog rows after `revision`, oldest first, at most `limit`.
    func events(after revision: Revision, limit: Int) throws -> [EventRow]
    /// Every permission with its content type, by `ctid` then `pid`.
    func permissions() throws -> [PermissionRow]
    /// Every user: its key and fields.
    func users(_ body: (_ uid: Int64, _ id: String, _ row: UserRow) throws -> Void) throws
    /// Every group: its key and name.
    func groups(_ body: (_ gid: Int64, _ name: String) throws -> Void) throws
    /// Every membership.
    func memberships(_ body: (_ uid: Int64, _ gid: Int64) throws -> Void) throws
    /// Streams the selected grant rows.
    func grants(_ selection: GrantSelection, _ body: (GrantRow) throws -> Void) throws
}

/// The statements of a write transaction. Each method is one statement or a few that belong
/// together; none decides anything `BackedStore` decides.
public protocol BackendWriter: BackendReader {
    /// Runs `body` in a savepoint: on an error from `body`, rolls back to the savepoint and
    /// returns the error; throws only when the transaction itself is broken (then it fails
    /// whole).
    func savepoint<T>(_ body: () throws -> T) throws -> Result<T, any Error>

    // Users
    func userKey(_ id: String) throws -> Int64?
    func user(_ id: String) throws -> UserRow?
    /// The id of the user other than `id` that holds `username`.
    func usernameOwner(_ username: String, other id: String) throws -> String?
    func insertUser(_ user: User) throws
    func updateUser(_ user: User) throws
    /// Deletes the user row (its memberships and grants are the caller's to delete first).
    func deleteUser(uid: Int64) throws

    // Groups and memberships
    func groupKey(_ name: String) throws -> Int64?
    /// Inserts the group unless it exists; true when inserted.
    func insertGroup(_ name: String) throws -> Bool
    func deleteGroup(gid: Int64) throws
    /// Inserts the membership unless it exists; true when inserted.
    func insertMembership(uid: Int64, gid: Int64) throws -> Bool
    /// Deletes the membership; true when it was there.
    func deleteMembership(uid: Int64, gid: Int64) throws -> Bool
    func deleteMemberships(uid: Int64) throws
    func deleteMemberships(gid: Int64) throws

    // Content types and permissions
    /// The type's `ctid`, inserting it unless it exists; `inserted` tells which.
    func insertContentType(_ name: String) throws -> (ctid: Int64, inserted: Bool)
    /// Inserts the permission unless it exists; true when inserted.
    func insertPermission(ctid: Int64, codename: String) throws -> Bool
    func permissionCount(ctid: Int64) throws -> Int
    /// The permissions with this codename on content types of this app: `(pid, type name)`.
    func permissions(codename: String, appLabel: String) throws -> [(pid: Int64, contentType: String)]

    // Grants
    /// Inserts unless present; true when inserted.
    func insertModelGrant(subject: Int64, pid: Int64, revision: Revision) throws -> Bool
    /// Deletes; true when it was there.
    func deleteModelGrant(subject: Int64, pid: Int64) throws -> Bool
    /// Inserts unless present; true when inserted.
    func insertObjectGrant(pid: Int64, pk: String, subject: Int64, revision: Revision) throws -> Bool
    /// Deletes; true when it was there.
    func deleteObjectGrant(pid: Int64, pk: String, subject: Int64) throws -> Bool
    /// Deletes every grant, model-level and object, of a subject.
    func deleteGrants(subject: Int64) throws
    /// Deletes every object grant on one object (a pk of a content type); how many went.
    func deleteObjectGrants(contentType: String, pk: String) throws -> Int

    // Bulk (one summary event; `removedAt(revision)` reads back what a removal removed)
    /// Inserts the rows not present (`rows` may hold duplicates); how many were new.
    func insertObjectGrants(_ rows: BulkRows, revision: Revision) throws -> Int
    /// Deletes the rows present, remembering each under `revision`; how many went.
    func removeObjectGrants(_ rows: BulkRows, revision: Revision) throws -> Int
    /// Deletes a model-level grant, remembering it under `revision`; true when it was there.
    func removeModelGrant(subject: Int64, pid: Int64, revision: Revision) throws -> Bool
    /// Deletes the object grants of a content type whose pk is not in `livePKs`, remembering
    /// each under `revision`; how many went.
    func pruneObjectGrants(contentType: String, keeping livePKs: [String], revision: Revision) throws -> Int

    // Changelog
    /// Appends a row; revisions arrive in increasing order within and across transactions.
    func appendEvent(_ row: EventRow) throws
    /// The newest revision older than `time` (milliseconds); 0 when none.
    func newestRevision(before time: Int64) throws -> Revision
    /// Deletes changelog rows, and the remembered rows of removals, up to `revision`; how many
    /// changelog rows went.
    func deleteEvents(through revision: Revision) throws -> Int
}
