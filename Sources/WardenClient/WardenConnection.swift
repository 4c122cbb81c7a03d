import NIOCore
import NIOPosix
import SwiftProtobuf
import Synchronization
import WardenProto
import WardenWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A connection to a Warden server over its Unix socket. Requests from any number of tasks are
/// pipelined on the one connection and answered out of order; it is safe to share.
///
/// A call writes its request from the calling thread and is resumed by the connection's event
/// loop when the answer arrives: from a task on the global executor that is one thread hop per
/// call; a task that prefers `taskExecutor` has none. When the connection ends, every open
/// call fails with `UNAVAILABLE` (or the server's own status, when it said why).
///
/// ```swift
/// let warden = try await WardenConnection.connect(socketPath: "./var/warden.sock")
/// let answer = try await warden.check(.user("42"), "drivers.change_car",
///                                     object: Warden_V1_ObjectRef("drivers.car", "7"))
/// print(answer.decision.allowed, answer.decision.reason)
/// ```
public final class WardenConnection: Sendable {
    let channel: any Channel
    /// The open requests, and why the connection ended once it did.
    let requests: Requests
    /// Writes requests from the caller's thread.
    let writer: FrameWriter
    private let executor: EventLoopTaskExecutor
    private let nextID = Atomic<UInt32>(0)
    private let ownedGroup: MultiThreadedEventLoopGroup?
    /// The deadline sent with each request when a call gives none (`nil`: none).
    public let defaultTimeout: Duration?

    private init(
        channel: any Channel,
        requests: Requests,
        writer: FrameWriter,
        ownedGroup: MultiThreadedEventLoopGroup?,
        defaultTimeout: Duration?
    ) {
        self.channel = channel
        self.requests = requests
        self.writer = writer
        self.executor = EventLoopTaskExecutor(channel.eventLoop)
        self.ownedGroup = ownedGroup
        self.defaultTimeout = defaultTimeout
    }

    /// Connects to the server's socket; `connectTimeout` bounds the connect itself.
    /// - Parameters:
    ///   - socketPath: the server's `--socket`.
    ///   - group: the event loops to use; a one-thread group of its own when `nil`.
    ///   - connectTimeout: how long a listener with a full backlog is retried.
    ///   - defaultTimeout: the deadline sent with each request when a call gives none (`nil`: none).
    ///   - maxFrameSize: the largest response frame accepted; a larger one fails the connection.
    /// - Throws: `WardenError` with `UNAVAILABLE` when the server cannot be reached.
    public static func connect(
        socketPath: String,
        group: (any EventLoopGroup)? = nil,
        connectTimeout: Duration = .seconds(5),
        defaultTimeout: Duration? = .seconds(30),
        maxFrameSize: Int = 64 << 20
    ) async throws -> WardenConnection {
        let owned = group == nil ? MultiThreadedEventLoopGroup(numberOfThreads: 1) : nil
        let loops = group ?? owned!
        let requests = Requests()
        do {
            // The client connects the socket itself and keeps a duplicate of its descriptor for
            // its writes (FrameWriter); SwiftNIO reads from the original.
            let descriptor = try await UnixSocket.connect(path: socketPath, timeout: connectTimeout)
            let duplicate = dup(descriptor)
            guard duplicate >= 0 else {
                let error = IOError(errnoCode: errno, reason: "dup")
                UnixSocket.close(descriptor)
                throw error
            }
            let channel: any Channel
            do {
                channel = try await ClientBootstrap(group: loops)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let decoder = ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize))
                            try channel.pipeline.syncOperations.addHandler(decoder)
                            try channel.pipeline.syncOperations.addHandler(ClientHandler(requests: requests))
                        }
                    }
                    .withConnectedSocket(descriptor).get()
            } catch {
                UnixSocket.close(duplicate)
                throw error
            }
            let writer = FrameWriter(channel: channel, descriptor: duplicate)
            // The socket closes when both descriptors are closed: the writer's goes with the channel.
            channel.closeFuture.whenComplete { _ in writer.close() }
            return WardenConnection(
                channel: channel,
                requests: requests,
                writer: writer,
                ownedGroup: owned,
                defaultTimeout: defaultTimeout
            )
        } catch {
            try? await owned?.shutdownGracefully()
            throw WardenError(code: .unavailable, message: "cannot connect to Warden at \(socketPath): \(error)")
        }
    }

    /// Closes the connection; open requests fail with `UNAVAILABLE`.
    public func close() async {
        try? await channel.close()
        try? await ownedGroup?.shutdownGracefully()
    }

    /// The connection's event loop as a task executor. A task that prefers it
    /// (`Task(executorPreference: warden.taskExecutor) { … }`, or `withTaskExecutorPreference`)
    /// runs on the thread where the answers arrive: each call then resumes without a thread hop,
    /// the one-in-flight round trip of the raw protocol (docs/benchmarks.md). Keep blocking work
    /// off such a task: it would hold up every answer of the connection. A connection that made
    /// its own event loop (no `group` given) ends it in `close()`: prefer it only until then.
    public var taskExecutor: any TaskExecutor { executor }

    func makeRequestID() -> UInt32 {
        // Skips 0, which the protocol keeps for the connection itself.
        var id = nextID.add(1, ordering: .relaxed).newValue
        if id == 0 { id = nextID.add(1, ordering: .relaxed).newValue }
        return id
    }

    static func milliseconds(_ timeout: Duration?) -> UInt32 {
        guard let timeout else { return 0 }
        let ms = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        return UInt32(clamping: max(1, ms))
    }

    /// One unary call: sends `request` as `method` and returns the answer, or throws the error
    /// the answer's status names (`WardenError`), or `UNAVAILABLE` when the connection ends
    /// first. `timeout`: the call's deadline, sent to the server (the connection's default when
    /// `nil`). A cancelled task still gets its answer: the server has no cancel for unary calls.
    public func call<Response: SwiftProtobuf.Message>(
        _ method: Warden_V1_Method,
        _ request: some SwiftProtobuf.Message,
        returning type: Response.Type,
        timeout: Duration? = nil
    ) async throws -> Response {
        let id = makeRequestID()
        let bytes = try encode(request, id: id, method: method, timeout: timeout)
        return try Self.decode(try await answer(id, bytes), as: type)
    }

    /// Writes request `id` and waits for its answer, resumed straight from the event loop.
    private func answer(_ id: UInt32, _ bytes: ByteBuffer) async throws -> Frame {
        // The Swift runtime hands the frame over with atomics that ThreadSanitizer does not see
        // (libswift_Concurrency is not instrumented) when the answer comes before this task has
        // suspended, which a request written from this thread makes common; TSan then reported a
        // race on the frame's bytes (`make tsan`, seen in CI). Taking the table's lock after the
        // event loop released it orders this thread after the loop's writes for TSan as well: one
        // uncontended lock, tens of nanoseconds against a round trip of tens of microseconds.
        defer { requests.handedOver() }
        return try await withUnsafeThrowingContinuation { continuation in start(id, bytes, .unary(continuation)) }
    }

    /// Sends one request frame and returns its response frame (status not yet checked), for
    /// callers that send now and wait later.
    func send(
        _ method: Warden_V1_Method,
        _ message: some SwiftProtobuf.Message,
        timeout: Duration? = nil
    ) -> EventLoopFuture<Frame> {
        let promise = channel.eventLoop.makePromise(of: Frame.self)
        let id = makeRequestID()
        do {
            start(id, try encode(message, id: id, method: method, timeout: timeout), .promise(promise))
        } catch {
            promise.fail(error)
        }
        return promise.futureResult
    }

    /// A request's frame, ending its request (END_STREAM).
    private func encode(
        _ message: some SwiftProtobuf.Message,
        id: UInt32,
        method: Warden_V1_Method,
        timeout: Duration?
    ) throws -> ByteBuffer {
        var bytes = channel.allocator.buffer(capacity: 64)
        do {
            try Frame.encode(
                message,
                requestID: id,
                method: UInt16(method.rawValue),
                flags: .endStream,
                timeoutMilliseconds: Self.milliseconds(timeout ?? defaultTimeout),
                into: &bytes
            )
        } catch {
            throw WardenError(code: .invalidArgument, message: "cannot encode the request: \(error)")
        }
        return bytes
    }

    /// Registers request `id` with `responder`, then writes its frames. When the connection has
    /// ended, or the write fails, the responder fails with why the connection ended (the
    /// server's status on request id 0), else `UNAVAILABLE`: no caller waits for an answer that
    /// cannot come.
    func start(_ id: UInt32, _ bytes: ByteBuffer, _ responder: Responder) {
        if let end = requests.register(id, responder) {
            responder.fail(end, id: id)
            return
        }
        switch writer.write(bytes) {
        case .written:
            break
        case .queued(let written):
            let requests = self.requests
            written.whenFailure { error in requests.fail(id, requests.writeFailure(error)) }
        case .failed(let error) where FrameWriter.serverClosed(error):
            break  // the event loop fails it with the server's reason
        case .failed(let error):
            requests.fail(id, requests.writeFailure(error))
        }
    }

    /// The response message of a frame, or the error its status says.
    static func decode<Response: SwiftProtobuf.Message>(_ frame: Frame, as type: Response.Type) throws -> Response {
        guard frame.status == 0 else {
            throw WardenError(
                (try? Warden_V1_Status(serializedBytes: frame.body)) ?? Warden_V1_Status(),
                code: frame.status
            )
        }
        do {
            return try Response(serializedBytes: frame.body)
        } catch {
            throw WardenError(
                code: .internal,
                message: "the server's reply is not a valid \(Response.protoMessageName): \(error)"
            )
        }
    }
}
