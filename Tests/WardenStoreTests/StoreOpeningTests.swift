import Foundation
import Testing
import WardenModel
import WardenSQLiteStore
import WardenStore

#if canImport(Glibc)
import Glibc
#endif

/// What opening a database file found (a daemon logs a new or empty one), and the modes of the
/// files a store creates.
@Suite("Opening a database file")
struct StoreOpeningTests {
    @Test("a missing path, a zero-byte file and an existing store are told apart")
    func opening() throws {
        let database = TemporaryDatabase()
        let created = try database.open().opening
        #expect(!created.fileExisted && created.createdSchema)
        let existing = try database.open().opening
        #expect(existing.fileExisted && !existing.createdSchema && existing.previousSchemaVersion >= 1)
        let empty = TemporaryDatabase()
        #expect(FileManager.default.createFile(atPath: empty.path, contents: Data()))
        let found = try empty.open().opening
        #expect(found.fileExisted && found.createdSchema)
    }

    @Test(
        "new files get the store's mode (0600 by default, 0640 when asked), -wal and -shm too; existing ones keep theirs"
    )
    func modes() throws {
        for mode: mode_t in [0o600, 0o640] {
            let database = TemporaryDatabase()
            var options = SQLiteStore.Options()
            options.fileMode = mode
            let store = try database.open(options)
            _ = try store.apply(.putGroup(name: "g"))
            for suffix in ["", "-wal", "-shm"] {
                #expect(DatabaseFile.mode(of: database.path + suffix) == mode, "\(suffix) \(String(mode, radix: 8))")
            }
            #expect(!store.opening.exceeds(mode))
        }
        let database = TemporaryDatabase()
        _ = try database.open()
        chmod(database.path, 0o644)
        let reopened = try database.open()
        #expect(DatabaseFile.mode(of: database.path) == 0o644 && reopened.opening.exceeds(0o600))
        var refused = SQLiteStore.Options()
        refused.fileMode = 0o644
        #expect(throws: StoreError.self) { try TemporaryDatabase().open(refused) }
    }

    @Test("a backup is created with the database file's mode, never wider than 0660")
    func backupMode() throws {
        let database = TemporaryDatabase()
        _ = try database.open().apply(.putGroup(name: "g"))
        let copy = database.folder.appendingPathComponent("copy.db").path
        #expect(try SQLiteStore.backup(database: database.path, to: copy) == Revision(1))
        #expect(DatabaseFile.mode(of: copy) == 0o600)
        chmod(database.path, 0o644)
        let second = database.folder.appendingPathComponent("second.db").path
        _ = try SQLiteStore.backup(database: database.path, to: second)
        #expect(DatabaseFile.mode(of: second) == 0o640)
    }
}
