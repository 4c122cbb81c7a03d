import WardenSync

/// Whether the process should be sent traffic: what `GET /readyz` answers. The daemon moves it
/// from ``State-swift.enum/loading`` to ``State-swift.enum/ready`` once the index is loaded,
/// caught up with the database and the socket serves (the moment the Health RPC starts to answer
/// SERVING), and to ``State-swift.enum/stopping`` when a graceful shutdown begins.
public final class Readiness: Sendable {
    /// The stages of a server's life that readiness tells apart.
    public enum State: Sendable, Equatable {
        /// The database is being opened and the index loaded; the socket does not serve yet.
        case loading
        /// The socket serves from a loaded index.
        case ready
        /// A graceful shutdown has begun: the socket no longer accepts connections.
        case stopping
    }

    private let current = Locked(State.loading)

    /// A readiness in ``State-swift.enum/loading``.
    public init() {}

    /// The state now.
    public var state: State { current.withLock { $0 } }

    /// Moves to `state`.
    public func set(_ state: State) { current.withLock { $0 = state } }

    /// Why the process is not ready, for the body of a 503; `nil` when it is.
    public var reason: String? {
        switch state {
        case .loading: "loading the index"
        case .ready: nil
        case .stopping: "shutting down"
        }
    }
}
