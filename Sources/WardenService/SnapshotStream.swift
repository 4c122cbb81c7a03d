import Foundation
import WardenModel
import WardenStore

/// Chunks of a snapshot passed from the reading thread to the building one: a bounded queue,
/// so a fast reader cannot hold the whole snapshot in memory twice.
///
/// Chunks go back too (`recycle`): the reading thread releases the changes it made, so the
/// building thread, the one a cold load waits for, spends no time freeing them, and the reader
/// frees memory it allocated itself (its allocator's fast path).
///
/// Thread safety: `condition`'s lock guards every property but `capacity`.
final class SnapshotStream: @unchecked Sendable {
    private let condition = NSCondition()
    private let capacity: Int
    private var chunks: [[Change]] = []
    /// Chunks the builder is done with, for the reader to release.
    private var spent: [[Change]] = []
    private var done = false
    private var revision: Revision?
    private var error: StoreError?

    init(capacity: Int) { self.capacity = capacity }

    /// Adds a chunk, waiting while the queue is full; then releases the spent chunks, on the
    /// calling (reading) thread, outside the lock.
    func put(_ chunk: [Change]) {
        var released: [[Change]] = []
        condition.lock()
        while chunks.count >= capacity { condition.wait() }
        chunks.append(chunk)
        swap(&released, &spent)
        condition.broadcast()
        condition.unlock()
        released.removeAll()
    }

    /// Hands a chunk the builder has applied back to the reader, to release; `chunk` is left
    /// empty, so the builder holds no reference to it.
    func recycle(_ chunk: inout [Change]) {
        condition.lock()
        spent.append(chunk)
        chunk = []
        condition.unlock()
    }

    /// Releases the chunks still waiting for the reader (the last ones: it has finished), on the
    /// calling thread, so the memory is free before the load gives pages back.
    func releaseSpent() {
        condition.lock()
        var released: [[Change]] = []
        swap(&released, &spent)
        condition.unlock()
        released.removeAll()
    }

    /// The reader is done: with the snapshot's revision, or an error.
    func finish(revision: Revision?, error: StoreError?) {
        condition.lock()
        self.revision = revision
        self.error = error
        done = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk, or `nil` once the reader is done and every chunk is taken.
    func take() -> [Change]? {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !done { condition.wait() }
        guard !chunks.isEmpty else { return nil }
        let chunk = chunks.removeFirst()
        condition.broadcast()
        return chunk
    }

    /// The reader's result, once `take` has returned `nil`.
    var outcome: (Revision?, StoreError?) {
        condition.lock()
        defer { condition.unlock() }
        return (revision, error)
    }
}
