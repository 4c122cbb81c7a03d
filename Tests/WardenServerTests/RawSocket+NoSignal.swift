#if canImport(Glibc)
import Glibc
#endif

extension RawSocket {
    /// Writes `bytes` to `fd` until all are sent or the peer is gone; a closed peer is an error
    /// (`EPIPE`), not a SIGPIPE that would end the test process. Returns the bytes sent.
    @discardableResult
    static func sendAll(fd: Int32, _ bytes: [UInt8]) -> Int {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        return sent
    }

    /// Gives up a blocked send after `seconds`.
    func setSendTimeout(seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
}
