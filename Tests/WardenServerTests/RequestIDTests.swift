import Foundation
import Testing
import WardenClient
import WardenProto
import WardenWire

/// A request id still open on the connection is not taken by another request (issue #16, item
/// 12): the reuse is a connection error on id 0 naming the id, and the reusing request never runs.
@Suite("Reused request ids", .serialized)
struct RequestIDTests {
    static func grant(_ pk: String) throws -> [UInt8] {
        var request = Warden_V1_GrantRequest()
        request.grant = Warden_V1_Grant(.user("2"), "lab.change_experiment", pk: pk)
        return try RawSocket.frame(id: 9, method: .grant, request)
    }

    /// Whether user 2 may change experiment `pk`.
    static func granted(_ warden: WardenConnection, _ pk: String) async throws -> Bool {
        try await warden.check(.user("2"), "lab.change_experiment", object: RPCTests.experiment(pk)).decision.allowed
    }

    @Test("three Grants pipelined on id 9: the first is applied, the reuse ends the connection, the others never run")
    func pipelinedGrants() async throws {
        try await withServer { server, warden in
            try await RPCTests.seed(warden)
            let socket = try RawSocket(path: server.socketPath, receiveTimeout: 60)
            socket.send(try Self.grant("reuse-1") + Self.grant("reuse-2") + Self.grant("reuse-3"))
            // What arrives: at most the first grant's answer on id 9, then the connection error.
            var frames: [Frame] = []
            while let frame = socket.readFrame() { frames.append(frame) }
            let error = try #require(frames.last)
            #expect(
                error.requestID == 0 && error.status == StatusCode.invalidArgument.rawValue,
                "\(frames.map { ($0.requestID, $0.status) })"
            )
            #expect(
                error.errorStatus?.message
                    == "request_id: 9 is reused while its request is still open; the connection is closed",
                "\(error.errorStatus?.message ?? "")"
            )
            #expect(frames.dropLast().allSatisfy { $0.requestID == 9 && $0.status == 0 })
            // The first grant had started: it commits. Once it shows, the other two never will.
            var first = false
            for _ in 0..<600 where !first {
                first = try await Self.granted(warden, "reuse-1")
                if !first { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(first)
            #expect(!(try await Self.granted(warden, "reuse-2")))
            #expect(!(try await Self.granted(warden, "reuse-3")))
        }
    }

    @Test("a request on the id of an open watch ends the connection; an answered id is free again")
    func openStreams() async throws {
        try await withServer { server, warden in
            try await RPCTests.seed(warden)
            // A watch stays open on id 5.
            let watching = try RawSocket(path: server.socketPath, receiveTimeout: 60)
            watching.send(try RawSocket.frame(id: 5, method: .watch, Warden_V1_WatchRequest()))
            watching.send(try RawSocket.frame(id: 5, method: .health, Warden_V1_HealthRequest()))
            var frames: [Frame] = []
            while let frame = watching.readFrame() { frames.append(frame) }
            #expect(
                frames.last?.requestID == 0
                    && frames.last?.errorStatus?.message.contains("request_id: 5 is reused") == true
            )
            // An answered id may be used again.
            let sequential = try RawSocket(path: server.socketPath, receiveTimeout: 60)
            for _ in 0..<3 {
                sequential.send(try RawSocket.frame(id: 4, method: .health, Warden_V1_HealthRequest()))
                let answer = try #require(sequential.readFrame())
                #expect(answer.requestID == 4 && answer.status == 0)
            }
            try await BadInputTests.stillServes(warden)
        }
    }
}
