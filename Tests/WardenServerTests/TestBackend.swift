import Testing
import WardenPostgresStore
import WardenSQLiteStore
import WardenStore

/// The store a server test runs its `warden serve` processes on: an SQLite file in the
/// server's folder, or a fresh database on the shared PostgreSQL cluster (`PostgresCluster`).
/// Tests that take it as an argument run once per backend.
enum TestBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// Runs `body` with the `--database` value for this backend: `nil` for SQLite (the server
    /// makes its file in its own folder), a new PostgreSQL database's URI (dropped afterwards)
    /// for PostgreSQL. Returns `nil` without running `body` when PostgreSQL is not configured
    /// (after printing a note; under `WARDEN_REQUIRE_POSTGRES=1` it throws instead).
    func withDatabase<T>(for test: String, _ body: (String?) async throws -> T) async throws -> T? {
        switch self {
        case .sqlite: return try await body(nil)
        case .postgres:
            guard let cluster = try PostgresCluster.shared(for: test) else { return nil }
            let database = try await cluster.createDatabase(prefix: "t")
            do {
                let value = try await body(database.uri)
                await database.drop()
                return value
            } catch {
                await database.drop()
                throw error
            }
        }
    }
}

extension ServerProcess {
    /// The server's database opened by a store of this test process, cold: the SQLite file, or
    /// the PostgreSQL database its URI names. For comparing what a server answers with what its
    /// database holds.
    func openStore() throws -> any PermissionStore {
        PostgresBackend.isURI(databasePath) ? try PostgresStore(uri: databasePath) : try SQLiteStore(path: databasePath)
    }
}
