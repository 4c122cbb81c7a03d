import WardenModel

/// Why the store refused or failed a request. The service layer maps `code` to a wire status;
/// `message` is safe for clients (it names the field and the rule, never a file path or a
/// database's own message), `cause` is for the log.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure.
    public enum Code: String, Hashable, Sendable {
        /// A field breaks its rule, or the write names things that do not fit together.
        case invalidArgument = "INVALID_ARGUMENT"
        /// Something the write relies on is not registered.
        case notFound = "NOT_FOUND"
        /// The write would take something another entity holds (a username).
        case alreadyExists = "ALREADY_EXISTS"
        /// The requested revision is older than the oldest the changelog retains.
        case outOfRange = "OUT_OF_RANGE"
        /// A write made on condition (`ifAt`) found the state changed since; nothing was written.
        case aborted = "ABORTED"
        /// The database stayed locked by another process past the busy timeout.
        case unavailable = "UNAVAILABLE"
        /// The database's disk (or quota) is full: the write was not made; reads go on, and
        /// writes succeed again once space is freed.
        case resourceExhausted = "RESOURCE_EXHAUSTED"
        /// The database file is unusable (newer schema, corrupt, unreadable).
        case failedPrecondition = "FAILED_PRECONDITION"
        /// An unexpected failure of the database.
        case `internal` = "INTERNAL"
    }

    public let code: Code
    public let message: String
    /// The underlying cause, for logs only.
    public let cause: String?
    /// For `OUT_OF_RANGE`: the oldest revision the changelog still holds.
    public let oldestRetained: Revision?
    /// For a failed role-permission operation: the `ROLE_PERMISSION_OPERATION_FAILED` event that
    /// was committed before the error was thrown.
    public let event: ChangeEvent?

    public init(
        _ code: Code,
        _ message: String,
        cause: String? = nil,
        oldestRetained: Revision? = nil,
        event: ChangeEvent? = nil
    ) {
        self.code = code
        self.message = message
        self.cause = cause
        self.oldestRetained = oldestRetained
        self.event = event
    }

    public static func invalid(_ error: ValidationError) -> StoreError {
        StoreError(.invalidArgument, error.description)
    }

    /// The refusal of a conditional write whose revision moved on.
    static func moved(from expected: Revision, to current: Revision) -> StoreError {
        StoreError(
            .aborted,
            "the permission state changed (revision \(expected) became \(current)) before the write; retry"
        )
    }

    public var description: String { "\(code.rawValue): \(message)" + (cause.map { " (\($0))" } ?? "") }
}
