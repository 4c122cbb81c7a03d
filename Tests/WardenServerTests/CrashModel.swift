import SwiftProtobuf
import WardenClient
import WardenModel
import WardenProto
import WardenTestSupport

/// One fact of the permission state, in a form that the server's Export, a store snapshot and
/// the crash test's own model share: two states are equal when their sets of facts are.
enum Fact: Hashable, Sendable, CustomStringConvertible {
    case contentType(String, codenames: [String])
    case user(String, username: String?, active: Bool, superuser: Bool)
    case group(String)
    case member(user: String, group: String)
    case grant(GrantKey)

    /// An exported record's fact.
    init?(_ record: Warden_V1_Record) {
        switch record.record {
        case .contentType(let type)?: self = .contentType(type.contentType, codenames: type.custom.sorted())
        case .user(let user)?:
            self = .user(
                user.id,
                username: user.hasUsername ? user.username : nil,
                active: user.hasIsActive ? user.isActive : true,
                superuser: user.isSuperuser
            )
        case .group(let name)?: self = .group(name)
        case .member(let member)?: self = .member(user: member.user, group: member.group)
        case .grant(let grant)?:
            let subject: SubjectKey
            switch grant.subject.kind {
            case .user(let id)?: subject = .user(id)
            case .group(let name)?: subject = .group(name)
            case nil: return nil
            }
            let codename = String(grant.permission.split(separator: ".").last ?? "")
            self = .grant(GrantKey(subject, contentType: grant.contentType, codename, pk: grant.hasPk ? grant.pk : nil))
        case nil: return nil
        }
    }

    /// A store snapshot's change as a fact (a snapshot holds only registrations, users, groups,
    /// memberships and grants).
    init?(_ change: Change) {
        switch change {
        case .register(let type): self = .contentType(type.name.description, codenames: type.codenames.sorted())
        case .putUser(let user):
            self = .user(user.id, username: user.username, active: user.isActive, superuser: user.isSuperuser)
        case .putGroup(let name): self = .group(name)
        case .addMember(let user, let group): self = .member(user: user, group: group)
        case .grant(let grant):
            let subject: SubjectKey =
                switch grant.subject {
                case .user(let id): .user(id)
                case .group(let name): .group(name)
                }
            self = .grant(
                GrantKey(
                    subject,
                    contentType: grant.permission.contentType.description,
                    grant.permission.codename,
                    pk: grant.pk
                )
            )
        default: return nil
        }
    }

    /// The user or group whose fact this is (`nil` for content types).
    var owner: String? {
        switch self {
        case .contentType: nil
        case .user(let id, _, _, _): id
        case .group(let name): name
        case .member(let user, _): user
        case .grant(let key): key.subject.name
        }
    }

    var description: String {
        switch self {
        case .contentType(let name, let codenames): "type \(name) \(codenames.joined(separator: ","))"
        case .user(let id, let username, let active, let superuser):
            "user \(id) \(username ?? "-")\(active ? "" : " inactive")\(superuser ? " superuser" : "")"
        case .group(let name): "group \(name)"
        case .member(let user, let group): "member \(user) in \(group)"
        case .grant(let key): "grant \(key)"
        }
    }
}

enum SubjectKey: Hashable, Sendable {
    case user(String)
    case group(String)

    var name: String {
        switch self {
        case .user(let id): id
        case .group(let name): name
        }
    }

    var proto: Warden_V1_Subject {
        switch self {
        case .user(let id): .user(id)
        case .group(let name): .group(name)
        }
    }
}

/// A grant: subject × permission × object (or model-level, `pk == nil`).
struct GrantKey: Hashable, Sendable, CustomStringConvertible {
    let subject: SubjectKey
    let contentType: String
    let codename: String
    let pk: String?

    init(_ subject: SubjectKey, contentType: String, _ codename: String, pk: String?) {
        self.subject = subject
        self.contentType = contentType
        self.codename = codename
        self.pk = pk
    }

    /// `app_label.codename`.
    var permission: String { "\(contentType.split(separator: ".")[0]).\(codename)" }
    var proto: Warden_V1_Grant { Warden_V1_Grant(subject.proto, permission, pk: pk, contentType: contentType) }
    var model: Grant {
        let subject: Subject =
            switch subject {
            case .user(let id): .user(id)
            case .group(let name): .group(name)
            }
        return try! Grant(
            subject: subject,
            permission: PermissionRef(contentType: ContentTypeName(contentType), codename: codename),
            pk: pk
        )
    }
    var description: String { "\(subject) \(permission) \(pk ?? "*")" }
}

/// One write a crash-test client makes, with its expected effect on the state.
enum Write: Sendable, CustomStringConvertible {
    case putUser(String, username: String?, active: Bool)
    case deleteUser(String)
    case putGroup(String)
    case deleteGroup(String)
    case addMember(user: String, group: String)
    case removeMember(user: String, group: String)
    case grant(GrantKey)
    case revoke(GrantKey)
    case deleteObject(contentType: String, pk: String)
    case bulkGrant([GrantKey])
    case bulkRevoke([GrantKey])
    /// A WriteBatch: user, group, membership and grant records in one transaction.
    case batch([Write])

    var description: String {
        switch self {
        case .putUser(let id, let username, let active): "PutUser \(id) \(username ?? "-") active=\(active)"
        case .deleteUser(let id): "DeleteUser \(id)"
        case .putGroup(let name): "PutGroup \(name)"
        case .deleteGroup(let name): "DeleteGroup \(name)"
        case .addMember(let user, let group): "AddMember \(user) \(group)"
        case .removeMember(let user, let group): "RemoveMember \(user) \(group)"
        case .grant(let key): "Grant \(key)"
        case .revoke(let key): "Revoke \(key)"
        case .deleteObject(let type, let pk): "DeleteObject \(type) \(pk)"
        case .bulkGrant(let keys): "BulkGrant \(keys.count) rows"
        case .bulkRevoke(let keys): "BulkRevoke \(keys.count) rows"
        case .batch(let writes): "WriteBatch \(writes.count) records"
        }
    }

    /// The change a single write commits (`nil` for bulk streams and batches).
    var change: Change? {
        switch self {
        case .putUser(let id, let username, let active):
            .putUser(try! User(id: id, username: username, isActive: active))
        case .deleteUser(let id): .deleteUser(id: id)
        case .putGroup(let name): .putGroup(name: name)
        case .deleteGroup(let name): .deleteGroup(name: name)
        case .addMember(let user, let group): .addMember(user: user, group: group)
        case .removeMember(let user, let group): .removeMember(user: user, group: group)
        case .grant(let key): .grant(key.model)
        case .revoke(let key): .revoke(key.model)
        case .deleteObject(let type, let pk): .deleteObject(contentType: try! ContentTypeName(type), pk: pk)
        case .bulkGrant, .bulkRevoke, .batch: nil
        }
    }

    /// The record of a write that a WriteBatch can carry.
    var record: Warden_V1_Record {
        var record = Warden_V1_Record()
        switch self {
        case .putUser(let id, let username, let active):
            record.user = .with {
                $0.id = id
                if let username { $0.username = username }
                $0.isActive = active
            }
        case .putGroup(let name): record.group = name
        case .addMember(let user, let group):
            record.member = .with {
                $0.user = user
                $0.group = group
            }
        case .grant(let key): record.grant = key.proto
        default: preconditionFailure("\(self) is not a WriteBatch record")
        }
        return record
    }
}

/// What the server answered to a write.
struct WriteAck: Sendable {
    let revision: UInt64
    let changed: Bool
    /// Rows (bulk) or records (WriteBatch) that changed the state.
    let count: UInt64
}

extension WardenConnection {
    /// Sends `write` and returns the server's acknowledgement; bulk streams go in chunks of 8
    /// grants, so that a kill can land between the chunks of one stream.
    func send(_ write: Write) async throws -> WriteAck {
        func ack(_ response: Warden_V1_WriteResponse) -> WriteAck {
            WriteAck(revision: response.revision, changed: response.changed, count: response.changed ? 1 : 0)
        }
        switch write {
        case .putUser(let id, let username, let active):
            return ack(try await putUser(id, username: username, isActive: active))
        case .deleteUser(let id): return ack(try await deleteUser(id))
        case .putGroup(let name): return ack(try await putGroup(name))
        case .deleteGroup(let name): return ack(try await deleteGroup(name))
        case .addMember(let user, let group): return ack(try await addMember(user: user, group: group))
        case .removeMember(let user, let group): return ack(try await removeMember(user: user, group: group))
        case .grant(let key): return ack(try await grant(key.proto))
        case .revoke(let key): return ack(try await revoke(key.proto))
        case .deleteObject(let type, let pk): return ack(try await deleteObject(Warden_V1_ObjectRef(type, pk)))
        case .bulkGrant(let keys):
            let response = try await bulkGrant(keys.map(\.proto), chunkSize: 8)
            return WriteAck(revision: response.revision, changed: response.count > 0, count: response.count)
        case .bulkRevoke(let keys):
            let response = try await bulkRevoke(keys.map(\.proto), chunkSize: 8)
            return WriteAck(revision: response.revision, changed: response.count > 0, count: response.count)
        case .batch(let writes):
            let response = try await writeBatch(writes.map(\.record))
            return WriteAck(revision: response.revision, changed: response.changed > 0, count: response.changed)
        }
    }
}

/// A set of facts and the writes' expected effects on it, as DESIGN.md §1 states them; and the
/// answers Check and ListObjects should give from it.
struct FactSet: Hashable, Sendable {
    var facts: Set<Fact> = []

    func applying(_ write: Write) -> FactSet {
        var copy = self
        copy.apply(write)
        return copy
    }

    mutating func apply(_ write: Write) {
        switch write {
        case .putUser(let id, let username, let active):
            facts = facts.filter { if case .user(id, _, _, _) = $0 { false } else { true } }
            facts.insert(.user(id, username: username, active: active, superuser: false))
        case .deleteUser(let id):
            facts = facts.filter { fact in
                switch fact {
                case .user(id, _, _, _), .member(id, _): false
                case .grant(let key): key.subject != .user(id)
                default: true
                }
            }
        case .putGroup(let name): facts.insert(.group(name))
        case .deleteGroup(let name):
            facts = facts.filter { fact in
                switch fact {
                case .group(name), .member(_, name): false
                case .grant(let key): key.subject != .group(name)
                default: true
                }
            }
        case .addMember(let user, let group): facts.insert(.member(user: user, group: group))
        case .removeMember(let user, let group): facts.remove(.member(user: user, group: group))
        case .grant(let key): facts.insert(.grant(key))
        case .revoke(let key): facts.remove(.grant(key))
        case .deleteObject(let type, let pk):
            facts = facts.filter {
                if case .grant(let key) = $0 { key.contentType != type || key.pk != pk } else { true }
            }
        case .bulkGrant(let keys): for key in keys { facts.insert(.grant(key)) }
        case .bulkRevoke(let keys): for key in keys { facts.remove(.grant(key)) }
        case .batch(let writes): for write in writes { apply(write) }
        }
    }

    var users: [String] {
        facts.compactMap { if case .user(let id, _, _, _) = $0 { id } else { nil } }.sorted()
    }
    var groups: [String] { facts.compactMap { if case .group(let name) = $0 { name } else { nil } }.sorted() }
    var members: [(user: String, group: String)] {
        facts.compactMap { if case .member(let user, let group) = $0 { (user, group) } else { nil } }
    }
    var grants: [GrantKey] { facts.compactMap { if case .grant(let key) = $0 { key } else { nil } } }

    /// The subjects whose grants count for `user`: the user and its groups; none when the user
    /// is unknown or inactive.
    private func subjects(of user: String) -> [SubjectKey] {
        guard facts.contains(where: { if case .user(user, _, true, _) = $0 { true } else { false } }) else { return [] }
        return [.user(user)] + members.filter { $0.user == user }.map { .group($0.group) }
    }

    /// Check(user, permission, object) with the server's defaults (model grants imply object access).
    func allows(_ user: String, contentType: String, _ codename: String, pk: String) -> Bool {
        subjects(of: user).contains { subject in
            facts.contains(.grant(GrantKey(subject, contentType: contentType, codename, pk: pk)))
                || facts.contains(.grant(GrantKey(subject, contentType: contentType, codename, pk: nil)))
        }
    }

    /// ListObjects(user, [permission]): `nil` when unrestricted (a model grant), else the pks.
    func objects(_ user: String, contentType: String, _ codename: String) -> Set<String>? {
        let subjects = subjects(of: user)
        var pks: Set<String> = []
        for key in grants
        where key.contentType == contentType && key.codename == codename && subjects.contains(key.subject) {
            guard let pk = key.pk else { return nil }
            pks.insert(pk)
        }
        return pks
    }
}

/// Picks a crash-test client's next write: valid for the state it knows (every subject a grant
/// or a membership names exists), on its own users, groups and objects only, so that its
/// expected state depends on its own writes alone.
struct WriteGenerator {
    let contentType: String
    let codenames: [String]
    let userPool: [String]
    let groupPool: [String]
    let pkPool: [String]

    init(prefix: String, contentType: String, codenames: [String]) {
        self.contentType = contentType
        self.codenames = codenames
        userPool = (0..<4).map { "\(prefix)u\($0)" }
        groupPool = (0..<2).map { "\(prefix)g\($0)" }
        pkPool = (0..<12).map { "\(prefix)o\($0)" }
    }

    func next(_ state: FactSet, _ random: inout SplitMix64) -> Write {
        let users = state.users
        let groups = state.groups
        if users.isEmpty { return putUser(&random) }
        let subjects: [SubjectKey] = users.map { .user($0) } + groups.map { .group($0) }
        switch random.int(0..<100) {
        case 0..<30: return .grant(grant(subjects, &random, modelLevel: random.chance(0.1)))
        case 30..<42:
            let held = state.grants
            return .revoke(
                !held.isEmpty && random.chance(0.7) ? random.pick(held) : grant(subjects, &random, modelLevel: false)
            )
        case 42..<50: return putUser(&random)
        case 50..<52: return .deleteUser(random.pick(users))
        case 52..<56: return .putGroup(random.pick(groupPool))
        case 56..<57: return groups.isEmpty ? .putGroup(random.pick(groupPool)) : .deleteGroup(random.pick(groups))
        case 57..<65:
            return groups.isEmpty
                ? .putGroup(random.pick(groupPool)) : .addMember(user: random.pick(users), group: random.pick(groups))
        case 65..<69:
            let members = state.members
            guard !members.isEmpty else { return .putGroup(random.pick(groupPool)) }
            let member = random.pick(members)
            return .removeMember(user: member.user, group: member.group)
        case 69..<73: return .deleteObject(contentType: contentType, pk: random.pick(pkPool))
        case 73..<82:
            return .bulkGrant((0..<random.int(10...80)).map { _ in grant(subjects, &random, modelLevel: false) })
        case 82..<88:
            let held = state.grants.filter { $0.pk != nil }
            var keys = (0..<random.int(3...12)).map { _ in grant(subjects, &random, modelLevel: false) }
            if !held.isEmpty { keys += (0..<random.int(5...40)).map { _ in random.pick(held) } }
            return .bulkRevoke(keys)
        default:
            // A user, a group, the membership and a few grants to both, in one transaction.
            let user = putUser(&random)
            guard case .putUser(let id, _, _) = user else { return user }
            let group = random.pick(groupPool)
            var records: [Write] = [user, .putGroup(group), .addMember(user: id, group: group)]
            records += (0..<random.int(1...6)).map { _ in
                .grant(grant([.user(id), .group(group)], &random, modelLevel: false))
            }
            return .batch(records)
        }
    }

    private func putUser(_ random: inout SplitMix64) -> Write {
        let id = random.pick(userPool)
        return .putUser(id, username: random.chance(0.5) ? "\(id)-name" : nil, active: random.chance(0.85))
    }

    private func grant(_ subjects: [SubjectKey], _ random: inout SplitMix64, modelLevel: Bool) -> GrantKey {
        GrantKey(
            random.pick(subjects),
            contentType: contentType,
            random.pick(codenames),
            pk: modelLevel ? nil : random.pick(pkPool)
        )
    }
}
