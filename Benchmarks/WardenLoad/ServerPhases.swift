import Foundation
import WardenProto
import WardenTestSupport

/// The phases of WardenLoad that measure the server process rather than a request: memory per
/// open connection and per watcher, and a cold restart (issue #20).
enum ServerPhases {
    /// Opens connections (each answers one Check), then a Watch on each: the server's anonymous
    /// resident memory per connection and per watcher, from the growth over the set.
    static func memory(server: BenchServer, socketPath: String, check: [UInt8], figures: BenchmarkFigures) async throws
    {
        let count = min(1000, raiseOpenFileLimit() - 64)
        let before = server.anonymousBytes
        var clients: [RawClient] = []
        for _ in 0..<count {
            let client = try RawClient(path: socketPath)
            let (_, frame) = client.roundTrip(check)
            precondition(frame.status == 0, "check: status \(frame.status)")
            clients.append(client)
        }
        let connected = server.anonymousBytes
        // A Watch from now, then a Check behind it on the same connection: its answer means the
        // server has taken the Watch.
        let watch = RawClient.frame(.watch, Warden_V1_WatchRequest(), id: 2)
        var probe = check
        probe[7] = 3
        for client in clients {
            client.send(watch + probe)
            var answered = false
            while !answered {
                for frame in client.receive() {
                    precondition(frame.requestID != 2 || frame.status == 0, "watch: status \(frame.status)")
                    if frame.requestID == 3 { answered = true }
                }
            }
        }
        let watching = server.anonymousBytes
        let perConnection = (connected - before) / Double(count)
        let perWatcher = (watching - connected) / Double(count)
        clients.removeAll()
        print(
            "server memory per open connection / per watcher".padding(toLength: 52, withPad: " ", startingAt: 0)
                + String(format: "%.1f / %.1f KiB", perConnection / 1024, perWatcher / 1024)
                + "   (\(count) of each, RssAnon growth)"
        )
        figures.record("server_bytes_per_connection", perConnection)
        figures.record("server_bytes_per_watcher", perWatcher)
    }

    /// Stops `server` gracefully and starts it again on the same database: the cold start's
    /// seconds (process start to serving, the whole index load included) and its memory.
    static func coldRestart(
        server: BenchServer,
        restart: () throws -> BenchServer,
        emptyAnonymous: Double,
        grants: Int,
        figures: BenchmarkFigures
    ) throws -> BenchServer {
        server.stop()
        let restarted = try restart()
        let anonymous = restarted.anonymousBytes
        let peak = restarted.memory("VmHWM")
        let perGrant = (anonymous - emptyAnonymous) / Double(grants)
        print(
            "cold start to serving".padding(toLength: 52, withPad: " ", startingAt: 0)
                + String(format: "%.2f s", restarted.startSeconds).padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(format: "%.2f s per million grants; target ≤ 1", restarted.startSeconds * 1e6 / Double(grants))
        )
        print(
            "server memory after the cold start (RssAnon)".padding(toLength: 52, withPad: " ", startingAt: 0)
                + String(format: "%.0f MiB", anonymous / 1_048_576).padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(format: "%.1f B a grant; peak RSS during the load %.0f MiB", perGrant, peak / 1_048_576)
        )
        figures.record("cold_start_seconds", restarted.startSeconds)
        figures.record("cold_start_seconds_per_million", restarted.startSeconds * 1e6 / Double(grants))
        figures.record("server_rss_anon_after_restart_bytes", anonymous)
        figures.record("server_bytes_per_grant_after_restart", perGrant)
        figures.record("server_peak_rss_during_load_bytes", peak)
        return restarted
    }
}
