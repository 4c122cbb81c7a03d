import NIOCore

/// A connection's turns on the blocking pool. At most `limit` of its requests are on the pool at
/// once; the others wait here, in order, and each starts when an earlier one ends. The pool's
/// queue is first come, first served: without turns, one connection's thousands of pipelined
/// writes would all be queued ahead of another connection's single write; with them, the pool's
/// queue holds a few requests of each busy connection, so connections take turns. Group commit
/// is unchanged: requests of several connections on the pool still share one fsync.
///
/// Touched on the connection's event loop only. The methods hand jobs back instead of running
/// them, so a job may touch the connection (and its turns) while it runs.
struct PoolTurns {
    /// A request waiting for its turn; answers whether it went to the pool.
    typealias Job = () -> Bool

    /// The connection's requests on the pool (or waiting for their inputs there).
    private(set) var onPool = 0
    private var waiting = CircularBuffer<Job>()

    /// Whether `job` may start now (it then holds a turn); otherwise it waits for `next`.
    mutating func admit(_ job: @escaping Job, limit: Int) -> Bool {
        if onPool < max(1, limit) && waiting.isEmpty {
            onPool += 1
            return true
        }
        waiting.append(job)
        return false
    }

    /// Ends a turn; returns the waiting job that takes it, if any (start it).
    mutating func next() -> Job? {
        onPool -= 1
        guard let job = waiting.popFirst() else { return nil }
        onPool += 1
        return job
    }
}

extension ConnectionHandler {
    /// Starts `job` now if the connection has fewer than its share of requests on the pool, or
    /// when an earlier one ends. `job` answers whether it went to the pool (`false`: its request
    /// was answered meanwhile, and its turn ends at once).
    func takeTurn(_ job: @escaping () -> Bool) {
        guard poolTurns.admit(job, limit: server.configuration.poolShare) else { return }
        if !job() { turnEnded() }
    }

    /// A request of the connection left the pool: the next waiting one takes the turn.
    func turnEnded() {
        while let next = poolTurns.next() {
            if next() { return }
        }
    }
}
