import WardenModel

/// Arrays that a large batch appended to without keeping them sorted; sorted (and
/// de-duplicated) once at the end of the batch, so a bulk load is O(n log n), not O(n²). An
/// array is named here only once an append breaks its order (`appendNotingOrder`): a load whose
/// rows arrive in order sorts nothing and hashes nothing.
struct PendingSorts {
    var accessLists: Set<UInt64> = []
    var subjectObjects: Set<UInt64> = []
    var holders: Set<UInt32> = []
    var subjectModels: Set<UInt32> = []
}

extension IndexState {
    /// Applies one change that `validate` accepted. With `pending`, grants append and defer
    /// their sorting; any other change first sorts what is pending.
    mutating func apply(_ change: Change, pending: inout PendingSorts?) {
        if case .grant(let grant) = change {
            self.grant(grant, pending: &pending)
            return
        }
        if pending != nil { finish(&pending!) }
        switch change {
        case .putUser(let user): putUser(user)
        case .deleteUser(let id): deleteUser(id)
        case .putGroup(let name):
            let (gid, inserted) = groupNames.insert(name)
            if inserted { groups.store(GroupRecord(name: name), at: gid) }
        case .deleteGroup(let name): deleteGroup(name)
        case .addMember(let user, let group): setMember(user: user, group: group, member: true)
        case .removeMember(let user, let group): setMember(user: user, group: group, member: false)
        case .register(let contentType): register(contentType)
        case .grant: break
        case .revoke(let grant): revoke(grant)
        case .deleteObject(let type, let pk): deleteObject(type: type, pk: pk)
        }
    }

    /// Sorts and de-duplicates every array a deferred batch appended to.
    mutating func finish(_ pending: inout PendingSorts) {
        for key in pending.accessLists {
            let (type, slot) = (Int(key >> 32), UInt32(truncatingIfNeeded: key))
            objectGrantCount -= types[type].acl.sortAndDeduplicate(slot)
        }
        for key in pending.subjectObjects {
            let (subject, permission) = (UInt32(key >> 32), UInt32(key & 0xFFFF_FFFF))
            modifyGrants(of: subject) { $0.objects[permission]!.sortAndDeduplicate() }
        }
        for permission in pending.holders {
            let before = permissions[Int(permission)].modelHolders.count
            permissions[Int(permission)].modelHolders.sortAndDeduplicate()
            modelGrantCount -= before - permissions[Int(permission)].modelHolders.count
        }
        for subject in pending.subjectModels {
            modifyGrants(of: subject) { $0.model.sortAndDeduplicate() }
        }
        pending = PendingSorts()
    }

    // MARK: Users and groups

    private mutating func putUser(_ user: User) {
        let (uid, inserted) = userIDs.insert(user.id)
        if inserted {
            users.store(UserRecord(user: user), at: uid)
        } else {
            if let old = users[Int(uid)].user.username, old.utf8.elementsEqual(user.username?.utf8 ?? "".utf8) == false
            {
                usernames.remove(old)
            }
            users[Int(uid)].user = user
        }
        if let username = user.username {
            userOfUsername.store(uid, at: usernames.insert(username).id)
        }
        userFlags.store(UserFlags.of(user), at: uid)
        userOrderKeys.store(ObjectOrder.key(user.id), at: uid)
        if user.isSuperuser { superusers.sortedInsert(uid) } else { superusers.sortedRemove(uid) }
    }

    private mutating func deleteUser(_ id: String) {
        guard let uid = userIDs.find(id) else { return }
        let record = users[Int(uid)]
        for gid in record.groups { groups[Int(gid)].members.sortedRemove(uid) }
        removeGrants(of: Self.userKey(uid), record.grants)
        if let username = record.user.username { usernames.remove(username) }
        superusers.sortedRemove(uid)
        userIDs.remove(id)
        users[Int(uid)] = .vacant
        userFlags[Int(uid)] = 0
    }

    private mutating func deleteGroup(_ name: String) {
        guard let gid = groupNames.find(name) else { return }
        let record = groups[Int(gid)]
        for uid in record.members { users[Int(uid)].groups.sortedRemove(gid) }
        removeGrants(of: Self.groupKey(gid), record.grants)
        groupNames.remove(name)
        groups[Int(gid)] = .vacant
    }

    private mutating func setMember(user: String, group: String, member: Bool) {
        guard let uid = userIDs.find(user), let gid = groupNames.find(group) else { return }
        if member {
            users[Int(uid)].groups.sortedInsert(gid)
            groups[Int(gid)].members.sortedInsert(uid)
        } else {
            users[Int(uid)].groups.sortedRemove(gid)
            groups[Int(gid)].members.sortedRemove(uid)
        }
    }

    // MARK: Content types

    private mutating func register(_ contentType: ContentType) {
        let (type, inserted) = typeNames.insert(contentType.name.description)
        if inserted { types.store(TypeRecord(name: contentType.name), at: type) }
        for codename in contentType.codenames where types[Int(type)].codenames.find(codename) == nil {
            let permission = UInt32(permissions.count)
            permissions.append(PermissionRecord(type: type, codename: codename))
            _ = types[Int(type)].codenames.insert(codename)
            types[Int(type)].permissions.append(permission)
            let (name, newName) = permissionNames.insert("\(contentType.name.appLabel).\(codename)")
            if newName {
                permissionsOfName.store([permission], at: name)
            } else {
                permissionsOfName[Int(name)].append(permission)
            }
        }
        let permissionIDs = types[Int(type)].permissions
        types[Int(type)].permissionsByCodename = permissionIDs.sorted {
            ObjectOrder.bytesPrecede(permissions[Int($0)].codename, permissions[Int($1)].codename)
        }
    }

    // MARK: Grants

    /// The ids a validated grant refers to.
    private func resolve(_ grant: Grant) -> (subject: UInt32, type: UInt32, permission: UInt32)? {
        guard let type = typeNames.find(grant.permission.contentType.description),
            let permission = permission(codename: grant.permission.codename, ofType: type)
        else { return nil }
        switch grant.subject {
        case .user(let id): return userIDs.find(id).map { (Self.userKey($0), type, permission) }
        case .group(let name): return groupNames.find(name).map { (Self.groupKey($0), type, permission) }
        }
    }

    private mutating func grant(_ grant: Grant, pending: inout PendingSorts?) {
        guard let (subject, type, permission) = resolve(grant) else { return }
        guard let pk = grant.pk else {
            if pending != nil {
                var unordered = false
                modifyGrants(of: subject) { unordered = $0.model.appendNotingOrder(permission) }
                if unordered { pending!.subjectModels.insert(subject) }
                if permissions[Int(permission)].modelHolders.appendNotingOrder(subject) {
                    pending!.holders.insert(permission)
                }
                modelGrantCount += 1
            } else if permissions[Int(permission)].modelHolders.sortedInsert(subject) {
                modifyGrants(of: subject) { $0.model.sortedInsert(permission) }
                modelGrantCount += 1
            }
            return
        }
        let (slot, newObject) = types[Int(type)].objects.insert(pk)
        if newObject {
            types[Int(type)].orderKeys.store(ObjectOrder.key(pk), at: slot)
            types[Int(type)].acl.open(slot)
        }
        let entry = Self.entry(subject, permission)
        if pending != nil {
            if types[Int(type)].acl.append(entry, to: slot) {
                pending!.accessLists.insert(UInt64(type) << 32 | UInt64(slot))
            }
            var unordered = false
            modifyGrants(of: subject) { grants in
                unordered = grants.objects[permission, default: []].appendNotingOrder(slot)
            }
            if unordered { pending!.subjectObjects.insert(UInt64(subject) << 32 | UInt64(permission)) }
            objectGrantCount += 1
        } else if types[Int(type)].acl.insert(entry, into: slot) {
            modifyGrants(of: subject) { $0.objects[permission, default: []].sortedInsert(slot) }
            objectGrantCount += 1
        }
    }

    private mutating func revoke(_ grant: Grant) {
        guard let (subject, type, permission) = resolve(grant) else { return }
        guard let pk = grant.pk else {
            if permissions[Int(permission)].modelHolders.sortedRemove(subject) {
                modifyGrants(of: subject) { _ = $0.model.sortedRemove(permission) }
                modelGrantCount -= 1
            }
            return
        }
        guard let slot = types[Int(type)].objects.find(pk),
            types[Int(type)].acl.remove(Self.entry(subject, permission), from: slot)
        else { return }
        removeObjectEntry(subject: subject, permission: permission, slot: slot)
        objectGrantCount -= 1
        if types[Int(type)].acl.isEmpty(slot) { releaseObject(type: type, slot: slot) }
    }

    private mutating func deleteObject(type name: ContentTypeName, pk: String) {
        guard let type = typeNames.find(name.description), let slot = types[Int(type)].objects.find(pk) else { return }
        let accessList = types[Int(type)].acl.entries(of: slot)
        for entry in accessList {
            removeObjectEntry(subject: UInt32(entry >> 32), permission: UInt32(entry & 0xFFFF_FFFF), slot: slot)
        }
        objectGrantCount -= accessList.count
        releaseObject(type: type, slot: slot)
    }

    /// Removes every grant a deleted subject held.
    private mutating func removeGrants(of subject: UInt32, _ grants: SubjectGrants) {
        for permission in grants.model { permissions[Int(permission)].modelHolders.sortedRemove(subject) }
        modelGrantCount -= grants.model.count
        for (permission, slots) in grants.objects {
            let type = permissions[Int(permission)].type
            for slot in slots {
                types[Int(type)].acl.remove(Self.entry(subject, permission), from: slot)
                objectGrantCount -= 1
                if types[Int(type)].acl.isEmpty(slot) { releaseObject(type: type, slot: slot) }
            }
        }
    }

    private mutating func removeObjectEntry(subject: UInt32, permission: UInt32, slot: UInt32) {
        modifyGrants(of: subject) { grants in
            grants.objects[permission]?.sortedRemove(slot)
            if grants.objects[permission]?.isEmpty == true { grants.objects[permission] = nil }
        }
    }

    /// Frees an object slot whose access list became empty.
    private mutating func releaseObject(type: UInt32, slot: UInt32) {
        let pk = types[Int(type)].objects.keys[Int(slot)]
        types[Int(type)].objects.remove(pk)
        types[Int(type)].acl.clear(slot)
    }

    @inline(__always)
    mutating func modifyGrants(of key: UInt32, _ body: (inout SubjectGrants) -> Void) {
        if key & Self.groupBit == 0 {
            body(&users[Int(key)].grants)
        } else {
            body(&groups[Int(key & ~Self.groupBit)].grants)
        }
    }
}
