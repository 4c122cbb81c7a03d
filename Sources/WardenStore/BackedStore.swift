import Foundation
import WardenModel

/// Warden's source of truth on a database backend: every rule of the store, with the backend
/// running the statements (`StoreBackend`). Every committed write gets the next revision and
/// exactly one changelog row; bulk writes get one summary row. Revisions are assigned inside
/// write transactions that hold the backend's revision lock, so they are committed in order
/// and a follower reading "every event after R" never misses one that committed late.
///
/// Thread safety: the backend serializes its own connections; `commits` is its own monitor;
/// the other properties are immutable.
public final class BackedStore<Backend: StoreBackend>: PermissionStore, @unchecked Sendable {
    public let backend: Backend
    /// Group commit of single writes.
    let commits = CommitQueue()
    /// Change notification (`observeCommits`).
    let signal = CommitSignal()
    private let signalling = NSLock()
    // Guarded by `signalling`.
    private var signalStarted = false

    public init(backend: Backend) {
        self.backend = backend
    }

    /// The latest committed revision, other processes' and hosts' commits included.
    public var revision: Revision {
        get throws(StoreError) { try backend.read { reader in try reader.latestRevision() } }
    }

    /// Calls `wake` after commits of this process and of others sharing the database.
    public func observeCommits(_ wake: @escaping @Sendable () -> Void) {
        signal.observe(wake)
        signalling.lock()
        defer { signalling.unlock() }
        guard !signalStarted else { return }
        signalStarted = true
        backend.startSignalling(signal)
    }

    /// Makes everything committed durable in the database's main storage.
    public func checkpoint() throws(StoreError) { try backend.checkpoint() }

    /// Runs `body` in a write transaction, mapping errors it throws.
    func writing<T>(_ body: (Backend.Writer) throws -> T) throws(StoreError) -> T {
        try backend.write(body)
    }
}

/// The changelog's clock.
public enum StoreClock {
    /// Milliseconds since the Unix epoch.
    public static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
