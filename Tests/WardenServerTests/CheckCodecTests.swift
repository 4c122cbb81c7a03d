import Foundation
import NIOCore
import SwiftProtobuf
import Testing
import WardenIndex
import WardenModel
import WardenProto
import WardenService
import WardenWire

@testable import WardenServer

/// The hand-written Check codec reads and writes exactly what swift-protobuf does.
@Suite("Check codec")
struct CheckCodecTests {
    static func randomRequest(_ random: inout SystemRandomNumberGenerator) -> Warden_V1_CheckRequest {
        var request = Warden_V1_CheckRequest()
        let strings = [
            "", "1", "lab.view_experiment", "view_experiment", "é", String(repeating: "x", count: 300), "a\u{0}b",
        ]
        func pick() -> String { strings.randomElement(using: &random)! }
        switch Int.random(in: 0..<4, using: &random) {
        case 0: request.subject = .user(pick())
        case 1: request.subject = .group(pick())
        case 2: request.subject = Warden_V1_Subject()
        default: break
        }
        request.permission = pick()
        if Bool.random(using: &random) { request.object = Warden_V1_ObjectRef(pick(), pick()) }
        if Bool.random(using: &random) { request.contentType = pick() }
        if Bool.random(using: &random) { request.acceptGlobalPerms = Bool.random(using: &random) }
        if Bool.random(using: &random) { request.minRevision = UInt64.random(in: 0...UInt64.max, using: &random) }
        return request
    }

    @Test("decoding agrees with swift-protobuf on random requests")
    func decoding() throws {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let proto = Self.randomRequest(&random)
            var bytes: [UInt8] = try proto.serializedBytes()
            // Unknown fields (varint 100, bytes 101, fixed32 102, fixed64 103): proto3 skips them.
            if Bool.random(using: &random) { bytes.insert(contentsOf: [0xa0, 0x06, 0x96, 0x01], at: 0) }
            if Bool.random(using: &random) {
                bytes += [0xaa, 0x06, 0x02, 0x41, 0x42, 0xb5, 0x06, 1, 2, 3, 4, 0xb9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]
            }
            let decoded = try Warden_V1_CheckRequest(serializedBytes: bytes)
            let fields = try #require(bytes.withUnsafeBytes { CheckCodec.check($0) })
            let request = bytes.withUnsafeBytes { fields.request($0) }
            #expect(request == ProtoMapping.check(decoded), "\(proto)")
            #expect(fields.minRevision == decoded.minRevision)
        }
    }

    @Test("declines what it does not handle: truncated, non-UTF-8 strings, a repeated message field")
    func declines() throws {
        var check = Warden_V1_CheckRequest()
        check.subject = .user("42")
        check.permission = "lab.view_experiment"
        let bytes: [UInt8] = try check.serializedBytes()
        #expect(bytes.dropLast().withUnsafeBytes { CheckCodec.check($0) } == nil)
        let twice = bytes + [0x0a, 0x02, 0x0a, 0x00]
        #expect(twice.withUnsafeBytes { CheckCodec.check($0) } == nil, "a second subject merges in proto: not ours")
        let invalid: [UInt8] = [0x12, 0x02, 0xc3, 0x28]  // permission = invalid UTF-8
        let fields = try #require(invalid.withUnsafeBytes { CheckCodec.check($0) })
        #expect(invalid.withUnsafeBytes { fields.request($0) } == nil)
        #expect(throws: (any Error).self) { try Warden_V1_CheckRequest(serializedBytes: invalid) }
    }

    @Test("responses decode with swift-protobuf to the same answers")
    func encoding() throws {
        let decisions = [
            Decision(.objectGrantUser), Decision(.noGrant), Decision(.modelGrantGroup, group: "Read only"),
            Decision(.objectGrantGroup, group: String(repeating: "g", count: 150)),
        ]
        for decision in decisions {
            for revision in [Revision(0), Revision(1), Revision(300), Revision(.max)] {
                var buffer = ByteBuffer()
                CheckCodec.writeCheckResponse(decision, revision: revision, requestID: 9, method: 1, to: &buffer)
                let frame = try #require(try FrameDecoder.next(from: &buffer, maxFrameSize: 1 << 20))
                #expect(frame.requestID == 9 && frame.flags == .endStream && buffer.readableBytes == 0)
                let response = try Warden_V1_CheckResponse(serializedBytes: frame.body)
                #expect(response.decision == ProtoMapping.decision(decision))
                #expect(response.revision == revision.rawValue)
            }
        }
        let results: [Result<Decision, IndexError>] =
            decisions.map { .success($0) }
            + [
                .failure(IndexError(.invalidArgument, "permission: bad")),
                .failure(IndexError(.notFound, String(repeating: "m", count: 200))),
            ]
        var buffer = ByteBuffer()
        CheckCodec.writeBatchResponse(results, revision: Revision(77), requestID: 3, method: 2, to: &buffer)
        let frame = try #require(try FrameDecoder.next(from: &buffer, maxFrameSize: 1 << 20))
        let response = try Warden_V1_BatchCheckResponse(serializedBytes: frame.body)
        #expect(response.revision == 77 && response.results.count == results.count)
        for (got, want) in zip(response.results, results) {
            switch want {
            case .success(let decision): #expect(got.decision == ProtoMapping.decision(decision))
            case .failure(let error):
                #expect(got.error.message == error.message)
                #expect(got.error.code == UInt32(StatusMapping.code(ServiceError(error).code).rawValue))
            }
        }
    }
}
