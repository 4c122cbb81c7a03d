import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few socket calls the client makes itself, outside SwiftNIO: the connect (so that it holds
/// the descriptor it writes on) and the writes of `FrameWriter`.
enum UnixSocket {
    /// A non-blocking stream socket connected to `path`. A listener whose backlog is full
    /// refuses with `EAGAIN`; the connect is retried until `timeout` has passed.
    static func connect(path: String, timeout: Duration) async throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let room = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < room else {
            throw WardenError(
                code: .invalidArgument,
                message: "the socket path is \(bytes.count) bytes; at most \(room - 1) fit"
            )
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        #if canImport(Darwin)
        let descriptor = socket(AF_UNIX, SOCK_STREAM, 0)
        #else
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        #if canImport(Darwin)
        var one: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        let deadline = ContinuousClock.now + timeout
        while true {
            let result = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    systemConnect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if result == 0 { return descriptor }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN && ContinuousClock.now < deadline {
                do {
                    try await Task.sleep(for: .milliseconds(1))
                    continue
                } catch {
                    _ = systemClose(descriptor)
                    throw error
                }
            }
            _ = systemClose(descriptor)
            throw IOError(errnoCode: code, reason: "connect")
        }
    }

    /// Sends what the socket takes now, without blocking and without SIGPIPE: the count sent
    /// (less than `raw.count` when the buffer is full), or the error.
    static func send(_ descriptor: Int32, _ raw: UnsafeRawBufferPointer) -> Result<Int, IOError> {
        var sent = 0
        while sent < raw.count {
            let flags = noSignal | Int32(MSG_DONTWAIT)
            let result = systemSend(descriptor, raw.baseAddress! + sent, raw.count - sent, flags)
            if result >= 0 {
                sent += result
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .success(sent)
            default: return .failure(IOError(errnoCode: errno, reason: "send"))
            }
        }
        return .success(sent)
    }

    static func close(_ descriptor: Int32) { _ = systemClose(descriptor) }

    #if canImport(Darwin)
    private static let noSignal: Int32 = 0  // SO_NOSIGPIPE on the socket instead
    #else
    private static let noSignal = Int32(MSG_NOSIGNAL)
    #endif
}

// The C functions, under names that the methods above do not shadow.
private let systemConnect = connect
private let systemSend = send
private let systemClose = close
