import Foundation
import Synchronization
import Testing
import WardenModel
import WardenSync

@testable import WardenSQLiteStore
@testable import WardenStore

/// Group commit: concurrent single writes share transactions, and a caller learns its write's
/// outcome only once its transaction's `COMMIT` has returned.
@Suite("Group commit")
struct GroupCommitTests {
    @Test("a writer told success finds its write after reopening, though COMMITs fail while writers queue")
    func noSuccessBeforeCommit() throws {
        // Five rounds: one round caught the old race (a result published before COMMIT) two
        // times in three; the assertions hold in every round.
        for _ in 0..<5 { try failingCommitsRound() }
    }

    /// 16 threads × 40 single writes while every third COMMIT fails (held 2 ms in the hook).
    private func failingCommitsRound() throws {
        let database = TemporaryDatabase()
        let threads = 16
        let writes = 40
        let told = Locked<[String: Bool]>([:])  // group name → told success
        do {
            let store = try database.open()
            let hook = CommitHook(on: store, failEvery: 3, holdMicroseconds: 2000)
            onThreads(threads) { thread in
                for write in 0..<writes {
                    let name = "g-\(thread)-\(write)"
                    let succeeded: Bool
                    do {
                        succeeded = try store.apply(.putGroup(name: name)).changed
                    } catch {
                        succeeded = false
                    }
                    told.withLock { $0[name] = succeeded }
                }
            }
            hook.remove()
            print(
                "group commit under failing COMMITs: \(hook.commits.load(ordering: .relaxed)) transactions, "
                    + "\(hook.failed.load(ordering: .relaxed)) failed, for \(threads * writes) writes"
            )
            #expect(hook.failed.load(ordering: .relaxed) > 0)
        }
        let reopened = try database.open()
        var present: Set<String> = []
        for change in try reopened.snapshot().changes {
            if case .putGroup(let name) = change { present.insert(name) }
        }
        let outcomes = told.withLock { $0 }
        let acknowledgedButMissing = outcomes.filter { $0.value && !present.contains($0.key) }.keys.sorted()
        let refusedButPresent = outcomes.filter { !$0.value && present.contains($0.key) }.keys.sorted()
        #expect(
            acknowledgedButMissing.isEmpty,
            "told success, not in the database: \(acknowledgedButMissing.prefix(10))"
        )
        #expect(refusedButPresent.isEmpty, "told failure, in the database: \(refusedButPresent.prefix(10))")
        #expect(outcomes.values.contains(true) && outcomes.values.contains(false))
        // The events agree with the rows: one per group present, at consecutive revisions.
        let events = try reopened.events(after: .zero, limit: 10_000)
        #expect(events.count == present.count)
        #expect(events.map(\.revision.rawValue) == (0..<events.count).map { UInt64($0 + 1) })
    }

    @Test("writers that queue behind a commit share the next transaction")
    func writersShareTransactions() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        let hook = CommitHook(on: store)
        defer { hook.remove() }
        let writers = 8
        let finished = Atomic<Int>(0)
        // Hold the write connection: the first writer leads and waits for it with its own write;
        // the others queue behind it and are committed together, in one transaction.
        let queued = store.backend.lock.withLock { _ in
            for writer in 0..<writers {
                Thread {
                    _ = try? store.apply(.putGroup(name: "w\(writer)"))
                    finished.add(1, ordering: .relaxed)
                }.start()
            }
            return poll { store.commits.waiting == writers - 1 }
        }
        #expect(queued)
        #expect(poll { finished.load(ordering: .relaxed) == writers })
        #expect(hook.commits.load(ordering: .relaxed) == 2)
        #expect(try store.revision == Revision(UInt64(writers)))
    }

    @Test("a leader returns once its own transaction committed, not after the writers that queued meanwhile")
    func leaderHandsOver() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        // The second transaction (the writers queued behind the first leader) waits in COMMIT
        // until the test lets it go.
        let hook = CommitHook(on: store, gatedCommit: 2)
        defer { hook.remove() }
        let done = Atomic<Int>(0)
        let queued = store.backend.lock.withLock { _ in
            // Two writers: one leads (its batch taken, waiting for the connection), the other
            // queues behind it.
            for name in ["one", "two"] {
                Thread {
                    _ = try? store.apply(.putGroup(name: name))
                    done.add(1, ordering: .relaxed)
                }.start()
            }
            return poll { store.commits.waiting == 1 }
        }
        #expect(queued)
        // The first transaction commits; its leader returns while the second, led by the other
        // writer, is held in COMMIT. (A leader that kept leading would be held there too.)
        #expect(poll { done.load(ordering: .relaxed) == 1 }, "the first leader waited for the second transaction")
        #expect(done.load(ordering: .relaxed) == 1)
        hook.gate.signal()
        #expect(poll { done.load(ordering: .relaxed) == 2 })
        #expect(hook.commits.load(ordering: .relaxed) == 2)
        #expect(try store.revision == Revision(2))
    }
}
