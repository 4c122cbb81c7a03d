import NIOCore
import WardenSync

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes request frames to the connection's socket from the caller's own thread: a `send(2)`
/// on a duplicate of the socket's descriptor, under a lock, instead of handing the bytes to the
/// event loop (a thread wake-up per request, about as long as the server's whole answer on a
/// busy machine; docs/benchmarks.md). When the kernel's buffer is full the rest goes through
/// the channel, and so do the writes after it until the channel has written it all, which keeps
/// the bytes in order.
final class FrameWriter: Sendable {
    private struct State {
        /// The duplicate descriptor; `nil` once the connection closed.
        var descriptor: Int32?
        /// Writes handed to the channel and not yet written by it.
        var queued = 0
    }

    /// How a write went.
    enum Outcome {
        /// Every byte is in the kernel's buffer.
        case written
        /// Part of it (or all) waits in the channel; the future completes once it is written.
        case queued(EventLoopFuture<Void>)
        /// The connection is closed or failed.
        case failed(any Error)
    }

    private let state: Locked<State>
    private let channel: any Channel

    /// Writes on `descriptor`, a duplicate of the channel's own (which the channel closes on its
    /// own schedule, and the process may reuse at once); this writer closes it.
    init(channel: any Channel, descriptor: Int32) {
        self.channel = channel
        state = Locked(State(descriptor: descriptor))
    }

    /// Writes `bytes`, whole, after every write before it.
    func write(_ bytes: ByteBuffer) -> Outcome {
        let outcome: Outcome = state.withLock { state in
            guard let descriptor = state.descriptor else { return .failed(ChannelError.ioOnClosedChannel) }
            var rest = bytes
            if state.queued == 0 {
                switch rest.withUnsafeReadableBytes({ UnixSocket.send(descriptor, $0) }) {
                case .success(let count):
                    rest.moveReaderIndex(forwardBy: count)
                    if rest.readableBytes == 0 { return .written }
                case .failure(let error):
                    return .failed(error)
                }
            }
            // The kernel's buffer is full: the channel writes the rest when the socket can take it.
            // Always through a task on the loop, even on the loop: `writeAndFlush` from the loop
            // writes at once, from elsewhere in a task, so two writes queued in this lock's order
            // could reach the channel in the other (a frame cut by another, seen in
            // ClientConcurrencyTests). The loop runs its tasks in the order they came.
            state.queued += 1
            let promise = channel.eventLoop.makePromise(of: Void.self)
            let channel = self.channel
            let remaining = rest
            channel.eventLoop.execute { channel.writeAndFlush(remaining, promise: promise) }
            return .queued(promise.futureResult)
        }
        // Outside the lock: on the event loop, the future may be complete already and run this now.
        if case .queued(let future) = outcome { future.whenComplete { _ in self.state.withLock { $0.queued -= 1 } } }
        return outcome
    }

    /// Whether a failed write means the server closed the connection. Its event loop then reads
    /// why (the server's status on request id 0, when it sent one, is already in the socket's
    /// buffer) and fails every open request with it: a request is better left to that than
    /// failed now with a bare "closed".
    static func serverClosed(_ error: any Error) -> Bool {
        guard let error = error as? IOError else { return false }
        return error.errnoCode == EPIPE || error.errnoCode == ECONNRESET
    }

    /// Closes the duplicate descriptor (after the channel closed): later writes fail.
    func close() {
        state.withLock { state in
            if let descriptor = state.descriptor { UnixSocket.close(descriptor) }
            state.descriptor = nil
        }
    }
}
