import Testing
import WardenFuzzing
import WardenProto
import WardenService
import WardenTestSupport
import WardenWire

/// The fuzz targets' properties on 20,000 seeded random and mutated inputs each, in the normal
/// suite: the frame decoder (whole and in chunks, the server's way and the client's) and the
/// request decoding of every method id (the Check codec against swift-protobuf, `check(raw:)`
/// against `check`, the mapping and validation). No crash, no disagreement, and every refusal a
/// `FrameError` or a `ServiceError` whose message names its field. Then every input of
/// `Fuzz/regressions/` (what the fuzzers or these tests once broke).
@Suite("Decoders on random bytes")
struct DecoderRandomBytesTests {
    @Test("frames: 20,000 seeded streams cut in chunks, the readers agree")
    func frames() {
        var random = SplitMix64(seed: 0xF4A3_E5)
        let seeds = SeedInputs.frames().map(\.input)
        var failures: [String] = []
        var refused = 0
        for round in 0..<20_000 {
            let input = RandomInputs.make(round: round, seeds: seeds, using: &random)
            // The client's channel reader on every fifth: it costs as much as the rest together.
            let outcome = FrameCutting.run(input, clientWay: round % 5 == 0)
            if !outcome.disagreements.isEmpty { failures.append("\(outcome.disagreements) for \(hex(input))") }
            if outcome.error != nil { refused += 1 }
        }
        #expect(failures.isEmpty, "\(failures.count) failures; the first: \(failures.prefix(3))")
        #expect(refused > 1000 && refused < 19_000, "\(refused) streams refused")
    }

    @Test("requests: 20,000 seeded bodies over every method id, decoders agree, errors name a field")
    func requests() throws {
        let service = try SampleService.make()
        var random = SplitMix64(seed: 0x5EED_0008)
        let seeds = SeedInputs.requests().map(\.input)
        var failures: [String] = []
        var answered: [Warden_V1_Method: Int] = [:]
        for round in 0..<20_000 {
            var input = RandomInputs.make(round: round, seeds: seeds, using: &random)
            // Pure random bodies go to every method in turn.
            if round % 4 == 0 { input.insert(UInt8(truncatingIfNeeded: round / 4), at: 0) }
            let outcome = RequestDecoding.run(input, service: service)
            failures += Self.problems(outcome).map { "\($0) for \(hex(input))" }
            if outcome.error == nil, let method = outcome.method { answered[method, default: 0] += 1 }
        }
        #expect(failures.isEmpty, "\(failures.count) failures; the first: \(failures.prefix(3))")
        // The mutations keep many requests valid: every method answers some.
        for method in RequestDecoding.methods {
            #expect(answered[method, default: 0] > 0, "\(method) never answered")
        }
    }

    @Test("regressions: every input of Fuzz/regressions/frames and /requests")
    func regressions() throws {
        let service = try SampleService.make()
        for (name, input) in Regressions.inputs("frames") {
            #expect(FrameCutting.run(input).disagreements.isEmpty, "frames/\(name)")
        }
        let requests = Regressions.inputs("requests")
        #expect(!requests.isEmpty)
        for (name, input) in requests {
            #expect(Self.problems(RequestDecoding.run(input, service: service)).isEmpty, "requests/\(name)")
        }
    }

    /// A broken property of a request's outcome: a disagreement, or a refusal that does not name
    /// its field or has a code no decoding should give.
    static func problems(_ outcome: RequestDecoding.Outcome) -> [String] {
        var problems = outcome.disagreements
        if let error = outcome.error {
            let wholeBody = ["the request body is not a valid ", "chunk 0: not a valid ", "method: "].contains {
                error.message.hasPrefix($0)
            }
            // Escalation refusals name the write's actor.
            let actor = error.code == .permissionDenied && error.message.hasPrefix("actor ")
            if !(wholeBody || actor || namesField(error.message)) { problems.append("names no field: \(error)") }
            if ![.invalidArgument, .notFound, .alreadyExists, .permissionDenied, .unimplemented, .outOfRange].contains(
                error.code
            ) {
                problems.append("unexpected code: \(error)")
            }
        }
        return problems
    }

    /// Whether a message starts with a field path (`grant.subject`, `records[2].user.id`) and a colon,
    /// after the `change N of M: ` that names the row of a batch found unfit when applied
    /// (docs/protocol.md, client streams).
    static func namesField(_ message: String) -> Bool {
        var message = Substring(message)
        if message.hasPrefix("change "), let rest = message.firstRange(of: ": ") {
            let row = message[message.index(message.startIndex, offsetBy: 7)..<rest.lowerBound].split(separator: " ")
            if row.count == 3, row[1] == "of", row[0].allSatisfy(\.isNumber), row[2].allSatisfy(\.isNumber) {
                message = message[rest.upperBound...]
            }
        }
        guard let colon = message.firstIndex(of: ":") else { return false }
        let path = message[..<colon]
        return !path.isEmpty && path.allSatisfy { $0.isLetter || $0.isNumber || "_.[]".contains($0) }
    }
}

/// Bytes as hex, for a failure's message (paste into a file of Fuzz/regressions with xxd -r -p).
func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
