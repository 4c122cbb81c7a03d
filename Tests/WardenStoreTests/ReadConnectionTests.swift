import Foundation
import Synchronization
import Testing
import WardenModel
import WardenSync

@testable import WardenSQLiteStore
@testable import WardenStore

/// The store's pure reads run on a read-only connection of their own: a long read (a watcher's
/// history, a snapshot) never holds what a write needs.
@Suite("Read connection")
struct ReadConnectionTests {
    @Test("a write commits while a snapshot is held mid-scan, and the snapshot does not see it")
    func writeDuringSnapshot() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        _ = try store.apply(batch: Fixture.basics)
        let inScan = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let snapshot = Locked<(Revision, Int)?>(nil)
        let reader = Thread {
            var chunks = 0
            let revision = try? store.snapshot(chunkSize: 1) { _ in
                chunks += 1
                if chunks == 1 {
                    inScan.signal()
                    release.wait()
                }
            }
            snapshot.withLock { $0 = revision.map { ($0, chunks) } }
        }
        reader.start()
        inScan.wait()
        // The reader is inside its read transaction, holding the read connection.
        let written = Atomic<Bool>(false)
        Thread {
            if (try? store.apply(.putGroup(name: "written meanwhile")).changed) == true {
                written.store(true, ordering: .relaxed)
            }
        }.start()
        let committed = poll { written.load(ordering: .relaxed) }
        release.signal()
        #expect(committed, "the write did not commit while the read was held")
        #expect(poll { snapshot.withLock { $0 != nil } })
        let before = Revision(UInt64(Fixture.basics.count))
        #expect(snapshot.withLock { $0?.0 } == before)
        #expect(try store.revision == before.next)
        #expect(try store.events(after: before).map(\.kind) == [.groupPut])
    }

    @Test("a write commits while the read lock is held, and the next read sees it")
    func writeWhileReadLockHeld() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        let outcome = try store.backend.readLock.withLock { _ in try store.apply(.putGroup(name: "g")) }
        #expect(outcome.changed)
        #expect(try store.events(after: .zero).map(\.revision) == [outcome.revision])
    }
}
