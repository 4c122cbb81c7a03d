/// The process at the other end of a connection, as the kernel reports it (`SO_PEERCRED`).
public struct Caller: Hashable, Sendable, CustomStringConvertible {
    public let pid: Int32
    public let uid: UInt32
    public let gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }
}

/// What a caller may do.
public enum Role: Int, Comparable, Sendable {
    /// Nothing: every request is refused with `PERMISSION_DENIED` before any work.
    case none
    /// Reads: checks, lists, permissions, watch, health, stats.
    case reader
    /// Reads and writes.
    case admin

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Which peers are admitted, by uid and gid (DESIGN.md §5). A peer whose uid or primary gid is in
/// an admin list is an admin; else one in a reader list is a reader; everyone else is refused.
public struct AccessPolicy: Hashable, Sendable {
    public var readerUIDs: Set<UInt32>
    public var readerGIDs: Set<UInt32>
    public var adminUIDs: Set<UInt32>
    public var adminGIDs: Set<UInt32>

    public init(
        readerUIDs: Set<UInt32> = [],
        readerGIDs: Set<UInt32> = [],
        adminUIDs: Set<UInt32> = [],
        adminGIDs: Set<UInt32> = []
    ) {
        self.readerUIDs = readerUIDs
        self.readerGIDs = readerGIDs
        self.adminUIDs = adminUIDs
        self.adminGIDs = adminGIDs
    }

    /// The default: the server's own uid is admin, nobody else is admitted. Other processes of the
    /// same user (the usual sidecar setup) get in; a socket mode of 0660 lets the group connect,
    /// but its members are refused until a list names them.
    public static func ownerOnly(uid: UInt32) -> AccessPolicy { AccessPolicy(adminUIDs: [uid]) }

    public func role(of caller: Caller) -> Role {
        if adminUIDs.contains(caller.uid) || adminGIDs.contains(caller.gid) { return .admin }
        if readerUIDs.contains(caller.uid) || readerGIDs.contains(caller.gid) { return .reader }
        return .none
    }
}
