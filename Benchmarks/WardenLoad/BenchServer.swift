import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A `warden serve` process under measurement: started on a socket and a database, ready once
/// it prints its "serving" line (the index is loaded then), measured through /proc.
final class BenchServer {
    let process = Process()
    /// Seconds from `run()` to the "warden: serving" line: a cold start, index load included.
    private(set) var startSeconds = 0.0
    private let output = Pipe()

    /// Starts `binary serve` (under `wrapper`, a profiler's command line, when given) and waits
    /// for its "serving" line; `timeout` bounds the wait.
    init(binary: URL, wrapper: [String], socket: String, database: String, timeout: Double) throws {
        process.executableURL = wrapper.isEmpty ? binary : URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            wrapper + (wrapper.isEmpty ? [] : [binary.path]) + ["serve", "--socket", socket, "--database", database]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let start = DispatchTimeNanos.now()
        try process.run()
        let deadline = start + UInt64(timeout * 1e9)
        var seen = ""
        let handle = output.fileHandleForReading
        while !seen.contains("warden: serving") {
            let data = handle.availableData
            if data.isEmpty || DispatchTimeNanos.now() > deadline {
                stop()
                throw LoadError("the server did not print its serving line within \(timeout) s; it printed: \(seen)")
            }
            seen += String(decoding: data, as: UTF8.self)
        }
        startSeconds = Double(DispatchTimeNanos.now() - start) / 1e9
    }

    var pid: Int32 { process.processIdentifier }

    /// Stops the server with SIGTERM (a graceful shutdown) and waits for it.
    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        process.waitUntilExit()
    }

    /// The server's CPU seconds so far (user + system).
    var cpuSeconds: Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A field of /proc/PID/status in bytes (`VmRSS`, `RssAnon`, `VmHWM`), 0 when unreadable.
    func memory(_ field: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let kibibytes = line.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0
            return kibibytes * 1024
        }
        return 0
    }

    /// Resident bytes: `RssAnon` (the heap and stacks; file pages the kernel may drop are left out).
    var anonymousBytes: Double { memory("RssAnon") }
}

/// Raises this process's open-file limit to its hard limit (the memory phases hold hundreds of
/// sockets); returns the soft limit now in force.
func raiseOpenFileLimit() -> Int {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    return Int(limit.rlim_cur)
}
