import Foundation
import Testing
import WardenClient
import WardenProto
import WardenWire

#if canImport(Glibc)
import Glibc
#endif

/// Item limits are checked on the count of a frame's items before any item is decoded (issue #16,
/// item 8): 4 MiB of empty items would otherwise take hundreds of MiB of decoded messages before
/// the limit refused them.
@Suite("Item limits before decoding", .serialized)
struct BatchLimitTests {
    /// A body of `count` empty items of repeated message field `field` (2 bytes each).
    static func emptyItems(field: UInt8, count: Int) -> [UInt8] {
        var body = [UInt8]()
        body.reserveCapacity(2 * count)
        for _ in 0..<count {
            body.append(field << 3 | 2)
            body.append(0)
        }
        return body
    }

    /// 2,000,000 empty items: a body of 4,000,000 bytes, within the 4 MiB frame limit.
    static let huge = 2_000_000

    /// Sends `frame` on a connection of its own and returns its answer.
    static func answer(_ server: ServerProcess, _ frame: [UInt8]) throws -> Frame? {
        let socket = try RawSocket(path: server.socketPath, receiveTimeout: 60)
        socket.send(frame)
        return socket.readFrame()
    }

    /// A 4 MiB frame may take longer than the default 10 s `frame_timeout` to arrive on a busy
    /// machine (eight at once under TSan did, and were answered DEADLINE_EXCEEDED): these tests
    /// are about item limits, not slow senders.
    static let slowFrames = ["WARDEN_FRAME_TIMEOUT": "600s"]

    @Test(
        "BatchCheck, BatchGetPermissions, WriteBatch and a bulk chunk of 2M empty items are refused on the count, naming the field and the limit"
    )
    func refusedOnCount() async throws {
        try await withServer(environment: Self.slowFrames) { server, warden in
            try await RPCTests.seed(warden)
            let cases: [(Warden_V1_Method, UInt8, String)] = [
                (.batchCheck, 1, "items: at most 10000 checks in one BatchCheck (got 2000000)"),
                (.batchGetPermissions, 3, "pks: at most 10000 pks in one BatchGetPermissions (got 2000000)"),
                (.writeBatch, 1, "records: at most 10000 in one WriteBatch (got 2000000)"),
                (
                    .bulkGrant, 1,
                    "chunk 0: at most 100000 grants in one chunk, the server's max_chunk_items (got 2000000)"
                ),
                (
                    .bulkRevoke, 1,
                    "chunk 0: at most 100000 grants in one chunk, the server's max_chunk_items (got 2000000)"
                ),
            ]
            for (method, field, message) in cases {
                let before = ProcessSample.rssKiB(pid: server.pid)
                let frame = RawSocket.frame(
                    id: 7,
                    method: UInt16(method.rawValue),
                    body: Self.emptyItems(field: field, count: Self.huge)
                )
                let reply = try #require(try Self.answer(server, frame), "\(method): no answer")
                #expect(
                    reply.requestID == 7 && reply.status == StatusCode.invalidArgument.rawValue,
                    "\(method): status \(reply.status)"
                )
                #expect(
                    reply.errorStatus?.message.hasPrefix(message) == true,
                    "\(method): \(reply.errorStatus?.message ?? "")"
                )
                let after = ProcessSample.rssKiB(pid: server.pid)
                print(
                    "batch limits: \(method) of \(Self.huge) empty items refused; server RSS \(before / 1024) → \(after / 1024) MiB"
                )
            }
            // A PruneOrphans chunk of 2M empty pks, in a stream of two chunks.
            var first = Warden_V1_PruneOrphansRequest()
            first.contentType = "lab.experiment"
            let socket = try RawSocket(path: server.socketPath, receiveTimeout: 60)
            let prune = UInt16(Warden_V1_Method.pruneOrphans.rawValue)
            socket.send(RawSocket.frame(id: 3, method: prune, flags: 0, body: try first.serializedBytes()))
            socket.send(RawSocket.frame(id: 3, method: prune, body: Self.emptyItems(field: 2, count: Self.huge)))
            let reply = try #require(socket.readFrame())
            #expect(reply.status == StatusCode.invalidArgument.rawValue)
            #expect(
                reply.errorStatus?.message.contains(
                    "chunk 1: at most 100000 live_pks in one chunk, the server's max_chunk_items (got 2000000)"
                ) == true,
                "\(reply.errorStatus?.message ?? "")"
            )
            try await BadInputTests.stillServes(warden)
        }
    }

    @Test("eight 4 MiB BatchChecks of 2M empty items at once cost the server little memory")
    func eightAtOnce() async throws {
        try await withServer(environment: Self.slowFrames) { server, warden in
            try await RPCTests.seed(warden)
            let frame = RawSocket.frame(
                id: 1,
                method: UInt16(Warden_V1_Method.batchCheck.rawValue),
                body: Self.emptyItems(field: 1, count: Self.huge)
            )
            let sockets = try (0..<8).map { _ in try RawSocket(path: server.socketPath, receiveTimeout: 120) }
            let before = ProcessSample.rssKiB(pid: server.pid)
            let descriptors = sockets.map(\.fd)
            DispatchQueue.concurrentPerform(iterations: descriptors.count) {
                RawSocket.sendAll(fd: descriptors[$0], frame)
            }
            var peak = ProcessSample.rssKiB(pid: server.pid)
            for socket in sockets {
                let reply = socket.readFrame()
                peak = max(peak, ProcessSample.rssKiB(pid: server.pid))
                #expect(reply?.status == StatusCode.invalidArgument.rawValue)
                #expect(reply?.errorStatus?.message.contains("at most 10000 checks in one BatchCheck") == true)
            }
            let after = ProcessSample.rssKiB(pid: server.pid)
            print(
                "batch limits: eight BatchChecks of \(Self.huge) empty items at once: server RSS \(before / 1024) → \(after / 1024) MiB (+\((after - before) / 1024) MiB; highest seen \(peak / 1024) MiB)"
            )
            // Before the items were counted first, this grew about 1 GiB.
            #expect(after - before < 64 * 1024, "the server grew \((after - before) / 1024) MiB")
            try await BadInputTests.stillServes(warden)
        }
    }

    @Test(
        "items hidden behind a protobuf group (which swift-protobuf skips and the counter does not walk) are still refused on the count"
    )
    func groupDoesNotHideItems() async throws {
        try await withServer(environment: Self.slowFrames) { server, warden in
            try await RPCTests.seed(warden)
            // An empty group of unknown field 15 (start 0x7B, end 0x7C), then 2M empty items.
            for (method, field, prefix) in [
                (Warden_V1_Method.batchCheck, UInt8(1), "items: at most 10000 checks in one BatchCheck"),
                (.writeBatch, 1, "records: at most 10000 in one WriteBatch"),
                (.bulkGrant, 1, "chunk 0: at most 100000 grants in one chunk"),
            ] {
                let before = ProcessSample.rssKiB(pid: server.pid)
                let body = [0x7B, 0x7C] + Self.emptyItems(field: field, count: Self.huge)
                let reply = try #require(
                    try Self.answer(server, RawSocket.frame(id: 5, method: UInt16(method.rawValue), body: body))
                )
                #expect(reply.status == StatusCode.invalidArgument.rawValue, "\(method): status \(reply.status)")
                #expect(
                    reply.errorStatus?.message.hasPrefix(prefix) == true,
                    "\(method): \(reply.errorStatus?.message ?? "")"
                )
                let after = ProcessSample.rssKiB(pid: server.pid)
                print(
                    "batch limits: \(method) with a group before \(Self.huge) items: server RSS \(before / 1024) → \(after / 1024) MiB"
                )
                #expect(after - before < 64 * 1024, "\(method): the server grew \((after - before) / 1024) MiB")
            }
            try await BadInputTests.stillServes(warden)
        }
    }
}
