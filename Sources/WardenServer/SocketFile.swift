import WardenService
import WardenSync

#if canImport(Glibc)
import Glibc
#endif

/// The server's claim on its socket path: one server per path, a socket created with its mode,
/// never a link followed, and only a socket that is still ours removed.
///
/// - A lock file beside the socket (`<socket>.lock`, 0600, holding the pid) is held with
///   `flock` for the server's life: a second server on the same path refuses to start and names
///   the first, instead of silently taking the path over. The kernel drops the lock when the
///   process dies (`kill -9` included), so a stale socket of a dead server is recognised as
///   stale and replaced. The lock file is left in place at exit: removing it would let two
///   starts lock two different files.
/// - Whatever is at the path before the bind must be a socket (then stale, since we hold the
///   lock) or nothing: a regular file, a folder or a link is refused, naming the path.
/// - The socket is created with its final mode by `bind` itself (under a umask that yields
///   exactly `socket_mode`), and its group set with `fchownat(AT_SYMLINK_NOFOLLOW)`: no call
///   by path can be redirected through a link swapped in after the bind.
/// - At exit, and in `status()`, the path is compared with the socket's device and inode as
///   recorded after the bind: a file that was deleted or replaced is never unlinked, and the
///   loss is reported (logged each time the path changes state).
///
/// The daemon claims the path first (`init(claiming:)`), before it opens the database, so a
/// second server is refused before it does any work; `WardenServer` then binds through it.
public final class SocketFile: Sendable {
    public let path: String
    public let lockPath: String
    private let lockDescriptor: Int32
    /// The socket's identity after the bind (device, inode); `nil` before it.
    private let identity = Locked<(dev: UInt64, ino: UInt64)?>(nil)

    /// What is at the socket path now, compared with the socket this server bound.
    enum Status: Equatable, Sendable {
        /// The path is this server's socket.
        case present
        /// Nothing is at the path: clients cannot connect.
        case missing
        /// Something else is at the path (another file, another server's socket).
        case replaced
    }

    /// Claims `path`: takes the lock beside it, or refuses (`FAILED_PRECONDITION`) naming the
    /// server that holds it.
    public init(claiming path: String) throws {
        self.path = path
        lockPath = path + ".lock"
        lockDescriptor = try Self.lock(lockPath, socket: path)
    }

    deinit { close(lockDescriptor) }

    /// Removes a stale socket at the path, runs `bind` under a umask that gives the socket
    /// `mode`, sets its group without following links, and records its identity.
    func bind(mode: UInt32, group: UInt32?, _ bind: () throws -> Void) throws {
        identity.withLock { $0 = nil }
        try Self.removeStale(path)
        let previousMask = umask(mode_t(0o777 & ~mode))
        do {
            defer { umask(previousMask) }
            try bind()
        }
        guard let bound = Self.identity(of: path, socketOnly: true) else {
            throw ServiceError(
                .failedPrecondition,
                "socket: \(path) is not a socket right after bind (replaced meanwhile?)"
            )
        }
        if let group {
            guard fchownat(AT_FDCWD, path, uid_t.max, gid_t(group), AT_SYMLINK_NOFOLLOW) == 0 else {
                throw ServiceError(
                    .failedPrecondition,
                    "socket_group: chown of \(path) to gid \(group) failed (errno \(errno))"
                )
            }
            guard Self.identity(of: path, socketOnly: true).map({ $0 == bound }) == true else {
                throw ServiceError(.failedPrecondition, "socket: \(path) was replaced while its group was set")
            }
        }
        identity.withLock { $0 = bound }
    }

    /// What is at the path now.
    func status() -> Status {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        guard let bound = identity.withLock({ $0 }) else { return .replaced }
        return (UInt64(info.st_dev), UInt64(info.st_ino)) == bound && (info.st_mode & S_IFMT) == S_IFSOCK
            ? .present : .replaced
    }

    /// Removes the socket file if it is still the one this server bound; returns whether it did.
    /// The lock is kept until this value is released (the process's end at the latest).
    @discardableResult
    func removeSocket() -> Bool {
        let removed = status() == .present && unlink(path) == 0
        identity.withLock { $0 = nil }
        return removed
    }

    // MARK: Steps

    private static func lock(_ lockPath: String, socket: String) throws -> Int32 {
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ServiceError(
                .failedPrecondition,
                "socket: cannot open the lock file \(lockPath) (errno \(errno)); is the folder writable?"
            )
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = readPID(descriptor)
            close(descriptor)
            throw ServiceError(
                .failedPrecondition,
                "socket: another Warden server\(holder.map { " (pid \($0))" } ?? "") is serving \(socket) "
                    + "(it holds \(lockPath)); stop it or give this one another socket path"
            )
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return descriptor
    }

    private static func readPID(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingWhitespace)
    }

    /// Removes a stale socket at `path` (we hold the lock, so no live server owns it); refuses
    /// anything that is not a socket.
    private static func removeStale(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            guard errno == ENOENT else {
                throw ServiceError(.failedPrecondition, "socket: cannot inspect \(path) (errno \(errno))")
            }
            return
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFSOCK else {
            let kind =
                switch type {
                case S_IFLNK: "a symbolic link"
                case S_IFDIR: "a folder"
                case S_IFREG: "a regular file"
                default: "not a socket"
                }
            throw ServiceError(
                .failedPrecondition,
                "socket: \(path) exists and is \(kind), not a socket; remove it or choose another path"
            )
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw ServiceError(.failedPrecondition, "socket: cannot remove the stale socket \(path) (errno \(errno))")
        }
    }

    private static func identity(of path: String, socketOnly: Bool) -> (dev: UInt64, ino: UInt64)? {
        var info = stat()
        guard lstat(path, &info) == 0, !socketOnly || (info.st_mode & S_IFMT) == S_IFSOCK else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        String(unicodeScalars.filter { !$0.properties.isWhitespace })
    }
}
