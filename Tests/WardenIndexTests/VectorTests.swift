import Foundation
import Testing
import WardenIndex
import WardenModel

/// Runs every scenario in `Vectors/` (format: `Vectors/README.md`) against a fresh index.
@Suite("Semantic vectors")
struct VectorTests {
    static let files: [URL] = {
        let folder = Bundle.module.resourceURL!.appendingPathComponent("Vectors")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().map { folder.appendingPathComponent($0) }
    }()

    @Test("scenario", arguments: files.map(\.lastPathComponent))
    func scenario(_ name: String) throws {
        let url = Self.files.first { $0.lastPathComponent == name }!
        var runner = try VectorRunner(url: url)
        let failures = try runner.run()
        for failure in failures { Issue.record(Comment(rawValue: "\(name): \(failure)")) }
    }

    @Test("the vectors hold at least 200 query cases")
    func enoughCases() throws {
        var queries = 0
        for url in Self.files {
            queries += try VectorRunner(url: url).steps.filter { $0["apply"] == nil }.count
        }
        #expect(queries >= 200, "only \(queries) query steps")
    }
}

/// One scenario file: builds the index, then runs the steps in order, collecting mismatches.
struct VectorRunner {
    typealias JSON = [String: Any]
    let document: JSON
    let steps: [JSON]
    let index: PermissionIndex
    /// Registered content types, to find a grant's type from `app.codename`.
    private var registered: [(name: ContentTypeName, codenames: [String])] = []

    init(url: URL) throws {
        document = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! JSON
        steps = document["steps"] as? [JSON] ?? []
        let settings = document["settings"] as? JSON ?? [:]
        index = PermissionIndex(
            settings: .init(
                acceptGlobalPerms: settings["accept_global_perms"] as? Bool ?? true,
                anonymousUser: settings["anonymous_user"] as? String
            )
        )
    }

    mutating func run() throws -> [String] {
        let setup = document["setup"] as? JSON ?? [:]
        var changes: [Change] = []
        for type in setup["content_types"] as? [JSON] ?? [] { changes.append(try register(type)) }
        for user in setup["users"] as? [JSON] ?? [] { changes.append(.putUser(try Self.user(user))) }
        for group in setup["groups"] as? [String] ?? [] { changes.append(.putGroup(name: group)) }
        for member in setup["members"] as? [JSON] ?? [] {
            changes.append(.addMember(user: member["user"] as! String, group: member["group"] as! String))
        }
        for grant in setup["grants"] as? [JSON] ?? [] { changes.append(.grant(try self.grant(grant))) }
        try index.apply(changes)

        var failures: [String] = []
        for step in steps {
            let name = step["name"] as? String ?? "?"
            do {
                if let problem = try run(step) { failures.append("\(name): \(problem)") }
            } catch {
                failures.append("\(name): the vector itself is malformed: \(error)")
            }
        }
        return failures
    }

    /// Runs one step; returns a description of the mismatch, or nil.
    private mutating func run(_ step: JSON) throws -> String? {
        let expect = step["expect"] as? JSON ?? [:]
        let outcome: Result<Any, IndexError>
        if let change = step["apply"] as? JSON {
            let changes = try self.changes(change)
            do {
                try index.apply(changes)
                return expect["error"] == nil ? nil : "expected \(expect), the change was applied"
            } catch {
                return Self.compareError(error, expect)
            }
        } else if let check = step["check"] as? JSON {
            outcome = Result { () throws(IndexError) in try index.check(Self.checkRequest(check)).value }.map { $0 }
        } else if let list = step["list_objects"] as? JSON {
            outcome = Result { () throws(IndexError) in try listAll(list) }
        } else if let list = step["list_subjects"] as? JSON {
            outcome = Result { () throws(IndexError) in try index.listSubjects(Self.subjectsQuery(list)).value }.map {
                $0
            }
        } else if let perms = step["get_permissions"] as? JSON {
            let query = try Self.permissionsQuery(perms)
            outcome = Result { () throws(IndexError) in try index.permissions(query).value }.map { $0 }
        } else {
            return "unknown step kind"
        }
        switch outcome {
        case .failure(let error): return Self.compareError(error, expect)
        case .success(let value):
            if expect["error"] != nil { return "expected \(expect), got \(value)" }
            return Self.compare(value, expect)
        }
    }

    // MARK: Comparing

    static func compareError(_ error: IndexError, _ expect: JSON) -> String? {
        guard let code = expect["error"] as? String else { return "unexpected error \(error)" }
        if code != error.code.rawValue { return "expected \(code), got \(error)" }
        for part in expect["message_contains"] as? [String] ?? [] where !error.message.contains(part) {
            return "message \"\(error.message)\" lacks \"\(part)\""
        }
        return nil
    }

    static func compare(_ value: Any, _ expect: JSON) -> String? {
        switch value {
        case let decision as Decision:
            let wanted = (expect["allowed"] as? Bool, expect["reason"] as? String, expect["group"] as? String)
            let got = (decision.allowed, decision.reason.rawValue, decision.group)
            return wanted == got ? nil : "expected \(wanted), got \(got)"
        case let pages as ObjectPages:
            if let reason = expect["unrestricted"] as? String {
                guard case .unrestricted(let decision) = pages else { return "expected unrestricted, got \(pages)" }
                let got = (decision.reason.rawValue, decision.group)
                return got == (reason, expect["group"] as? String) ? nil : "expected unrestricted \(reason), got \(got)"
            }
            guard case .pages(let got) = pages else { return "expected objects, got \(pages)" }
            if let wanted = expect["pages"] as? [[String]] {
                return wanted == got ? nil : "expected pages \(wanted), got \(got)"
            }
            let wanted = expect["pks"] as? [String] ?? []
            return wanted == got.flatMap { $0 } ? nil : "expected \(wanted), got \(got.flatMap { $0 })"
        case let list as SubjectList:
            let got = [encode(list.users, key: "id"), encode(list.groups, key: "name")]
            let wanted = [expect["users"] ?? [], expect["groups"] ?? []].map { NSArray(array: $0 as! [Any]) }
            return wanted == got.map { NSArray(array: $0) } ? nil : "expected \(wanted), got \(got)"
        case let codenames as [String]:
            let wanted = expect["perms"] as? [String] ?? []
            return wanted == codenames ? nil : "expected \(wanted), got \(codenames)"
        default:
            return "cannot compare \(value)"
        }
    }

    private static func encode(_ entries: [SubjectAccess], key: String) -> [Any] {
        entries.map { $0.permissions.isEmpty ? $0.name as Any : [key: $0.name, "perms": $0.permissions] as Any }
    }

    // MARK: Building requests

    enum ObjectPages: CustomStringConvertible {
        case unrestricted(Decision)
        case pages([[String]])
        var description: String {
            switch self {
            case .unrestricted(let decision): "unrestricted(\(decision))"
            case .pages(let pages): "\(pages)"
            }
        }
    }

    /// Follows page tokens to the end.
    private func listAll(_ json: JSON) throws(IndexError) -> ObjectPages {
        var query = ListObjectsQuery(
            subject: Self.subject(json),
            permissions: json["perms"] as? [String] ?? [],
            contentType: json["type"] as? String
        )
        query.anyPerm = json["any_perm"] as? Bool ?? false
        query.useGroups = json["use_groups"] as? Bool ?? true
        query.withSuperuser = json["with_superuser"] as? Bool ?? true
        query.acceptGlobalPerms = json["accept_global_perms"] as? Bool
        query.pageSize = json["page_size"] as? Int
        query.pageToken = json["page_token"] as? String
        var pages: [[String]] = []
        while true {
            switch try index.listObjects(query).value {
            case .unrestricted(let decision): return .unrestricted(decision)
            case .objects(let pks, let next):
                pages.append(pks)
                guard let next else { return .pages(pages) }
                if pages.count > 100_000 { return .pages(pages) }
                query.pageToken = next
            }
        }
    }

    static func subject(_ json: JSON) -> Subject? {
        if let user = json["user"] as? String { return .user(user) }
        if let group = json["group"] as? String { return .group(group) }
        return nil
    }

    static func checkRequest(_ json: JSON) -> CheckRequest {
        let type = json["type"] as? String
        let object = (json["pk"] as? String).map { ObjectRef(contentType: type ?? "", pk: $0) }
        return CheckRequest(
            subject: subject(json),
            permission: json["perm"] as? String ?? "",
            object: object,
            contentType: object == nil ? type : json["content_type"] as? String,
            acceptGlobalPerms: json["accept_global_perms"] as? Bool
        )
    }

    static func subjectsQuery(_ json: JSON) -> ListSubjectsQuery {
        var query = ListSubjectsQuery(
            object: ObjectRef(contentType: json["type"] as? String ?? "", pk: json["pk"] as? String ?? ""),
            permissions: json["perms"] as? [String] ?? []
        )
        query.withSuperusers = json["with_superusers"] as? Bool ?? false
        query.withGroupUsers = json["with_group_users"] as? Bool ?? true
        query.attachPerms = json["attach_perms"] as? Bool ?? false
        query.acceptGlobalPerms = json["accept_global_perms"] as? Bool
        return query
    }

    static func permissionsQuery(_ json: JSON) throws -> PermissionsQuery {
        var query = PermissionsQuery(
            subject: subject(json),
            object: ObjectRef(contentType: json["type"] as? String ?? "", pk: json["pk"] as? String ?? "")
        )
        if let mode = json["mode"] as? String {
            guard let parsed = PermissionsQuery.Mode(rawValue: mode) else { throw VectorError("unknown mode \(mode)") }
            query.mode = parsed
        }
        query.acceptGlobalPerms = json["accept_global_perms"] as? Bool
        return query
    }

    // MARK: Building changes

    private mutating func changes(_ json: JSON) throws -> [Change] {
        guard json.count == 1, let (kind, value) = json.first else { throw VectorError("apply needs one key") }
        switch kind {
        case "grant": return [.grant(try grant(value as! JSON))]
        case "revoke": return [.revoke(try grant(value as! JSON))]
        case "bulk_grant": return try (value as! [JSON]).map { .grant(try grant($0)) }
        case "bulk_revoke": return try (value as! [JSON]).map { .revoke(try grant($0)) }
        case "put_user": return [.putUser(try Self.user(value as! JSON))]
        case "delete_user": return [.deleteUser(id: value as! String)]
        case "put_group": return [.putGroup(name: value as! String)]
        case "delete_group": return [.deleteGroup(name: value as! String)]
        case "add_member", "remove_member":
            let member = value as! JSON
            let (user, group) = (member["user"] as! String, member["group"] as! String)
            return [
                kind == "add_member" ? .addMember(user: user, group: group) : .removeMember(user: user, group: group)
            ]
        case "register": return [try register(value as! JSON)]
        case "delete_object":
            let object = value as! JSON
            return [
                .deleteObject(contentType: try ContentTypeName(object["type"] as! String), pk: object["pk"] as! String)
            ]
        default: throw VectorError("unknown change \(kind)")
        }
    }

    private mutating func register(_ json: JSON) throws -> Change {
        let type = try ContentType(
            name: ContentTypeName(json["type"] as! String),
            defaults: json["defaults"] as? Bool ?? true,
            custom: json["custom"] as? [String] ?? []
        )
        registered.append((type.name, type.codenames))
        return .register(type)
    }

    static func user(_ json: JSON) throws -> User {
        try User(
            id: json["id"] as! String,
            username: json["username"] as? String,
            isActive: json["is_active"] as? Bool ?? true,
            isSuperuser: json["is_superuser"] as? Bool ?? false
        )
    }

    /// A grant from `{user|group, perm: app.codename, type?, pk?}`. Without `type`, the type is
    /// the registered type of that app holding the codename; an unregistered permission gets
    /// the placeholder type `app.unregistered`, which the index refuses as `NOT_FOUND`.
    private func grant(_ json: JSON) throws -> Grant {
        let perm = json["perm"] as! String
        guard let dot = perm.firstIndex(of: ".") else { throw VectorError("grant perm \(perm) needs app.codename") }
        let app = String(perm[..<dot])
        let codename = String(perm[perm.index(after: dot)...])
        let type: ContentTypeName
        if let explicit = json["type"] as? String {
            type = try ContentTypeName(explicit)
        } else {
            let candidates = Set(
                registered.filter { $0.name.appLabel == app && $0.codenames.contains(codename) }.map(\.name)
            )
            guard candidates.count <= 1 else { throw VectorError("grant \(perm) is ambiguous: give its type") }
            type = try candidates.first ?? ContentTypeName("\(app).unregistered")
        }
        let subject: Subject = (json["user"] as? String).map(Subject.user) ?? .group(json["group"] as! String)
        return try Grant(
            subject: subject,
            permission: PermissionRef(contentType: type, codename: codename),
            pk: json["pk"] as? String
        )
    }
}

struct VectorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
