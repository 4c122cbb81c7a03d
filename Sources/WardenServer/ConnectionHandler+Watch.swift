import NIOCore
import NIOPosix
import WardenModel
import WardenProto
import WardenService
import WardenWire

/// A watch of this connection. Touched on the connection's event loop only (closures that
/// capture it run there), hence unchecked.
final class WatchStream: @unchecked Sendable {
    /// Set when the watch starts, before any history is read: cancelling it stops the replay.
    var handle: WatchHandle?
    /// Bytes of this watch's frames written and not yet taken by the socket.
    var backlog = 0
    var ended = false
    /// A page of history is written; the next one is read once `backlog` is back to 0.
    var pageDue = false
}

/// One page of a watch's history as the replay pool hands it back: the events its filter
/// admitted, encoded as one frame (`nil`: none).
struct WatchPage: Sendable {
    let frame: ByteBuffer?
}

extension ConnectionHandler {
    /// Changelog events read per page of a watch's history.
    static let replayPageSize = 1000
    /// A slow watcher's connection, cut off, is closed when this long passes with none of the
    /// backlog taken by the client.
    static let slowWatcherGrace = TimeAmount.seconds(10)

    /// Starts a watch: its handle exists (and `channelInactive` or CANCEL can stop it) before the
    /// first page of history is read.
    func startWatch(_ frame: Frame) throws {
        let id = frame.requestID
        let request = try decode(Warden_V1_WatchRequest.self, frame)
        let filter = try ProtoMapping.watchFilter(request)
        guard watches[id] == nil else {
            throw ServiceError(.invalidArgument, "request_id: \(id) already carries a watch on this connection")
        }
        let watch = WatchStream()
        let sink = ConnectionWatchSink(
            handler: NIOLoopBound(self, eventLoop: context.eventLoop),
            eventLoop: context.eventLoop,
            requestID: id,
            stream: watch
        )
        let after = request.hasAfterRevision ? Revision(request.afterRevision) : nil
        watch.handle = try service.watch(after: after, filter: filter, sink: sink)
        watches[id] = watch
        replayPage(id, watch)
    }

    /// Reads and encodes the next page of the watch's history on the replay pool (never on the
    /// threads writes need) and writes it; the page after it is read only once the socket has
    /// taken this one, so a watcher that does not read holds no thread and reads nothing more.
    private func replayPage(_ id: UInt32, _ watch: WatchStream) {
        guard isOpen, watches[id] === watch, !watch.ended, let handle = watch.handle else { return }
        let allocator = context.channel.allocator
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        // `nil`: the watch went live, or the hub ended it (and says why through the sink).
        server.replayPool.runIfActive(eventLoop: context.eventLoop) { () throws -> WatchPage? in
            guard case .history(let items) = try handle.replay(limit: Self.replayPageSize) else { return nil }
            return WatchPage(frame: items.isEmpty ? nil : try Self.watchFrame(items, id, allocator))
        }.whenComplete { result in
            let handler = handler.value
            guard handler.isOpen, handler.watches[id] === watch, !watch.ended else {
                handle.cancel()
                return
            }
            switch result {
            case .success(nil):
                break
            case .success(let page?):
                if let frame = page.frame { handler.write(frame, to: watch, id) }
                if watch.backlog == 0 { handler.replayPage(id, watch) } else { watch.pageDue = true }
            case .failure(let error as ServiceError):
                handler.end(watch: id, error)
            case .failure(let error as NIOThreadPoolError.ThreadPoolInactive):
                handler.end(
                    watch: id,
                    ServiceError(.unavailable, "watch: the server is shutting down", cause: "\(error)")
                )
            case .failure(let error):
                handler.end(watch: id, ServiceError(.internal, "watch: replaying history failed", cause: "\(error)"))
            }
        }
    }

    /// Items as one data frame of watch `id`.
    private static func watchFrame(
        _ items: [WatchItem],
        _ id: UInt32,
        _ allocator: ByteBufferAllocator
    ) throws -> ByteBuffer {
        var response = Warden_V1_WatchResponse()
        response.events = items.map(ProtoMapping.event)
        var frame = allocator.buffer(capacity: 256)
        try Frame.encode(response, requestID: id, method: UInt16(Warden_V1_Method.watch.rawValue), into: &frame)
        return frame
    }

    /// Writes a frame of the watch, counted in its backlog until the socket takes it; then a due
    /// page of history is read.
    private func write(_ frame: ByteBuffer, to watch: WatchStream, _ id: UInt32) {
        let size = frame.readableBytes
        watch.backlog += size
        flush()  // responses already queued go first
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { _ in
            watch.backlog -= size
            guard watch.backlog == 0, watch.pageDue else { return }
            watch.pageDue = false
            handler.value.replayPage(id, watch)
        }
        context.writeAndFlush(wrapOutboundOut(frame), promise: promise)
    }

    /// Writes live watch items as one frame; cuts the watcher off when the client has left too
    /// much unread.
    func deliver(_ items: [WatchItem], to id: UInt32) {
        guard isOpen, let watch = watches[id], !watch.ended else { return }
        let frame: ByteBuffer
        do {
            frame = try Self.watchFrame(items, id, context.channel.allocator)
        } catch {
            end(watch: id, ServiceError(.internal, "watch: encoding events failed", cause: "\(error)"))
            return
        }
        // A client with nothing unread always gets the next frame, however large: the limit is on
        // what it leaves unread, not on one frame.
        guard watch.backlog == 0 || watch.backlog + frame.readableBytes <= server.configuration.maxWatchBacklogBytes
        else {
            cutOff(id, watch)
            return
        }
        write(frame, to: watch, id)
    }

    /// A slow watcher: ends the watch and the connection. The RESOURCE_EXHAUSTED status on
    /// request id 0 queues behind the unread backlog; the connection closes once it is written,
    /// or once `slowWatcherGrace` passes in which the client took none of the backlog. So a
    /// client that resumes reading within the grace, and keeps reading, gets the backlog, the
    /// status, then EOF.
    private func cutOff(_ id: UInt32, _ watch: WatchStream) {
        watches[id] = nil
        watch.ended = true
        watch.handle?.cancel()
        server.stats.watcherCutOff()
        flush()
        isOpen = false
        let limit = server.configuration.maxWatchBacklogBytes
        let error = ServiceError(
            .resourceExhausted,
            "watch \(id): the client left more than \(limit) bytes of events unread"
        )
        reply(error: error, requestID: 0, method: 0)
        let status = out
        out = context.channel.allocator.buffer(capacity: 0)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(status)).whenComplete { _ in channel.close(promise: nil) }
        Self.closeWhenStalled(channel, watch, backlog: watch.backlog)
    }

    /// Closes `channel` when the watch's backlog has not moved for `slowWatcherGrace`.
    private static func closeWhenStalled(_ channel: any Channel, _ watch: WatchStream, backlog: Int) {
        channel.eventLoop.scheduleTask(in: slowWatcherGrace) {
            guard channel.isActive else { return }
            if watch.backlog == backlog {
                channel.close(promise: nil)
            } else {
                closeWhenStalled(channel, watch, backlog: watch.backlog)
            }
        }
    }

    /// Ends a watch with a status (from the hub: a history buffer overflow, a reload, shutdown;
    /// or a replay that failed).
    func end(watch id: UInt32, _ error: ServiceError) {
        guard let watch = watches.removeValue(forKey: id) else { return }
        watch.ended = true
        watch.handle?.cancel()
        reply(error: error, requestID: id, method: UInt16(Warden_V1_Method.watch.rawValue))
        flush()
    }
}

/// The hub's view of a connection's watch: hands every call to the connection's event loop.
final class ConnectionWatchSink: WatchSink, @unchecked Sendable {
    let handler: NIOLoopBound<ConnectionHandler>
    let eventLoop: any EventLoop
    let requestID: UInt32
    /// The watch this sink feeds: a call that arrives after the client cancelled it and opened
    /// another watch on the same request id must not reach the new one.
    let stream: WatchStream

    init(handler: NIOLoopBound<ConnectionHandler>, eventLoop: any EventLoop, requestID: UInt32, stream: WatchStream) {
        self.handler = handler
        self.eventLoop = eventLoop
        self.requestID = requestID
        self.stream = stream
    }

    func deliver(_ items: [WatchItem]) {
        let (handler, id, stream) = (handler, requestID, stream)
        eventLoop.execute {
            guard handler.value.watches[id] === stream else { return }
            handler.value.deliver(items, to: id)
        }
    }

    func end(_ error: ServiceError) {
        let (handler, id, stream) = (handler, requestID, stream)
        eventLoop.execute {
            guard handler.value.watches[id] === stream else { return }
            handler.value.end(watch: id, error)
        }
    }
}
