#if canImport(Glibc)
import WardenStore
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The database file's permissions. SQLite gives a new file `0644` less the umask, and the
/// `-wal` and `-shm` files it makes the main file's permissions; so Warden creates the main
/// file itself, with its mode, before SQLite opens it (never by changing the process's umask,
/// which is shared by every thread). An existing file keeps its mode.
public enum DatabaseFile {
    /// The default mode of database files and backups: the owner only.
    public static let defaultMode: mode_t = 0o600

    /// The modes a database file may be given: the owner reads and writes; the group may read
    /// or read and write; others nothing; nobody executes.
    public static func isAllowed(_ mode: mode_t) -> Bool { mode & 0o600 == 0o600 && mode & ~0o660 == 0 }

    /// Creates an empty file at `path` with exactly `mode` (not following a symbolic link);
    /// false when something already exists there.
    @discardableResult
    public static func create(_ path: String, mode: mode_t) throws(StoreError) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            if errno == EEXIST { return false }
            let reason = String(cString: strerror(errno))
            throw StoreError(.failedPrecondition, "cannot create the file", cause: "\(path): \(reason)")
        }
        defer { close(descriptor) }
        // The umask narrowed `open`'s mode; the descriptor's own mode is exact.
        guard fchmod(descriptor, mode) == 0 else {
            let reason = String(cString: strerror(errno))
            throw StoreError(.failedPrecondition, "cannot set the new file's mode", cause: "\(path): \(reason)")
        }
        return true
    }

    /// The permission bits of the file at `path`, or `nil` when it cannot be read.
    public static func mode(of path: String) -> mode_t? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return status.st_mode & 0o7777
    }

    /// The size in bytes of the file at `path`, or `nil` when there is none.
    static func size(of path: String) -> Int? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Int(status.st_size)
    }
}
