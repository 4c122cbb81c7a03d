import Foundation
import Synchronization
import WardenModel

#if canImport(Glibc)
import Glibc
#endif

/// Fans committed events (and opt-in check audits) out to watchers. Publishing never waits for
/// a watcher: each sink hands items to its connection's thread, and the transport ends a sink
/// that falls too far behind with `RESOURCE_EXHAUSTED`.
///
/// A new watcher first replays history from the changelog, a page at a time at its transport's
/// pace (`WatchHandle.replay`), while the hub buffers live events for it (`bufferLimit` at most),
/// then goes live; every watcher drops what it has already seen, so
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

    /// 20,000 by default: at 85–150 bytes an event on the wire, what `goLive` hands over stays
    /// well inside a connection's watch backlog (8 MiB), so a watcher that reads is never cut off
    /// for the events buffered while it replayed.
    public init(bufferLimit: Int = 20_000) {
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

    /// Where a watcher replaying history stands: the last revision it has seen; `nil` once it is
    /// live, cancelled or ended.
    func replayCursor(_ id: Int) -> Revision? {
        lock.withLock {
            guard let subscription = subscriptions[id], !subscription.live else { return nil }
            return subscription.last
        }
    }

    /// A page of history read by the watcher's replay: the items its filter admits, which the
    /// caller writes; `nil` when the watcher is no longer replaying (cancelled or ended).
    func history(_ id: Int, _ events: [ChangeEvent]) -> [WatchItem]? {
        lock.withLock {
            guard let subscription = subscriptions[id], !subscription.live else { return nil }
            return admitted(events, by: subscription)
        }
    }

    /// Ends history replay: delivers the buffered events after `through` and goes live; `false`
    /// when the watcher is gone.
    func goLive(_ id: Int, through: Revision) -> Bool {
        lock.withLock {
            guard let subscription = subscriptions[id] else { return false }
            subscription.last = max(subscription.last, through)
            let pending = subscription.buffer
            subscription.buffer = []
            subscription.live = true
            deliver(pending, to: subscription)
            return true
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
                        ServiceError(
                            .resourceExhausted,
                            "watch: more than \(bufferLimit) events arrived while the history was replayed; resume from revision \(subscription.last)"
                        )
                    )
                } else {
                    subscription.buffer.append(contentsOf: events)
                }
            }
        }
    }

    private func deliver(_ events: [ChangeEvent], to subscription: Subscription) {
        let items = admitted(events, by: subscription)
        // At most `frameEvents` to a frame: the buffer handed over at `goLive` (up to
        // `bufferLimit` events) never becomes one frame past a client's frame size or the
        // connection's watch backlog.
        for start in stride(from: 0, to: items.count, by: Self.frameEvents) {
            subscription.sink.deliver(Array(items[start..<min(start + Self.frameEvents, items.count)]))
        }
    }

    /// Events handed to a sink at once (one frame), at most: about 85–150 KB.
    static let frameEvents = 1000

    /// The events after the watcher's last that its filter admits; all of them count as seen.
    private func admitted(_ events: [ChangeEvent], by subscription: Subscription) -> [WatchItem] {
        var items: [WatchItem] = []
        for event in events where event.revision > subscription.last {
            if subscription.filter.admits(event) { items.append(.event(event)) }
            subscription.last = event.revision
        }
        return items
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
        endAll(.unavailable, "watch: the server reloaded its state at revision \(revision)")
    }

    /// Ends every watcher with `code` and `message` (followed by where to resume); with `nil`,
    /// removes them without a word (their transport is gone). Replays stop at their next page.
    public func endAll(_ code: ServiceError.Code?, _ message: String = "") {
        lock.withLock {
            for (id, subscription) in subscriptions {
                remove(id)
                guard let code else { continue }
                subscription.sink.end(ServiceError(code, "\(message); resume from revision \(subscription.last)"))
            }
        }
    }
}
