import WardenModel

/// The permission index's data: every identifier interned to a dense integer, every grant kept
/// twice — in its object's access list (for checks and who-has-access) and in its subject's
/// per-permission object list (for list-objects) — so no query scans what it does not return.
///
/// Subjects are 32-bit keys: a user's id, or a group's id with the top bit set. An access-list
/// entry is `subject key << 32 | permission id`, and a sorted access list puts each subject's
/// grants side by side.
///
/// Noncopyable: readers borrow it in place through the index's pointer. A copy would retain and
/// release every array on each read; an `inout` access by concurrent readers would break
/// Swift's exclusivity rules.
struct IndexState: ~Copyable {
    var revision = Revision.zero

    var userIDs = ByteTable()
    var users: [UserRecord] = []
    /// Each user's `UserFlags`, one byte a user: the first thing a check reads stays in cache.
    var userFlags: [UInt8] = []
    /// Each user's `ObjectOrder` key, for listing users in order.
    var userOrderKeys: [UInt64] = []
    var usernames = ByteTable()
    var userOfUsername: [UInt32] = []
    /// Users with `is_superuser`, active or not, sorted.
    var superusers: [UInt32] = []

    var groupNames = ByteTable()
    var groups: [GroupRecord] = []

    var typeNames = ByteTable()
    var types: [TypeRecord] = []
    /// `app_label.codename` → its permissions (two when two types of the app share a codename).
    var permissionNames = ByteTable()
    var permissionsOfName: [[UInt32]] = []
    var permissions: [PermissionRecord] = []

    var objectGrantCount = 0
    var modelGrantCount = 0

    static let groupBit: UInt32 = 1 << 31

    @inline(__always) static func userKey(_ uid: UInt32) -> UInt32 { uid }
    @inline(__always) static func groupKey(_ gid: UInt32) -> UInt32 { gid | groupBit }
    @inline(__always) static func entry(_ subjectKey: UInt32, _ permission: UInt32) -> UInt64 {
        UInt64(subjectKey) << 32 | UInt64(permission)
    }
}

/// The bits of `IndexState.userFlags`.
enum UserFlags {
    static let active: UInt8 = 1
    static let superuser: UInt8 = 2

    static func of(_ user: User) -> UInt8 { (user.isActive ? active : 0) | (user.isSuperuser ? superuser : 0) }
}

/// A subject's grants.
struct SubjectGrants {
    /// Model-level grants: sorted permission ids.
    var model: [UInt32] = []
    /// Object grants: permission id → sorted object slots (of the permission's content type).
    var objects: [UInt32: [UInt32]] = [:]
}

/// Records live in arrays indexed by interned id; a freed id holds `vacant` until reused (the
/// id tables say which ids are live). Non-optional, so reads borrow in place instead of copying.
struct UserRecord {
    static let vacant = UserRecord(user: try! User(id: "-"))
    var user: User
    /// Sorted group ids.
    var groups: [UInt32] = []
    var grants = SubjectGrants()
}

struct GroupRecord {
    static let vacant = GroupRecord(name: "")
    var name: String
    /// Sorted user ids.
    var members: [UInt32] = []
    var grants = SubjectGrants()
}

struct PermissionRecord {
    let type: UInt32
    let codename: String
    /// Subjects holding it model-wide: sorted subject keys.
    var modelHolders: [UInt32] = []
}

struct TypeRecord {
    let name: ContentTypeName
    /// Codename → position in `permissions`.
    var codenames = ByteTable()
    /// Permission ids, in registration order.
    var permissions: [UInt32] = []
    /// The same ids ordered by codename (UTF-8 byte order), for sorted codename answers.
    var permissionsByCodename: [UInt32] = []
    /// pk → object slot. A slot exists while the object has at least one grant.
    var objects = ByteTable()
    /// Each slot's `ObjectOrder` key.
    var orderKeys: [UInt64] = []
    /// Each slot's access list: sorted `IndexState.entry` values, a single one inline.
    var acl = AccessLists()

    init(name: ContentTypeName) { self.name = name }

}

extension IndexState {
    /// The permission id of `codename` in content type `type`, if registered. Reads the type's
    /// fields in place (a method on `TypeRecord` would copy the whole record for each call).
    @inline(__always)
    func permission(codename: String, ofType type: UInt32) -> UInt32? {
        types[Int(type)].codenames.find(codename).map { types[Int(type)].permissions[Int($0)] }
    }

    /// The grants of the subject with this key.
    @inline(__always)
    func grants(of key: UInt32) -> SubjectGrants {
        key & Self.groupBit == 0 ? users[Int(key)].grants : groups[Int(key & ~Self.groupBit)].grants
    }

    /// The display name of the subject with this key (user id or group name).
    func name(of key: UInt32) -> String {
        key & Self.groupBit == 0 ? users[Int(key)].user.id : groups[Int(key & ~Self.groupBit)].name
    }

    /// Among `gids`, the group with the smallest name in byte order that satisfies `holds`.
    @inline(__always)
    func firstGroup<Groups: Sequence<UInt32>>(in gids: Groups, where holds: (UInt32) -> Bool) -> String? {
        var best: UInt32?
        for gid in gids where holds(gid) {
            if let current = best, !ObjectOrder.bytesPrecede(groups[Int(gid)].name, groups[Int(current)].name) {
                continue
            }
            best = gid
        }
        return best.map { groups[Int($0)].name }
    }
}

extension IndexState {
    /// The codenames of `held` (permission ids of `type`, sorted by id), in codename order.
    func codenames(_ held: [UInt32], of type: UInt32) -> [String] {
        var codenames: [String] = []
        codenames.reserveCapacity(held.count)
        for permission in types[Int(type)].permissionsByCodename where held.sortedContains(permission) {
            codenames.append(permissions[Int(permission)].codename)
        }
        return codenames
    }
}

extension Array {
    /// Stores `value` at `index`, growing the array by one when `index` is its end.
    mutating func store(_ value: Element, at index: UInt32) {
        if Int(index) == count { append(value) } else { self[Int(index)] = value }
    }
}
