import WardenModel

/// What Warden needs from a durable store: the narrow interface a second backend (PostgreSQL,
/// where `LISTEN/NOTIFY` would carry the change signal) implements to run under the same
/// callers. `Tests/WardenStoreTests` is the conformance suite every backend must pass.
public protocol PermissionStore: AnyObject, Sendable {
    /// The latest committed revision, other processes' commits included.
    var revision: Revision { get throws(StoreError) }
    /// Commits one change with its event at the next revision (see `BackedStore.apply`).
    ///
    /// `ifAt` (on every write that takes it): commit only if the latest revision is still this
    /// one when the write's transaction reaches it (compare and set), else `ABORTED` and nothing
    /// is written. How a decision made on the state at a revision (an actor's escalation check)
    /// holds for the state the write commits on, whatever other hosts wrote meanwhile.
    func apply(_ change: Change, actor: String?, ifAt expected: Revision?) throws(StoreError) -> WriteOutcome
    /// Commits several changes in one transaction, each with its own revision and event.
    func apply(batch changes: [Change], actor: String?, ifAt expected: Revision?) throws(StoreError) -> [WriteOutcome]
    /// Grants in one transaction with one `BULK_GRANTED` event.
    func bulkGrant(_ grants: [Grant], actor: String?, ifAt expected: Revision?) throws(StoreError) -> BulkOutcome
    /// Revokes in one transaction with one `BULK_REVOKED` event.
    func bulkRevoke(_ grants: [Grant], actor: String?, ifAt expected: Revision?) throws(StoreError) -> BulkOutcome
    /// Removes object grants of a type on pks not in `livePKs`, with one `ORPHANS_PRUNED` event.
    func pruneOrphans(
        contentType: ContentTypeName,
        livePKs: some Sequence<String>,
        actor: String?
    ) throws(StoreError)
        -> BulkOutcome
    /// Records a `WRITE_REFUSED` event (a write its actor may not make) at the next revision.
    func recordRefusal(
        attempted: Change?,
        message: String,
        actor: String?,
        ifAt expected: Revision?
    ) throws(StoreError) -> ChangeEvent
    /// Everything, consistently, as one batch of changes.
    func snapshot() throws(StoreError) -> StoreSnapshot
    /// Everything, consistently, streamed in chunks (schema first, then grants); returns the
    /// snapshot's revision.
    func snapshot(chunkSize: Int, _ deliver: ([Change]) throws -> Void) throws(StoreError) -> Revision
    /// Events after a revision, oldest first; `OUT_OF_RANGE` past retention.
    func events(after revision: Revision, limit: Int) throws(StoreError) -> [ChangeEvent]
    /// The changes a summary event stands for.
    func replay(_ event: ChangeEvent) throws(StoreError) -> [Change]
    /// Applies the retention policy; returns how many events went.
    @discardableResult
    func pruneChangelog(_ policy: RetentionPolicy, now: Int64) throws(StoreError) -> Int
    /// Writes everything durable into the main file (a clean shutdown's last step).
    func checkpoint() throws(StoreError)
    /// Calls `wake` after commits of this process and of others sharing the database (see
    /// `CommitSignal`: "look", never the event itself). Register before following.
    func observeCommits(_ wake: @escaping @Sendable () -> Void)
}

extension PermissionStore {
    public func apply(_ change: Change, actor: String?) throws(StoreError) -> WriteOutcome {
        try apply(change, actor: actor, ifAt: nil)
    }
    public func apply(batch changes: [Change], actor: String?) throws(StoreError) -> [WriteOutcome] {
        try apply(batch: changes, actor: actor, ifAt: nil)
    }
    public func bulkGrant(_ grants: [Grant], actor: String?) throws(StoreError) -> BulkOutcome {
        try bulkGrant(grants, actor: actor, ifAt: nil)
    }
    public func bulkRevoke(_ grants: [Grant], actor: String?) throws(StoreError) -> BulkOutcome {
        try bulkRevoke(grants, actor: actor, ifAt: nil)
    }
    public func recordRefusal(attempted: Change?, message: String, actor: String?) throws(StoreError) -> ChangeEvent {
        try recordRefusal(attempted: attempted, message: message, actor: actor, ifAt: nil)
    }
    public func apply(_ change: Change) throws(StoreError) -> WriteOutcome { try apply(change, actor: nil) }
    public func apply(batch changes: [Change]) throws(StoreError) -> [WriteOutcome] {
        try apply(batch: changes, actor: nil)
    }
    public func bulkGrant(_ grants: [Grant]) throws(StoreError) -> BulkOutcome { try bulkGrant(grants, actor: nil) }
    public func bulkRevoke(_ grants: [Grant]) throws(StoreError) -> BulkOutcome { try bulkRevoke(grants, actor: nil) }
    public func pruneOrphans(
        contentType: ContentTypeName,
        livePKs: some Sequence<String>
    ) throws(StoreError) -> BulkOutcome {
        try pruneOrphans(contentType: contentType, livePKs: livePKs, actor: nil)
    }
    public func events(after revision: Revision) throws(StoreError) -> [ChangeEvent] {
        try events(after: revision, limit: 1000)
    }
    @discardableResult
    public func pruneChangelog(_ policy: RetentionPolicy) throws(StoreError) -> Int {
        try pruneChangelog(policy, now: StoreClock.now())
    }
}
