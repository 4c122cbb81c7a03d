import Logging
import WardenModel
import WardenProto
import WardenService
import WardenWire

/// The one place where errors become wire statuses. Clients get the code and a message that
/// names their field; internal causes (SQLite messages, file paths) go to the log only.
enum StatusMapping {
    static func code(_ code: ServiceError.Code) -> StatusCode {
        switch code {
        case .cancelled: .cancelled
        case .invalidArgument: .invalidArgument
        case .deadlineExceeded: .deadlineExceeded
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .permissionDenied: .permissionDenied
        case .resourceExhausted: .resourceExhausted
        case .failedPrecondition: .failedPrecondition
        case .outOfRange: .outOfRange
        case .unimplemented: .unimplemented
        case .internal: .internal
        case .unavailable: .unavailable
        }
    }

    /// The status and its body for any error a request ended with.
    static func status(for error: any Error, method: String, logger: Logger) -> (StatusCode, Warden_V1_Status) {
        let serviceError: ServiceError =
            switch error {
            case let error as ServiceError: error
            case let error as FrameError: ServiceError(.invalidArgument, error.description)
            default: ServiceError(.internal, "internal error", cause: "\(error)")
            }
        let code = code(serviceError.code)
        if let cause = serviceError.cause {
            logger.error("request failed", metadata: ["method": "\(method)", "status": "\(code)", "cause": "\(cause)"])
        }
        var body = Warden_V1_Status()
        body.code = UInt32(code.rawValue)
        body.message = code == .internal ? "internal error (see the server's log)" : serviceError.message
        if let oldest = serviceError.oldestRetained { body.oldestRetainedRevision = oldest.rawValue }
        return (code, body)
    }
}
