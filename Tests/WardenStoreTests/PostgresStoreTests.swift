import Foundation
import Testing
import WardenModel
import WardenStore
import WardenSync

@testable import WardenPostgresStore

/// What only the PostgreSQL backend has: a schema that many sidecars create at once, revisions
/// in commit order across several stores (hosts) on one database, a server that goes away, and
/// the LISTEN connection. Runs when `WARDEN_TEST_POSTGRES` names a server (`PostgresTestServer`).
@Suite("PostgreSQL backend", .enabled(if: PostgresTestServer.isEnabled))
struct PostgresStoreTests {
    @Test("ten sidecars opening one fresh database at once all succeed, with one schema")
    func concurrentSchemaCreation() throws {
        let database = TemporaryDatabase()
        let uri = try database.postgresURI()
        let opened = Locked<[Result<Int, StoreError>]>([])
        DispatchQueue.concurrentPerform(iterations: 10) { _ in
            let result = Result { () throws(StoreError) in try PostgresStore(uri: uri).schemaVersion }
            opened.withLock { $0.append(result) }
        }
        let results = opened.withLock { $0 }
        #expect(results.count == 10)
        for result in results { #expect(try result.get() == PostgresSchema.current) }
        #expect(
            try PostgresTestServer.execute(uri, "SELECT version FROM warden_schema") == [["\(PostgresSchema.current)"]]
        )
        #expect(try PostgresTestServer.execute(uri, "SELECT revision FROM warden_revision") == [["0"]])
        // Exactly one of them created it.
        #expect(try PostgresStore(uri: uri).backend.previousSchemaVersion == PostgresSchema.current)
    }

    @Test("a database with a newer schema version is refused, naming both versions, and left as it was")
    func newerSchemaRefused() throws {
        let database = TemporaryDatabase()
        let uri = try database.postgresURI()
        _ = try PostgresStore(uri: uri).apply(.putGroup(name: "g"))
        try PostgresTestServer.execute(uri, "UPDATE warden_schema SET version = 99")
        do {
            _ = try PostgresStore(uri: uri)
            Issue.record("opened a newer schema")
        } catch {
            #expect(error.code == .failedPrecondition)
            #expect(
                error.message
                    == "the database has schema version 99, newer than this Warden's \(PostgresSchema.current); run a newer Warden or restore a backup"
            )
        }
        #expect(try PostgresTestServer.execute(uri, "SELECT version FROM warden_schema") == [["99"]])
    }

    @Test(
        "4 stores × 4 threads × 50 writes on one database: revisions 1...N without gaps, a follower sees them in order"
    )
    func revisionsAcrossHosts() throws {
        let database = TemporaryDatabase()
        let stores = try (0..<4).map { _ in try database.openPostgres() }
        let acknowledged = Locked<[UInt64: String]>([:])  // revision → group written
        let finished = Locked(false)
        let total = 4 * 4 * 50
        // A follower reads "everything after the last revision it saw" while the writers commit:
        // with a revision committed out of order it would see a gap.
        let follower = try database.openPostgres()
        let followed = Locked<(seen: UInt64, gaps: [String], failure: StoreError?)>((0, [], nil))
        let following = Thread {
            while followed.withLock({ $0.seen }) < UInt64(total) {
                let seen = followed.withLock { $0.seen }
                // Read before the events: once the writers finished, an empty read means done.
                let writersDone = finished.withLock { $0 }
                let events: [ChangeEvent]
                do throws(StoreError) {
                    events = try follower.events(after: Revision(seen), limit: 1000)
                } catch {
                    followed.withLock { $0.failure = error }
                    continue
                }
                followed.withLock { state in
                    for event in events {
                        if event.revision.rawValue != state.seen + 1 {
                            state.gaps.append("after \(state.seen): \(event.revision)")
                        }
                        state.seen = max(state.seen, event.revision.rawValue)
                    }
                }
                if writersDone && events.isEmpty { break }
            }
        }
        following.start()
        DispatchQueue.concurrentPerform(iterations: 16) { thread in
            let store = stores[thread % 4]
            for write in 0..<50 {
                let name = "g-\(thread)-\(write)"
                if let outcome = try? store.apply(.putGroup(name: name)) {
                    acknowledged.withLock { $0[outcome.revision.rawValue] = name }
                }
            }
        }
        finished.withLock { $0 = true }
        let written = acknowledged.withLock { $0 }
        #expect(written.count == total)
        #expect(written.keys.sorted() == Array(1...UInt64(total)))
        let events = try stores[0].events(after: .zero, limit: 10_000)
        #expect(events.map(\.revision.rawValue) == Array(1...UInt64(total)))
        for event in events {
            guard case .putGroup(let name)? = event.change else {
                Issue.record("unexpected event \(event)")
                continue
            }
            #expect(written[event.revision.rawValue] == name)
        }
        #expect(
            poll { followed.withLock { $0.seen } == UInt64(total) },
            "last read failure: \(String(describing: followed.withLock { $0.failure }))"
        )
        #expect(
            followed.withLock { $0.gaps }.isEmpty,
            "the follower saw gaps: \(followed.withLock { $0.gaps.prefix(5) })"
        )
    }

    @Test("a server that is not there: UNAVAILABLE with a clear message, and no password in it")
    func unreachable() throws {
        let empty = TemporaryDatabase()  // a folder with no server socket in it
        let uri = "postgresql://warden:s3cret-pw@/warden?host=\(empty.folder.path)&password=other-s3cret"
        do {
            _ = try PostgresStore(uri: uri)
            Issue.record("opened a database with no server")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("unreachable"), "\(error)")
            #expect(!error.description.contains("s3cret"), "\(error)")
            #expect(error.cause?.contains(empty.folder.path) == true, "\(error)")
        }
    }

    @Test("the store's connections terminated by the server: the next writes succeed again (reconnect)")
    func reconnects() throws {
        let database = TemporaryDatabase()
        let uri = try database.postgresURI()
        let store = try database.openPostgres()
        _ = try store.apply(.putGroup(name: "before"))
        let ended = try PostgresTestServer.execute(
            uri,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        #expect(ended.count == 2)  // the write and the read connection
        // The first write may fail UNAVAILABLE (the broken connection is noticed by it); a retry
        // reconnects and succeeds.
        var failures: [StoreError] = []
        var outcome: WriteOutcome?
        for attempt in 0..<3 where outcome == nil {
            do {
                outcome = try store.apply(.putGroup(name: "after"))
            } catch {
                #expect(error.code == .unavailable, "attempt \(attempt): \(error)")
                failures.append(error)
            }
        }
        #expect(outcome?.revision == Revision(2), "failures: \(failures)")
        #expect(try store.revision == Revision(2))
        print("writes failed after pg_terminate_backend before one succeeded: \(failures.count)")
    }

    @Test(
        "a database that refuses connections: writes and reads fail UNAVAILABLE, then succeed once it accepts them again"
    )
    func refusedThenBack() throws {
        let database = TemporaryDatabase()
        let uri = try database.postgresURI()
        let name = try #require(PostgresTestServer.execute(uri, "SELECT current_database()").first?.first ?? nil)
        let store = try database.openPostgres()
        _ = try store.apply(.putGroup(name: "before"))
        // What a restarting server looks like to the store: its sessions end, new ones are refused.
        try PostgresTestServer.admin(
            "ALTER DATABASE \(name) ALLOW_CONNECTIONS false",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(name)'"
        )
        for _ in 0..<3 {
            #expect {
                _ = try store.apply(.putGroup(name: "while refused"))
            } throws: { error in
                let error = error as! StoreError
                return error.code == .unavailable
                    && error.message.hasPrefix("the database is unreachable or refused the connection")
                    && error.message.contains("nothing was written")
            }
            #expect(throws: StoreError.self) { try store.revision }
        }
        try PostgresTestServer.admin("ALTER DATABASE \(name) ALLOW_CONNECTIONS true")
        #expect(try store.apply(.putGroup(name: "after")).revision == Revision(2))
        #expect(try store.events(after: .zero).map(\.revision) == [Revision(1), Revision(2)])
    }

    @Test("a listener on one store is woken by another store's commit, and again after its connection is terminated")
    func listenerWakes() throws {
        let database = TemporaryDatabase()
        let uri = try database.postgresURI()
        let writer = try database.openPostgres()
        let listener = try database.openPostgres()
        let wakes = WakeCount()
        listener.observeCommits { wakes.add(1) }
        let listening = "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        #expect(poll { (try? PostgresTestServer.execute(uri, listening).count) == 1 })
        // It fires once when its LISTEN is in place, with no commit at all: a commit made while
        // the connection was being opened was not heard (and a follower that caught up just
        // before would wait for the next commit). Then only a notification wakes it.
        #expect(poll { wakes.value > 0 })
        wakes.reset()
        _ = try writer.apply(.putGroup(name: "heard"))
        #expect(poll { wakes.value > 0 })

        // It reconnects and fires once (commits may have been missed meanwhile), then hears again.
        let terminated = try #require(
            PostgresTestServer.execute(uri, listening.replacingOccurrences(of: "SELECT 1", with: "SELECT pid")).first?
                .first ?? nil
        )
        wakes.reset()
        #expect(try PostgresTestServer.execute(uri, "SELECT pg_terminate_backend(\(terminated))") == [["t"]])
        #expect(poll { wakes.value > 0 })
        #expect(poll { (try? PostgresTestServer.execute(uri, listening + " AND pid <> \(terminated)").count) == 1 })
        wakes.reset()
        _ = try writer.apply(.putGroup(name: "heard again"))
        #expect(poll { wakes.value > 0 })
    }
}

/// How often a callback ran.
final class WakeCount: Sendable {
    private let count = Locked(0)
    func add(_ n: Int) { count.withLock { $0 += n } }
    func reset() { count.withLock { $0 = 0 } }
    var value: Int { count.withLock { $0 } }
}
