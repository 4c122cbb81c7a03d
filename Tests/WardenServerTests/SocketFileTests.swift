import Foundation
import Synchronization
import Testing
import WardenClient

#if canImport(Glibc)
import Glibc
#endif

/// The socket path (issue #16, items 15–17): one server per path, a socket created with its
/// mode and never through a followed link, a deleted socket noticed, a non-socket refused by
/// name. Real `warden serve` processes in a temporary folder.
@Suite("The socket file", .serialized)
struct SocketFileTests {
    @Test(
        "a second server on a live socket path is refused before it opens its database; the first keeps serving and removes its socket at exit"
    )
    func secondServerRefused() async throws {
        let first = try await ServerProcess()
        defer { first.removeFolder() }
        let otherDatabase = first.folder.appendingPathComponent("other.db").path
        let second = try LaunchedServer(socket: first.socketPath, database: otherDatabase, folder: first.folder)
        let outcome = try await second.serveOrExit()
        #expect(outcome == .exited, "the second server must not serve the path: \(second.output)")
        #expect(second.status != 0)
        #expect(
            second.output.contains("another Warden server (pid \(first.pid)) is serving \(first.socketPath)"),
            "\(second.output)"
        )
        #expect(!FileManager.default.fileExists(atPath: otherDatabase), "refused before it opened its database")
        let warden = try await first.connect()
        #expect(try await warden.health().status == "SERVING")
        await warden.close()
        #expect(first.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: first.socketPath), "the first server removes its own socket")
    }

    @Test("after kill -9 the stale socket is replaced by the next server")
    func staleSocketReplaced() async throws {
        let first = try await ServerProcess()
        defer { first.removeFolder() }
        first.kill9()
        #expect(FileManager.default.fileExists(atPath: first.socketPath), "a killed server leaves its socket")
        let second = try LaunchedServer(socket: first.socketPath, database: first.databasePath, folder: first.folder)
        #expect(try await second.serveOrExit() == .serving, "\(second.output)")
        second.stop()
    }

    @Test("a regular file, a folder or a link at the socket path is refused, named, and left alone")
    func nonSocketRefused() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let target = "\(folder)/secret"
        #expect(
            FileManager.default.createFile(
                atPath: target,
                contents: Data("x".utf8),
                attributes: [.posixPermissions: 0o600]
            )
        )
        let cases: [(String, (String) throws -> Void)] = [
            (
                "a regular file",
                { path in _ = FileManager.default.createFile(atPath: path, contents: Data("keep".utf8)) }
            ),
            (
                "a folder",
                { path in try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) }
            ),
            (
                "a symbolic link",
                { path in try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target) }
            ),
        ]
        for (number, (kind, make)) in cases.enumerated() {
            let socket = "\(folder)/s\(number).sock"
            try make(socket)
            let server = try LaunchedServer(
                socket: socket,
                database: "\(folder)/w\(number).db",
                folder: URL(fileURLWithPath: folder)
            )
            #expect(try await server.serveOrExit() == .exited, "\(kind): \(server.output)")
            #expect(
                server.output.contains("socket: \(socket) exists and is \(kind), not a socket"),
                "\(kind): \(server.output)"
            )
            var info = stat()
            #expect(lstat(socket, &info) == 0 && (info.st_mode & S_IFMT) != S_IFSOCK, "\(kind) is left in place")
        }
        #expect(try Self.mode(target) == 0o600, "the link's target is untouched")
        #expect(try String(contentsOfFile: "\(folder)/s0.sock", encoding: .utf8) == "keep")
    }

    @Test("the socket is created with socket_mode whatever the umask, and never chmod-ed through a link swapped in")
    func modeWithoutFollowingLinks() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let server = try LaunchedServer(
            socket: "\(folder)/m.sock",
            database: "\(folder)/m.db",
            folder: URL(fileURLWithPath: folder),
            arguments: ["--socket-mode", "0640"]
        )
        #expect(try await server.serveOrExit() == .serving, "\(server.output)")
        #expect(try Self.mode("\(folder)/m.sock") == 0o640)
        server.stop()
        // A racer replaces the socket path with a link to a private file, over and over, while
        // servers start: whatever each start makes of it (refused, or serving a path it lost),
        // the file the link points at keeps its mode. Chmod by path after bind followed the link
        // (10 of 40 starts made a 0600 file 0666 in the run).
        let target = "\(folder)/private"
        #expect(
            FileManager.default.createFile(
                atPath: target,
                contents: Data("x".utf8),
                attributes: [.posixPermissions: 0o600]
            )
        )
        let socket = "\(folder)/r.sock"
        let stop = Flag()
        let racer = Thread {
            var round = 0
            while !stop.isSet {
                round += 1
                let link = "\(folder)/link\(round % 2)"
                unlink(link)
                symlink(target, link)
                rename(link, socket)  // atomic: replaces whatever is at the path, never follows it
            }
        }
        racer.start()
        defer { stop.set() }
        for round in 0..<20 {
            let server = try LaunchedServer(
                socket: socket,
                database: "\(folder)/r.db",
                folder: URL(fileURLWithPath: folder),
                arguments: ["--socket-mode", "0666"],
                tag: "\(round)"
            )
            _ = try await server.serveOrExit()
            server.stop()
            #expect(try Self.mode(target) == 0o600, "round \(round): the link's target was chmod-ed")
        }
    }

    @Test("a deleted socket file is logged as an error")
    func deletedSocketLogged() async throws {
        let server = try await ServerProcess()
        defer { server.removeFolder() }
        #expect(unlink(server.socketPath) == 0)
        var logged = false
        for _ in 0..<600 where !logged {  // the daemon looks every second; up to 60 s on a busy machine
            logged = server.output.contains("socket file was deleted")
            if !logged { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(logged, "\(server.output)")
        #expect(server.stop() == 0)
    }

    static func folder() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "warden-sock-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    static func mode(_ path: String) throws -> Int {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw ServerError("lstat \(path): errno \(errno)") }
        return Int(info.st_mode & 0o7777)
    }
}

/// A `warden serve` started on a given path, which may refuse to start (unlike `ServerProcess`).
final class LaunchedServer: @unchecked Sendable {
    enum Outcome: Equatable { case serving, exited }

    private let process = Process()
    private let log: URL

    init(socket: String, database: String, folder: URL, arguments: [String] = [], tag: String = "") throws {
        log = folder.appendingPathComponent("launched-\(UUID().uuidString.prefix(6))\(tag).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = try ServerProcess.binary()
        process.arguments = ["serve", "--socket", socket, "--database", database] + arguments
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
    var status: Int32 { process.terminationStatus }

    /// Waits until the server says it serves or exits (up to 60 s: a busy machine is slow, never wrong).
    func serveOrExit() async throws -> Outcome {
        for _ in 0..<3000 {
            if !process.isRunning { return .exited }
            if output.contains("warden: serving") { return .serving }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ServerError("neither served nor exited: \(output)")
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

/// A flag set once, read by another thread.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
