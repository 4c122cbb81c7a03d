import WardenModel

extension IndexState {
    /// A copy sharing every array with `self` until one side writes it (Swift's copy-on-write):
    /// what a batch is applied to aside while readers keep `self`. Lists every stored property;
    /// `PreparedBatchTests` checks `IndexState`'s size, so a property added without a line here
    /// fails it.
    func copy() -> IndexState {
        var copy = IndexState()
        copy.revision = revision
        copy.userIDs = userIDs
        copy.users = users
        copy.userFlags = userFlags
        copy.userOrderKeys = userOrderKeys
        copy.usernames = usernames
        copy.userOfUsername = userOfUsername
        copy.superusers = superusers
        copy.groupNames = groupNames
        copy.groups = groups
        copy.typeNames = typeNames
        copy.types = types
        copy.permissionNames = permissionNames
        copy.permissionsOfName = permissionsOfName
        copy.permissions = permissions
        copy.objectGrantCount = objectGrantCount
        copy.modelGrantCount = modelGrantCount
        return copy
    }
}

extension IndexState {
    /// Validates `changes` against the state, applies them and moves to `revision`; refused,
    /// the state is unchanged. Large batches append and sort once at the end.
    mutating func apply(_ changes: [Change], at revision: Revision) throws(IndexError) {
        try validate(changes)
        var pending: PendingSorts? = changes.count > PermissionIndex.deferredSortThreshold ? PendingSorts() : nil
        for change in changes { apply(change, pending: &pending) }
        if pending != nil { finish(&pending!) }
        self.revision = revision
    }
}

/// One revision's changes, a step of `PermissionIndex.prepare(_:)`'s run.
public struct RevisionChanges: Sendable {
    public let changes: [Change]
    public let revision: Revision

    public init(_ changes: [Change], at revision: Revision) {
        self.changes = changes
        self.revision = revision
    }
}

extension PermissionIndex {
    /// A batch applied to a copy of the index's state, off the write lock; `publish` swaps it in.
    public struct PreparedBatch: ~Copyable, @unchecked Sendable {
        fileprivate var state: IndexState
        /// The revision the copy was taken at: it is published only if the index is still there.
        public let base: Revision
    }

    /// Applies `changes` as `apply(_:at:)` does, but to a copy of the current state, without the
    /// write lock: readers keep answering from the current state meanwhile, and writers may run
    /// (then the batch will not publish). Arrays the batch does not touch stay shared; each one
    /// it touches is copied once. For a bulk that commits in the store while its rows are applied
    /// here, on another core (`IndexReplica`).
    public func prepare(_ changes: [Change], at revision: Revision) throws(IndexError) -> PreparedBatch {
        try prepare([RevisionChanges(changes, at: revision)])
    }

    /// Applies a run of revisions to one copy, each as `apply(_:at:)` would in turn (validated
    /// against the state the earlier ones left; a refused change throws, naming its revision):
    /// a follower's catch-up of many events, or of a bulk summary, published at once at the
    /// last revision. Readers see the state before the run or after it, never a revision
    /// in between.
    public func prepare(_ run: [RevisionChanges]) throws(IndexError) -> PreparedBatch {
        var copy = lock.withReadLock { state.pointee.copy() }
        let base = copy.revision
        for step in run {
            do throws(IndexError) {
                try copy.apply(step.changes, at: step.revision)
            } catch {
                guard run.count > 1 else { throw error }
                throw IndexError(error.code, "revision \(step.revision): \(error.message)")
            }
        }
        return PreparedBatch(state: copy, base: base)
    }

    /// Swaps `batch` in if the index is still at the revision it was prepared on; returns whether
    /// it did. Readers see the old state or the new one, never a mix. The state that is not kept
    /// is freed after the lock is released.
    public func publish(_ batch: consuming PreparedBatch) -> Bool {
        let base = batch.base
        var fresh = batch.state
        return lock.withWriteLock {
            guard state.pointee.revision == base else { return false }
            swap(&state.pointee, &fresh)
            return true
        }
    }
}
