import NIOCore
import NIOPosix
import Synchronization
import SwiftProtobuf
import WardenProto
import WardenWire

/// A connection to a Warden server over its Unix socket. Requests from any number of tasks are
/// pipelined on the one connection and answered out of order; it is safe to share.
///
/// ```swift
/// let warden = try await WardenConnection.connect(socketPath: "./var/warden.sock")
/// let answer = try await warden.check(.user("42"), "drivers.change_car",
///                                     object: Warden_V1_ObjectRef("drivers.car", "7"))
/// print(answer.decision.allowed, answer.decision.reason)
/// ```
public final class WardenConnection: Sendable {
    let channel: any Channel
    /// The server's last word once the connection ended.
    let end: ConnectionEnd
    private let nextID = Atomic<UInt32>(0)
    private let ownedGroup: MultiThreadedEventLoopGroup?
    /// The deadline sent with each request when a call gives none (`nil`: none).
    public let defaultTimeout: Duration?

    private init(channel: any Channel, end: ConnectionEnd, ownedGroup: MultiThreadedEventLoopGroup?, defaultTimeout: Duration?) {
        self.channel = channel
        self.end = end
        self.ownedGroup = ownedGroup
        self.defaultTimeout = defaultTimeout
    }

    /// Connects to the server's socket; `connectTimeout` bounds the connect itself.
    /// - Parameter group: the event loops to use; a one-thread group of its own when `nil`.
    public static func connect(
        socketPath: String, group: (any EventLoopGroup)? = nil, connectTimeout: Duration = .seconds(5),
        defaultTimeout: Duration? = .seconds(30), maxFrameSize: Int = 64 << 20
    ) async throws -> WardenConnection {
        let owned = group == nil ? MultiThreadedEventLoopGroup(numberOfThreads: 1) : nil
        let loops = group ?? owned!
        let end = ConnectionEnd()
        do {
            let channel = try await ClientBootstrap(group: loops)
                .connectTimeout(.nanoseconds(Int64(connectTimeout.components.seconds) * 1_000_000_000 + connectTimeout.components.attoseconds / 1_000_000_000))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)))
                        try channel.pipeline.syncOperations.addHandler(ClientHandler(end: end))
                    }
                }
                .connect(unixDomainSocketPath: socketPath).get()
            return WardenConnection(channel: channel, end: end, ownedGroup: owned, defaultTimeout: defaultTimeout)
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

    /// Sends one request frame and returns its response frame (status not yet checked).
    public func send(
        _ method: Warden_V1_Method, _ message: some SwiftProtobuf.Message, timeout: Duration? = nil
    ) -> EventLoopFuture<Frame> {
        let id = makeRequestID()
        let promise = channel.eventLoop.makePromise(of: Frame.self)
        var bytes = channel.allocator.buffer(capacity: 64)
        do {
            try Frame.encode(
                message, requestID: id, method: UInt16(method.rawValue), flags: .endStream,
                timeoutMilliseconds: Self.milliseconds(timeout ?? defaultTimeout), into: &bytes
            )
        } catch {
            promise.fail(WardenError(code: .invalidArgument, message: "cannot encode the request: \(error)"))
            return promise.futureResult
        }
        write(Outgoing(requestID: id, bytes: bytes, responder: .unary(promise))) { promise.fail($0) }
        return promise.futureResult
    }

    /// Writes a request's frames; when the channel cannot take them (it closed), `failed` gets
    /// why the connection ended (the server's status on request id 0), else `UNAVAILABLE`, so no
    /// caller waits for an answer that cannot come.
    func write(_ outgoing: Outgoing, failed: @escaping @Sendable (WardenError) -> Void) {
        let written = channel.eventLoop.makePromise(of: Void.self)
        let end = self.end
        written.futureResult.whenFailure { error in
            failed(end.reason ?? WardenError(code: .unavailable, message: "the connection to Warden is closed (\(error))"))
        }
        channel.writeAndFlush(outgoing, promise: written)
    }

    /// The response message of a frame, or the error its status says.
    public static func decode<Response: SwiftProtobuf.Message>(_ frame: Frame, as type: Response.Type) throws -> Response {
        guard frame.status == 0 else {
            throw WardenError((try? Warden_V1_Status(serializedBytes: frame.body)) ?? Warden_V1_Status(), code: frame.status)
        }
        do {
            return try Response(serializedBytes: frame.body)
        } catch {
            throw WardenError(code: .internal, message: "the server's reply is not a valid \(Response.protoMessageName): \(error)")
        }
    }

    /// One unary call.
    public func call<Response: SwiftProtobuf.Message>(
        _ method: Warden_V1_Method, _ request: some SwiftProtobuf.Message, returning type: Response.Type,
        timeout: Duration? = nil
    ) async throws -> Response {
        let frame = try await send(method, request, timeout: timeout).get()
        return try Self.decode(frame, as: type)
    }
}
