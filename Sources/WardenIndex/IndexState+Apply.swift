import WardenModel

/// What a large batch has not finished yet: arrays it appended to without keeping them sorted,
/// sorted (and de-duplicated) once at the end of the batch, so a bulk load is O(n log n), not
/// O(n²), and object grants not yet on their subjects' lists.
///
/// An array is named here only once an append breaks its order (`appendNotingOrder`): a load
/// whose rows arrive in order sorts nothing and hashes nothing.
///
/// The subject side of object grants waits in `subjectSide` and goes on the lists
/// `subjectBatch` at a time, grouped by subject (`IndexState.flushSubjectSide`). Rows arrive in
/// object order, each on a random subject: added one by one, each grant missed the caches twice,
/// for the subject's dictionary and for its list (a third of a 5M-grant cold load's build, in
/// `perf`). Grouped, a subject's lists are touched once a batch.
struct PendingSorts {
    var accessLists: Set<UInt64> = []
    var holders: Set<UInt32> = []
    var subjectModels: Set<UInt32> = []
    /// Object grants not yet on their subjects' lists, in arrival order: `subject key << 32 |
    /// permission`, and in `subjectSlots` the object slot.
    var subjectSide: [UInt64] = []
    var subjectSlots: [UInt32] = []
    /// How many grants `subjectSide` takes before they go on the lists: 12 bytes each.
    let subjectBatch: Int

    static let defaultSubjectBatch = 1 << 20

    init(subjectBatch: Int = PendingSorts.defaultSubjectBatch) {
        precondition(subjectBatch > 0)
        self.subjectBatch = subjectBatch
    }
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
        flushSubjectSide(&pending)
        for key in pending.accessLists {
            let (type, slot) = (Int(key >> 32), UInt32(truncatingIfNeeded: key))
            objectGrantCount -= types[type].acl.sortAndDeduplicate(slot)
        }
        for permission in pending.holders {
            let before = permissions[Int(permission)].modelHolders.count
            permissions[Int(permission)].modelHolders.sortAndDeduplicate()
            modelGrantCount -= before - permissions[Int(permission)].modelHolders.count
        }
        for subject in pending.subjectModels {
            modifyGrants(of: subject) { $0.model.sortAndDeduplicate() }
        }
        pending = PendingSorts(subjectBatch: pending.subjectBatch)
    }

    /// Puts the object grants waiting in `pending.subjectSide` on their subjects' lists: grouped
    /// by subject, each subject's grants sorted by permission and slot and appended, run by run,
    /// to its lists. A list whose order a run breaks (a slot not above its last) is sorted and
    /// de-duplicated; a slot equal to the one before it is dropped.
    ///
    /// A batch at least a quarter the size of the subjects is grouped by a counting sort (one
    /// pass to count, one to place); a smaller one, a bulk into a large index, by sorting it.
    mutating func flushSubjectSide(_ pending: inout PendingSorts) {
        let count = pending.subjectSide.count
        guard count > 0 else { return }
        // Each grant as `permission << 32 | slot`, grouped by subject: `subjects[n]`'s grants
        // end at `ends[n]`.
        var grouped: [UInt64] = []
        var subjects: [UInt32] = []
        var ends: [Int] = []
        let userCount = users.count
        let groupBit = Self.groupBit
        if count * 4 >= userCount + groups.count {
            // Subject positions: users first, then groups.
            @inline(__always) func position(_ key: UInt32) -> Int {
                key & groupBit == 0 ? Int(key) : userCount + Int(key & ~groupBit)
            }
            var starts = [Int](repeating: 0, count: userCount + groups.count + 1)
            for key in pending.subjectSide { starts[position(UInt32(key >> 32)) + 1] += 1 }
            for subject in 0..<(starts.count - 1) { starts[subject + 1] += starts[subject] }
            grouped = [UInt64](repeating: 0, count: count)
            var next = starts
            for (key, slot) in zip(pending.subjectSide, pending.subjectSlots) {
                let subject = position(UInt32(key >> 32))
                grouped[next[subject]] = (key & 0xFFFF_FFFF) << 32 | UInt64(slot)
                next[subject] += 1
            }
            for subject in 0..<(starts.count - 1) where starts[subject] < starts[subject + 1] {
                subjects.append(subject < userCount ? UInt32(subject) : UInt32(subject - userCount) | groupBit)
                ends.append(starts[subject + 1])
            }
        } else {
            let sorted = zip(pending.subjectSide, pending.subjectSlots).sorted { $0 < $1 }
            grouped.reserveCapacity(count)
            for (position, (key, slot)) in sorted.enumerated() {
                grouped.append((key & 0xFFFF_FFFF) << 32 | UInt64(slot))
                if position + 1 == count || sorted[position + 1].0 >> 32 != key >> 32 {
                    subjects.append(UInt32(key >> 32))
                    ends.append(position + 1)
                }
            }
        }
        pending.subjectSide.removeAll(keepingCapacity: true)
        pending.subjectSlots.removeAll(keepingCapacity: true)
        grouped.withUnsafeMutableBufferPointer { grouped in
            var start = 0
            for (subject, end) in zip(subjects, ends) {
                var entries = UnsafeMutableBufferPointer(rebasing: grouped[start..<end])
                start = end
                if !entries.isSortedStrictly { entries.sort() }
                modifyGrants(of: subject) { grants in
                    var first = 0
                    while first < entries.count {
                        let permission = UInt32(entries[first] >> 32)
                        var last = first + 1
                        while last < entries.count && UInt32(entries[last] >> 32) == permission { last += 1 }
                        grants.objects[permission, default: []].appendSlots(entries[first..<last])
                        first = last
                    }
                }
            }
        }
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
        guard let (type, permission) = resolve(grant.permission), let subject = subjectKey(grant.subject) else {
            return nil
        }
        return (subject, type, permission)
    }

    /// The type and permission ids of a registered permission.
    private func resolve(_ permission: PermissionRef) -> (type: UInt32, permission: UInt32)? {
        guard let type = typeNames.find(permission.contentType.description),
            let id = self.permission(codename: permission.codename, ofType: type)
        else { return nil }
        return (type, id)
    }

    /// The key of a known subject.
    private func subjectKey(_ subject: Subject) -> UInt32? {
        switch subject {
        case .user(let id): userIDs.find(id).map(Self.userKey)
        case .group(let name): groupNames.find(name).map(Self.groupKey)
        }
    }

    /// Applies a chunk of a load (`IndexLoader`). A run of grants has its subjects looked up
    /// first, in a loop whose lookups do not wait on each other, so the processor can overlap
    /// their cache misses (rows come in object order, each on a random subject); then each grant
    /// applies with its subject's key, its permission resolved once for a run of rows that
    /// share it. Other changes apply one by one.
    mutating func load(_ changes: [Change], pending: inout PendingSorts?) {
        var subjects: [UInt32?] = []
        var position = 0
        while position < changes.count {
            guard case .grant = changes[position] else {
                apply(changes[position], pending: &pending)
                position += 1
                continue
            }
            var end = position + 1
            while end < changes.count, case .grant = changes[end] { end += 1 }
            subjects.removeAll(keepingCapacity: true)
            for case .grant(let grant) in changes[position..<end] { subjects.append(subjectKey(grant.subject)) }
            var last: (permission: PermissionRef, ids: (type: UInt32, permission: UInt32)?)?
            for (subject, change) in zip(subjects, changes[position..<end]) {
                guard case .grant(let grant) = change, let subject else { continue }
                if last == nil || last!.permission != grant.permission {
                    last = (grant.permission, resolve(grant.permission))
                }
                guard let (type, permission) = last!.ids else { continue }
                self.grant(grant, subject: subject, type: type, permission: permission, pending: &pending)
            }
            position = end
        }
    }

    private mutating func grant(_ grant: Grant, pending: inout PendingSorts?) {
        guard let (subject, type, permission) = resolve(grant) else { return }
        self.grant(grant, subject: subject, type: type, permission: permission, pending: &pending)
    }

    @inline(__always)
    private mutating func grant(
        _ grant: Grant,
        subject: UInt32,
        type: UInt32,
        permission: UInt32,
        pending: inout PendingSorts?
    ) {
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
            pending!.subjectSide.append(UInt64(subject) << 32 | UInt64(permission))
            pending!.subjectSlots.append(slot)
            if pending!.subjectSide.count >= pending!.subjectBatch { flushSubjectSide(&pending!) }
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
