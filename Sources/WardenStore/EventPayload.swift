import Foundation
import WardenModel

/// A changelog row's `payload`: a flat JSON object with stable keys, so the format outlives
/// changes to the Swift types. Absent keys are absent fields.
struct EventPayload: Codable {
    var change: String?
    var user: String?
    var group: String?
    var username: String?
    var isActive: Bool?
    var isSuperuser: Bool?
    var contentType: String?
    var codename: String?
    var codenames: [String]?
    var pk: String?
    var count: Int?
    var failure: String?
    var message: String?
    var actor: String?
    var attempted: Bool?

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    func encoded() -> String { String(decoding: try! Self.encoder.encode(self), as: UTF8.self) }

    static func decode(_ text: String) throws -> EventPayload {
        try JSONDecoder().decode(EventPayload.self, from: Data(text.utf8))
    }

    /// The payload that records `change` (or, with `attempted`, a change that was refused).
    init(_ change: Change?, attempted: Bool = false) {
        self.attempted = attempted ? true : nil
        guard let change else { return }
        switch change {
        case .putUser(let user):
            self.change = "put_user"
            self.user = user.id
            username = user.username
            isActive = user.isActive
            isSuperuser = user.isSuperuser
        case .deleteUser(let id):
            self.change = "delete_user"
            user = id
        case .putGroup(let name):
            self.change = "put_group"
            group = name
        case .deleteGroup(let name):
            self.change = "delete_group"
            group = name
        case .addMember(let user, let group):
            self.change = "add_member"
            self.user = user
            self.group = group
        case .removeMember(let user, let group):
            self.change = "remove_member"
            self.user = user
            self.group = group
        case .register(let type):
            self.change = "register"
            contentType = type.name.description
            codenames = type.codenames
        case .grant(let grant):
            self.change = "grant"
            set(grant)
        case .revoke(let grant):
            self.change = "revoke"
            set(grant)
        case .deleteObject(let type, let pk):
            self.change = "delete_object"
            contentType = type.description
            self.pk = pk
        }
    }

    private mutating func set(_ grant: Grant) {
        switch grant.subject {
        case .user(let id): user = id
        case .group(let name): group = name
        }
        contentType = grant.permission.contentType.description
        codename = grant.permission.codename
        pk = grant.pk
    }

    /// The change this payload records.
    func decodedChange() throws -> Change? {
        guard let change else { return nil }
        func required<T>(_ value: T?, _ name: String) throws -> T {
            guard let value else { throw StoreError(.internal, "changelog payload lacks \(name)") }
            return value
        }
        switch change {
        case "put_user":
            return .putUser(
                try User(
                    id: required(user, "user"),
                    username: username,
                    isActive: isActive ?? true,
                    isSuperuser: isSuperuser ?? false
                )
            )
        case "delete_user": return .deleteUser(id: try required(user, "user"))
        case "put_group": return .putGroup(name: try required(group, "group"))
        case "delete_group": return .deleteGroup(name: try required(group, "group"))
        case "add_member": return .addMember(user: try required(user, "user"), group: try required(group, "group"))
        case "remove_member":
            return .removeMember(user: try required(user, "user"), group: try required(group, "group"))
        case "register":
            return .register(
                ContentType(
                    stored: try ContentTypeName(required(contentType, "contentType")),
                    codenames: codenames ?? []
                )
            )
        case "grant", "revoke":
            let subject: Subject = try user.map(Subject.user) ?? .group(required(group, "group"))
            let permission = try PermissionRef(
                contentType: ContentTypeName(required(contentType, "contentType")),
                codename: required(codename, "codename")
            )
            let grant = try Grant(subject: subject, permission: permission, pk: pk)
            return change == "grant" ? .grant(grant) : .revoke(grant)
        case "delete_object":
            return .deleteObject(
                contentType: try ContentTypeName(required(contentType, "contentType")),
                pk: try required(pk, "pk")
            )
        default:
            throw StoreError(.internal, "unknown change \(change) in the changelog")
        }
    }
}
