import WardenStore

extension StoreError {
    /// The store's error for a PostgreSQL failure. The messages are for clients (they name no
    /// host, user or statement); the cause, for the log, holds libpq's or the server's message
    /// and never a password.
    static func postgres(_ error: PostgresError, opening: Bool) -> StoreError {
        if error.duringCommit {
            return StoreError(
                .unavailable,
                "the database connection was lost during COMMIT: the write may or may not have been made; "
                    + "retry, or read it back once the database is reachable",
                cause: error.description
            )
        }
        if error.isUnreachable {
            // A refused login (a wrong password, pg_hba.conf) looks the same from libpq's side:
            // the cause tells which.
            let outcome = opening ? "the store cannot open" : "nothing was written"
            return StoreError(
                .unavailable,
                "the database is unreachable or refused the connection; \(outcome) (retry)",
                cause: error.description
            )
        }
        if error.isRetryable {
            return StoreError(
                .unavailable,
                "the database was busy with a conflicting transaction; nothing was written (retry)",
                cause: error.description
            )
        }
        if error.isDiskFull {
            return StoreError(
                .resourceExhausted,
                "the database's disk is full; the write was not made (retry once space is freed)",
                cause: error.description
            )
        }
        if error.isReadOnly {
            return StoreError(
                .unavailable,
                "the database is read-only (a standby?); nothing was written (retry against the primary)",
                cause: error.description
            )
        }
        if opening { return StoreError(.failedPrecondition, "cannot open the database", cause: error.description) }
        return StoreError(.internal, "the store failed", cause: error.description)
    }
}
