import Foundation

@testable import WardenPostgresStore

/// The PostgreSQL server the tests use: `WARDEN_TEST_POSTGRES` holds a libpq URI of a server
/// where the tests may `CREATE DATABASE`; each test gets its own database, dropped when it ends.
/// Unset, the PostgreSQL cases are skipped with a note; with `WARDEN_REQUIRE_POSTGRES=1` (CI
/// sets both) a missing or unreachable server fails them instead.
///
/// To run them here: `scripts/postgres-cluster.sh`, or by hand, as an unprivileged user,
/// `initdb -D /tmp/pgwt-data -A trust` and `pg_ctl -D /tmp/pgwt-data -o "-c listen_addresses=''
/// -c unix_socket_directories=/tmp/pgwt-data" start`, then
/// `WARDEN_TEST_POSTGRES='postgresql:///postgres?host=/tmp/pgwt-data&user=warden-pg'`.
enum PostgresTestServer {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// The administrative URI, from the environment.
    static let adminURI: String? = ProcessInfo.processInfo.environment["WARDEN_TEST_POSTGRES"].flatMap {
        $0.isEmpty ? nil : $0
    }
    static let isRequired = ProcessInfo.processInfo.environment["WARDEN_REQUIRE_POSTGRES"] == "1"

    /// Whether the PostgreSQL cases run (and, when required, fail without a server).
    static let isEnabled: Bool = {
        if adminURI == nil && !isRequired {
            print("note: WARDEN_TEST_POSTGRES is unset: the PostgreSQL cases of the store tests are skipped")
        }
        return adminURI != nil || isRequired
    }()

    /// A connection to `uri` (a test's database, or the server's administrative one).
    static func connect(_ uri: String) throws -> PostgresConnection {
        try PostgresConnection(
            uri: PostgresURI(uri: uri, password: nil, connectTimeoutSeconds: 10, applicationName: "warden-test")
        )
    }

    private static func admin() throws -> PostgresConnection {
        guard let adminURI else {
            throw Failure(
                description: "WARDEN_REQUIRE_POSTGRES=1 but WARDEN_TEST_POSTGRES does not name a PostgreSQL server"
            )
        }
        return try connect(adminURI)
    }

    /// Creates a fresh, empty UTF8 database; returns its name.
    static func createDatabase() throws -> String {
        let name = "warden_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try admin().execute("CREATE DATABASE \(name) ENCODING 'UTF8' TEMPLATE template0")
        return name
    }

    /// Runs statements on the administrative connection.
    static func admin(_ statements: String...) throws {
        let connection = try admin()
        for sql in statements { try connection.execute(sql) }
    }

    /// Drops a test's database, ending any session still on it.
    static func dropDatabase(_ name: String) {
        _ = try? admin().execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// The administrative URI with its database replaced by `database`.
    static func uri(database: String) throws -> String {
        guard let adminURI else { throw Failure(description: "WARDEN_TEST_POSTGRES is unset") }
        return replacingDatabase(of: adminURI, with: database)
    }

    /// `postgresql://authority/DB?query` with another `DB`.
    static func replacingDatabase(of uri: String, with database: String) -> String {
        guard let scheme = uri.range(of: "://") else { return uri }
        let rest = uri[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let queryStart = rest[authorityEnd...].firstIndex(of: "?") ?? rest.endIndex
        return String(uri[..<authorityEnd]) + "/" + database + String(rest[queryStart...])
    }

    /// Runs SQL on a test's database through a connection of its own (what Warden never does:
    /// stamp a newer schema, end a session).
    @discardableResult
    static func execute(_ uri: String, _ sql: String) throws -> [[String?]] {
        let result = try connect(uri).execute(sql)
        return try (0..<result.rows).map { row in try (0..<result.columns).map { try result.optionalText(row, $0) } }
    }
}
