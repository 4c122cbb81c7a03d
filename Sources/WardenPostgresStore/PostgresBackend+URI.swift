extension PostgresBackend {
    /// `database` with any password in it replaced by `***`: how logs and messages name a URI
    /// that may not have opened.
    public static func redacted(_ database: String) -> String { PostgresURI.redact(database) }
}
