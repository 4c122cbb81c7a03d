import Foundation
import Testing
import WardenClient
import WardenProto
import WardenWire

/// Garbage on the socket costs only that connection (or only that request); others keep working.
@Suite("Bad input over the wire", .serialized)
struct BadInputTests {
    /// After each hostile connection, a well-behaved one still gets its answer.
    static func stillServes(_ warden: WardenConnection) async throws {
        let answer = try await warden.check(.user("1"), "lab.change_experiment", object: RPCTests.experiment("4"))
        #expect(answer.decision.allowed)
    }

    @Test("connection-level garbage: tiny length, 4 GiB length, random bytes, truncated frame")
    func framing() async throws {
        try await withServer { server, warden in
            try await RPCTests.seed(warden)
            // A length below the 12 header bytes: INVALID_ARGUMENT on request id 0, then close.
            var socket = try RawSocket(path: server.socketPath)
            socket.send([0, 0, 0, 3, 1, 2, 3])
            var frame = try #require(socket.readFrame())
            #expect(frame.requestID == 0 && frame.status == StatusCode.invalidArgument.rawValue)
            #expect(frame.errorStatus?.message.contains("below") == true)
            #expect(socket.isClosedByPeer())
            try await Self.stillServes(warden)

            // A 4 GiB length prefix: refused before any body is read.
            socket = try RawSocket(path: server.socketPath)
            socket.send(RawSocket.frame(id: 1, method: 1, body: [], length: .max))
            frame = try #require(socket.readFrame())
            #expect(frame.requestID == 0 && frame.status == StatusCode.resourceExhausted.rawValue)
            #expect(frame.errorStatus?.message.contains("exceeds") == true)
            #expect(socket.isClosedByPeer())
            try await Self.stillServes(warden)

            // Random bytes.
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<20 {
                socket = try RawSocket(path: server.socketPath, receiveTimeout: 2)
                socket.send((0..<256).map { _ in UInt8.random(in: 0...255, using: &generator) })
                _ = socket.readFrame()
            }
            try await Self.stillServes(warden)

            // A frame cut short, then the client leaves.
            socket = try RawSocket(path: server.socketPath)
            socket.send(Array(try RawSocket.frame(id: 1, method: .check, Warden_V1_CheckRequest()).prefix(10)))
            socket = try RawSocket(path: server.socketPath)
            try await Self.stillServes(warden)
            #expect(server.isRunning)
        }
    }

    @Test("request-level errors answer that request and keep the connection")
    func requestLevel() async throws {
        try await withServer { server, warden in
            try await RPCTests.seed(warden)
            let socket = try RawSocket(path: server.socketPath)
            // Unknown method.
            socket.send(RawSocket.frame(id: 7, method: 999, body: []))
            var frame = try #require(socket.readFrame())
            #expect(frame.requestID == 7 && frame.status == StatusCode.unimplemented.rawValue)
            // A valid frame whose body is not protobuf.
            socket.send(RawSocket.frame(id: 8, method: 1, body: [0xff, 0xff, 0xff, 0xff]))
            frame = try #require(socket.readFrame())
            #expect(frame.requestID == 8 && frame.status == StatusCode.invalidArgument.rawValue)
            #expect(frame.errorStatus?.message.contains("CheckRequest") == true)
            // Unknown flag bits.
            socket.send(RawSocket.frame(id: 9, method: 1, flags: 0x81, body: []))
            frame = try #require(socket.readFrame())
            #expect(frame.requestID == 9 && frame.status == StatusCode.invalidArgument.rawValue)
            // The same connection still answers.
            var check = Warden_V1_CheckRequest()
            check.subject = .user("1")
            check.permission = "lab.change_experiment"
            check.object = RPCTests.experiment("4")
            socket.send(try RawSocket.frame(id: 10, method: .check, check))
            frame = try #require(socket.readFrame())
            #expect(frame.requestID == 10 && frame.status == 0)
            #expect(try Warden_V1_CheckResponse(serializedBytes: frame.body).decision.allowed)
            // Request id 0 is the server's: using it is a connection error.
            socket.send(try RawSocket.frame(id: 0, method: .check, check))
            frame = try #require(socket.readFrame())
            #expect(frame.requestID == 0 && frame.status == StatusCode.invalidArgument.rawValue)
            #expect(socket.isClosedByPeer())
            try await Self.stillServes(warden)
        }
    }

    @Test("each invalid field is INVALID_ARGUMENT naming the field")
    func invalidFields() async throws {
        try await withServer { _, warden in
            try await RPCTests.seed(warden)
            let long = String(repeating: "x", count: 256)
            let cases: [(String, () async throws -> Void)] = [
                (
                    "user",
                    { _ = try await warden.check(.user(""), "lab.view_experiment", object: RPCTests.experiment("1")) }
                ),
                (
                    "object.pk",
                    { _ = try await warden.check(.user("1"), "lab.view_experiment", object: RPCTests.experiment(long)) }
                ),
                (
                    "object.pk",
                    { _ = try await warden.check(.user("1"), "lab.view_experiment", object: RPCTests.experiment("")) }
                ),
                ("permission", { _ = try await warden.check(.user("1"), "", object: RPCTests.experiment("1")) }),
                ("content_type", { _ = try await warden.check(.user("1"), "view_experiment", contentType: "NoDot") }),
                ("user.id", { _ = try await warden.putUser(long) }),
                ("name", { _ = try await warden.putGroup("") }),
                (
                    "grant.subject",
                    { _ = try await warden.grant(Warden_V1_Grant(Warden_V1_Subject(), "lab.view_experiment")) }
                ),
                (
                    "page_size",
                    {
                        var request = Warden_V1_ListObjectsRequest()
                        request.subject = .user("1")
                        request.permissions = ["lab.view_experiment"]
                        request.pageSize = 1_000_000
                        _ = try await warden.listObjects(request)
                    }
                ),
                (
                    "page_token",
                    {
                        var request = Warden_V1_ListObjectsRequest()
                        request.subject = .user("1")
                        request.permissions = ["lab.view_experiment"]
                        request.pageToken = "garbage"
                        _ = try await warden.listObjects(request)
                    }
                ),
                (
                    "items",
                    {
                        var request = Warden_V1_BatchCheckRequest()
                        request.items = Array(repeating: Warden_V1_CheckItem(), count: 10_001)
                        _ = try await warden.batchCheck(request)
                    }
                ),
            ]
            for (field, call) in cases {
                do {
                    try await call()
                    Issue.record("\(field): accepted")
                } catch let error as WardenError {
                    #expect(error.code == .invalidArgument, "\(field): \(error)")
                    #expect(error.message.contains(field), "\(field): \(error)")
                }
            }
            try await Self.stillServes(warden)
        }
    }
}
