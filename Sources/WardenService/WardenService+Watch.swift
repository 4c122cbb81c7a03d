import WardenModel
import WardenStore

/// A running watch. It exists (and `cancel` works) from the moment the watch starts, before any
/// history is read; the transport reads the history one page at a time with `replay`, each when
/// its client has taken the previous one, so a watcher's replay costs that watcher's share only.
public struct WatchHandle: Sendable {
    let hub: EventHub
    let store: any PermissionStore
    let id: Int

    /// Stops the watch: a replay in progress ends at its next page, and the sink gets nothing more.
    public func cancel() { hub.unsubscribe(id) }

    /// Reads the next page of history (at most `limit` events of the changelog) after what the
    /// watcher has seen and returns the events its filter admits; when history is exhausted, the
    /// watch goes live (the hub delivers buffered and new events through the sink). Blocks on the
    /// store: call it off the event loops. A revision older than the changelog retains is
    /// `OUT_OF_RANGE` naming the oldest retained one; a revision ahead of the store's is
    /// `OUT_OF_RANGE` too. After an error the watch is cancelled.
    public func replay(limit: Int = 1000) throws(ServiceError) -> WatchReplayStep {
        guard let cursor = hub.replayCursor(id) else { return .ended }
        do {
            let events = try store.events(after: cursor, limit: limit)
            guard !events.isEmpty else {
                let latest = try store.revision
                guard cursor <= latest else {
                    throw ServiceError(
                        .outOfRange,
                        "after_revision: \(cursor) is ahead of the latest revision \(latest)"
                    )
                }
                return hub.goLive(id, through: cursor) ? .live : .ended
            }
            guard let items = hub.history(id, events) else { return .ended }
            return .history(items)
        } catch let error as StoreError {
            cancel()
            throw ServiceError(error)
        } catch let error as ServiceError {
            cancel()
            throw error
        } catch {
            cancel()
            throw ServiceError(.internal, "watch: unexpected error", cause: "\(error)")
        }
    }
}

/// What one step of a watch's history replay produced.
public enum WatchReplayStep: Sendable {
    /// One page of history: the events the filter admits (possibly none). Write them, then ask
    /// for the next page once the client has taken them.
    case history([WatchItem])
    /// History is over: live events now come through the sink.
    case live
    /// The watch was cancelled, or ended by the hub (which told the sink why): stop.
    case ended
}

extension WardenService {
    /// Starts a watch of the changelog after `after` (from now when `nil`) into `sink`. Returns at
    /// once, without touching the store: the caller replays history with `WatchHandle.replay`
    /// until it answers `.live`; live events are buffered by the hub meanwhile.
    public func watch(after: Revision?, filter: WatchFilter, sink: any WatchSink) throws(ServiceError) -> WatchHandle {
        var filter = filter
        // 0: the server's rate; above it: capped at the server's rate.
        filter.auditSampleRate =
            filter.auditSampleRate == 0
            ? settings.auditSampleRate : min(filter.auditSampleRate, settings.auditSampleRate)
        try filter.validate()
        let start = after ?? index.revision
        let id = hub.subscribe(filter, sink: sink, last: start)
        return WatchHandle(hub: hub, store: replica.store, id: id)
    }
}
