import WardenIndex
import WardenModel
import WardenStore

/// Why the service refused or failed a request: the one error type the transport maps to a wire
/// status (`WardenServer/StatusMapping.swift`). `message` is safe for clients; `cause` is for
/// the log only.
public struct ServiceError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure; raw values are gRPC's status names.
    public enum Code: String, Hashable, Sendable, CaseIterable {
        /// The client cancelled the request.
        case cancelled = "CANCELLED"
        /// A field breaks its rule; the message names it.
        case invalidArgument = "INVALID_ARGUMENT"
        /// The request's deadline passed before it was answered.
        case deadlineExceeded = "DEADLINE_EXCEEDED"
        /// Something the request relies on is not registered.
        case notFound = "NOT_FOUND"
        /// The write would take something another entity holds (a username).
        case alreadyExists = "ALREADY_EXISTS"
        /// The caller (peer uid/gid, or the write's actor) may not do this.
        case permissionDenied = "PERMISSION_DENIED"
        /// A limit was hit: frame size, stream size, requests in flight, a watcher that does not keep up.
        case resourceExhausted = "RESOURCE_EXHAUSTED"
        /// The database file is unusable, or the request cannot run in the server's state.
        case failedPrecondition = "FAILED_PRECONDITION"
        /// A revision older than the changelog retains; `oldestRetained` says which it holds.
        case outOfRange = "OUT_OF_RANGE"
        /// The method id is not one of `docs/protocol.md`.
        case unimplemented = "UNIMPLEMENTED"
        /// An unexpected failure; the cause is logged, not sent.
        case `internal` = "INTERNAL"
        /// Try again: the database is locked, or `min_revision` was not reached in time.
        case unavailable = "UNAVAILABLE"
    }

    public let code: Code
    public let message: String
    /// The underlying cause, for logs only.
    public let cause: String?
    /// For `OUT_OF_RANGE`: the oldest revision the changelog still holds.
    public let oldestRetained: Revision?

    public init(_ code: Code, _ message: String, cause: String? = nil, oldestRetained: Revision? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
        self.oldestRetained = oldestRetained
    }

    public init(_ error: IndexError) {
        switch error.code {
        case .invalidArgument: self.init(.invalidArgument, error.message)
        case .notFound: self.init(.notFound, error.message)
        case .alreadyExists: self.init(.alreadyExists, error.message)
        }
    }

    public init(_ error: StoreError) {
        let code: Code =
            switch error.code {
            case .invalidArgument: .invalidArgument
            case .notFound: .notFound
            case .alreadyExists: .alreadyExists
            case .outOfRange: .outOfRange
            case .unavailable, .aborted: .unavailable
            case .resourceExhausted: .resourceExhausted
            case .failedPrecondition: .failedPrecondition
            case .internal: .internal
            }
        self.init(code, error.message, cause: error.cause, oldestRetained: error.oldestRetained)
    }

    public init(_ error: ValidationError) { self.init(.invalidArgument, error.description) }

    public var description: String { "\(code.rawValue): \(message)" + (cause.map { " (\($0))" } ?? "") }
}
