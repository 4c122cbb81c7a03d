import Foundation
import SwiftProtobuf
import Testing
import WardenProto

@testable import WardenServer

/// The hand-written BulkGrantRequest reader reads exactly what swift-protobuf does, or declines.
@Suite("Bulk codec")
struct BulkCodecTests {
    static let strings = [
        "", "1", "42", "lab.view_experiment", "view_experiment", "lab.experiment", "é", "a\u{0}b",
        String(repeating: "x", count: 300), "/home/www/joe.config",
    ]

    static func randomRequest(_ random: inout SystemRandomNumberGenerator) -> Warden_V1_BulkGrantRequest {
        func pick() -> String { strings.randomElement(using: &random)! }
        var request = Warden_V1_BulkGrantRequest()
        for _ in 0..<Int.random(in: 0..<6, using: &random) {
            var grant = Warden_V1_Grant()
            switch Int.random(in: 0..<4, using: &random) {
            case 0: grant.subject = .user(pick())
            case 1: grant.subject = .group(pick())
            case 2: grant.subject = Warden_V1_Subject()
            default: break
            }
            if Bool.random(using: &random) { grant.permission = pick() }
            if Bool.random(using: &random) { grant.contentType = pick() }
            if Bool.random(using: &random) { grant.pk = pick() }
            request.grants.append(grant)
        }
        if Bool.random(using: &random) { request.actor = pick() }
        return request
    }

    /// Unknown fields (varint 100, bytes 101, fixed32 102, fixed64 103), which proto3 skips.
    static let unknown: [[UInt8]] = [
        [0xa0, 0x06, 0x96, 0x01], [0xaa, 0x06, 0x02, 0x41, 0x42], [0xb5, 0x06, 1, 2, 3, 4],
        [0xb9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8],
    ]

    /// The reader's items, as swift-protobuf messages.
    static func read(_ bytes: [UInt8]) -> (grants: [Warden_V1_Grant], actor: String)? {
        bytes.withUnsafeBytes { raw in
            guard let (items, actor) = BulkCodec.request(raw) else { return nil }
            return (items.map { $0.wire(raw) }, String(decoding: raw[actor], as: UTF8.self))
        }
    }

    @Test("decoding agrees with swift-protobuf on random requests, unknown fields included")
    func decoding() throws {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let proto = Self.randomRequest(&random)
            var bytes: [UInt8] = try proto.serializedBytes()
            // Unknown fields at the top level, between or after grants.
            for field in Self.unknown where Bool.random(using: &random) {
                bytes.insert(contentsOf: field, at: Bool.random(using: &random) ? 0 : bytes.count)
            }
            // And inside a grant and its subject: re-encode one grant with unknown fields in it.
            if !proto.grants.isEmpty, Bool.random(using: &random) {
                var grant: [UInt8] = try proto.grants[0].serializedBytes()
                grant += Self.unknown.randomElement(using: &random)!
                if proto.grants[0].hasSubject {
                    var subject: [UInt8] = try proto.grants[0].subject.serializedBytes()
                    subject.insert(contentsOf: Self.unknown.randomElement(using: &random)!, at: 0)
                    var rest = proto.grants[0]
                    rest.clearSubject()
                    grant =
                        [0x0a] + Self.varint(subject.count) + subject + (try rest.serializedBytes()) + Self.unknown[0]
                }
                bytes += [0x0a] + Self.varint(grant.count) + grant
            }
            let decoded = try Warden_V1_BulkGrantRequest(serializedBytes: bytes)
            let read = try #require(Self.read(bytes), "\(proto)")
            #expect(read.grants == Self.known(decoded.grants), "\(proto)")
            #expect(read.actor == decoded.actor)
        }
    }

    @Test("random bytes: whatever the reader accepts, swift-protobuf decodes to the same")
    func randomBytes() throws {
        var random = SystemRandomNumberGenerator()
        var accepted = 0
        for _ in 0..<5000 {
            var bytes: [UInt8] = try Self.randomRequest(&random).serializedBytes()
            // Flip, drop or insert a few bytes.
            for _ in 0..<Int.random(in: 1...3, using: &random) where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes.remove(at: at)
                default: bytes.insert(UInt8.random(in: 0...255, using: &random), at: at)
                }
            }
            guard let read = Self.read(bytes) else { continue }
            accepted += 1
            let decoded = try Warden_V1_BulkGrantRequest(serializedBytes: bytes)
            #expect(read.grants == Self.known(decoded.grants) && read.actor == decoded.actor, "\(bytes)")
        }
        #expect(accepted > 100)
    }

    @Test("declines what it does not handle: truncated, non-UTF-8 strings, a repeated subject, another wire type")
    func declines() throws {
        var grant = Warden_V1_Grant()
        grant.subject = .user("42")
        grant.permission = "lab.view_experiment"
        grant.pk = "7"
        var request = Warden_V1_BulkGrantRequest()
        request.grants = [grant]
        let bytes: [UInt8] = try request.serializedBytes()
        #expect(Self.read(bytes) != nil)
        #expect(Self.read(Array(bytes.dropLast())) == nil)
        let inner: [UInt8] = try grant.serializedBytes() + [0x0a, 0x02, 0x0a, 0x00]
        #expect(
            Self.read([0x0a] + Self.varint(inner.count) + inner) == nil,
            "a second subject merges in proto: not ours"
        )
        let invalid: [UInt8] = [0x0a, 0x04, 0x12, 0x02, 0xc3, 0x28]  // permission = invalid UTF-8
        #expect(Self.read(invalid) == nil)
        #expect(throws: (any Error).self) { try Warden_V1_BulkGrantRequest(serializedBytes: invalid) }
        #expect(Self.read([0x08, 0x01]) == nil, "grants as a varint")
    }

    /// Grants without the unknown fields swift-protobuf keeps (the server never reads them).
    static func known(_ grants: [Warden_V1_Grant]) -> [Warden_V1_Grant] {
        grants.map { grant in
            var grant = grant
            grant.unknownFields = UnknownStorage()
            if grant.hasSubject { grant.subject.unknownFields = UnknownStorage() }
            return grant
        }
    }

    static func varint(_ value: Int) -> [UInt8] {
        var value = UInt64(value)
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
    }
}
