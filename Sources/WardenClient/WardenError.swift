import WardenProto
import WardenWire

/// A request that did not succeed: the status the server answered (or the client's own, when the
/// connection failed), its message, and for `OUT_OF_RANGE` the oldest retained revision.
public struct WardenError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The status: the server's, or `UNAVAILABLE` when the connection could not carry the call.
    public let code: StatusCode
    /// What went wrong, in words; a server error names the field and the rule.
    public let message: String
    /// For `OUT_OF_RANGE` from Watch: the oldest revision the server's changelog holds.
    public let oldestRetainedRevision: UInt64?

    /// An error with `code` and `message` (and the oldest retained revision, for `OUT_OF_RANGE`).
    public init(code: StatusCode, message: String, oldestRetainedRevision: UInt64? = nil) {
        self.code = code
        self.message = message
        self.oldestRetainedRevision = oldestRetainedRevision
    }

    init(_ status: Warden_V1_Status, code: UInt8) {
        self.init(
            code: StatusCode(rawValue: code) ?? .unknown,
            message: status.message,
            oldestRetainedRevision: status.oldestRetainedRevision == 0 ? nil : status.oldestRetainedRevision
        )
    }

    /// `CODE: message`.
    public var description: String { "\(code): \(message)" }
}
