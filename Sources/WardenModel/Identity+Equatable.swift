/// Byte-exact equality and hashing for the model's value types that carry identifiers
/// (`ExactString.swift` states the rule). Swift would synthesize both from `String`'s canonical
/// equivalence, so that a `Set<Grant>` or a `[Subject: …]` would merge two users whose ids are
/// distinct bytes; each type spells them out instead.

extension Subject {
    public static func == (lhs: Subject, rhs: Subject) -> Bool {
        switch (lhs, rhs) {
        case (.user(let a), .user(let b)), (.group(let a), .group(let b)): a.isExactly(b)
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .user(let id):
            hasher.combine(0)
            hasher.combine(exactly: id)
        case .group(let name):
            hasher.combine(1)
            hasher.combine(exactly: name)
        }
    }
}

extension ObjectRef {
    public static func == (lhs: ObjectRef, rhs: ObjectRef) -> Bool {
        lhs.contentType.isExactly(rhs.contentType) && lhs.pk.isExactly(rhs.pk)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(exactly: contentType)
        hasher.combine(exactly: pk)
    }
}

extension User {
    public static func == (lhs: User, rhs: User) -> Bool {
        lhs.id.isExactly(rhs.id) && ExactString.same(lhs.username, rhs.username) && lhs.isActive == rhs.isActive
            && lhs.isSuperuser == rhs.isSuperuser
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(exactly: id)
        hasher.combine(exactly: username)
        hasher.combine(isActive)
        hasher.combine(isSuperuser)
    }
}

extension Grant {
    public static func == (lhs: Grant, rhs: Grant) -> Bool {
        lhs.subject == rhs.subject && lhs.permission == rhs.permission && ExactString.same(lhs.pk, rhs.pk)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(subject)
        hasher.combine(permission)
        hasher.combine(exactly: pk)
    }
}

extension CheckAudit {
    public static func == (lhs: CheckAudit, rhs: CheckAudit) -> Bool {
        lhs.subject == rhs.subject && lhs.permission.isExactly(rhs.permission) && lhs.object == rhs.object
            && lhs.decision == rhs.decision && lhs.revision == rhs.revision
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(subject)
        hasher.combine(exactly: permission)
        hasher.combine(object)
        hasher.combine(decision)
        hasher.combine(revision)
    }
}

extension Change {
    public static func == (lhs: Change, rhs: Change) -> Bool {
        switch (lhs, rhs) {
        case (.putUser(let a), .putUser(let b)): a == b
        case (.deleteUser(let a), .deleteUser(let b)), (.putGroup(let a), .putGroup(let b)),
            (.deleteGroup(let a), .deleteGroup(let b)):
            a.isExactly(b)
        case (.addMember(let userA, let groupA), .addMember(let userB, let groupB)),
            (.removeMember(let userA, let groupA), .removeMember(let userB, let groupB)):
            userA.isExactly(userB) && groupA.isExactly(groupB)
        case (.register(let a), .register(let b)): a == b
        case (.grant(let a), .grant(let b)), (.revoke(let a), .revoke(let b)): a == b
        case (.deleteObject(let typeA, let pkA), .deleteObject(let typeB, let pkB)):
            typeA == typeB && pkA.isExactly(pkB)
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .putUser(let user):
            hasher.combine(0)
            hasher.combine(user)
        case .deleteUser(let id):
            hasher.combine(1)
            hasher.combine(exactly: id)
        case .putGroup(let name):
            hasher.combine(2)
            hasher.combine(exactly: name)
        case .deleteGroup(let name):
            hasher.combine(3)
            hasher.combine(exactly: name)
        case .addMember(let user, let group), .removeMember(let user, let group):
            hasher.combine({ if case .addMember = self { 4 } else { 5 } }())
            hasher.combine(exactly: user)
            hasher.combine(exactly: group)
        case .register(let type):
            hasher.combine(6)
            hasher.combine(type)
        case .grant(let grant), .revoke(let grant):
            hasher.combine({ if case .grant = self { 7 } else { 8 } }())
            hasher.combine(grant)
        case .deleteObject(let type, let pk):
            hasher.combine(9)
            hasher.combine(type)
            hasher.combine(exactly: pk)
        }
    }
}

extension ChangeEvent {
    public static func == (lhs: ChangeEvent, rhs: ChangeEvent) -> Bool {
        lhs.revision == rhs.revision && lhs.kind == rhs.kind && lhs.time == rhs.time && lhs.change == rhs.change
            && lhs.count == rhs.count && lhs.failure == rhs.failure && lhs.attempted == rhs.attempted
            && ExactString.same(lhs.message, rhs.message) && ExactString.same(lhs.actor, rhs.actor)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(revision)
        hasher.combine(kind)
        hasher.combine(change)
        hasher.combine(exactly: actor)
    }
}
