import WardenStore

/// The PostgreSQL schema and its migrations: the SQLite tables where they make sense, texts in
/// the `C` collation (byte-exact comparison and order), `bigint` identity keys. A content type's
/// key is `type_id` (`ctid` is a PostgreSQL system column). `warden_schema`
/// holds the schema version; `warden_revision` holds the revision counter, one row, whose lock
/// every write transaction takes first (`PostgresBackend.write`). Object grants are found from
/// their subject through `subject_grants` (single writes) and `subject_packs` (bulk grants),
/// as on SQLite (version 2).
///
/// Sidecars starting together migrate one at a time: under a session advisory lock
/// (`lockKey`), each reads the version and runs the migrations it lacks, one transaction each;
/// the others then find the schema current. A database at a newer version is refused
/// (`FAILED_PRECONDITION`), never modified.
enum PostgresSchema {
    /// The version this build writes.
    static var current: Int { migrations.count }

    /// The advisory lock key of schema migration ("WARDEN" in ASCII); advisory locks are per
    /// database.
    static let lockKey: Int64 = 0x5741_5244_454E

    /// `migrations[n]` upgrades a database from version `n` to `n + 1`.
    static let migrations: [String] = [
        """
        CREATE TABLE users (
            uid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text COLLATE "C" NOT NULL UNIQUE,
            username text COLLATE "C" UNIQUE,
            is_active boolean NOT NULL,
            is_superuser boolean NOT NULL
        );
        CREATE TABLE groups (
            gid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text COLLATE "C" NOT NULL UNIQUE
        );
        CREATE TABLE members (
            uid bigint NOT NULL,
            gid bigint NOT NULL,
            PRIMARY KEY (uid, gid)
        );
        CREATE INDEX members_by_group ON members (gid);
        CREATE TABLE content_types (
            type_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text COLLATE "C" NOT NULL UNIQUE
        );
        CREATE TABLE permissions (
            pid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            type_id bigint NOT NULL,
            codename text COLLATE "C" NOT NULL,
            UNIQUE (type_id, codename)
        );
        CREATE INDEX permissions_by_codename ON permissions (codename);
        CREATE TABLE model_grants (
            subject bigint NOT NULL,
            pid bigint NOT NULL,
            revision bigint NOT NULL,
            PRIMARY KEY (subject, pid)
        );
        CREATE TABLE object_grants (
            pid bigint NOT NULL,
            pk text COLLATE "C" NOT NULL,
            subject bigint NOT NULL,
            revision bigint NOT NULL,
            PRIMARY KEY (pid, pk, subject)
        );
        CREATE INDEX object_grants_by_subject ON object_grants (subject);
        CREATE TABLE changelog (
            revision bigint PRIMARY KEY,
            time bigint NOT NULL,
            kind text COLLATE "C" NOT NULL,
            payload text COLLATE "C" NOT NULL
        );
        -- Rows removed by a bulk revoke or an orphan prune, which emit one summary event: what
        -- a follower replays. Pruned with the changelog.
        CREATE TABLE removed_rows (
            revision bigint NOT NULL,
            pid bigint NOT NULL,
            pk text COLLATE "C",
            subject bigint NOT NULL
        );
        CREATE INDEX removed_rows_by_revision ON removed_rows (revision);
        -- The revision counter: one row, updated by every write transaction that appends events,
        -- locked (FOR UPDATE) first by every write transaction.
        CREATE TABLE warden_revision (
            one boolean PRIMARY KEY DEFAULT true CHECK (one),
            revision bigint NOT NULL
        );
        INSERT INTO warden_revision (revision) VALUES (0);
        """,
        // Version 2: the subject side as on SQLite, instead of an index on object_grants
        // (subject) that every bulk row entered in random order. `subject_grants` holds the rows
        // of single writes (here: every row already held); `subject_packs` one row per subject and
        // bulk, listing that bulk's new rows of the subject, its arrays in step.
        """
        CREATE TABLE subject_grants (
            subject bigint NOT NULL,
            pid bigint NOT NULL,
            pk text COLLATE "C" NOT NULL
        );
        INSERT INTO subject_grants (subject, pid, pk) SELECT subject, pid, pk FROM object_grants ORDER BY subject, pid, pk;
        ALTER TABLE subject_grants ADD PRIMARY KEY (subject, pid, pk);
        CREATE TABLE subject_packs (
            subject bigint NOT NULL,
            revision bigint NOT NULL,
            pids bigint[] NOT NULL,
            pks text[] COLLATE "C" NOT NULL,
            PRIMARY KEY (subject, revision)
        );
        DROP INDEX object_grants_by_subject;
        """,
    ]

    /// Brings the schema up to date under the advisory lock; returns the version the database
    /// had. Runs on a connection outside any transaction.
    static func migrate(_ connection: PostgresConnection) throws -> Int {
        let encoding = try connection.execute("SHOW server_encoding").text(0, 0)
        guard encoding == "UTF8" else {
            throw StoreError(
                .failedPrecondition,
                "the database's encoding is \(encoding); Warden needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)"
            )
        }
        try connection.execute("SELECT pg_advisory_lock(\(lockKey))")
        defer { _ = try? connection.execute("SELECT pg_advisory_unlock(\(lockKey))") }
        try connection.execute("CREATE TABLE IF NOT EXISTS warden_schema (version integer NOT NULL)")
        let stored = try connection.execute("SELECT max(version) FROM warden_schema")
        let version = Int(stored.int64(0, 0))
        guard version <= current else {
            throw StoreError(
                .failedPrecondition,
                "the database has schema version \(version), newer than this Warden's \(current); run a newer Warden or restore a backup"
            )
        }
        for next in version..<current {
            do {
                try connection.execute(
                    "BEGIN; \(migrations[next]); DELETE FROM warden_schema; INSERT INTO warden_schema (version) VALUES (\(next + 1)); COMMIT"
                )
            } catch {
                _ = try? connection.execute("ROLLBACK")
                throw error
            }
        }
        return version
    }
}
