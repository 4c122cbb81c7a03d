import NIOCore

/// Why a byte stream is not Warden's protocol. The connection cannot continue after any of these
/// (the reader no longer knows where a frame starts), so the server answers on request id 0
/// and closes.
public enum FrameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The length field is below the 12 header bytes it counts.
    case lengthTooSmall(UInt32)
    /// The frame is larger than the limit.
    case tooLarge(length: UInt32, limit: Int)
    /// The connection closed in the middle of a frame.
    case truncated(bytes: Int)

    public var description: String {
        switch self {
        case .lengthTooSmall(let length):
            "frame length \(length) is below the \(Frame.lengthCounted) header bytes it counts; not Warden's protocol"
        case .tooLarge(let length, let limit):
            "frame length \(length) exceeds the limit of \(limit) bytes"
        case .truncated(let bytes):
            "the connection closed inside a frame (\(bytes) bytes of it arrived)"
        }
    }
}

/// Cuts a byte stream into frames; refuses a length field past `maxFrameSize` before reading the
/// body (a 4 GiB prefix costs nothing).
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame

    /// The largest `length` field accepted (the body plus 12 header bytes).
    public let maxFrameSize: Int

    public init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try Self.next(from: &buffer, maxFrameSize: maxFrameSize) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 { throw FrameError.truncated(bytes: buffer.readableBytes) }
        return .needMoreData
    }

    /// The next whole frame at the front of `buffer`, consumed; `nil` when it has not all arrived.
    @inlinable
    public static func next(from buffer: inout ByteBuffer, maxFrameSize: Int) throws -> Frame? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length >= Frame.lengthCounted else { throw FrameError.lengthTooSmall(length) }
        guard length <= maxFrameSize else { throw FrameError.tooLarge(length: length, limit: maxFrameSize) }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        let (_, requestID, method, flags, status, timeout) = buffer.readMultipleIntegers(
            as: (UInt32, UInt32, UInt16, UInt8, UInt8, UInt32).self
        )!
        let body = buffer.readSlice(length: Int(length) - Frame.lengthCounted)!
        return Frame(
            requestID: requestID,
            method: method,
            flags: Frame.Flags(rawValue: flags),
            status: status,
            timeoutMilliseconds: timeout,
            body: body
        )
    }
}
