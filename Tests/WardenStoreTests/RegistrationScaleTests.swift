import CSQLite
import Foundation
import Testing
import WardenIndex
import WardenModel
import WardenSQLiteStore
import WardenService
import WardenStore

/// RegisterContentType: linear in codenames, and capped at `Limits.maxCodenamesPerContentType`.
@Suite("Content type registration: scale and cap")
struct RegistrationScaleTests {
    static let type = try! ContentTypeName("big.model")

    static func codenames(_ count: Int, prefix: String = "perm") -> [String] { (0..<count).map { "\(prefix)_\($0)" } }

    @Test(
        "a type of exactly the cap registers; one codename more is refused naming the field and the limit",
        arguments: BackendUnderTest.all
    )
    func capBoundary(_ backend: BackendUnderTest) throws {
        let cap = Limits.maxCodenamesPerContentType
        #expect(try ContentType(name: Self.type, defaults: false, custom: Self.codenames(cap)).codenames.count == cap)
        for (defaults, count) in [(false, cap + 1), (true, cap - 3)] {
            #expect {
                _ = try ContentType(name: Self.type, defaults: defaults, custom: Self.codenames(count))
            } throws: { error in
                let error = error as! ValidationError
                return error.field == "custom" && error.description.contains("at most \(cap) codenames")
            }
        }
        // Repeats count once.
        #expect(
            try ContentType(name: Self.type, defaults: false, custom: Self.codenames(cap) + Self.codenames(cap))
                .codenames.count == cap
        )

        // Registration is additive: the cap counts what the type already holds.
        let database = TemporaryDatabase()
        let replica = try IndexReplica(store: backend.open(database))
        _ = try replica.apply(.register(ContentType(name: Self.type, defaults: false, custom: Self.codenames(cap))))
        let revision = try replica.store.revision
        #expect {
            _ = try replica.apply(.register(ContentType(name: Self.type, defaults: false, custom: ["one_more"])))
        } throws: { error in
            let error = error as! StoreError
            return error.code == .invalidArgument && error.message.contains("custom")
                && error.message.contains("\(cap + 1)")
        }
        #expect(try replica.store.revision == revision)
        #expect(
            try replica.apply(.register(ContentType(name: Self.type, defaults: false, custom: ["perm_0"]))).changed
                == false
        )
        #expect(replica.index.statistics.revision == revision)
    }

    @Test(
        "a database that holds more codenames than the cap (written before it) loads, replays its changelog and exports"
    )
    func overCapDatabaseStillReads() throws {
        let cap = Limits.maxCodenamesPerContentType
        let database = TemporaryDatabase()
        do {
            let store = try database.open()
            _ = try store.apply(
                .register(ContentType(name: Self.type, defaults: false, custom: Self.codenames(cap))),
                actor: nil
            )
        }
        // What an older Warden could write: 5 codenames more, in the table and in the event.
        var handle: OpaquePointer?
        #expect(sqlite3_open(database.path, &handle) == SQLITE_OK)
        let extra = Self.codenames(5, prefix: "legacy")
        let inserts = extra.map {
            "INSERT INTO permissions (ctid, codename) SELECT ctid, '\($0)' FROM content_types WHERE name = 'big.model';"
        }
        let quoted = extra.map { "\"\($0)\"," }.joined()
        let sql =
            inserts.joined()
            + "UPDATE changelog SET payload = replace(payload, '\"codenames\":[', '\"codenames\":[\(quoted)');"
        #expect(sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK, "\(String(cString: sqlite3_errmsg(handle)))")
        sqlite3_close(handle)

        let replica = try IndexReplica(store: database.open())
        let events = try replica.store.events(after: .zero)
        guard case .register(let type)? = events.first?.change else {
            Issue.record("no register event: \(events)")
            return
        }
        #expect(type.codenames.count == cap + 5)
        let exported = replica.index.export().value.compactMap { change -> Int? in
            if case .register(let type) = change { type.codenames.count } else { nil }
        }
        #expect(exported == [cap + 5])
    }

    @Test(
        "registering N and 4N codenames, and loading them: times printed (linear: about 4x)",
        arguments: BackendUnderTest.all
    )
    func scaling(_ backend: BackendUnderTest) throws {
        var figures: [String] = []
        for count in [2_500, 10_000] {
            let database = TemporaryDatabase()
            let replica = try IndexReplica(store: backend.open(database))
            let started = ContinuousClock.now
            let outcome = try replica.apply(
                .register(ContentType(name: Self.type, defaults: false, custom: Self.codenames(count)))
            )
            let registered = ContinuousClock.now - started
            #expect(outcome.changed)
            let loadStarted = ContinuousClock.now
            let reloaded = try IndexReplica(store: backend.open(database))
            let loaded = ContinuousClock.now - loadStarted
            #expect(reloaded.index.statistics.revision == outcome.revision)
            figures.append("\(count) codenames: register \(registered), load \(loaded)")
        }
        print("registration scaling (\(backend)): " + figures.joined(separator: "; "))
    }
}
