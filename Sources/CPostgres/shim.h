// libpq, PostgreSQL's C client, from Debian's libpq-dev (the only C glue WardenPostgresStore
// needs). `pkg-config libpq` adds /usr/include/postgresql to the header path.
#include <libpq-fe.h>

// A result's SQLSTATE (`PG_DIAG_SQLSTATE` is a character macro Swift does not import).
static inline const char *warden_pq_sqlstate(const PGresult *result) {
    return PQresultErrorField(result, PG_DIAG_SQLSTATE);
}

// Notices (`CREATE ... IF NOT EXISTS` on an existing table) go nowhere: libpq's default prints
// them to standard error.
static inline void warden_pq_ignore_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

static inline void warden_pq_silence_notices(PGconn *connection) {
    PQsetNoticeProcessor(connection, warden_pq_ignore_notice, 0);
}
