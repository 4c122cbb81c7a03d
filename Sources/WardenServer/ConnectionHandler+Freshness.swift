import NIOCore
import SwiftProtobuf
import WardenModel
import WardenService
import WardenWire

extension ConnectionHandler {
    /// Answers a read whose `min_revision` the index has not reached: a waiter on the replica
    /// (`WardenService.whenReached`) runs the read inline on the event loop once the revision is
    /// reached (whoever advances the index completes it: this process's writes, the follower),
    /// and a task scheduled on the event loop answers `UNAVAILABLE` at the deadline (or after
    /// the default wait) if it comes first. No thread is held while it waits: unmet waits never
    /// take the threads writes need. The wait counts against `max_in_flight` and as running (a
    /// graceful stop lets it finish within its grace). A connection that closes takes its waits
    /// back (`revisionWaits`), so they hold nothing on the replica past it.
    func readWhenReached<Response: SwiftProtobuf.Message>(
        _ frame: Frame,
        _ revision: Revision,
        deadline: ContinuousClock.Instant?,
        _ body: @escaping @Sendable (WardenService) throws(ServiceError) -> Response
    ) {
        let id = frame.requestID
        let method = frame.method
        guard let token = admitRunning(frame) else { return }
        let started = requestStart
        let service = self.service
        let eventLoop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        let wait = NIOLoopBound(RevisionWait(), eventLoop: eventLoop)
        server.stats.running.add(1, ordering: .relaxed)
        // On the event loop, once: the read runs (reached), or the wait ends UNAVAILABLE.
        let finish: @Sendable (Bool) -> Void = { reached in
            guard !wait.value.finished else { return }
            wait.value.finished = true
            wait.value.timer?.cancel()
            let this = handler.value
            this.revisionWaits[token] = nil
            this.server.stats.running.subtract(1, ordering: .relaxed)
            guard this.isOpen, this.running[id] == token else { return }  // the connection closed
            this.running[id] = nil
            do {
                guard reached else { throw service.notReached(revision) }
                this.reply(try body(service), requestID: id, method: method, started: started)
            } catch {
                this.reply(error: error, requestID: id, method: method, started: started)
            }
            this.flush()
        }
        let ticket = service.whenReached(revision) { _ in eventLoop.execute { finish(true) } }
        guard let ticket else { return }  // reached meanwhile: `finish` is queued on the loop
        // A waiter that cannot be taken back has been completed: its `finish` is on its way.
        let takeBack = { if service.cancelWait(ticket) { finish(false) } }
        revisionWaits[token] = takeBack
        let timeout = service.waitTime(until: deadline)
        wait.value.timer = eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) { takeBack() }
    }
}

/// A `min_revision` wait's state, touched on its connection's event loop only.
private final class RevisionWait {
    var finished = false
    var timer: Scheduled<Void>?
}
