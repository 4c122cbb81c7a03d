import Foundation
import Testing
import WardenClient
import WardenProto
import WardenWire

#if canImport(Glibc)
import Glibc
#endif

/// Client streams share one server-wide budget, `max_stream_bytes_total` (issue #16, item 13),
/// and what a bulk costs per grant is measured for docs/operations.md.
@Suite("The server-wide stream budget", .serialized)
struct StreamBudgetTests {
    /// A BulkGrant chunk of about `bytes` bytes and no grants: one unknown field, which the
    /// server skips.
    static func padding(_ bytes: Int) -> [UInt8] {
        var body: [UInt8] = [0xfa, 0x07]  // field 127, wire type 2
        var length = bytes
        while length >= 0x80 {
            body.append(UInt8(length & 0x7f) | 0x80)
            length >>= 7
        }
        body.append(UInt8(length))
        return body + [UInt8](repeating: 0x61, count: bytes)
    }

    static let bulk = UInt16(Warden_V1_Method.bulkGrant.rawValue)

    @Test(
        "a stream past max_stream_bytes_total is refused with RESOURCE_EXHAUSTED; a cancelled or dropped stream frees its bytes"
    )
    func budget() async throws {
        try await withServer(environment: ["WARDEN_MAX_STREAM_BYTES_TOTAL": "1048576"]) { server, warden in
            try await RPCTests.seed(warden)
            // A holds 700 KB of the 1 MiB; B's 700 KB do not fit.
            let a = try RawSocket(path: server.socketPath, receiveTimeout: 60)
            a.send(RawSocket.frame(id: 1, method: Self.bulk, flags: 0, body: Self.padding(700_000)))
            a.send(try RawSocket.frame(id: 2, method: .health, Warden_V1_HealthRequest()))
            #expect(a.readFrame()?.requestID == 2)  // A's chunk has been taken
            let b = try RawSocket(path: server.socketPath, receiveTimeout: 60)
            b.send(RawSocket.frame(id: 1, method: Self.bulk, flags: 0, body: Self.padding(700_000)))
            let refused = try #require(b.readFrame())
            #expect(refused.requestID == 1 && refused.status == StatusCode.resourceExhausted.rawValue)
            #expect(
                refused.errorStatus?.message
                    == "client streams of all connections hold more than 1048576 bytes, the server's max_stream_bytes_total; try again later",
                "\(refused.errorStatus?.message ?? "")"
            )
            // The refused stream's later chunks are dropped up to END_STREAM, unanswered.
            b.send(RawSocket.frame(id: 1, method: Self.bulk, body: Self.padding(10)))
            // A cancels: its bytes are free, and B's stream fits.
            a.send(RawSocket.frame(id: 1, method: Self.bulk, flags: 2, body: []))
            #expect(a.readFrame()?.status == StatusCode.cancelled.rawValue)
            b.send(RawSocket.frame(id: 3, method: Self.bulk, flags: 0, body: Self.padding(700_000)))
            b.send(RawSocket.frame(id: 3, method: Self.bulk, body: Self.padding(200_000)))
            let done = try #require(b.readFrame())
            #expect(done.requestID == 3 && done.status == 0, "\(done.errorStatus?.message ?? "")")
            // B's committed stream freed its bytes too; then a stream of a connection that drops
            // frees them once the server sees the close.
            let c = try RawSocket(path: server.socketPath, receiveTimeout: 60)
            c.send(RawSocket.frame(id: 1, method: Self.bulk, flags: 0, body: Self.padding(700_000)))
            c.send(try RawSocket.frame(id: 2, method: .health, Warden_V1_HealthRequest()))
            #expect(c.readFrame()?.requestID == 2)
            close(c.fd)
            var fits = false
            for _ in 0..<600 where !fits {
                let d = try RawSocket(path: server.socketPath, receiveTimeout: 60)
                d.send(RawSocket.frame(id: 1, method: Self.bulk, body: Self.padding(700_000)))
                fits = d.readFrame()?.status == 0
                if !fits { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(fits)
        }
    }

    @Test("memory of a 1M-grant bulk: held open, at its commit's peak, and after (figures for docs/operations.md)")
    func bulkMemory() async throws {
        try await withServer { server, warden in
            try await RPCTests.seed(warden)
            let count = 1_000_000
            let perChunk = 10_000
            let socket = try RawSocket(path: server.socketPath, receiveTimeout: 600)
            let before = ProcessSample.rssKiB(pid: server.pid)
            var sent = 0
            for start in stride(from: 0, to: count, by: perChunk) {
                var chunk = Warden_V1_BulkGrantRequest()
                chunk.grants = (start..<start + perChunk).map {
                    Warden_V1_Grant(.user("\($0 % 5 + 1)"), "lab.view_experiment", pk: "bulk-\($0)")
                }
                let body: [UInt8] = try chunk.serializedBytes()
                sent += body.count
                socket.send(RawSocket.frame(id: 1, method: Self.bulk, flags: 0, body: body))
            }
            socket.send(try RawSocket.frame(id: 2, method: .health, Warden_V1_HealthRequest()))
            #expect(socket.readFrame()?.requestID == 2)  // every chunk has been taken
            // The chunks are decoded on the pool meanwhile: wait until RSS stops growing (a figure only).
            var held = ProcessSample.rssKiB(pid: server.pid)
            for _ in 0..<60 {
                try await Task.sleep(for: .milliseconds(500))
                let now = ProcessSample.rssKiB(pid: server.pid)
                if now <= held { break }
                held = now
            }
            socket.send(RawSocket.frame(id: 1, method: Self.bulk, body: []))
            let sampler = Task {
                var peak = 0
                while !Task.isCancelled {
                    peak = max(peak, ProcessSample.rssKiB(pid: server.pid))
                    try? await Task.sleep(for: .milliseconds(20))
                }
                return peak
            }
            let reply = try #require(socket.readFrame())
            sampler.cancel()
            let peak = max(await sampler.value, ProcessSample.rssKiB(pid: server.pid))
            let after = ProcessSample.rssKiB(pid: server.pid)
            #expect(reply.status == 0, "\(reply.errorStatus?.message ?? "")")
            #expect(try Warden_V1_BulkResponse(serializedBytes: reply.body).count == UInt64(count))
            func perGrant(_ kib: Int) -> Int { (kib - before) * 1024 / count }
            print(
                """
                stream budget: bulk of \(count) grants (\(sent / 1024) KiB sent): server RSS \(before / 1024) MiB → \
                held open \(held / 1024) MiB (\(perGrant(held)) B per grant, \(String(format: "%.2f", Double(held - before) / Double(sent / 1024))) KiB per KiB sent) → \
                commit peak \(peak / 1024) MiB (\(perGrant(peak)) B per grant) → after \(after / 1024) MiB (\(perGrant(after)) B per grant)
                """
            )
        }
    }
}
