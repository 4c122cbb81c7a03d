import WardenModel

/// Keys to names, read in the same transaction as the rows that use them: what turns a
/// backend's grant rows (integer keys) into grants.
///
/// Made for a snapshot's millions of rows: keys index arrays (`KeyTable`), a subject is checked
/// against its rule once rather than once per grant it holds, and a grant is made from parts
/// already checked (`Grant(validated:)`). The pk, which each row brings, is checked per row.
struct Names {
    /// A subject, and whether it passed its rule (a row that names one that did not fails with
    /// the rule's error, as making its grant would).
    private struct Holder {
        let subject: Subject
        let valid: Bool

        init(_ subject: Subject) {
            self.subject = subject
            valid = (try? subject.validate()) != nil
        }
    }

    private var usersByUID = KeyTable<Holder>([])
    private var groupsByGID = KeyTable<Holder>([])
    private var permissions = KeyTable<PermissionRef>([])
    /// Registrations, by `ctid` (as stored, uncapped: a database from before the codename cap
    /// may hold more).
    var types: [Change] = []
    var users: [User] = []
    var groupNames: [String] = []

    init(_ reader: some BackendReader, withUserRows: Bool) throws {
        var codenames: [(ctid: Int64, name: String, codename: String)] = []
        var permissionKeys: [(key: Int64, value: PermissionRef)] = []
        for row in try reader.permissions() {
            permissionKeys.append(
                (row.pid, try PermissionRef(contentType: ContentTypeName(row.contentType), codename: row.codename))
            )
            codenames.append((row.ctid, row.contentType, row.codename))
        }
        permissions = KeyTable(permissionKeys)
        for (_, rows) in Dictionary(grouping: codenames, by: \.ctid).sorted(by: { $0.key < $1.key }) {
            types.append(
                .register(ContentType(stored: try ContentTypeName(rows[0].name), codenames: rows.map(\.codename)))
            )
        }
        var userKeys: [(key: Int64, value: Holder)] = []
        try reader.users { uid, id, row in
            userKeys.append((uid, Holder(.user(id))))
            if withUserRows {
                users.append(
                    try User(id: id, username: row.username, isActive: row.isActive, isSuperuser: row.isSuperuser)
                )
            }
        }
        usersByUID = KeyTable(userKeys)
        var groupKeys: [(key: Int64, value: Holder)] = []
        try reader.groups { gid, name in
            groupKeys.append((gid, Holder(.group(name))))
            if withUserRows { groupNames.append(name) }
        }
        groupsByGID = KeyTable(groupKeys)
    }

    /// The id of the user with key `uid`.
    func user(_ uid: Int64) -> String? {
        guard case .user(let id)? = usersByUID[uid]?.subject else { return nil }
        return id
    }

    /// The name of the group with key `gid`.
    func group(_ gid: Int64) -> String? {
        guard case .group(let name)? = groupsByGID[gid]?.subject else { return nil }
        return name
    }

    /// The grant of a row; `nil` when its subject or permission no longer exists.
    func grant(_ row: GrantRow) throws -> Grant? {
        guard let holder = row.subject > 0 ? usersByUID[row.subject] : groupsByGID[-row.subject],
            let permission = permissions[row.pid]
        else { return nil }
        if !holder.valid { try holder.subject.validate() }
        if let pk = row.pk { try Limits.checkIdentifier(pk, field: "object.pk") }
        return Grant(validated: holder.subject, permission: permission, pk: row.pk)
    }
}

/// Values by a backend's integer key. Keys are positive and mostly dense (SQLite's rowids,
/// PostgreSQL's identity columns), so an array indexed by key holds them, a lookup without
/// hashing; keys too sparse for that (a slot count above twice the keys plus a margin) go to a
/// dictionary.
struct KeyTable<Value> {
    private var dense: [Value?] = []
    private var sparse: [Int64: Value] = [:]

    init(_ pairs: [(key: Int64, value: Value)]) {
        let largest = pairs.lazy.map(\.key).max() ?? -1
        if pairs.allSatisfy({ $0.key >= 0 }) && largest < 2 * Int64(pairs.count) + 4096 {
            dense = Array(repeating: nil, count: Int(largest + 1))
            for (key, value) in pairs { dense[Int(key)] = value }
        } else {
            sparse = Dictionary(pairs, uniquingKeysWith: { first, _ in first })
        }
    }

    subscript(key: Int64) -> Value? {
        if key >= 0 && key < Int64(dense.count) { return dense[Int(key)] }
        return sparse.isEmpty ? nil : sparse[key]
    }
}
