import WardenProto
import WardenWire

/// A request that did not succeed: the status the server answered (or the client's own, when the
/// connection failed), its message, and for `OUT_OF_RANGE` the oldest retained revision.
public struct WardenError: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: StatusCode
    public let message: String
    /// For `OUT_OF_RANGE` from Watch: the oldest revision the server's changelog holds.
    public let oldestRetainedRevision: UInt64?

    public init(code: StatusCode, message: String, oldestRetainedRevision: UInt64? = nil) {
        self.code = code
        self.message = message
        self.oldestRetainedRevision = oldestRetainedRevision
    }

    init(_ status: Warden_V1_Status, code: UInt8) {
        self.init(
            code: StatusCode(rawValue: code) ?? .unknown, message: status.message,
            oldestRetainedRevision: status.oldestRetainedRevision == 0 ? nil : status.oldestRetainedRevision
        )
    }

    public var description: String { "\(code): \(message)" }
}
