import Foundation
import WardenModel

/// A single write waiting in the group-commit queue.
struct WriteTicket: Sendable {
    let change: Change
    let actor: String?
    /// Commit only at this latest revision (`PermissionStore.apply(_:actor:ifAt:)`).
    let expected: Revision?
}

/// Group commit: concurrent single writes share transactions (one fsync for many). The first
/// caller to find no commit under way becomes the leader: it commits every queued write in one
/// transaction and returns; one of the writers queued meanwhile leads the next. The others wait
/// for their outcome.
///
/// An outcome is published only after its transaction's `COMMIT` returned (or failed, and then
/// every write of the transaction gets the failure), under the lock, so no caller is ever told
/// of a write that is not durable. A waiter that wakes for any reason (another transaction's
/// broadcast, a spurious wake-up) finds its outcome or waits again.
///
/// Thread safety: a monitor. `condition`'s lock guards `queued`, `committing`, `outcomes` and
/// `nextID`; the leader commits without holding it. (`Synchronization.Mutex` has no condition
/// variable to wait on, and waiters must sleep, not spin: one `NSCondition` is the lock and the
/// wake-up of this one job.)
final class CommitQueue: @unchecked Sendable {
    typealias Outcome = Result<WriteOutcome, StoreError>

    private let condition = NSCondition()
    private var queued: [(id: UInt64, ticket: WriteTicket)] = []
    private var committing = false
    private var outcomes: [UInt64: Outcome] = [:]
    private var nextID: UInt64 = 0

    /// Queues `ticket` and returns its outcome once its transaction has committed: as the leader,
    /// calling `commit` with each batch of queued tickets, or as a waiter. `commit` returns one
    /// outcome per ticket, in order, after its transaction's `COMMIT` has returned.
    func submit(_ ticket: WriteTicket, commit: ([WriteTicket]) -> [Outcome]) -> Outcome {
        condition.lock()
        defer { condition.unlock() }
        let id = nextID
        nextID &+= 1
        queued.append((id, ticket))
        while true {
            if let outcome = outcomes.removeValue(forKey: id) { return outcome }
            // No outcome and no leader: the ticket is still queued (a leader publishes the
            // outcomes of what it took before it stops), so this caller leads.
            if !committing { break }
            condition.wait()
        }
        // Lead one transaction: everything queued now, this caller's ticket included. Then hand
        // the lead over: a waiter whose ticket came in meanwhile wakes, finds no outcome and no
        // leader, and commits the next transaction. A leader that kept committing until the
        // queue ran dry would wait for every writer that arrived during its fsyncs, seconds
        // under a pipelining client, for a write that committed in its first transaction.
        committing = true
        let batch = queued
        queued = []
        condition.unlock()
        let results = commit(batch.map(\.ticket))
        condition.lock()
        for (entry, result) in zip(batch, results) { outcomes[entry.id] = result }
        committing = false
        condition.broadcast()
        return outcomes.removeValue(forKey: id)!
    }

    /// Writes waiting for a leader to take them (for tests that hold a commit back).
    var waiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return queued.count
    }
}
