import WardenModel

/// Builds a whole index state from a trusted stream of change chunks (a store's snapshot), then
/// swaps it into a `PermissionIndex` at once: `replaceAll` for a state that arrives in pieces,
/// so reading the snapshot and building the index can run on two threads.
///
/// Chunks are applied without validation, as `replaceAll(trusted: true)` does, and the arrays
/// they grow are sorted once, in `finish`.
public final class IndexLoader {
    private var state = IndexState()
    private var pending: PendingSorts?

    public convenience init() { self.init(subjectBatch: PendingSorts.defaultSubjectBatch) }

    /// A loader whose grants go on their subjects' lists `subjectBatch` at a time (tests use a
    /// small one, so a batch crosses many flushes).
    init(subjectBatch: Int) { pending = PendingSorts(subjectBatch: subjectBatch) }

    /// Applies a chunk of changes to the state being built.
    public func add(_ changes: [Change]) {
        state.load(changes, pending: &pending)
    }

    /// Finishes the state and swaps it into `index` at `revision`. The loader is spent.
    public func finish(into index: PermissionIndex, at revision: Revision) {
        state.finish(&pending!)
        state.revision = revision
        index.swapState(&state)
    }
}
