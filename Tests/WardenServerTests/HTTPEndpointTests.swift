import Foundation
import Testing
import WardenClient
import WardenProto

@testable import WardenPostgresStore

/// The HTTP listener of `warden serve --http-address` (docs/operations.md "HTTP endpoints"),
/// against real server processes, scraped by curl and by raw sockets.
@Suite("HTTP endpoints", .serialized)
struct HTTPEndpointTests {
    static let listen = ["--http-address", "127.0.0.1:0"]

    @Test("/metrics has the request counters and histograms after some checks; /healthz and /readyz are 200")
    func scrape() async throws {
        let server = try await ServerProcess(arguments: Self.listen)
        defer {
            server.stop()
            server.removeFolder()
        }
        let base = try await server.httpBase()
        let warden = try await server.connect()
        try await RPCTests.seed(warden)
        let experiment = RPCTests.experiment("4")
        for _ in 0..<5 { _ = try await warden.check(.user("1"), "lab.change_experiment", object: experiment) }
        _ = try? await warden.check(.user(""), "lab.change_experiment", object: experiment)  // INVALID_ARGUMENT
        await warden.close()

        let scrape = try HTTPTestClient.curl(["-i", base + "/metrics"])
        #expect(scrape.status == 0, "\(scrape.output)")
        let lines = scrape.output.replacingOccurrences(of: "\r", with: "").split(separator: "\n").map(String.init)
        #expect(lines.first == "HTTP/1.1 200 OK")
        #expect(lines.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"))
        let families = [
            "warden_requests counter", "warden_errors counter", "warden_request_duration_seconds histogram",
        ]
        for family in families {
            #expect(lines.contains("# TYPE \(family)"), "no \(family) in:\n\(scrape.output)")
        }
        #expect(lines.contains(#"warden_requests{method="check"} 6"#))
        #expect(lines.contains(#"warden_errors{method="check",status="3"} 1"#))
        #expect(lines.contains(#"warden_request_duration_seconds_count{method="check"} 6"#))
        #expect(lines.contains(#"warden_request_duration_seconds_bucket{method="check",le="+Inf"} 6"#))
        // The gauges come from the maintenance loop, once a second: poll for them.
        var gauges = ""
        for _ in 0..<600 where !gauges.contains("warden_index_grants ") {
            gauges = try HTTPTestClient.curl([base + "/metrics"]).output
            try await Task.sleep(for: .milliseconds(100))
        }
        let names = [
            "warden_index_grants", "warden_index_users", "warden_index_objects", "warden_revision", "warden_watchers",
            "warden_connections", "warden_database_revision", "warden_database_reachable",
        ]
        for gauge in names {
            #expect(gauges.contains("# TYPE \(gauge) gauge\n"), "no gauge \(gauge)")
        }
        #expect(gauges.contains("warden_database_reachable 1.0\n"))

        #expect(try HTTPTestClient.status(base + "/healthz") == 200)
        #expect(try HTTPTestClient.status(base + "/readyz") == 200)
        #expect(try HTTPTestClient.curl([base + "/readyz"]).output == "ready\n")
        #expect(try HTTPTestClient.status(base + "/metrics?name=x") == 200)
        for path in ["/metrics", "/healthz", "/readyz"] {
            #expect(try HTTPTestClient.status(base + path, method: "HEAD") == 200)
        }
        // The Stats RPC (warden stats --prometheus) renders the same registry.
        let stats = try runWarden(["stats", "--prometheus", "--socket", server.socketPath])
        #expect(stats.status == 0 && stats.output.contains(#"warden_requests{method="check"} 6"#), "\(stats.output)")
    }

    @Test("another path is 404; another method 405 with Allow; a body 413; a head over 8 KiB 431; garbage 400")
    func refusals() async throws {
        let server = try await ServerProcess(arguments: Self.listen)
        defer {
            server.stop()
            server.removeFolder()
        }
        let address = try await server.httpAddress()
        let base = "http://" + address
        #expect(try HTTPTestClient.status(base + "/") == 404)
        #expect(try HTTPTestClient.status(base + "/metrics/x") == 404)
        for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
            #expect(try HTTPTestClient.status(base + "/metrics", method: method) == 405)
        }
        let notAllowed = try HTTPTestClient.curl(["-i", "-X", "DELETE", base + "/readyz"]).output
        #expect(notAllowed.contains("Allow: GET, HEAD\r\n"), "\(notAllowed)")

        let port = try TCPSocket.port(of: address)
        let body = try TCPSocket(port: port)
        body.send("POST /metrics HTTP/1.1\r\nHost: w\r\nContent-Length: 5\r\n\r\nhello")
        #expect(body.readToEnd().hasPrefix("HTTP/1.1 413 "))  // and closed: readToEnd returned

        let chunked = try TCPSocket(port: port)
        chunked.send("GET /metrics HTTP/1.1\r\nHost: w\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        #expect(chunked.readToEnd().hasPrefix("HTTP/1.1 413 "))

        let large = try TCPSocket(port: port)
        large.send("GET /metrics HTTP/1.1\r\nHost: w\r\nX-Large: " + String(repeating: "a", count: 9000) + "\r\n\r\n")
        let tooLarge = large.readToEnd()
        #expect(tooLarge.hasPrefix("HTTP/1.1 431 "), "\(tooLarge.prefix(200))")

        let garbage = try TCPSocket(port: port)
        garbage.send("HELLO THERE\r\n\r\n")
        #expect(garbage.readToEnd().hasPrefix("HTTP/1.1 400 "))

        // Pipelined requests on one connection are answered in order; Connection: close ends it.
        let pipelined = try TCPSocket(port: port)
        pipelined.send(
            "GET /healthz HTTP/1.1\r\nHost: w\r\n\r\nGET /nope HTTP/1.1\r\nHost: w\r\n\r\n"
                + "GET /readyz HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n"
        )
        let answers = pipelined.readToEnd().components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
        #expect(answers == ["200", "404", "200"])

        // The listener still serves after all that, and the permission socket never noticed.
        #expect(try HTTPTestClient.status(base + "/healthz") == 200)
        let warden = try await server.connect()
        _ = try await warden.health()
        await warden.close()
    }

    @Test("a connection that never finishes its head is closed by the request timeout")
    func slowHeadClosed() async throws {
        let server = try await ServerProcess(arguments: Self.listen)
        defer {
            server.stop()
            server.removeFolder()
        }
        let socket = try TCPSocket(port: try TCPSocket.port(of: try await server.httpAddress()))
        socket.send("GET /metrics HTTP/1.1\r\nHost: w\r\n")
        let started = ContinuousClock.now
        var closed = false
        while !closed && ContinuousClock.now - started < .seconds(60) {
            closed = socket.isClosedByPeer() == true
            if !closed { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(closed, "the half-sent request was still open after 60 s")
        print("HTTP request timeout: a half-sent head was closed after \(ContinuousClock.now - started)")
    }

    @Test("a flood of 200 slow HTTP clients leaves checks on the permission socket answered")
    func slowClientFlood() async throws {
        let server = try await ServerProcess(arguments: Self.listen)
        defer {
            server.stop()
            server.removeFolder()
        }
        let address = try await server.httpAddress()
        let setup = try await server.connect()
        try await RPCTests.seed(setup)
        await setup.close()
        let quiet = try await Probe.during(server) { try await Task.sleep(for: .seconds(3)) }
        var flood = SlowHTTPClients.Figures()
        let flooded = try await Probe.during(server) {
            flood = await SlowHTTPClients(port: try TCPSocket.port(of: address), count: 200).run(seconds: 15)
        }
        print("HTTP flood: \(flood)")
        print("checks, quiet: \(quiet)")
        print("checks, 200 slow HTTP clients: \(flooded)")
        #expect(quiet.failures == 0 && flooded.failures == 0, "\(flooded)")
        #expect(flooded.answered > 0)
        #expect(flood.answeredBytes == 0, "a slow client got an answer to a head it never finished")
        #expect(flood.closedAtOnce > 0, "the connection cap (64) never closed a connection of the 200")
        // Once the flood is over the listener answers again.
        var status = 0
        for _ in 0..<600 where status != 200 {
            status = (try? HTTPTestClient.status("http://\(address)/healthz")) ?? 0
            if status != 200 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(status == 200)
    }

    @Test("a scraper hammering /metrics: check latency with and without it (figures printed)")
    func scraperCost() async throws {
        let server = try await ServerProcess(arguments: Self.listen)
        defer {
            server.stop()
            server.removeFolder()
        }
        let port = try TCPSocket.port(of: try await server.httpAddress())
        let setup = try await server.connect()
        try await RPCTests.seed(setup)
        await setup.close()
        let quiet = try await Probe.during(server) { try await Task.sleep(for: .seconds(5)) }
        var scrapes = 0
        let scraped = try await Probe.during(server) {
            let until = ContinuousClock.now + .seconds(5)
            let socket = try TCPSocket(port: port)
            while ContinuousClock.now < until {
                socket.send("GET /metrics HTTP/1.1\r\nHost: w\r\n\r\n")
                guard try Self.readResponse(socket) else { break }
                scrapes += 1
                await Task.yield()
            }
        }
        print("checks, quiet: \(quiet)")
        print("checks, while a keep-alive client scraped /metrics back to back (\(scrapes) scrapes in 5 s): \(scraped)")
        #expect(quiet.failures == 0 && scraped.failures == 0)
        #expect(scrapes > 0)
    }

    /// Reads one response with a Content-Length body; `false` at end of stream.
    private static func readResponse(_ socket: TCPSocket) throws -> Bool {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let end = received.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: received[..<end.lowerBound], as: UTF8.self).lowercased()
                guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                    let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
                else { throw ServerError("no Content-Length in \(head)") }
                if received.count >= end.upperBound + length { return true }
            }
            let n = chunk.withUnsafeMutableBytes { read(socket.fd, $0.baseAddress, $0.count) }
            if n <= 0 { return false }
            received += chunk[..<n]
        }
    }

    @Test("a Unix socket path serves the same endpoints")
    func unixSocket() async throws {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("warden-http-\(UUID().uuidString.prefix(8))")
        let path = folder.appendingPathComponent("http.sock").path
        let server = try await ServerProcess(folder: folder, arguments: ["--http-address", path])
        defer {
            server.stop()
            server.removeFolder()
        }
        #expect(try await server.httpAddress() == path)
        let ready = try HTTPTestClient.curl(["--unix-socket", path, "http://warden/readyz"])
        #expect(ready.output == "ready\n", "\(ready.output)")
        let metrics = try HTTPTestClient.curl(["--unix-socket", path, "http://warden/metrics"])
        #expect(metrics.output.contains("# TYPE warden_requests counter"))
    }

    @Test("a bad --http-address or a port in use stops the start with a message naming it")
    func badAddress() async throws {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("warden-http-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        for value in ["nonsense", "127.0.0.1", "127.0.0.1:70000", "::1:80", ":80"] {
            let result = try runWarden([
                "serve", "--socket", folder.appendingPathComponent("s.sock").path, "--database",
                folder.appendingPathComponent("w.db").path, "--http-address", value,
            ])
            #expect(result.status != 0)
            let message = "http_address (flag --http-address): must be HOST:PORT"
            #expect(result.error.contains(message), "\(value): \(result.error)")
        }
        let first = try await ServerProcess(arguments: Self.listen)
        defer {
            first.stop()
            first.removeFolder()
        }
        let taken = try await first.httpAddress()
        let second = try runWarden([
            "serve", "--socket", folder.appendingPathComponent("s.sock").path, "--database",
            folder.appendingPathComponent("w.db").path, "--http-address", taken,
        ])
        #expect(second.status != 0)
        #expect((second.output + second.error).contains("cannot listen for HTTP"), "\(second.output)\(second.error)")
    }

    @Test("/readyz is 503 while the index cannot load (PostgreSQL's schema lock held), then 200")
    func notReadyWhileLoading() async throws {
        guard let cluster = try PostgresCluster.shared(for: "HTTP /readyz while loading") else { return }
        let database = try await cluster.createDatabase(prefix: "http")
        do {
            try await Self.notReady(cluster: cluster, database: database)
        } catch {
            await database.drop()
            throw error
        }
        await database.drop()
    }

    private static func notReady(cluster: PostgresCluster, database: PostgresTestDatabase) async throws {
        // Another sidecar migrating the schema: the server waits for the lock before it loads.
        let lock = try SessionLock(uri: database.uri, key: PostgresSchema.lockKey)
        try await lock.waitUntilHeld(cluster: cluster, database: database.name)
        let server = try await ServerProcess(databasePath: database.uri, arguments: listen, waitUntilServing: false)
        defer {
            server.stop()
            server.removeFolder()
        }
        let base = try await server.httpBase()
        #expect(try HTTPTestClient.status(base + "/readyz") == 503)
        #expect(try HTTPTestClient.curl([base + "/readyz"]).output == "not ready: loading the index\n")
        #expect(try HTTPTestClient.status(base + "/healthz") == 200)
        #expect(try HTTPTestClient.status(base + "/metrics") == 200)
        lock.release()
        var status = 0
        for _ in 0..<600 where status != 200 {
            status = try HTTPTestClient.status(base + "/readyz")
            if status != 200 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(status == 200)
        try await server.waitUntilServing()
    }
}

/// A psql session holding a PostgreSQL advisory lock until released.
final class SessionLock {
    private let process = Process()
    private let input = Pipe()
    private let key: Int64

    init(uri: String, key: Int64) throws {
        self.key = key
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", uri]
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data("SELECT pg_advisory_lock(\(key));\n".utf8))
    }

    /// Polls pg_locks until the lock is granted (60 s at most).
    func waitUntilHeld(cluster: PostgresCluster, database: String) async throws {
        let (high, low) = (key >> 32, key & 0xFFFF_FFFF)
        let query =
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            + " AND classid = \(high) AND objid = \(low)"
        for _ in 0..<600 {
            let count = try await cluster.psql(query, database: database)
            if count.trimmingCharacters(in: .whitespacesAndNewlines) == "1" { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ServerError("the advisory lock was not granted within 60 s")
    }

    /// Ends the session, which releases the lock.
    func release() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit { if process.isRunning { process.terminate() } }
}
