import NIOCore
import SwiftProtobuf

/// Lets swift-protobuf decode a message straight from a frame's body, without a copy.
extension ByteBuffer: @retroactive SwiftProtobufContiguousBytes {
    public init(repeating: UInt8, count: Int) {
        self = ByteBufferAllocator().buffer(capacity: count)
        self.writeRepeatingByte(repeating, count: count)
    }

    public init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        self = ByteBufferAllocator().buffer(capacity: sequence.underestimatedCount)
        self.writeBytes(Array(sequence))
    }

    public var count: Int { readableBytes }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeReadableBytes(body)
    }

    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeMutableReadableBytes(body)
    }
}

extension Frame {
    /// A frame whose body is `message`, encoded into `allocator`'s buffer with the header in front.
    public static func encode(
        _ message: some SwiftProtobuf.Message,
        requestID: UInt32,
        method: UInt16,
        flags: Flags = [],
        status: UInt8 = 0,
        timeoutMilliseconds: UInt32 = 0,
        into buffer: inout ByteBuffer
    ) throws {
        let bytes: [UInt8] = try message.serializedBytes()
        writeHeader(
            to: &buffer,
            bodyLength: bytes.count,
            requestID: requestID,
            method: method,
            flags: flags,
            status: status,
            timeoutMilliseconds: timeoutMilliseconds
        )
        buffer.writeBytes(bytes)
    }
}
