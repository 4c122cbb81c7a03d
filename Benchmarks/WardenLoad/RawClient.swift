import NIOCore
import SwiftProtobuf
import WardenProto
import WardenWire

#if canImport(Glibc)
import Glibc
#endif

/// A blocking socket client with as little of its own cost as a Swift client can have: frames
/// are encoded once up front, responses are cut from one read buffer. It measures the server
/// and the protocol, the way the C floor measures the socket.
final class RawClient {
    let fd: Int32
    private var buffer = ByteBuffer()
    private var chunk = [UInt8](repeating: 0, count: 1 << 16)

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8).prefix(raw.count - 1))
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw LoadError("connect \(path): errno \(errno)") }
    }

    deinit { close(fd) }

    /// A request frame, encoded.
    static func frame(_ method: Warden_V1_Method, _ message: some SwiftProtobuf.Message, id: UInt32 = 1) -> [UInt8] {
        var bytes = ByteBuffer()
        try! Frame.encode(message, requestID: id, method: UInt16(method.rawValue), flags: .endStream, into: &bytes)
        return Array(bytes.readableBytesView)
    }

    func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = write(fd, raw.baseAddress! + sent, raw.count - sent)
                precondition(n > 0, "write failed: errno \(errno)")
                sent += n
            }
        }
    }

    /// Reads until at least one whole frame is buffered; returns every whole frame buffered.
    func receive() -> [Frame] {
        var frames: [Frame] = []
        while true {
            while let frame = try! FrameDecoder.next(from: &buffer, maxFrameSize: 1 << 30) { frames.append(frame) }
            if !frames.isEmpty { return frames }
            buffer.discardReadBytes()
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            precondition(n > 0, "the server closed the connection")
            buffer.writeBytes(chunk[..<n])
        }
    }

    /// One request, one response: the round trip in nanoseconds.
    func roundTrip(_ request: [UInt8]) -> (UInt64, Frame) {
        let start = DispatchTimeNanos.now()
        send(request)
        let frame = receive()[0]
        return (DispatchTimeNanos.now() - start, frame)
    }

    /// Keeps `depth` requests in flight for `seconds`, cycling through `requests`; returns how
    /// many responses arrived and the seconds taken.
    func pipeline(_ requests: [[UInt8]], depth: Int, seconds: Double) -> (Int, Double) {
        let start = DispatchTimeNanos.now()
        let end = start + UInt64(seconds * 1e9)
        var next = 0
        var batch: [UInt8] = []
        // Every request in flight gets its own id (the protocol refuses an id that is still open):
        // the frame's bytes 4..<8, big-endian, are stamped with a counter.
        var id: UInt32 = 0
        func append(_ frame: [UInt8]) {
            id = id == UInt32.max ? 1 : id + 1
            let start = batch.count
            batch += frame
            for shift in 0..<4 { batch[start + 4 + shift] = UInt8(truncatingIfNeeded: id >> (8 * (3 - shift))) }
        }
        for _ in 0..<depth {
            append(requests[next % requests.count])
            next += 1
        }
        send(batch)
        var inFlight = depth
        var received = 0
        var stopping = false
        while inFlight > 0 {
            let frames = receive()
            received += frames.count
            inFlight -= frames.count
            for frame in frames { precondition(frame.status == 0, "status \(frame.status)") }
            if !stopping && DispatchTimeNanos.now() >= end { stopping = true }
            if !stopping {
                batch.removeAll(keepingCapacity: true)
                for _ in frames {
                    append(requests[next % requests.count])
                    next += 1
                }
                send(batch)
                inFlight += frames.count
            }
        }
        return (received, Double(DispatchTimeNanos.now() - start) / 1e9)
    }
}

enum DispatchTimeNanos {
    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
