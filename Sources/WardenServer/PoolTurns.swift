import NIOCore
import WardenService
import WardenWire

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

    /// Runs `work` on the pool in the connection's turn, for requests answered outside `offload`
    /// (a large BatchCheck, an Export): past `max_in_flight` it answers RESOURCE_EXHAUSTED and
    /// returns; otherwise the request id counts as open until `done` runs, on the event loop,
    /// with the connection and the work's result. Work whose connection closed (or whose id was
    /// answered) while it waited for its turn never starts.
    func runInTurn<Value: Sendable>(
        _ frame: Frame,
        _ work: @escaping @Sendable () throws -> Value,
        done: @escaping (ConnectionHandler, Result<Value, any Error>) -> Void
    ) {
        let id = frame.requestID
        guard running.count < server.configuration.maxInFlight else {
            reply(
                error: ServiceError(
                    .resourceExhausted,
                    "more than \(server.configuration.maxInFlight) requests of this connection are waiting"
                ),
                requestID: id,
                method: frame.method
            )
            return
        }
        let token = markRunning(id)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        server.stats.running.add(1, ordering: .relaxed)
        takeTurn {
            let this = handler.value
            guard this.isOpen, this.running[id] == token else {
                this.server.stats.running.subtract(1, ordering: .relaxed)
                return false
            }
            this.server.pool.runIfActive(eventLoop: this.context.eventLoop, work).whenComplete { result in
                let handler = handler.value
                handler.server.stats.running.subtract(1, ordering: .relaxed)
                handler.unmarkRunning(id, token)
                handler.turnEnded()
                done(handler, result)
            }
            return true
        }
    }
}
