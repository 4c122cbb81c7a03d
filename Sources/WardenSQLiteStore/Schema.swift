/// The database schema and its migrations. `PRAGMA user_version` holds the schema version; a
/// file at an older version is upgraded in place, one migration per transaction, when opened.
/// A file from a newer Warden is refused (`FAILED_PRECONDITION`), never modified.
///
/// Subjects are stored as one integer, `subject`: a user's `uid`, or minus a group's `gid`.
/// Cascades are explicit deletes in the store's write code, not foreign-key triggers, so every
/// row a write removes is a row the code names. Every `object_grants` row is found from its
/// subject through `subject_grants` (rows of single writes) or `subject_packs` (rows of bulk
/// grants, see `SubjectPack`), written in the same transaction.
enum Schema {
    /// The version this build writes.
    static var current: Int { migrations.count }

    /// `migrations[n]` upgrades a file from version `n` to `n + 1`.
    static let migrations: [String] = [
        """
        CREATE TABLE users (
            uid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            username TEXT UNIQUE,
            is_active INTEGER NOT NULL,
            is_superuser INTEGER NOT NULL
        );
        CREATE TABLE groups (
            gid INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE
        );
        CREATE TABLE members (
            uid INTEGER NOT NULL,
            gid INTEGER NOT NULL,
            PRIMARY KEY (uid, gid)
        ) WITHOUT ROWID;
        CREATE INDEX members_by_group ON members (gid);
        CREATE TABLE content_types (
            ctid INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE
        );
        CREATE TABLE permissions (
            pid INTEGER PRIMARY KEY,
            ctid INTEGER NOT NULL,
            codename TEXT NOT NULL,
            UNIQUE (ctid, codename)
        );
        CREATE TABLE model_grants (
            subject INTEGER NOT NULL,
            pid INTEGER NOT NULL,
            revision INTEGER NOT NULL,
            PRIMARY KEY (subject, pid)
        ) WITHOUT ROWID;
        CREATE TABLE object_grants (
            pid INTEGER NOT NULL,
            pk TEXT NOT NULL,
            subject INTEGER NOT NULL,
            revision INTEGER NOT NULL,
            PRIMARY KEY (pid, pk, subject)
        ) WITHOUT ROWID;
        CREATE INDEX object_grants_by_subject ON object_grants (subject);
        CREATE TABLE changelog (
            revision INTEGER PRIMARY KEY,
            time INTEGER NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL
        );
        -- Rows removed by a bulk revoke or an orphan prune, which emit one summary event: what
        -- a follower replays. Pruned with the changelog.
        CREATE TABLE removed_rows (
            revision INTEGER NOT NULL,
            pid INTEGER NOT NULL,
            pk TEXT,
            subject INTEGER NOT NULL
        );
        CREATE INDEX removed_rows_by_revision ON removed_rows (revision);
        """,
        // Version 2: the subject index of `object_grants` becomes a table the store writes itself,
        // `subject_grants`, holding the same rows keyed by `(subject, pid, pk)`. SQLite kept the
        // index in the order rows arrived, a random insert per row; a bulk grant now writes each
        // table in its own key order, which costs about half as much (docs/benchmarks.md).
        """
        CREATE TABLE subject_grants (
            subject INTEGER NOT NULL,
            pid INTEGER NOT NULL,
            pk TEXT NOT NULL,
            PRIMARY KEY (subject, pid, pk)
        ) WITHOUT ROWID;
        INSERT INTO subject_grants (subject, pid, pk) SELECT subject, pid, pk FROM object_grants ORDER BY subject, pid, pk;
        DROP INDEX object_grants_by_subject;
        """,
        // Version 3: a bulk grant writes its rows' subject side as one packed row per subject
        // (`SubjectPack`), not one `subject_grants` row per grant: SQLite's inserts into a second
        // B-tree were half of a bulk grant's cost. Single writes still use `subject_grants`.
        """
        CREATE TABLE subject_packs (
            subject INTEGER NOT NULL,
            revision INTEGER NOT NULL,
            rows INTEGER NOT NULL,
            pks BLOB NOT NULL,
            PRIMARY KEY (subject, revision)
        ) WITHOUT ROWID;
        CREATE TABLE subject_pack_stale (
            subject INTEGER PRIMARY KEY,
            stale INTEGER NOT NULL
        );
        """,
    ]
}
