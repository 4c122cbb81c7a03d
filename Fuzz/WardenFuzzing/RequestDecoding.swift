import WardenProto
import WardenService

/// Fuzz target 2: a request body decoded for a method id the way `ConnectionHandler.dispatch`
/// decodes it — the Check codec's fast path and swift-protobuf's, the proto → model mapping and
/// its validation, `check(raw:)` — and then run against the sample state: reads are answered,
/// writes are checked (actor, escalation) and applied to a scratch copy of the index, never
/// committed. Where two decoders exist they must agree.
///
/// Input: byte 0 picks the method (`Warden_V1_Method.allCases`, or an unknown id), the rest is
/// the body.
public enum RequestDecoding {
    /// How a request ended, and where the decoders disagreed.
    public struct Outcome: Sendable {
        /// The method, `nil` for an id that is not one.
        public var method: Warden_V1_Method?
        /// The server's refusal, if it refused.
        public var error: ServiceError?
        /// Each place two decoders (or two deciders) did not agree; empty when they did.
        public var disagreements: [String] = []
    }

    /// The methods byte 0 picks from; past the end, an id that is not a method. Methods added
    /// after the corpus was written go last, so that its selector bytes keep their meaning.
    public static let methods =
        Warden_V1_Method.allCases.filter { $0 != .unspecified && !addedLater.contains($0) } + addedLater

    /// Methods in the order they were added after the first corpus.
    static let addedLater: [Warden_V1_Method] = [.batchGetPermissions]

    /// The method id byte 0 stands for.
    public static func methodID(_ selector: UInt8) -> UInt16 {
        let position = Int(selector) % (methods.count + 1)
        return position < methods.count ? UInt16(methods[position].rawValue) : 0xBEEF
    }
}
