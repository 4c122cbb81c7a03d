import WardenModel

/// Why the index refused a query or a change. The service layer maps `code` to a status.
public struct IndexError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of refusal; raw values are gRPC's status names.
    public enum Code: String, Hashable, Sendable {
        /// A field breaks its rule, or the request cannot be answered as asked.
        case invalidArgument = "INVALID_ARGUMENT"
        /// Something the request relies on (a content type, a permission, a subject) is not registered.
        case notFound = "NOT_FOUND"
        /// The change would take something another entity holds (a username).
        case alreadyExists = "ALREADY_EXISTS"
    }

    /// The kind of refusal.
    public let code: Code
    /// A message that names the field and the rule, safe to send to clients.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func invalid(_ error: ValidationError) -> IndexError { IndexError(.invalidArgument, error.description) }

    public var description: String { "\(code.rawValue): \(message)" }
}
