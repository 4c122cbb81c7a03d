import CPostgres
import Foundation
import WardenStore
import WardenSync

#if canImport(Glibc)
import Glibc
#endif

/// The thread that hears other hosts' commits: its own connection `LISTEN`s on the channel
/// every write transaction notifies, and `poll` waits on the connection's socket; each
/// notification fires the signal. A notification only says "look" (the changelog is the
/// truth), so a dropped connection costs latency, never an event: the thread reconnects with
/// backoff (100 ms doubling to 5 s). It fires once after every `LISTEN` that succeeds, the first
/// one included: a commit between `startSignalling` and that `LISTEN` (the connection takes a
/// while) or between a lost connection and the next one was not heard, and a follower that
/// caught up before it would otherwise wait for the next commit, however long that takes.
///
/// Thread safety: the connection is the thread's own. `stop` writes to a pipe the thread polls
/// too, so it stops at once; `stopped` is guarded by its lock.
final class PostgresListener: @unchecked Sendable {
    private let stopped = Locked(false)
    /// A pipe: `stop` writes a byte to `wake[1]`; the thread polls `wake[0]`.
    private let wake: [Int32]

    init(uri: PostgresURI, channel: String, signal: CommitSignal) {
        var fds: [Int32] = [-1, -1]
        let made = pipe(&fds)
        precondition(made == 0, "pipe failed: \(errno)")
        wake = fds
        let thread = Thread { [self] in
            run(uri: uri, channel: channel, signal: signal)
            // Only once stopped (`run` returns then), under the lock `stop` writes under.
            stopped.withLock { _ in
                close(wake[0])
                close(wake[1])
            }
        }
        thread.name = "warden.postgres-listen"
        thread.start()
    }

    /// Stops the thread (it closes its connection).
    func stop() {
        stopped.withLock { stopped in
            guard !stopped else { return }
            stopped = true
            var byte: UInt8 = 1
            _ = write(wake[1], &byte, 1)
        }
    }

    private var isStopped: Bool { stopped.withLock { $0 } }

    private func run(uri: PostgresURI, channel: String, signal: CommitSignal) {
        var backoff = 0.1
        while !isStopped {
            guard let connection = try? PostgresConnection(uri: uri),
                (try? connection.execute("LISTEN \(channel)")) != nil
            else {
                if waitForStop(seconds: backoff) { return }
                backoff = min(backoff * 2, 5)
                continue
            }
            backoff = 0.1
            // Commits before this LISTEN (since the start, or since the old connection's loss)
            // were not heard.
            signal.fire()
            listen(connection, signal)
        }
    }

    /// Fires `signal` per notification until the connection breaks or the listener stops.
    private func listen(_ connection: PostgresConnection, _ signal: CommitSignal) {
        guard let handle = connection.handle else { return }
        let socket = PQsocket(handle)
        while !isStopped {
            var fds = [
                pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake[0], events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, 1000)
            if ready < 0 && errno != EINTR { return }
            if fds[1].revents != 0 { return }
            guard ready > 0, fds[0].revents != 0 else { continue }
            guard PQconsumeInput(handle) == 1 else { return }
            var heard = false
            while let notification = PQnotifies(handle) {
                heard = true
                PQfreemem(notification)
            }
            if heard { signal.fire() }
            if PQstatus(handle) != CONNECTION_OK { return }
        }
    }

    /// Waits up to `seconds`; true when stopped meanwhile.
    private func waitForStop(seconds: Double) -> Bool {
        var fd = pollfd(fd: wake[0], events: Int16(POLLIN), revents: 0)
        _ = poll(&fd, 1, Int32(seconds * 1000))
        return isStopped
    }
}
