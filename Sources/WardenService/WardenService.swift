import Logging
import WardenIndex
import WardenModel
import WardenStore

/// Warden's use cases between the transport and the index and store: validate, authorize the
/// caller, run, publish events. Every method is synchronous; the ones that may block (writes,
/// waits for `min_revision`, watch history) say so, and the transport runs them off its I/O
/// threads.
public final class WardenService: Sendable {
    /// Limits and defaults the service enforces.
    public struct Settings: Sendable {
        /// Items in one BatchCheck, at most.
        public var maxBatchItems = 10_000
        /// How long a read waits for `min_revision` when its request has no deadline.
        public var defaultWait: Duration = .seconds(5)
        /// The share of checks audited to watchers that ask for audits without a rate, and the
        /// most any watcher gets (a watcher may ask for fewer), in (0, 1].
        public var auditSampleRate = 1.0

        public init() {}
    }

    public let replica: IndexReplica
    public let hub: EventHub
    public let policy: AccessPolicy
    public let settings: Settings
    let logger: Logger

    public var index: PermissionIndex { replica.index }

    public init(
        replica: IndexReplica,
        policy: AccessPolicy,
        settings: Settings = Settings(),
        hub: EventHub = EventHub(),
        logger: Logger
    ) {
        self.replica = replica
        self.policy = policy
        self.settings = settings
        self.hub = hub
        self.logger = logger
        replica.onApplied = { [hub] events in hub.publish(events) }
        replica.onReloaded = { [hub] revision in hub.reloaded(at: revision) }
    }

    // MARK: Callers

    /// The role a connected process has.
    public func role(of caller: Caller) -> Role { policy.role(of: caller) }

    /// Refuses a caller below `needed`, before any work.
    @inline(__always)
    public func authorize(_ role: Role, _ needed: Role, method: @autoclosure () -> String) throws(ServiceError) {
        guard role >= needed else {
            throw ServiceError(
                .permissionDenied,
                role == .none
                    ? "this process's uid and gid are not allowed to use Warden (see the reader and admin allow lists)"
                    : "\(method()) is a write: it needs an admin uid or gid; this process is a reader"
            )
        }
    }

    // MARK: Freshness

    /// Whether the index has reached `revision` (0 always has).
    @inline(__always)
    public func hasReached(_ revision: Revision) -> Bool { revision == .zero || index.revision >= revision }

    /// Blocks until the index reaches `revision` or `deadline` passes (`settings.defaultWait`
    /// without one): `UNAVAILABLE`, never an answer from an older state. The thread sleeps on
    /// a waiter (`whenReached`); nothing polls. For callers that may block (the CLI, tests); the
    /// server waits with `whenReached` and holds no thread.
    public func wait(for revision: Revision, until deadline: ContinuousClock.Instant?) throws(ServiceError) {
        guard !hasReached(revision) else { return }
        do { _ = try replica.waitFor(revision, timeout: waitTime(until: deadline)) } catch { throw ServiceError(error) }
    }

    /// How long a wait for `min_revision` may last: until `deadline`, or `settings.defaultWait`.
    public func waitTime(until deadline: ContinuousClock.Instant?) -> Duration {
        deadline.map { max(.zero, $0 - .now) } ?? settings.defaultWait
    }

    /// Calls `callback` (which must not block) once the index reaches `revision`: at once when
    /// it has (returns `nil`), else from the code that advances the index. See
    /// `IndexReplica.whenReached`; `cancelWait` takes the ticket back.
    public func whenReached(
        _ revision: Revision,
        _ callback: @escaping @Sendable (Revision) -> Void
    ) -> RevisionWaiters.Ticket? {
        replica.whenReached(revision, callback)
    }

    /// Takes a wait back: `true` if its callback will never run.
    public func cancelWait(_ ticket: RevisionWaiters.Ticket) -> Bool { replica.cancelWait(ticket) }

    /// The answer to a read whose `min_revision` was not reached in time: `UNAVAILABLE`.
    public func notReached(_ revision: Revision) -> ServiceError {
        ServiceError(IndexReplica.notReached(revision, at: index.revision))
    }

    // MARK: Health

    /// What the index holds.
    public var statistics: IndexStatistics { index.statistics }
}
