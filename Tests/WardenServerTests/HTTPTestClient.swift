import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Real HTTP clients for the server's HTTP listener (`warden serve --http-address`): `curl`, a
/// real process, and a plain blocking TCP socket for bytes curl would not send.
enum HTTPTestClient {
    /// What curl printed and how it exited.
    struct Result {
        let status: Int32
        let output: String
    }

    /// Runs `curl --silent --show-error ARGUMENTS` and waits for it.
    static func curl(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "--silent", "--show-error", "--max-time", "60"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// The status code curl got for `url` with `method` (`curl -o /dev/null -w %{http_code}`).
    static func status(_ url: String, method: String = "GET", extra: [String] = []) throws -> Int {
        let methodArguments = method == "HEAD" ? ["--head"] : ["-X", method]
        let result = try curl(methodArguments + extra + ["-o", "/dev/null", "-w", "%{http_code}", url])
        guard result.status == 0, let code = Int(result.output) else {
            throw ServerError("curl \(url): \(result.output)")
        }
        return code
    }
}

extension ServerProcess {
    /// The address the HTTP listener announced (`warden: http listening on ADDRESS`), once it has;
    /// waits up to 60 s for the line.
    func httpAddress() async throws -> String {
        let marker = "warden: http listening on "
        for _ in 0..<3000 {
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix(marker) }) {
                return String(line.dropFirst(marker.count))
            }
            if !isRunning { throw ServerError("the server exited: \(output)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ServerError("the server announced no HTTP address within 60 s: \(output)")
    }

    /// `http://ADDRESS` of the HTTP listener.
    func httpBase() async throws -> String { "http://" + (try await httpAddress()) }
}

/// A plain blocking TCP socket to 127.0.0.1.
final class TCPSocket {
    let fd: Int32

    init(port: Int, receiveTimeout: Int = 60) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw ServerError("connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
        var timeout = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Sends `text`; `false` once the peer is gone (no SIGPIPE).
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return RawSocket.sendAll(fd: fd, bytes) == bytes.count
    }

    /// Everything the peer sends until it closes the connection (or the receive timeout passes).
    func readToEnd() -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            received += chunk[..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Whether the peer closed the connection: a read returns end of stream (`nil` while it is
    /// open and silent, within `MSG_DONTWAIT`).
    func isClosedByPeer() -> Bool? {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
        if n == 0 { return true }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return nil }
        return n < 0  // a reset
    }

    /// The port of `address` (`127.0.0.1:PORT`).
    static func port(of address: String) throws -> Int {
        guard let port = address.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw ServerError("no port in \(address)")
        }
        return port
    }
}
