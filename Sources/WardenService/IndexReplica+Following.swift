import Foundation
import WardenIndex
import WardenModel
import WardenStore
import WardenSync

/// Following other processes' commits, and waiting for revisions.
extension IndexReplica {
    // MARK: Following

    /// Applies every committed event the index has not seen; returns the index's revision.
    @discardableResult
    public func catchUp() throws(StoreError) -> Revision {
        try serialized { () throws(StoreError) in try catchUpLocked() }
        return index.revision
    }

    /// Catches up unless the index already holds `revision` (another caller's catch-up may have
    /// applied it meanwhile).
    func catchUp(to revision: Revision) throws(StoreError) {
        guard index.revision < revision else { return }
        try serialized { () throws(StoreError) in
            if index.revision < revision { try catchUpLocked() }
        }
    }

    /// Reads the changelog a page at a time and moves the index through it (`advance`): the
    /// events of a page go as one run, so a page of many events, or a bulk summary's replayed
    /// rows, is built aside and published at once.
    func catchUpLocked() throws(StoreError) {
        while true {
            let events: [ChangeEvent]
            do {
                events = try store.events(after: index.revision, limit: 1000)
            } catch  where error.code == .outOfRange {
                try reloadAfterRefusal()  // fell behind the changelog's retention: start over from a snapshot
                return
            }
            guard !events.isEmpty else { return }
            var run: [RevisionChanges] = []
            var size = 0
            for event in events {
                let changes: [Change]
                switch event.kind {
                case .bulkGranted, .bulkRevoked, .orphansPruned: changes = try store.replay(event)
                default: changes = event.change.map { [$0] } ?? []
                }
                run.append(RevisionChanges(changes, at: event.revision))
                size += changes.count
                if size >= Self.largestRun {
                    guard try advance(through: run) else { return }
                    (run, size) = ([], 0)
                }
            }
            guard try advance(through: run) else { return }
            onApplied?(events)
        }
    }

    /// Starts a thread that catches up whenever the store signals a commit (`observeCommits`)
    /// or a waiter asks for a revision the index has not reached (`whenReached`): other
    /// processes' and hosts' writes reach the index without a request asking.
    public func startFollowing() {
        guard follower == nil else { return }
        following.lock()
        stopFollowing = false
        isFollowing = true
        pendingCommit = true  // commits between the load and this call
        following.unlock()
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
        isFollowing = false
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

    // MARK: Waiting for a revision

    /// Calls `callback` with the index's revision once it has reached `revision`: at once, on
    /// this thread, when it has (then returns `nil`); else from the thread that advances the
    /// index, which it must not block (complete a promise, signal a semaphore). The ticket
    /// cancels the wait (`cancelWait`). No thread waits and nothing polls meanwhile.
    ///
    /// A revision beyond the index nudges the follower to look for commits once: the store's
    /// signal may not have fired yet for another host's commit that the caller already knows
    /// of. Without a follower, the nudge catches up once on another thread.
    public func whenReached(
        _ revision: Revision,
        _ callback: @escaping @Sendable (Revision) -> Void
    ) -> RevisionWaiters.Ticket? {
        guard let ticket = waiters.whenReached(revision, callback) else { return nil }
        following.lock()
        let followed = isFollowing
        if followed {
            pendingCommit = true
            following.broadcast()
        }
        following.unlock()
        if !followed { DispatchQueue.global().async { [weak self] in _ = try? self?.catchUp() } }
        return ticket
    }

    /// Takes a wait back: `true` if its callback will never run, `false` if it has run or is
    /// running.
    public func cancelWait(_ ticket: RevisionWaiters.Ticket) -> Bool { waiters.cancel(ticket) }

    /// Waits registered and not yet completed or cancelled.
    public var waitCount: Int { waiters.count }

    /// Blocks the calling thread until the index has reached `revision` (`whenReached` and a
    /// semaphore: nothing polls); `UNAVAILABLE` if it has not by `timeout` (a read never answers
    /// from an older state than it asked for). Returns the revision reached.
    public func waitFor(_ revision: Revision, timeout: Duration) throws(StoreError) -> Revision {
        let done = DispatchSemaphore(value: 0)
        let reached = Locked(Revision.zero)
        let ticket = whenReached(revision) { at in
            reached.withLock { $0 = at }
            done.signal()
        }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) * 1e-18
        if done.wait(timeout: .now() + min(max(seconds, 0), 1e9)) == .timedOut {
            if let ticket, cancelWait(ticket) { throw Self.notReached(revision, at: index.revision) }
            done.wait()  // completed as the time ran out
        }
        return reached.withLock { $0 }
    }

    /// The refusal of a read whose `min_revision` the index has not reached in time.
    public static func notReached(_ revision: Revision, at current: Revision) -> StoreError {
        StoreError(.unavailable, "min_revision \(revision) is not reached (this process is at \(current)); retry later")
    }
}
