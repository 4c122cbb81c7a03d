import Logging
import WardenPostgresStore
import WardenSQLiteStore
import WardenStore

#if canImport(Glibc)
import Glibc
#endif

/// Where the store lives, from the `database` setting: a `postgresql://` (or `postgres://`)
/// URI names a PostgreSQL database that several sidecars share; anything else is an SQLite
/// file's path. The one place above the store that names a backend.
enum DatabaseLocation: Equatable {
    case sqlite(path: String)
    case postgres(uri: String)

    init(_ database: String) {
        self = PostgresBackend.isURI(database) ? .postgres(uri: database) : .sqlite(path: database)
    }

    /// How logs and messages name it: a URI without its password.
    var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let uri): PostgresBackend.redacted(uri)
        }
    }
}

extension Daemon {
    var databaseLocation: DatabaseLocation { DatabaseLocation(configuration.database) }

    /// Opens the store the configuration names, logging what opening found.
    func openStore(logger: Logger) throws -> any PermissionStore {
        switch databaseLocation {
        case .sqlite(let path):
            var options = SQLiteStore.Options()
            options.synchronous = configuration.synchronous
            options.fileMode = mode_t(configuration.databaseMode)
            let store = try SQLiteStore(path: path, options: options)
            report(store.opening, logger: logger)
            return store
        case .postgres(let uri):
            let store = try PostgresStore(uri: uri, passwordFile: configuration.databasePasswordFile)
            if store.backend.previousSchemaVersion == 0 {
                logger.notice(
                    "database schema created: serving a new, empty store",
                    metadata: ["database": "\(databaseLocation.description)"]
                )
            }
            return store
        }
    }
}
