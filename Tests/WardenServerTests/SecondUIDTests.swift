import Foundation
import Testing
import WardenClient
import WardenProto

#if canImport(Glibc)
import Glibc
#endif

/// Peer credentials with a real second uid (issue #8): the test creates a system user and group
/// (`wardenpeer`), runs the `warden` command as that uid and gid with `setpriv`, and checks what
/// the server, running as this process's uid, admits. Needs root (to create the user and switch
/// to it), as CI and this machine have; elsewhere the suite is skipped and says why.
@Suite(
    "Peer credentials of a real second uid",
    .serialized,
    .enabled(if: SecondUser.available, "needs root, useradd and setpriv")
)
struct SecondUIDTests {
    static let peer = SecondUser.ensure()

    @Test("the socket's mode and group are as configured; a uid outside them cannot even connect")
    func socketFile() async throws {
        let peer = try #require(Self.peer)
        try await withServer { server, _ in
            var info = stat()
            #expect(stat(server.socketPath, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o660 && info.st_uid == getuid() && info.st_gid == getgid())
            let result = try peer.warden(["health", "--socket", server.socketPath])
            #expect(result.status == 2)
            #expect(
                result.error.contains("ermission denied") || result.error.contains("EACCES")
                    || result.error.contains("errno 13"),
                "\(result.error)"
            )
        }
        try await withServer(environment: ["WARDEN_SOCKET_GROUP": SecondUser.name, "WARDEN_SOCKET_MODE": "0660"]) {
            server,
            _ in
            var info = stat()
            #expect(stat(server.socketPath, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o660 && info.st_gid == peer.gid)
            // Through the group it connects, and is refused by the access policy: no list names it.
            let result = try peer.warden(["health", "--socket", server.socketPath])
            #expect(result.status == 2 && result.error.contains("PERMISSION_DENIED"), "\(result.error)")
        }
    }

    @Test("a uid in no allow list is refused; a reader uid reads and cannot write; an admin uid writes")
    func roles() async throws {
        let peer = try #require(Self.peer)
        let reachable = ["WARDEN_SOCKET_GROUP": SecondUser.name]
        let check = ["check", "1", "lab.change_experiment", "--object", "lab.experiment:4"]
        let grant = ["grant", "2", "lab.change_experiment", "--object", "lab.experiment:77"]
        // Nobody named it: every request is refused, reads included.
        try await withServer(environment: reachable) { server, warden in
            try await RPCTests.seed(warden)
            let read = try peer.warden(check + ["--socket", server.socketPath])
            #expect(read.status == 2 && read.error.contains("PERMISSION_DENIED"), "\(read.error)")
        }
        // A reader, by uid and by gid: reads answer, writes are refused and change nothing.
        for readers in [["WARDEN_READER_UIDS": "\(peer.uid)"], ["WARDEN_READER_GIDS": "\(peer.gid)"]] {
            try await withServer(environment: reachable.merging(readers) { $1 }) { server, warden in
                try await RPCTests.seed(warden)
                let read = try peer.warden(check + ["--socket", server.socketPath])
                #expect(
                    read.status == 0 && read.output.contains("allow OBJECT_GRANT_USER"),
                    "\(readers): \(read.output) \(read.error)"
                )
                let write = try peer.warden(grant + ["--socket", server.socketPath])
                #expect(write.status == 2 && write.error.contains("PERMISSION_DENIED"), "\(readers): \(write.error)")
                #expect(
                    !(try await warden.check(.user("2"), "lab.change_experiment", object: RPCTests.experiment("77"))
                        .decision.allowed)
                )
            }
        }
        // An admin uid writes; the server's own uid, no longer named, is now refused.
        try await withServer(environment: reachable.merging(["WARDEN_ADMIN_UIDS": "\(peer.uid)"]) { $1 }) {
            server,
            warden in
            let write = try peer.warden(["register", "lab.experiment", "--socket", server.socketPath])
            #expect(write.status == 0, "\(write.error)")
            let user = try peer.warden(["user", "put", "2", "--socket", server.socketPath])
            #expect(user.status == 0, "\(user.error)")
            let granted = try peer.warden(grant + ["--socket", server.socketPath])
            #expect(granted.status == 0, "\(granted.error)")
            let read = try peer.warden([
                "check", "2", "lab.change_experiment", "--object", "lab.experiment:77", "--socket", server.socketPath,
            ])
            #expect(read.status == 0, "\(read.output) \(read.error)")
            await #expect(throws: WardenError.self) { _ = try await warden.health() }
        }
    }
}

/// The second uid: a system user and its group, created once (idempotent: reused if present).
struct SecondUser: Sendable {
    static let name = "wardenpeer"
    let uid: UInt32
    let gid: UInt32

    static var available: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
            && (FileManager.default.isExecutableFile(atPath: "/usr/sbin/useradd") || getpwnam(name) != nil)
    }

    /// Looks the user up, creating it with `useradd` if missing; `nil` if that fails.
    static func ensure() -> SecondUser? {
        if getpwnam(name) == nil {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/useradd")
            process.arguments = ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", name]
            try? process.run()
            process.waitUntilExit()
        }
        guard let entry = getpwnam(name) else { return nil }
        return SecondUser(uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    /// Runs the built `warden` command as this uid and gid, with no supplementary groups.
    func warden(_ arguments: [String]) throws -> CommandResult {
        let binary = try ServerProcess.binary().path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments =
            ["--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--", binary] + arguments + ["--timeout", "5"]
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let error = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus,
            output: String(decoding: output, as: UTF8.self),
            error: String(decoding: error, as: UTF8.self)
        )
    }
}
