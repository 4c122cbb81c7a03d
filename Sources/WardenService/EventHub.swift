#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import WardenModel

/// Fans committed events (and opt-in check audits) out to watchers. Publishing never waits for
/// a watcher: each sink hands items to its connection's thread, and the transport ends a sink
/// that falls too far behind with `RESOURCE_EXHAUSTED`.
///
/// A new watcher first replays history from the changelog while the hub buffers live events for
/// it (`bufferLimit` at most), then goes live; every watcher drops what it has already seen, so
/// history and live events meet without a gap or a repeat.
public final class EventHub: @unchecked Sendable {
    final class Subscription {
        let filter: WatchFilter
        let sink: any WatchSink
        /// The last revision delivered (or skipped as seen).
        var last: Revision
        var live = false
        var buffer: [ChangeEvent] = []
        /// Sampling: an audit goes out each time the credit reaches 1.
        var auditCredit = 0.0

        init(filter: WatchFilter, sink: any WatchSink, last: Revision) {
            self.filter = filter
            self.sink = sink
            self.last = last
        }
    }

    private let lock = NSLock()
    private var subscriptions: [Int: Subscription] = [:]
    private var nextID = 0
    /// Watchers that asked for audits: read on every check, so an atomic instead of the lock.
    private let auditWatchers = Atomic<Int>(0)
    /// Live events buffered for a watcher still replaying history, at most.
    public let bufferLimit: Int

    public init(bufferLimit: Int = 100_000) {
        self.bufferLimit = bufferLimit
    }

    /// Watchers connected now.
    public var count: Int { lock.withLock { subscriptions.count } }

    /// Registers a watcher that has seen everything through `last`; it buffers until `goLive`.
    func subscribe(_ filter: WatchFilter, sink: any WatchSink, last: Revision) -> Int {
        lock.withLock {
            nextID += 1
            subscriptions[nextID] = Subscription(filter: filter, sink: sink, last: last)
            if filter.auditChecks { auditWatchers.add(1, ordering: .relaxed) }
            return nextID
        }
    }

    /// Whether the watcher is still subscribed (not ended by the hub or cancelled).
    func isSubscribed(_ id: Int) -> Bool { lock.withLock { subscriptions[id] != nil } }

    /// Ends history replay: delivers the buffered events after `through` and goes live.
    func goLive(_ id: Int, through: Revision) {
        lock.withLock {
            guard let subscription = subscriptions[id] else { return }
            subscription.last = max(subscription.last, through)
            let pending = subscription.buffer.filter { $0.revision > subscription.last }
            subscription.buffer = []
            subscription.live = true
            deliver(pending, to: subscription)
        }
    }

    /// Removes a watcher; its sink gets nothing more.
    public func unsubscribe(_ id: Int) {
        lock.withLock { remove(id) }
    }

    private func remove(_ id: Int) {
        guard let subscription = subscriptions.removeValue(forKey: id) else { return }
        if subscription.filter.auditChecks { auditWatchers.subtract(1, ordering: .relaxed) }
    }

    /// Committed events, in revision order.
    func publish(_ events: [ChangeEvent]) {
        guard !events.isEmpty else { return }
        lock.withLock {
            for (id, subscription) in subscriptions {
                if subscription.live {
                    deliver(events, to: subscription)
                } else if subscription.buffer.count + events.count > bufferLimit {
                    remove(id)
                    subscription.sink.end(
                        ServiceError(.resourceExhausted, "watch: more than \(bufferLimit) events arrived while the history was replayed; resume from revision \(subscription.last)")
                    )
                } else {
                    subscription.buffer.append(contentsOf: events)
                }
            }
        }
    }

    private func deliver(_ events: [ChangeEvent], to subscription: Subscription) {
        var items: [WatchItem] = []
        for event in events where event.revision > subscription.last {
            if subscription.filter.admits(event) { items.append(.event(event)) }
            subscription.last = event.revision
        }
        if !items.isEmpty { subscription.sink.deliver(items) }
    }

    /// Delivers history read by the watcher's own thread (before `goLive`).
    func deliverHistory(_ id: Int, _ events: [ChangeEvent]) {
        lock.withLock {
            guard let subscription = subscriptions[id], !subscription.live else { return }
            deliver(events, to: subscription)
        }
    }

    /// Whether any watcher wants check audits: one relaxed atomic load on the check path.
    @inline(__always)
    public var wantsAudits: Bool { auditWatchers.load(ordering: .relaxed) > 0 }

    /// An evaluated check, for watchers that opted in (each samples at its own rate).
    public func audit(_ audit: CheckAudit) {
        lock.withLock {
            for subscription in subscriptions.values where subscription.live && subscription.filter.admits(audit) {
                subscription.auditCredit += subscription.filter.auditSampleRate
                guard subscription.auditCredit >= 1 else { continue }
                subscription.auditCredit -= 1
                subscription.sink.deliver([.check(audit)])
            }
        }
    }

    /// The index was rebuilt from a snapshot: events were skipped, so every watcher is ended and
    /// told where to resume.
    func reloaded(at revision: Revision) {
        lock.withLock {
            for (id, subscription) in subscriptions {
                remove(id)
                subscription.sink.end(
                    ServiceError(.unavailable, "watch: the server reloaded its state at revision \(revision); resume from revision \(subscription.last)")
                )
            }
        }
    }
}
