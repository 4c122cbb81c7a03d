import Foundation
import Testing
import WardenModel
import WardenService
import WardenStore
import WardenSync

/// Waiters for a revision, completed by the code that advances the index (`IndexReplica`'s
/// writes, its follower, reloads), with two replicas on one database file as two hosts.
@Suite("Replica: waiters for a revision", .serialized)
struct RevisionWaitersTests {
    @Test("waiters complete in revision order, only once reached; a cancelled one never runs")
    func waiterList() {
        let waiters = RevisionWaiters(reached: Revision(10))
        let completed = Locked<[Int]>([])
        #expect(
            waiters.whenReached(Revision(9)) { _ in completed.withLock { $0.append(9) } } == nil,
            "reached: runs at once"
        )
        var tickets: [Int: RevisionWaiters.Ticket] = [:]
        for revision in [14, 12, 13, 12, 20] {
            tickets[revision] = waiters.whenReached(Revision(UInt64(revision))) { at in
                #expect(at >= Revision(UInt64(revision)))
                completed.withLock { $0.append(revision) }
            }
        }
        #expect(waiters.count == 5)
        #expect(waiters.cancel(tickets[13]!))
        waiters.advance(to: Revision(11))
        #expect(completed.withLock { $0 } == [9])
        waiters.advance(to: Revision(14))
        waiters.advance(to: Revision(12))  // late and lower: nothing
        #expect(completed.withLock { $0 } == [9, 12, 12, 14])
        #expect(!waiters.cancel(tickets[14]!), "already completed")
        #expect(waiters.count == 1)
        waiters.advance(to: Revision(25))
        #expect(completed.withLock { $0 } == [9, 12, 12, 14, 20])
        #expect(waiters.count == 0)
    }

    @Test("a waiter for revision R on host B is completed when host A commits R")
    func completedByAnotherHost() throws {
        let database = TemporaryDatabase()
        let hostA = try IndexReplica(store: database.open())
        let hostB = try IndexReplica(store: database.open())
        hostB.startFollowing()
        defer { hostB.stop() }
        for change in Fixture.basics { _ = try hostA.apply(change) }
        for round in 0..<20 {
            let target = try hostA.store.revision.next
            let done = DispatchSemaphore(value: 0)
            let reached = Locked<Revision?>(nil)
            let ticket = hostB.whenReached(target) { at in
                reached.withLock { $0 = at }
                done.signal()
            }
            #expect(ticket != nil, "not committed yet: the waiter waits")
            let outcome = try hostA.apply(.grant(Fixture.grant(.user("2"), Fixture.car, "drive_car", "c\(round)")))
            #expect(outcome.revision == target)
            #expect(done.wait(timeout: .now() + 60) == .success)
            #expect(reached.withLock { $0 }! >= target)
            #expect(hostB.index.revision >= target)
        }
        #expect(hostB.waitCount == 0)
    }

    @Test("a waiter for a revision already committed elsewhere nudges a catch-up, even without a follower")
    func nudge() throws {
        let database = TemporaryDatabase()
        let hostA = try IndexReplica(store: database.open())
        let hostB = try IndexReplica(store: database.open())  // not following
        let outcome = try hostA.apply(.putGroup(name: "late"))
        let done = DispatchSemaphore(value: 0)
        _ = hostB.whenReached(outcome.revision) { _ in done.signal() }
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(hostB.index.revision == outcome.revision)
    }

    @Test("waitFor: blocks on a waiter; UNAVAILABLE at its timeout, and the waiter is gone")
    func waitFor() throws {
        let database = TemporaryDatabase()
        let hostA = try IndexReplica(store: database.open())
        let hostB = try IndexReplica(store: database.open())
        hostB.startFollowing()
        defer { hostB.stop() }
        let outcome = try hostA.apply(.putGroup(name: "late"))
        #expect(try hostB.waitFor(outcome.revision, timeout: .seconds(60)) >= outcome.revision)
        let far = outcome.revision.next.next
        #expect {
            _ = try hostB.waitFor(far, timeout: .milliseconds(50))
        } throws: { error in
            (error as? StoreError)?.code == .unavailable
                && (error as? StoreError)?.message
                    == "min_revision \(far) is not reached (this process is at \(outcome.revision)); retry later"
        }
        #expect(hostB.waitCount == 0)
        // A waiter pending while its revision commits elsewhere: the blocked thread wakes.
        let waiting = Thread {
            _ = try? hostA.apply(.putGroup(name: "a"))
            _ = try? hostA.apply(.putGroup(name: "b"))
        }
        waiting.start()
        #expect(try hostB.waitFor(far, timeout: .seconds(60)) >= far)
    }
}
