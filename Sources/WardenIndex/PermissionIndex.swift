import WardenModel

/// Warden's in-memory permission index and evaluator: users, groups, content types,
/// permissions and grants, answering `check`, `listObjects`, `listSubjects` and `permissions`
/// exactly as `docs/semantics.md` specifies, in memory, without I/O.
///
/// Thread safety: any number of threads may read while one applies a batch of changes; a reader
/// sees a batch entirely or not at all (a reader-writer lock guards the state). Every answer
/// carries the revision it was evaluated at.
public final class PermissionIndex: @unchecked Sendable {
    /// Server-wide defaults that requests may override.
    public struct Settings: Hashable, Sendable {
        /// Whether model grants imply object access when a request does not say (guardian's
        /// `accept_global_perms`). Default true.
        public var acceptGlobalPerms: Bool
        /// The user that requests without a subject are evaluated as (guardian's anonymous user).
        public var anonymousUser: String?

        public init(acceptGlobalPerms: Bool = true, anonymousUser: String? = nil) {
            self.acceptGlobalPerms = acceptGlobalPerms
            self.anonymousUser = anonymousUser
        }
    }

    /// The defaults requests fall back on.
    public let settings: Settings
    let lock = ReadWriteLock()
    /// The state, behind a pointer so reads skip Swift's dynamic exclusivity checks; the lock
    /// provides the exclusion.
    let state: UnsafeMutablePointer<IndexState>

    public init(settings: Settings = Settings()) {
        self.settings = settings
        state = .allocate(capacity: 1)
        state.initialize(to: IndexState())
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// The revision the index is at.
    public var revision: Revision { lock.withReadLock { state.pointee.revision } }

    /// Applies a batch of changes atomically and moves the index to `revision` (the next one
    /// when `nil`). The batch is validated first: if any change is refused, nothing is applied
    /// and the error names the change's position. Large batches (bulk grants, a cold load)
    /// append and sort once at the end instead of inserting in order.
    public func apply(_ changes: [Change], at revision: Revision? = nil) throws(IndexError) {
        try lock.withWriteLock { () throws(IndexError) in
            try state.pointee.apply(changes, at: revision ?? state.pointee.revision.next)
        }
    }

    /// Replaces the whole state with `changes` applied to an empty index, at `revision`: a
    /// reload. The new state is built aside and swapped in, so readers see the old state or the
    /// new one; a refused batch leaves the index as it was. `trusted` skips the batch
    /// validation, for a store's snapshot, whose constraints (unique usernames, registered
    /// subjects and permissions) already hold; given a batch that breaks them, applying does not
    /// crash, but the result is unspecified.
    ///
    /// Neither this nor `apply` checks that `revision` moves forward: callers serialize their
    /// writes and reloads (`IndexReplica` does), so revisions reach the index in order.
    public func replaceAll(with changes: [Change], at revision: Revision, trusted: Bool = false) throws(IndexError) {
        if !trusted { try IndexState().validate(changes) }
        let loader = IndexLoader()
        loader.add(changes)
        loader.finish(into: self, at: revision)
    }

    /// Swaps `fresh` in under the write lock; the old state is left in `fresh`, to be freed by
    /// the caller outside the lock.
    func swapState(_ fresh: inout IndexState) {
        lock.withWriteLock { swap(&state.pointee, &fresh) }
    }

    /// Batches larger than this defer the sorting of the arrays they append to.
    static let deferredSortThreshold = 32

    /// Counts of what the index holds.
    public var statistics: IndexStatistics {
        try! read { s in
            IndexStatistics(
                revision: s.revision,
                users: s.userIDs.count,
                groups: s.groupNames.count,
                contentTypes: s.typeNames.count,
                permissions: s.permissions.count,
                objects: s.types.reduce(0) { $0 + $1.objects.count },
                objectGrants: s.objectGrantCount,
                modelGrants: s.modelGrantCount
            )
        }.value
    }

    /// Runs `body` on the state under the read lock, borrowed in place: `IndexState` is
    /// noncopyable, so no read copies it, and a borrow is a read access, which concurrent
    /// readers may share (an `inout` one would be a modifying access each).
    @inline(__always)
    func read<T>(_ body: (borrowing IndexState) throws(IndexError) -> T) throws(IndexError) -> Evaluated<T> {
        try lock.withReadLock { () throws(IndexError) in
            let value = try body(state.pointee)
            return Evaluated(value: value, revision: state.pointee.revision)
        }
    }
}

/// A query's answer and the revision it was evaluated at.
public struct Evaluated<Value> {
    public let value: Value
    public let revision: Revision

    public init(value: Value, revision: Revision) {
        self.value = value
        self.revision = revision
    }
}

extension Evaluated: Sendable where Value: Sendable {}
extension Evaluated: Equatable where Value: Equatable {}

/// What the index holds.
public struct IndexStatistics: Hashable, Sendable {
    public let revision: Revision
    public let users: Int
    public let groups: Int
    public let contentTypes: Int
    public let permissions: Int
    /// Objects with at least one grant.
    public let objects: Int
    public let objectGrants: Int
    public let modelGrants: Int
    /// Object and model grants together.
    public var grants: Int { objectGrants + modelGrants }
}
