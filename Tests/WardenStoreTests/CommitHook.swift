import CSQLite
import Foundation
import Synchronization

@testable import WardenSQLiteStore
@testable import WardenStore

/// A commit hook on a store's write connection (SQLite's `sqlite3_commit_hook`): it counts the
/// transactions that reach `COMMIT` and can make some of them fail for real (SQLite then rolls
/// the transaction back and `COMMIT` returns `SQLITE_CONSTRAINT_COMMITHOOK`).
final class CommitHook: Sendable {
    /// Commits that reached the hook.
    let commits = Atomic<Int>(0)
    /// Commits the hook failed.
    let failed = Atomic<Int>(0)
    /// Fail every `failEvery`-th commit (0: none).
    let failEvery: Int
    /// How long each commit is held in the hook, in microseconds: the window between a write's
    /// SQL and its `COMMIT`'s outcome, widened.
    let holdMicroseconds: UInt32
    /// The commit (1-based) that waits for `gate` before it completes; 0: none.
    let gatedCommit: Int
    let gate = DispatchSemaphore(value: 0)
    private let store: SQLiteStore

    init(on store: SQLiteStore, failEvery: Int = 0, holdMicroseconds: UInt32 = 0, gatedCommit: Int = 0) {
        self.store = store
        self.failEvery = failEvery
        self.holdMicroseconds = holdMicroseconds
        self.gatedCommit = gatedCommit
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_commit_hook(
            store.backend.connection.handle,
            { context in
                let hook = Unmanaged<CommitHook>.fromOpaque(context!).takeUnretainedValue()
                return hook.commit()
            },
            context
        )
    }

    private func commit() -> Int32 {
        let count = commits.add(1, ordering: .relaxed).newValue
        if holdMicroseconds > 0 { usleep(holdMicroseconds) }
        if count == gatedCommit { gate.wait() }
        guard failEvery > 0, count % failEvery == 0 else { return 0 }
        failed.add(1, ordering: .relaxed)
        return 1
    }

    /// Removes the hook (before the hook is released).
    func remove() { sqlite3_commit_hook(store.backend.connection.handle, nil, nil) }
}

/// Runs `body` on `count` new threads at once and waits for them all.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}

/// Polls `condition` every millisecond for up to `seconds`; whether it became true.
func poll(seconds: Double = 60, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(1000)
    }
    return condition()
}
