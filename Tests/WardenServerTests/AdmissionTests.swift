import Foundation
import Synchronization
import Testing
import WardenClient
import WardenProto
import WardenSync
import WardenWire

#if canImport(Glibc)
import Glibc
#endif

/// A peer the access policy does not admit costs one status frame and a close, before any of its
/// bytes is read, and holds no connection slot (issue #16, item 10). The server is told to admit
/// another uid only, so this test process is the stranger.
@Suite("Strangers cost a status and a close", .serialized)
struct AdmissionTests {
    /// Someone else: a uid that is not this process's.
    static let otherUID = getuid() == 4242 ? 4243 : 4242

    /// A frame announcing a 4 MiB body, all of it but its last byte: a frame that never completes.
    static let partialFrame: [UInt8] = {
        let length = UInt32(4 << 20)
        let header = RawSocket.frame(
            id: 1,
            method: UInt16(Warden_V1_Method.batchCheck.rawValue),
            body: [],
            length: length
        )
        return header + [UInt8](repeating: 0x0a, count: Int(length) - Frame.lengthCounted - 1)
    }()

    /// Connects, sends a partial 4 MiB frame (`sent` is told when it is out), and returns the
    /// first frame the server answered (`nil`: none) and whether it then closed the connection.
    static func stranger(_ path: String, sent: () -> Void = {}) throws -> (Frame?, closed: Bool) {
        let socket = try RawSocket(path: path, receiveTimeout: 10)
        socket.setSendTimeout(seconds: 10)
        RawSocket.sendAll(fd: socket.fd, partialFrame)
        sent()
        let frame = socket.readFrame()
        return (frame, socket.isClosedByPeer())
    }

    @Test(
        "strangers sending partial 4 MiB frames get PERMISSION_DENIED on id 0 and are closed; the server reads none of it"
    )
    func strangersAreClosed() async throws {
        try await withServer(environment: ["WARDEN_ADMIN_UIDS": "\(Self.otherUID)"]) { server, _ in
            let before = ProcessSample.rssKiB(pid: server.pid)
            let path = server.socketPath
            // `Locked`, not `Mutex`: TSan does not see `Mutex` on Linux (Sources/WardenSync/Locked.swift).
            let answers = Locked<[(Frame?, Bool)]>([])
            let threads = (0..<20).map { _ in
                Thread {
                    let answer = (try? Self.stranger(path)) ?? (nil, false)
                    answers.withLock { $0.append(answer) }
                }
            }
            for thread in threads { thread.start() }
            var after = before
            for _ in 0..<1200 where answers.withLock({ $0.count }) < 20 {
                after = max(after, ProcessSample.rssKiB(pid: server.pid))
                try await Task.sleep(for: .milliseconds(50))
            }
            after = max(after, ProcessSample.rssKiB(pid: server.pid))
            #expect(answers.withLock { $0.count } == 20)
            for (frame, closed) in answers.withLock({ $0 }) {
                #expect(
                    frame?.requestID == 0 && frame?.status == StatusCode.permissionDenied.rawValue,
                    "\(String(describing: frame))"
                )
                #expect(frame?.errorStatus?.message.contains("not allowed to use Warden") == true)
                #expect(closed)
            }
            print(
                "admission: 20 strangers sending partial 4 MiB frames: server RSS \(before / 1024) → at most \(after / 1024) MiB"
            )
            // Before, each stranger's frame was read and held: 30 → 112 MiB.
            #expect(after - before < 24 * 1024, "the server grew \((after - before) / 1024) MiB")
            #expect(server.output.contains("peer not admitted"))
        }
    }

    @Test(
        "60 strangers hammering a server with max_connections 50 do not lock out an admitted uid",
        .enabled(if: SecondUser.available, "needs root, useradd and setpriv for a second, admitted uid")
    )
    func strangersDoNotLockOut() async throws {
        let peer = try #require(SecondUIDTests.peer)
        // A long frame_timeout: a stranger's partial frame, were it read, would hold its slot.
        let environment = [
            "WARDEN_ADMIN_UIDS": "\(peer.uid)", "WARDEN_SOCKET_GROUP": SecondUser.name, "WARDEN_MAX_CONNECTIONS": "50",
            "WARDEN_FRAME_TIMEOUT": "600s",
        ]
        try await withServer(environment: environment) { server, _ in
            let path = server.socketPath
            let stop = Atomic<Bool>(false)
            let refusals = Atomic<Int>(0)
            let attempts = Atomic<Int>(0)
            let before = ProcessSample.rssKiB(pid: server.pid)
            // Threads of their own: each stranger blocks in its socket calls.
            for _ in 0..<60 {
                Thread {
                    while !stop.load(ordering: .relaxed) {
                        guard let (frame, _) = try? Self.stranger(path, sent: { attempts.add(1, ordering: .relaxed) })
                        else { continue }
                        if frame?.status == StatusCode.permissionDenied.rawValue { refusals.add(1, ordering: .relaxed) }
                    }
                }.start()
            }
            defer { stop.store(true, ordering: .relaxed) }
            // Once every stranger has sent its frame, the admitted uid works as usual.
            for _ in 0..<1200 where attempts.load(ordering: .relaxed) < 60 {
                try await Task.sleep(for: .milliseconds(50))
            }
            let socket = ["--socket", path]
            for command in [
                ["register", "lab.experiment"], ["user", "put", "2"],
                ["grant", "2", "lab.change_experiment", "--object", "lab.experiment:77"],
                ["check", "2", "lab.change_experiment", "--object", "lab.experiment:77"], ["health"],
            ] {
                let result = try peer.warden(command + socket)
                #expect(result.status == 0, "\(command): \(result.output) \(result.error)")
            }
            let refused = refusals.load(ordering: .relaxed)
            let after = ProcessSample.rssKiB(pid: server.pid)
            stop.store(true, ordering: .relaxed)
            print(
                "admission: 60 strangers against max_connections 50: \(refused) refusals while the admitted uid ran 5 commands; server RSS \(before / 1024) → \(after / 1024) MiB"
            )
            #expect(refused >= 60)
        }
    }
}
