import Foundation
import Logging
import WardenSQLiteStore
import WardenStore

#if canImport(Glibc)
import Glibc
#endif

extension Daemon {
    /// Creates the missing folders of the database's and the socket's paths. A folder created
    /// for the database alone is `0750`; one that holds the socket is `0751`, so a client of
    /// another uid may pass through to the socket it knows the name of (whether it may connect
    /// is the socket's mode and the peer checks) without listing or reading anything there.
    /// Existing folders are left as they are.
    func createFolders(logger: Logger) throws {
        let socketFolder = (configuration.socket as NSString).deletingLastPathComponent
        var databaseFolder = ""
        if case .sqlite(let path) = databaseLocation { databaseFolder = (path as NSString).deletingLastPathComponent }
        // The socket's first: its folders (and their parents) must let clients pass.
        for folder in [socketFolder, databaseFolder] where !folder.isEmpty {
            let mode: mode_t = socketFolder == folder || socketFolder.hasPrefix(folder + "/") ? 0o751 : 0o750
            try Self.createFolder(folder, mode: mode, logger: logger)
        }
    }

    /// `mkdir -p` with `mode` (exactly: not narrowed by the umask) for each folder it creates.
    static func createFolder(_ path: String, mode: mode_t, logger: Logger) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try createFolder(parent, mode: mode, logger: logger) }
        guard mkdir(path, mode) == 0 || errno == EEXIST else {
            throw ConfigurationError("cannot create the folder \(path): \(String(cString: strerror(errno)))")
        }
        if chmod(path, mode) != 0 {
            logger.warning(
                "cannot set a new folder's mode",
                metadata: ["folder": "\(path)", "mode": "\(String(mode, radix: 8))"]
            )
        }
        logger.info("folder created", metadata: ["folder": "\(path)", "mode": "0\(String(mode, radix: 8))"])
    }

    /// Logs what opening the database found: a new file, or an empty one, at `notice` (a wrong
    /// path or an unmounted volume serves an empty store that denies everything); a file more
    /// open than `database_mode`, at `warning`.
    func report(_ opening: SQLiteStore.Opening, logger: Logger) {
        let database: Logger.MetadataValue = "\(configuration.database)"
        if !opening.fileExisted {
            logger.notice(
                "database created: no file was at the path; serving a new, empty store",
                metadata: ["database": database]
            )
        } else if opening.createdSchema {
            logger.notice(
                "database file was empty: serving a new, empty store (check the path and the volume if data was expected)",
                metadata: ["database": database]
            )
        }
        if opening.exceeds(mode_t(configuration.databaseMode)) {
            logger.warning(
                "the database file is readable by more than database_mode allows; an existing file keeps its mode (chmod it)",
                metadata: [
                    "database": database, "mode": "0\(String(opening.fileMode ?? 0, radix: 8))",
                    "database_mode": "0\(String(configuration.databaseMode, radix: 8))",
                ]
            )
        }
    }
}
