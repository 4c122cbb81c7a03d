import Foundation
import NIOPosix
import WardenClient
import WardenTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A real `warden serve` process on a socket and a database in a fresh temporary folder.
final class ServerProcess: @unchecked Sendable {
    let folder: URL
    let socketPath: String
    let databasePath: String
    private let process = Process()
    private let log: URL

    /// Starts the server and waits until it answers Health (unless `waitUntilServing` is false).
    init(
        environment: [String: String] = [:],
        databasePath: String? = nil,
        folder: URL? = nil,
        arguments: [String] = [],
        waitUntilServing: Bool = true
    ) async throws {
        self.folder =
            folder
            ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                "warden-e2e-\(UUID().uuidString.prefix(8))"
            )
        try FileManager.default.createDirectory(at: self.folder, withIntermediateDirectories: true)
        socketPath = self.folder.appendingPathComponent("s\(UUID().uuidString.prefix(4)).sock").path
        self.databasePath = databasePath ?? self.folder.appendingPathComponent("warden.db").path
        log = self.folder.appendingPathComponent("server-\(UUID().uuidString.prefix(4)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = try Self.binary()
        process.arguments = ["serve", "--socket", socketPath, "--database", self.databasePath] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        if waitUntilServing { try await self.waitUntilServing() }
    }

    /// Waits until the server answers Health (or refuses this process, as configured).
    func waitUntilServing() async throws {
        for _ in 0..<300 {
            if !process.isRunning { throw ServerError("the server exited: \(output)") }
            if FileManager.default.fileExists(atPath: socketPath),
                let connection = try? await WardenConnection.connect(socketPath: socketPath, group: Self.group)
            {
                defer { Task { await connection.close() } }
                do {
                    _ = try await connection.health()
                    return
                } catch let error as WardenError where error.code == .permissionDenied {
                    return  // serving, and refusing this process, as configured
                } catch {}
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ServerError("the server did not start: \(output)")
    }

    /// One event loop for every test client: cheap connections.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)

    func connect() async throws -> WardenConnection {
        try await WardenConnection.connect(socketPath: socketPath, group: Self.group)
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// SIGTERM, then waits for the exit; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL.
    func kill9() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    /// Removes the folder (after `stop`).
    func removeFolder() { try? FileManager.default.removeItem(at: folder) }

    /// Sends `signal` and waits for the process to end; returns its termination status (for a
    /// signal that kills it, the signal's number).
    @discardableResult
    func kill(signal: Int32) -> Int32 {
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// A new server process on this one's database and folder (after this one ended), with its
    /// own socket and log; waits until it answers Health.
    func restarted(environment: [String: String] = [:], arguments: [String] = []) async throws -> ServerProcess {
        try await ServerProcess(
            environment: environment,
            databasePath: databasePath,
            folder: folder,
            arguments: arguments
        )
    }

    /// The process's resident memory and open file descriptors now, from `/proc`; `nil` once it
    /// has ended.
    func resources() -> ResourceSample? {
        let proc = "/proc/\(process.processIdentifier)"
        guard process.isRunning, let status = try? String(contentsOfFile: "\(proc)/status", encoding: .utf8),
            let fds = try? FileManager.default.contentsOfDirectory(atPath: "\(proc)/fd")
        else { return nil }
        // Lines like "VmRSS:\t   10432 kB" and "Threads:\t9".
        func number(_ field: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return 0 }
            return Int(line.dropFirst(field.count + 1).split(whereSeparator: \.isWhitespace).first ?? "") ?? 0
        }
        return ResourceSample(rssKiB: number("VmRSS"), fileDescriptors: fds.count, threads: number("Threads"))
    }

    /// What each open descriptor points at (`socket:[…]`, a path, `anon_inode:[eventfd]`…), by
    /// kind with counts: for a leak's report.
    func descriptorKinds() -> [String: Int] {
        let folder = "/proc/\(process.processIdentifier)/fd"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var kinds: [String: Int] = [:]
        for entry in entries {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(folder)/\(entry)") else {
                continue
            }
            let kind =
                target.hasPrefix("socket:")
                ? "socket" : (target.hasPrefix("/") ? target : String(target.prefix { $0 != "[" && $0 != ":" }))
            kinds[kind, default: 0] += 1
        }
        return kinds
    }

    static func binary() throws -> URL { try BuiltProducts.executable(named: "warden") }
}

/// A server process's resources at one moment (`/proc/<pid>/status` and `/proc/<pid>/fd`).
struct ResourceSample: Sendable {
    /// VmRSS, in KiB.
    let rssKiB: Int
    /// Open file descriptors.
    let fileDescriptors: Int
    let threads: Int

    var rssMiB: Double { Double(rssKiB) / 1024 }
}

struct ServerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` against a fresh server, then stops it and removes its folder. `databasePath`:
/// the server's `--database` (an SQLite file in its folder when `nil`; a PostgreSQL URI too).
func withServer<T>(
    environment: [String: String] = [:],
    databasePath: String? = nil,
    _ body: (ServerProcess, WardenConnection) async throws -> T
) async throws -> T {
    let server = try await ServerProcess(environment: environment, databasePath: databasePath)
    let connection = try await server.connect()
    do {
        let value = try await body(server, connection)
        await connection.close()
        server.stop()
        server.removeFolder()
        return value
    } catch {
        await connection.close()
        server.stop()
        server.removeFolder()
        throw error
    }
}

/// What a `warden` command printed and how it exited.
struct CommandResult {
    let status: Int32
    let output: String
    let error: String

    /// stdout's lines parsed as JSON objects.
    var jsonLines: [[String: Any]] {
        output.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }
}

/// Runs `warden ARGUMENTS` (the built binary) with `input` on stdin, and waits for it.
func runWarden(_ arguments: [String], input: String? = nil, environment: [String: String] = [:]) throws -> CommandResult
{
    let process = Process()
    process.executableURL = try ServerProcess.binary()
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let stdout = Pipe()
    let stderr = Pipe()
    let stdin = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    let error = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(
        status: process.terminationStatus,
        output: String(decoding: output, as: UTF8.self),
        error: String(decoding: error, as: UTF8.self)
    )
}
