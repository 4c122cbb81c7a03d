#if canImport(Glibc)
import Glibc
#endif
import Foundation
import WardenIndex
import WardenModel
import WardenStore

/// An in-memory index kept exact against the store: loaded from a snapshot at start, updated
/// by every write this process commits, and following the changelog for commits made by other
/// processes sharing the database file (bulk summaries included: their rows are replayed).
///
/// Writes go to the store first; the index applies them before the write returns, so a caller
/// reads its own writes. The index is never ahead of the store and applies revisions in order.
public final class IndexReplica: @unchecked Sendable {
    public let store: any PermissionStore
    public let index: PermissionIndex
    /// Serializes writes and catch-ups, so revisions reach the index in order.
    private let lock = NSLock()
    private var follower: Thread?
    /// Called with every event the index applies, in revision order, under the replica's lock
    /// (own writes, other processes' writes, summaries); must not block. Set once, before use.
    public var onApplied: (@Sendable ([ChangeEvent]) -> Void)?
    /// Called when the index was rebuilt from a snapshot after falling behind the changelog's
    /// retention: events between the old and the new revision were not seen one by one.
    public var onReloaded: (@Sendable (Revision) -> Void)?
    private let following = NSCondition()
    private var stopFollowing = false
    /// A commit was signalled and not yet caught up with; guarded by `following`.
    private var pendingCommit = false

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

    private func reloadLocked() throws(StoreError) {
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
        while let chunk = stream.take() { loader.add(chunk) }
        let (revision, error) = stream.outcome
        if let error { throw error }
        loader.finish(into: index, at: revision!)
    }

    // MARK: Writes

    /// Commits a change and applies it (and anything committed before it) to the index.
    /// Concurrent callers reach the store together, so its group commit can share one fsync
    /// among them; the index then catches up in revision order.
    public func apply(_ change: Change, actor: String? = nil, ifAt expected: Revision? = nil) throws(StoreError) -> WriteOutcome {
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
    public func apply(batch changes: [Change], actor: String? = nil, ifAt expected: Revision? = nil) throws(StoreError)
        -> [WriteOutcome]
    {
        try serialized { () throws(StoreError) in
            let outcomes = try store.apply(batch: changes, actor: actor, ifAt: expected)
            try catchUpLocked()
            return outcomes
        }
    }

    /// Bulk-grants and applies the rows to the index in one batch.
    public func bulkGrant(_ grants: [Grant], actor: String? = nil, ifAt expected: Revision? = nil) throws(StoreError) -> BulkOutcome {
        try serialized { () throws(StoreError) in
            try bulk(grants.map(Change.grant)) { () throws(StoreError) in try store.bulkGrant(grants, actor: actor, ifAt: expected) }
        }
    }

    /// Bulk-revokes and applies the rows to the index in one batch.
    public func bulkRevoke(_ grants: [Grant], actor: String? = nil, ifAt expected: Revision? = nil) throws(StoreError) -> BulkOutcome {
        try serialized { () throws(StoreError) in
            try bulk(grants.map(Change.revoke)) { () throws(StoreError) in try store.bulkRevoke(grants, actor: actor, ifAt: expected) }
        }
    }

    /// Commits a bulk (`commit`) while another thread applies its `changes` to a copy of the
    /// index's state (`PermissionIndex.prepare`): the two take about as long as the longer one,
    /// on two cores, and readers keep the current state meanwhile. The copy is published only
    /// once the commit is durable and is the revision right after the copy's; otherwise the
    /// index applies the bulk or catches up as before (`applyOwnBulk`). The index is never ahead
    /// of the store.
    private func bulk(_ changes: [Change], commit: () throws(StoreError) -> BulkOutcome) throws(StoreError) -> BulkOutcome {
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
            onApplied?([event])
            return outcome
        }
        try applyOwnBulk(outcome, changes)
        return outcome
    }

    /// Prunes orphan object grants of a content type and applies the removals.
    public func pruneOrphans(contentType: ContentTypeName, livePKs: some Sequence<String>, actor: String? = nil)
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
        do {
            try index.apply(changes, at: event.revision)
            onApplied?([event])
        } catch {
            try reloadLocked()
            onReloaded?(index.revision)
        }
    }

    // MARK: Following

    /// Applies every committed event the index has not seen; returns the index's revision.
    @discardableResult
    public func catchUp() throws(StoreError) -> Revision {
        try serialized { () throws(StoreError) in try catchUpLocked() }
        return index.revision
    }

    /// Catches up unless the index already holds `revision` (another caller's catch-up may have
    /// applied it meanwhile).
    private func catchUp(to revision: Revision) throws(StoreError) {
        guard index.revision < revision else { return }
        try serialized { () throws(StoreError) in
            if index.revision < revision { try catchUpLocked() }
        }
    }

    private func catchUpLocked() throws(StoreError) {
        while true {
            let after = index.revision
            let events: [ChangeEvent]
            do {
                events = try store.events(after: after, limit: 1000)
            } catch where error.code == .outOfRange {
                try reloadLocked()  // fell behind the changelog's retention: start over from a snapshot
                onReloaded?(index.revision)
                return
            }
            guard !events.isEmpty else { return }
            for event in events {
                let changes: [Change]
                switch event.kind {
                case .bulkGranted, .bulkRevoked, .orphansPruned: changes = try store.replay(event)
                default: changes = event.change.map { [$0] } ?? []
                }
                do {
                    try index.apply(changes, at: event.revision)
                } catch {
                    try reloadLocked()
                    onReloaded?(index.revision)
                    return
                }
            }
            onApplied?(events)
        }
    }

    /// Waits until the index has reached `revision`, catching up meanwhile; `UNAVAILABLE` if
    /// it has not by `timeout` (a read never answers from an older state than it asked for).
    public func waitFor(_ revision: Revision, timeout: Duration) throws(StoreError) -> Revision {
        let deadline = ContinuousClock.now + timeout
        while true {
            if index.revision >= revision { return index.revision }
            try catchUp()
            if index.revision >= revision { return index.revision }
            guard ContinuousClock.now < deadline else {
                throw StoreError(
                    .unavailable,
                    "min_revision \(revision) is not reached (this process is at \(index.revision)); retry later"
                )
            }
            usleep(1000)
        }
    }

    /// Starts a thread that catches up whenever the store signals a commit (`observeCommits`):
    /// other processes' and hosts' writes reach the index without a request asking.
    public func startFollowing() {
        guard follower == nil else { return }
        stopFollowing = false
        pendingCommit = true  // commits between the load and this call
        store.observeCommits { [weak self] in self?.signalCommit() }
        let thread = Thread { [weak self] in
            while let self, self.waitForCommit() {
                _ = try? self.catchUp()
            }
        }
        thread.name = "warden.follower"
        follower = thread
        thread.start()
    }

    /// Stops the following thread.
    public func stop() {
        following.lock()
        stopFollowing = true
        following.broadcast()
        following.unlock()
        follower = nil
    }

    private func signalCommit() {
        following.lock()
        pendingCommit = true
        following.broadcast()
        following.unlock()
    }

    /// Waits for a commit signal; false once stopped.
    private func waitForCommit() -> Bool {
        following.lock()
        defer { following.unlock() }
        while !pendingCommit && !stopFollowing { following.wait() }
        pendingCommit = false
        return !stopFollowing
    }

    private func serialized<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// A batch prepared on another thread, handed back after a semaphore.
private final class PreparedAside: @unchecked Sendable {
    var batch: PermissionIndex.PreparedBatch?
}

/// Chunks of a snapshot passed from the reading thread to the building one: a bounded queue,
/// so a fast reader cannot hold the whole snapshot in memory twice.
final class SnapshotStream: @unchecked Sendable {
    private let condition = NSCondition()
    private let capacity: Int
    private var chunks: [[Change]] = []
    private var done = false
    private var revision: Revision?
    private var error: StoreError?

    init(capacity: Int) { self.capacity = capacity }

    /// Adds a chunk, waiting while the queue is full.
    func put(_ chunk: [Change]) {
        condition.lock()
        while chunks.count >= capacity { condition.wait() }
        chunks.append(chunk)
        condition.broadcast()
        condition.unlock()
    }

    /// The reader is done: with the snapshot's revision, or an error.
    func finish(revision: Revision?, error: StoreError?) {
        condition.lock()
        self.revision = revision
        self.error = error
        done = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk, or `nil` once the reader is done and every chunk is taken.
    func take() -> [Change]? {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !done { condition.wait() }
        guard !chunks.isEmpty else { return nil }
        let chunk = chunks.removeFirst()
        condition.broadcast()
        return chunk
    }

    /// The reader's result, once `take` has returned `nil`.
    var outcome: (Revision?, StoreError?) {
        condition.lock()
        defer { condition.unlock() }
        return (revision, error)
    }
}
