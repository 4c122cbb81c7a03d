import CMemory
import Foundation
import WardenIndex
import WardenModel
import WardenStore

#if canImport(Glibc)
import Glibc
#endif

/// An in-memory index kept exact against the store: loaded from a snapshot at start, updated
/// by every write this process commits, and following the changelog for commits made by other
/// processes sharing the database file (bulk summaries included: their rows are replayed).
///
/// Writes go to the store first; the index applies them before the write returns, so a caller
/// reads its own writes. The index is never ahead of the store and applies revisions in order.
/// A large change set (a bulk, a followed bulk summary, a catch-up of many events) is built on
/// a copy of the index's state and published at once: readers keep the previous state meanwhile
/// and never wait behind it. Waiters for a revision (`whenReached`) are completed by the code
/// that advances the index.
///
/// Thread safety: `lock` serializes every change of the index; `following` guards
/// `stopFollowing`, `pendingCommit` and `isFollowing`; `waiters` has its own lock. `follower`
/// is set by `startFollowing` and `stop`, which callers do not run concurrently.
public final class IndexReplica: @unchecked Sendable {
    public let store: any PermissionStore
    public let index: PermissionIndex
    /// Serializes writes and catch-ups, so revisions reach the index in order.
    private let lock = NSLock()
    var follower: Thread?
    /// Callbacks waiting for revisions the index has not reached.
    let waiters = RevisionWaiters()
    /// Called with every event the index applies, in revision order, under the replica's lock
    /// (own writes, other processes' writes, summaries); must not block. Set once, before use.
    public var onApplied: (@Sendable ([ChangeEvent]) -> Void)?
    /// Called when the index was rebuilt from a snapshot after falling behind the changelog's
    /// retention: events between the old and the new revision were not seen one by one.
    public var onReloaded: (@Sendable (Revision) -> Void)?
    let following = NSCondition()
    var stopFollowing = false
    /// A commit was signalled (or a waiter nudged) and not yet caught up with.
    var pendingCommit = false
    /// The follower thread runs: a nudge wakes it.
    var isFollowing = false

    /// Change sets of at least this many changes are built aside and published; smaller ones
    /// are applied under the index's write lock, which they hold briefly.
    static let asideThreshold = 1000
    /// Bulk calls of at least this many rows give the allocator's free pages back after them
    /// (`warden_release_free_memory`, a walk of the heap: milliseconds per GiB).
    static let releaseMemoryAfter = 10_000
    /// A catch-up builds aside at most about this many changes at once (plus one event's), so
    /// a backlog of bulks is not all held in memory.
    static let largestRun = 1_000_000

    /// Loads the store into a new index.
    public init(store: any PermissionStore, settings: PermissionIndex.Settings = .init()) throws(StoreError) {
        self.store = store
        self.index = PermissionIndex(settings: settings)
        try reload()
    }

    deinit { stop() }

    /// Rebuilds the index from a snapshot of the store.
    public func reload() throws(StoreError) {
        try serialized { () throws(StoreError) in try reloadLocked() }
    }

    func reloadLocked() throws(StoreError) {
        // Two threads: one reads the snapshot in chunks, this one builds the index from them
        // (each is about half of a cold load), through a short queue that bounds memory.
        let stream = SnapshotStream(capacity: 4)
        let store = self.store
        let reader = Thread {
            do {
                stream.finish(revision: try store.snapshot(chunkSize: 50_000) { stream.put($0) }, error: nil)
            } catch {
                stream.finish(revision: nil, error: error as? StoreError ?? StoreError(.internal, "\(error)"))
            }
        }
        reader.name = "warden.snapshot"
        reader.start()
        let loader = IndexLoader()
        while var chunk = stream.take() {
            loader.add(chunk)
            stream.recycle(&chunk)
        }
        stream.releaseSpent()
        let (revision, error) = stream.outcome
        if let error { throw error }
        loader.finish(into: index, at: revision!)
        waiters.advance(to: revision!)
        // The chunks were freed between the index's arrays, and a reload frees the old state:
        // pages the allocator keeps would stay resident for nothing.
        warden_release_free_memory()
    }

    /// The index refused a change the store committed: starts over from a snapshot.
    func reloadAfterRefusal() throws(StoreError) {
        try reloadLocked()
        onReloaded?(index.revision)
    }

    // MARK: Writes

    /// Commits a change and applies it (and anything committed before it) to the index.
    /// Concurrent callers reach the store together, so its group commit can share one fsync
    /// among them; the index then catches up in revision order.
    public func apply(
        _ change: Change,
        actor: String? = nil,
        ifAt expected: Revision? = nil
    ) throws(StoreError) -> WriteOutcome {
        do {
            let outcome = try store.apply(change, actor: actor, ifAt: expected)
            try catchUp(to: outcome.revision)
            return outcome
        } catch {
            // A failed role-permission operation committed its event: the index follows it.
            if let event = error.event { try? catchUp(to: event.revision) }
            throw error
        }
    }

    /// Commits several changes in one transaction (each with its own revision and event) and
    /// applies them to the index.
    public func apply(
        batch changes: [Change],
        actor: String? = nil,
        ifAt expected: Revision? = nil
    ) throws(StoreError)
        -> [WriteOutcome]
    {
        try serialized { () throws(StoreError) in
            let outcomes = try store.apply(batch: changes, actor: actor, ifAt: expected)
            try catchUpLocked()
            return outcomes
        }
    }

    /// Bulk-grants and applies the rows to the index in one batch.
    public func bulkGrant(
        _ grants: [Grant],
        actor: String? = nil,
        ifAt expected: Revision? = nil
    ) throws(StoreError) -> BulkOutcome {
        try serialized { () throws(StoreError) in
            try bulk(grants.map(Change.grant)) { () throws(StoreError) in
                try store.bulkGrant(grants, actor: actor, ifAt: expected)
            }
        }
    }

    /// Bulk-revokes and applies the rows to the index in one batch.
    public func bulkRevoke(
        _ grants: [Grant],
        actor: String? = nil,
        ifAt expected: Revision? = nil
    ) throws(StoreError) -> BulkOutcome {
        try serialized { () throws(StoreError) in
            try bulk(grants.map(Change.revoke)) { () throws(StoreError) in
                try store.bulkRevoke(grants, actor: actor, ifAt: expected)
            }
        }
    }

    /// Commits a bulk (`commit`) while another thread applies its `changes` to a copy of the
    /// index's state (`PermissionIndex.prepare`): the two take about as long as the longer one,
    /// on two cores, and readers keep the current state meanwhile. The copy is published only
    /// once the commit is durable and is the revision right after the copy's; otherwise the
    /// index applies the bulk or catches up as before (`applyOwnBulk`). The index is never ahead
    /// of the store.
    private func bulk(
        _ changes: [Change],
        commit: () throws(StoreError) -> BulkOutcome
    ) throws(StoreError) -> BulkOutcome {
        // A large bulk frees its decoded rows, its statements' buffers and the state it
        // replaced: pages the allocator would keep resident otherwise.
        defer { if changes.count >= Self.releaseMemoryAfter { warden_release_free_memory() } }
        // A small bulk is applied in place after its commit, as single writes are: the copy a
        // bulk is built on costs time in proportion to the index (a quarter of a second at 10M
        // grants), which a few rows do not repay; under the write lock they take a millisecond.
        guard changes.count >= Self.asideThreshold else {
            let outcome = try commit()
            try applyOwnBulk(outcome, changes)
            return outcome
        }
        let next = index.revision.next
        let aside = PreparedAside()
        let done = DispatchSemaphore(value: 0)
        let index = self.index
        DispatchQueue.global().async {
            aside.batch = try? index.prepare(changes, at: next)
            done.signal()
        }
        let outcome: BulkOutcome
        do {
            outcome = try commit()
        } catch {
            done.wait()
            throw error
        }
        done.wait()
        guard let event = outcome.event else {  // nothing changed here; others may have committed
            try applyOwnBulk(outcome, changes)
            return outcome
        }
        if event.revision == next, let batch = aside.batch.take(), index.publish(batch) {
            waiters.advance(to: event.revision)
            onApplied?([event])
            return outcome
        }
        try applyOwnBulk(outcome, changes)
        return outcome
    }

    /// Prunes orphan object grants of a content type and applies the removals.
    public func pruneOrphans(
        contentType: ContentTypeName,
        livePKs: some Sequence<String>,
        actor: String? = nil
    )
        throws(StoreError) -> BulkOutcome
    {
        try serialized { () throws(StoreError) in
            let outcome = try store.pruneOrphans(contentType: contentType, livePKs: livePKs, actor: actor)
            try catchUpLocked()
            return outcome
        }
    }

    /// Applies this process's own bulk from its input when the index is right behind it (the
    /// input is exactly what the rows now are), else catches up through the changelog.
    private func applyOwnBulk(_ outcome: BulkOutcome, _ changes: [Change]) throws(StoreError) {
        guard let event = outcome.event, index.revision.next == event.revision else {
            try catchUpLocked()
            return
        }
        if try advance(through: [RevisionChanges(changes, at: event.revision)]) { onApplied?([event]) }
    }

    /// Moves the index through `run`'s revisions, in order: a small run directly (each revision
    /// under the index's write lock, briefly), a large one on a copy of the state, published at
    /// once, so readers answer from the previous state meanwhile instead of waiting for the
    /// lock. Then completes the waiters it satisfies. `false` when the index refused a change
    /// (it was reloaded from a snapshot). Runs under `lock`.
    func advance(through run: [RevisionChanges]) throws(StoreError) -> Bool {
        guard let last = run.last else { return true }
        do {
            if run.reduce(0, { $0 + $1.changes.count }) < Self.asideThreshold {
                for step in run { try index.apply(step.changes, at: step.revision) }
            } else if !index.publish(try index.prepare(run)) {
                // Only `lock`'s holder changes the index: not reached, but never published stale.
                try reloadAfterRefusal()
                return false
            }
        } catch {
            try reloadAfterRefusal()
            return false
        }
        waiters.advance(to: last.revision)
        return true
    }

    func serialized<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// A batch prepared on another thread, handed back after a semaphore.
private final class PreparedAside: @unchecked Sendable {
    var batch: PermissionIndex.PreparedBatch?
}
