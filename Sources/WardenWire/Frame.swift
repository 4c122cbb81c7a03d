import NIOCore

/// One frame of Warden's wire protocol (`docs/protocol.md`): a 16-byte header and a protobuf
/// body. Both directions use the same layout; all integers are big-endian.
///
/// ```
/// offset size field
///  0     4    length      bytes after this field: 12 + body length
///  4     4    request_id  chosen by the client; 0 is the connection itself (server errors)
///  8     2    method      the Method enum of proto/warden/v1/service.proto
/// 10     1    flags       Frame.Flags
/// 11     1    status      responses: a gRPC status code; requests: 0
/// 12     4    timeout_ms  requests: the deadline, in ms after the server reads the frame (0: none)
/// 16     ...  body        the method's request or response message; a Status when status != 0
/// ```
public struct Frame: Sendable {
    /// Header bytes, the length field included.
    public static let headerSize = 16
    /// Header bytes counted by the length field.
    public static let lengthCounted = 12

    /// Bits of the flags byte; the others must be 0.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// The last frame this side sends for the request id.
        public static let endStream = Flags(rawValue: 0x01)
        /// Client to server: abandon the request (a Watch, or a bulk stream, which then writes nothing).
        public static let cancel = Flags(rawValue: 0x02)

        public static let known: Flags = [.endStream, .cancel]
    }

    public var requestID: UInt32
    public var method: UInt16
    public var flags: Flags
    public var status: UInt8
    public var timeoutMilliseconds: UInt32
    public var body: ByteBuffer

    public init(
        requestID: UInt32,
        method: UInt16,
        flags: Flags = [],
        status: UInt8 = 0,
        timeoutMilliseconds: UInt32 = 0,
        body: ByteBuffer
    ) {
        self.requestID = requestID
        self.method = method
        self.flags = flags
        self.status = status
        self.timeoutMilliseconds = timeoutMilliseconds
        self.body = body
    }

    /// Writes the frame to `buffer`.
    @inlinable
    public func write(to buffer: inout ByteBuffer) {
        Self.writeHeader(
            to: &buffer,
            bodyLength: body.readableBytes,
            requestID: requestID,
            method: method,
            flags: flags,
            status: status,
            timeoutMilliseconds: timeoutMilliseconds
        )
        var body = body
        buffer.writeBuffer(&body)
    }

    /// Writes a header for a body of `bodyLength` bytes that the caller writes next.
    @inlinable
    public static func writeHeader(
        to buffer: inout ByteBuffer,
        bodyLength: Int,
        requestID: UInt32,
        method: UInt16,
        flags: Flags,
        status: UInt8,
        timeoutMilliseconds: UInt32
    ) {
        buffer.writeMultipleIntegers(
            UInt32(lengthCounted + bodyLength),
            requestID,
            method,
            flags.rawValue,
            status,
            timeoutMilliseconds
        )
    }
}
