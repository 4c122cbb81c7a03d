import WardenModel
import WardenStore

/// The store on a PostgreSQL database: `BackedStore`'s rules on `PostgresBackend`. What the
/// sidecars of several hosts share.
public typealias PostgresStore = BackedStore<PostgresBackend>

extension BackedStore where Backend == PostgresBackend {
    /// Connects to the database at `uri` (a libpq connection URI: `postgresql://USER@HOST/DB?...`
    /// or `postgresql:///DB?host=/run/postgresql`) and brings its schema up to date.
    /// `passwordFile`: a file holding the password; otherwise the URI's, or libpq's
    /// `PGPASSWORD` / `PGPASSFILE`.
    public convenience init(
        uri: String,
        passwordFile: String? = nil,
        options: PostgresBackend.Options = .init()
    ) throws(StoreError) {
        self.init(backend: try PostgresBackend(uri: uri, passwordFile: passwordFile, options: options))
    }

    /// The schema version of the database.
    public var schemaVersion: Int { backend.schemaVersion }
}
