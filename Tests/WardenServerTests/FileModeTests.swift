import Foundation
import Testing
import WardenClient
import WardenProto

#if canImport(Glibc)
import Glibc
#endif

/// The database's files are private: `0600` (or `database_mode`), in `0750` folders the server
/// creates, and so is `warden backup`'s copy. A new or empty database is logged at `notice`.
@Suite("Database files and folders", .serialized)
struct FileModeTests {
    static func mode(_ path: String) -> mode_t? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return status.st_mode & 0o7777
    }

    static func octal(_ mode: mode_t?) -> String { mode.map { "0" + String($0, radix: 8) } ?? "missing" }

    /// A server whose database sits in folders it creates itself: `<folder>/data/inner/warden.db`.
    static func start(_ arguments: [String] = []) async throws -> (ServerProcess, data: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "warden-modes-\(UUID().uuidString.prefix(8))"
        )
        let data = folder.appendingPathComponent("data").path
        let server = try await ServerProcess(
            databasePath: data + "/inner/warden.db",
            folder: folder,
            arguments: arguments
        )
        let warden = try await server.connect()
        _ = try await warden.putGroup("g")  // the first write: -wal and -shm exist
        await warden.close()
        return (server, data)
    }

    @Test("by default the database, its -wal and -shm and a backup are 0600, in 0750 folders the server made")
    func privateByDefault() async throws {
        let (server, data) = try await Self.start()
        defer {
            server.stop()
            server.removeFolder()
        }
        for suffix in ["", "-wal", "-shm"] {
            #expect(Self.octal(Self.mode(server.databasePath + suffix)) == "0600", "warden.db\(suffix)")
        }
        #expect(Self.octal(Self.mode(data)) == "0750")
        #expect(Self.octal(Self.mode(data + "/inner")) == "0750")
        let backup = server.folder.appendingPathComponent("backup.db").path
        let result = try runWarden(["backup", backup, "--database", server.databasePath])
        #expect(result.status == 0, "\(result.error)")
        #expect(Self.octal(Self.mode(backup)) == "0600")
        print(
            "file modes: warden.db, -wal, -shm, backup \(Self.octal(Self.mode(backup))); folders \(Self.octal(Self.mode(data)))"
        )
    }

    @Test("database_mode 0640 lets the group read; an existing file keeps its mode, with a warning")
    func groupReadable() async throws {
        let (server, _) = try await Self.start(["--database-mode", "0640"])
        for suffix in ["", "-wal", "-shm"] {
            #expect(Self.octal(Self.mode(server.databasePath + suffix)) == "0640", "warden.db\(suffix)")
        }
        let backup = server.folder.appendingPathComponent("backup.db").path
        #expect(try runWarden(["backup", backup, "--database", server.databasePath]).status == 0)
        #expect(Self.octal(Self.mode(backup)) == "0640")
        server.stop()
        // An existing world-readable file keeps its mode, and the server says so.
        chmod(server.databasePath, 0o644)
        let again = try await server.restarted()
        defer {
            again.stop()
            again.removeFolder()
        }
        #expect(Self.octal(Self.mode(server.databasePath)) == "0644")
        #expect(again.output.contains("readable by more than database_mode allows"), "\(again.output)")
        #expect(runWardenFails(["serve", "--database-mode", "0644"]).contains("database_mode"))
    }

    @Test("a database created at a missing path, or found empty, is logged at notice")
    func newOrEmptyDatabaseIsLogged() async throws {
        let (server, _) = try await Self.start()
        #expect(server.output.contains("notice") && server.output.contains("database created"), "\(server.output)")
        server.stop()
        // The same file again: neither notice.
        let again = try await server.restarted()
        #expect(!again.output.contains("database created") && !again.output.contains("database file was empty"))
        again.stop()
        // A zero-byte file (a wrong mount, a truncated copy) is served empty, but not silently.
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: server.databasePath + suffix) }
        FileManager.default.createFile(atPath: server.databasePath, contents: Data())
        let empty = try await server.restarted()
        defer {
            empty.stop()
            empty.removeFolder()
        }
        let lines = empty.output.split(separator: "\n").filter { $0.contains("database file was empty") }
        #expect(lines.count == 1 && lines[0].contains("notice"), "\(empty.output)")
    }
}

/// The error output of a `warden` command expected to fail at once.
func runWardenFails(_ arguments: [String]) -> String {
    guard let result = try? runWarden(arguments) else { return "" }
    return result.status == 0 ? "" : result.error + result.output
}
