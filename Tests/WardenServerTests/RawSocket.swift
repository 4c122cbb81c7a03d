import Foundation
import NIOCore
import SwiftProtobuf
import WardenProto
import WardenWire

#if canImport(Glibc)
import Glibc
#endif

/// A plain blocking Unix socket, for sending bytes no client library would send.
final class RawSocket {
    let fd: Int32

    init(path: String, receiveTimeout: Double = 5) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw ServerError("connect failed: errno \(errno)") }
        var timeout = timeval(
            tv_sec: Int(receiveTimeout),
            tv_usec: Int((receiveTimeout - receiveTimeout.rounded(.down)) * 1e6)
        )
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            sent += n
        }
    }

    /// A frame: the header of docs/protocol.md and `body`.
    static func frame(id: UInt32, method: UInt16, flags: UInt8 = 1, body: [UInt8], length: UInt32? = nil) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeMultipleIntegers(length ?? UInt32(12 + body.count), id, method, flags, UInt8(0), UInt32(0))
        buffer.writeBytes(body)
        return Array(buffer.readableBytesView)
    }

    static func frame(id: UInt32, method: Warden_V1_Method, _ message: some SwiftProtobuf.Message) throws -> [UInt8] {
        frame(id: id, method: UInt16(method.rawValue), body: try message.serializedBytes())
    }

    /// Reads one frame; `nil` at end of stream or on timeout.
    func readFrame() -> Frame? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let frame = try? FrameDecoder.next(from: &pending, maxFrameSize: 64 << 20) { return frame }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return nil }
            pending.writeBytes(chunk[..<n])
        }
    }

    private var pending = ByteBuffer()

    /// Whether the server closed the connection (read returns 0) within the timeout.
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n == 0 { return true }
            if n < 0 { return false }
        }
    }
}

extension Frame {
    var errorStatus: Warden_V1_Status? { status == 0 ? nil : try? Warden_V1_Status(serializedBytes: body) }
}
