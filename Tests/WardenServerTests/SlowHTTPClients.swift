import Foundation
import Synchronization
import WardenSync

#if canImport(Glibc)
import Glibc
#endif

/// A flood of slowloris clients on the HTTP listener: `count` TCP connections, each sending a
/// request head one byte a second and never finishing it. A connection the server closes is
/// replaced at the next tick, so the pressure holds for as long as the flood runs.
final class SlowHTTPClients: Sendable {
    /// What the flood saw.
    struct Figures: CustomStringConvertible {
        /// Connections made, the replacements included.
        var connected = 0
        /// Connections the server closed before they had sent anything but the first byte (the
        /// connection cap at work).
        var closedAtOnce = 0
        /// Connections the server closed after holding them for at least one tick (the request
        /// timeout at work).
        var closedLater = 0
        /// Bytes the server sent back to the slow clients (a slowloris gets no answer).
        var answeredBytes = 0

        var description: String {
            "\(connected) connections made, \(closedAtOnce) closed at once, \(closedLater) closed later, "
                + "\(answeredBytes) bytes answered"
        }
    }

    private let port: Int
    private let count: Int
    private let stopped = Atomic<Bool>(false)
    private let figures = Locked(Figures())

    init(port: Int, count: Int) {
        self.port = port
        self.count = count
    }

    /// Runs the flood for `seconds`, on a thread of its own; returns what it saw.
    func run(seconds: Int) async -> Figures {
        let thread = Thread { self.loop(ticks: seconds) }
        thread.start()
        while !stopped.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(50)) }
        return figures.withLock { $0 }
    }

    private func loop(ticks: Int) {
        // Per connection: the socket and how many bytes of its head it has sent.
        var sockets: [(socket: TCPSocket, sent: Int)?] = Array(repeating: nil, count: count)
        let head = Array("GET /metrics HTTP/1.1\r\nHost: warden\r\nX-Slow: " + String(repeating: "a", count: 4096))
        for _ in 0..<ticks {
            for slot in 0..<count {
                if let (socket, sent) = sockets[slot] {
                    var reply = [UInt8](repeating: 0, count: 4096)
                    let n = reply.withUnsafeMutableBytes {
                        recv(socket.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
                    }
                    if n > 0 { figures.withLock { $0.answeredBytes += n } }
                    let closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                    if closed || !socket.send(String(head[sent % head.count])) {
                        figures.withLock { figures in
                            if sent <= 1 { figures.closedAtOnce += 1 } else { figures.closedLater += 1 }
                        }
                        sockets[slot] = nil
                    } else {
                        sockets[slot] = (socket, sent + 1)
                    }
                }
                if sockets[slot] == nil, let socket = try? TCPSocket(port: port, receiveTimeout: 1) {
                    figures.withLock { $0.connected += 1 }
                    sockets[slot] = socket.send(String(head[0])) ? (socket, 1) : nil
                }
            }
            Thread.sleep(forTimeInterval: 1)
        }
        sockets.removeAll()
        stopped.store(true, ordering: .relaxed)
    }
}
