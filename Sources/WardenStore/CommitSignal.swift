import Foundation
import WardenSync

/// The store's push change notification: the callbacks `PermissionStore.observeCommits`
/// registered, run after commits. A notification says only "look": it carries no event, may
/// come more than once for one commit or once for several, and a lost one costs latency,
/// never an event (the changelog is the truth, and followers read it from their revision).
///
/// Backends fire it after their own commits, and from whatever tells them of other processes'
/// and hosts' commits (`LISTEN` on PostgreSQL, a `data_version` poll on SQLite).
///
/// Thread safety: `observers` is guarded by its lock; callbacks run on the firing thread,
/// outside the lock.
public final class CommitSignal: Sendable {
    private let observers = Locked<[@Sendable () -> Void]>([])

    public init() {}

    /// Adds a callback; it runs on every `fire` from now on.
    public func observe(_ wake: @escaping @Sendable () -> Void) {
        observers.withLock { $0.append(wake) }
    }

    /// Runs every callback.
    public func fire() {
        for wake in observers.withLock({ $0 }) { wake() }
    }
}

/// A thread that calls `poll` every `interval` until stopped: how a backend without a push
/// channel (SQLite between processes) notices others' commits.
public final class PollingThread: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var stopped = false

    public init(name: String, every interval: Duration, _ poll: @escaping @Sendable () -> Void) {
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        let thread = Thread { [self] in
            while !self.waitStopped(seconds) { poll() }
        }
        thread.name = name
        thread.start()
    }

    /// Stops the thread after its current poll.
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func waitStopped(_ seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if !stopped { _ = condition.wait(until: Date(timeIntervalSinceNow: seconds)) }
        return stopped
    }
}
