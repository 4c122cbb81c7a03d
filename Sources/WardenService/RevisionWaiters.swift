import WardenModel
import WardenSync

/// Callbacks waiting for the index to reach a revision (reads with `min_revision`), completed by
/// the code that advances it: nothing polls, and a waiter holds no thread. `IndexReplica` calls
/// `advance(to:)` after every change of its index (its own writes, bulks, the follower's
/// catch-up, reloads).
///
/// Thread safety: `state` is guarded by its lock; callbacks run outside it, on the thread that
/// registers (when the revision is already reached) or the one that advances.
public final class RevisionWaiters: Sendable {
    /// A registered waiter, to cancel it with.
    public struct Ticket: Hashable, Sendable {
        let id: UInt64
        let revision: Revision
    }

    private struct Waiter {
        let ticket: Ticket
        let callback: @Sendable (Revision) -> Void
    }

    private struct State {
        /// The highest revision `advance` was told of.
        var reached: Revision
        /// Ordered by revision, then by registration.
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private enum Registration {
        case waiting(Ticket)
        case reached(Revision)
    }

    private let state: Locked<State>

    public init(reached: Revision = .zero) {
        state = Locked(State(reached: reached))
    }

    /// Waiters registered and not yet completed or cancelled.
    public var count: Int { state.withLock { $0.waiters.count } }

    /// Calls `callback` with the reached revision once `revision` is reached: at once, on this
    /// thread, when it already is (then returns `nil`), else later from the thread that advances
    /// the revision, which it must not block. The returned ticket cancels the wait.
    public func whenReached(_ revision: Revision, _ callback: @escaping @Sendable (Revision) -> Void) -> Ticket? {
        let registered: Registration = state.withLock { state in
            guard state.reached < revision else { return .reached(state.reached) }
            state.nextID += 1
            let ticket = Ticket(id: state.nextID, revision: revision)
            // After every waiter for `revision` or earlier: completion order is registration order.
            let position = state.waiters.partitionPoint { $0.ticket.revision > revision }
            state.waiters.insert(Waiter(ticket: ticket, callback: callback), at: position)
            return .waiting(ticket)
        }
        switch registered {
        case .waiting(let ticket): return ticket
        case .reached(let reached):
            callback(reached)
            return nil
        }
    }

    /// Takes a waiter back; `true` if it was still waiting (its callback will never run),
    /// `false` if its callback has run or is running.
    public func cancel(_ ticket: Ticket) -> Bool {
        state.withLock { state in
            let start = state.waiters.partitionPoint { $0.ticket.revision >= ticket.revision }
            guard
                let offset = state.waiters[start...].prefix(while: { $0.ticket.revision == ticket.revision })
                    .firstIndex(where: { $0.ticket == ticket })
            else { return false }
            state.waiters.remove(at: offset)
            return true
        }
    }

    /// The index is at `revision`: completes every waiter for it or an earlier one. Calls may
    /// come from several threads in any order; the highest revision told counts.
    public func advance(to revision: Revision) {
        let due: [Waiter] = state.withLock { state in
            guard revision > state.reached else { return [] }
            state.reached = revision
            let end = state.waiters.partitionPoint { $0.ticket.revision > revision }
            guard end > 0 else { return [] }
            let due = Array(state.waiters[..<end])
            state.waiters.removeFirst(end)
            return due
        }
        for waiter in due { waiter.callback(revision) }
    }
}

extension Array {
    /// The first index whose element satisfies `belongs`, given that every element that does
    /// comes after every element that does not (a binary search).
    fileprivate func partitionPoint(_ belongs: (Element) -> Bool) -> Int {
        var (low, high) = (startIndex, endIndex)
        while low < high {
            let middle = low + (high - low) / 2
            if belongs(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
