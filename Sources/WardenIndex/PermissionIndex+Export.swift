import WardenModel

extension PermissionIndex {
    /// Everything the index holds, as the changes that rebuild it: registrations, users, groups,
    /// memberships, model grants, object grants. Applied to an empty index, it gives the same
    /// answers; compared with a store's snapshot (as sets), it tells whether they agree.
    public func export() -> Evaluated<[Change]> {
        try! read { state in state.export() }
    }
}

extension IndexState {
    func export() -> [Change] {
        var changes: [Change] = []
        for (type, record) in types.enumerated() where typeNames.contains(id: UInt32(type)) {
            let codenames = record.permissions.map { permissions[Int($0)].codename }
            changes.append(.register(ContentType(stored: record.name, codenames: codenames)))
        }
        for uid in users.indices where userIDs.contains(id: UInt32(uid)) { changes.append(.putUser(users[uid].user)) }
        for gid in groups.indices where groupNames.contains(id: UInt32(gid)) {
            changes.append(.putGroup(name: groups[gid].name))
        }
        for uid in users.indices where userIDs.contains(id: UInt32(uid)) {
            for gid in users[uid].groups {
                changes.append(.addMember(user: users[uid].user.id, group: groups[Int(gid)].name))
            }
        }
        func grant(_ key: UInt32, _ permission: UInt32, _ pk: String?) -> Change {
            let subject: Subject = key & Self.groupBit == 0 ? .user(name(of: key)) : .group(name(of: key))
            let record = permissions[Int(permission)]
            let ref = try! PermissionRef(contentType: types[Int(record.type)].name, codename: record.codename)
            return .grant(try! Grant(subject: subject, permission: ref, pk: pk))
        }
        for permission in permissions.indices {
            for holder in permissions[permission].modelHolders {
                changes.append(grant(holder, UInt32(permission), nil))
            }
        }
        for type in types.indices {
            for slot in 0..<UInt32(types[type].acl.slotCount) where types[type].objects.contains(id: slot) {
                let pk = types[type].objects.keys[Int(slot)]
                types[type].acl.withEntries(of: slot) { entries in
                    for entry in entries {
                        changes.append(grant(UInt32(entry >> 32), UInt32(truncatingIfNeeded: entry), pk))
                    }
                }
            }
        }
        return changes
    }
}
