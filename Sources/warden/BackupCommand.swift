import ArgumentParser
import Foundation
import WardenPostgresStore
import WardenSQLiteStore
import WardenStore

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent copy of the database file, safe while the server runs and writes.",
        discussion: """
            Opens the database file itself (not the socket) with a read connection and runs SQLite's \
            VACUUM INTO: the copy holds every write acknowledged before the backup began, is compacted, \
            and is one complete file. Restore: stop the server, put the copy in the database's place \
            (remove the old -wal and -shm files), start the server. Copying the live file with cp is \
            not safe: the write-ahead log holds recent commits.
            Example: warden backup /backups/warden-$(date +%F).db
            """
    )
    @Argument(help: "Where to write the copy (must not exist).") var destination: String
    @Option(help: "The database file. Env: WARDEN_DATABASE. Default: ./var/warden.db.") var database: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let path = database ?? ProcessInfo.processInfo.environment["WARDEN_DATABASE"] ?? "var/warden.db"
        if case .postgres(let uri) = DatabaseLocation(path) {
            FileHandle.standardError.write(
                Data(
                    ("warden: INVALID_ARGUMENT: database: \(PostgresBackend.redacted(uri)) is a PostgreSQL database; "
                        + "back it up with pg_dump (docs/operations.md \"Several hosts\")\n").utf8
                )
            )
            throw ExitCode(2)
        }
        let started = Date()
        do {
            let revision = try SQLiteStore.backup(database: path, to: destination)
            let bytes = (try? FileManager.default.attributesOfItem(atPath: destination)[.size] as? Int) ?? 0
            let seconds = Date().timeIntervalSince(started)
            if json {
                print(
                    jsonLine([
                        "destination": destination, "revision": revision.rawValue, "bytes": bytes, "seconds": seconds,
                    ])
                )
            } else {
                print(
                    "backup of \(path) at revision \(revision) written to \(destination) (\(bytes) bytes, \(String(format: "%.2f", seconds)) s)"
                )
            }
        } catch {
            FileHandle.standardError.write(
                Data("warden: \(error.code.rawValue): \(error.message)\(error.cause.map { " (\($0))" } ?? "")\n".utf8)
            )
            throw ExitCode(2)
        }
    }
}
