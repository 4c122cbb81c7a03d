import WardenModel
import WardenStore

/// A running watch; `cancel` stops it.
public struct WatchHandle: Sendable {
    let hub: EventHub
    let id: Int

    /// Stops delivery; the sink gets nothing more.
    public func cancel() { hub.unsubscribe(id) }
}

extension WardenService {
    /// Starts a watch: replays the changelog after `after` (from now when `nil`) into `sink`,
    /// then delivers live events. Blocks while it replays history. A revision older than the
    /// changelog retains is `OUT_OF_RANGE` naming the oldest retained one; a revision ahead of
    /// the store's is `OUT_OF_RANGE` too.
    public func watch(after: Revision?, filter: WatchFilter, sink: any WatchSink) throws(ServiceError) -> WatchHandle {
        var filter = filter
        // 0: the server's rate; above it: capped at the server's rate.
        filter.auditSampleRate = filter.auditSampleRate == 0 ? settings.auditSampleRate : min(filter.auditSampleRate, settings.auditSampleRate)
        try filter.validate()
        let start = after ?? index.revision
        let id = hub.subscribe(filter, sink: sink, last: start)
        let handle = WatchHandle(hub: hub, id: id)
        do {
            let latest = try replica.store.revision
            guard start <= latest else {
                throw ServiceError(.outOfRange, "after_revision: \(start) is ahead of the latest revision \(latest)")
            }
            var cursor = start
            while hub.isSubscribed(id) {
                let events = try replica.store.events(after: cursor, limit: 1000)
                guard let last = events.last else { break }
                hub.deliverHistory(id, events)
                cursor = last.revision
            }
            hub.goLive(id, through: cursor)
            return handle
        } catch let error as StoreError {
            handle.cancel()
            throw ServiceError(error)
        } catch let error as ServiceError {
            handle.cancel()
            throw error
        } catch {
            handle.cancel()
            throw ServiceError(.internal, "watch: unexpected error", cause: "\(error)")
        }
    }
}
