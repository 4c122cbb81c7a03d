import CSQLite
import Foundation
import WardenIndex
import WardenModel
import WardenPostgresStore
import WardenSQLiteStore
import WardenService
import WardenStore
import WardenSync

/// A test's database: a file in a fresh temporary folder and, once asked for, a fresh
/// PostgreSQL database (`PostgresTestServer`); both removed when the test ends.
final class TemporaryDatabase {
    let folder: URL
    var path: String { folder.appendingPathComponent("warden.db").path }
    /// The name of this test's PostgreSQL database, once created.
    private let postgresName = Locked<String?>(nil)

    init() {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("warden-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: folder)
        if let name = postgresName.withLock({ $0 }) { PostgresTestServer.dropDatabase(name) }
    }

    func open(_ options: SQLiteStore.Options = .init()) throws -> SQLiteStore {
        try SQLiteStore(path: path, options: options)
    }

    /// The URI of this test's PostgreSQL database, created on first use (every store a test
    /// opens on this `TemporaryDatabase` shares it, as hosts share one database).
    func postgresURI() throws -> String {
        try postgresName.withLock { name in
            if name == nil { name = try PostgresTestServer.createDatabase() }
            return try PostgresTestServer.uri(database: name!)
        }
    }

    func openPostgres() throws -> PostgresStore { try PostgresStore(uri: postgresURI()) }
}

/// A store implementation under test. The conformance suites run every test once per backend
/// in `all`: SQLite, and PostgreSQL when `WARDEN_TEST_POSTGRES` names a server
/// (`PostgresTestServer`).
struct BackendUnderTest: CustomStringConvertible, Sendable {
    let description: String
    let open: @Sendable (TemporaryDatabase) throws -> any PermissionStore

    static let sqlite = BackendUnderTest(description: "SQLite") { try $0.open() }
    static let postgres = BackendUnderTest(description: "PostgreSQL") { try $0.openPostgres() }
    static let all: [BackendUnderTest] = PostgresTestServer.isEnabled ? [.sqlite, .postgres] : [.sqlite]
}

/// Shorthands for building changes in tests.
enum Fixture {
    static let car = try! ContentTypeName("drivers.car")
    static let order = try! ContentTypeName("shop.order")
    static let file = try! ContentTypeName("files.file")

    static func permission(_ type: ContentTypeName, _ codename: String) -> PermissionRef {
        try! PermissionRef(contentType: type, codename: codename)
    }

    static func grant(_ subject: Subject, _ type: ContentTypeName, _ codename: String, _ pk: String? = nil) -> Grant {
        try! Grant(subject: subject, permission: permission(type, codename), pk: pk)
    }

    static func user(_ id: String, _ username: String? = nil, active: Bool = true, superuser: Bool = false) -> User {
        try! User(id: id, username: username, isActive: active, isSuperuser: superuser)
    }

    /// Types, users 1–3 (2 is `joe`), group `editors` with user 1.
    static let basics: [Change] = [
        .register(try! ContentType(name: car, custom: ["drive_car"])),
        .register(try! ContentType(name: order)),
        .register(try! ContentType(name: file, custom: ["read_file"])),
        .putUser(user("1", "ada")),
        .putUser(user("2", "joe")),
        .putUser(user("3")),
        .putGroup(name: "editors"),
        .addMember(user: "1", group: "editors"),
    ]
}

/// A byte-exact, order-free fingerprint of a batch of changes: two states are equal when their
/// fingerprints are. (`Change`'s own equality would use Swift's canonical string equivalence.)
func fingerprint(_ changes: [Change]) -> [[UInt8]] {
    changes.map { Array(String(reflecting: $0).utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
}

/// Whether the replica's index holds exactly what the database holds.
func indexEqualsDatabase(_ index: PermissionIndex, _ store: any PermissionStore) throws -> Bool {
    let snapshot = try store.snapshot()
    let exported = index.export()
    return exported.revision == snapshot.revision && fingerprint(exported.value) == fingerprint(snapshot.changes)
}

/// Raw access to a database file, to do what Warden never does (stamp a newer schema version).
struct SQLiteStoreProbe {
    let handle: OpaquePointer

    struct Failure: Error { let message: String }

    init(path: String) throws {
        var handle: OpaquePointer?
        guard sqlite3_open(path, &handle) == SQLITE_OK, let handle else {
            throw Failure(message: "cannot open \(path)")
        }
        self.handle = handle
    }

    func execute(_ sql: String) throws {
        defer { sqlite3_close(handle) }
        guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else {
            throw Failure(message: String(cString: sqlite3_errmsg(handle)))
        }
    }

    func value(_ sql: String) throws -> String {
        defer { sqlite3_close(handle) }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else {
            throw Failure(message: "prepare")
        }
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) else { return "" }
        return String(cString: text)
    }
}

/// Results gathered from several threads.
final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<WriteOutcome, StoreError>] = []

    func add(_ result: Result<WriteOutcome, StoreError>) { lock.withLock { results.append(result) } }
    var all: [Result<WriteOutcome, StoreError>] { lock.withLock { results } }
}
