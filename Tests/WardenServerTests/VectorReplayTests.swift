import Foundation
import Testing
import WardenClient
import WardenModel
import WardenProto
import WardenWire

/// Replays every scenario of `Tests/WardenIndexTests/Vectors/` (format: its README.md) over the
/// socket of a real `warden serve` process, one fresh server per scenario, with the semantics of
/// `WardenIndexTests/VectorTests.swift`.
@Suite("Semantic vectors over the socket", .serialized)
struct VectorReplayTests {
    /// The vectors folder, found from this file: this target has no resources.
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("WardenIndexTests/Vectors")

    static let files: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }()

    @Test("the vectors folder is found")
    func vectorsFound() {
        #expect(!Self.files.isEmpty, "no vectors in \(Self.folder.path)")
    }

    /// Each scenario on a server over SQLite, and over a fresh PostgreSQL database when
    /// `WARDEN_TEST_POSTGRES` names a cluster (PostgresCluster).
    @Test("scenario", arguments: files, TestBackend.allCases)
    func scenario(_ name: String, _ backend: TestBackend) async throws {
        let runner = try WireVectorRunner(url: Self.folder.appendingPathComponent(name))
        let failures = try await backend.withDatabase(for: "vector \(name)") { database in
            try await withServer(environment: runner.environment, databasePath: database) { _, warden in
                try await runner.run(on: warden)
            }
        }
        for failure in failures ?? [] { Issue.record(Comment(rawValue: "\(name) on \(backend): \(failure)")) }
    }
}

/// One scenario file over the wire: setup through the write RPCs, then the steps in order,
/// collecting mismatches.
struct WireVectorRunner {
    typealias JSON = [String: Any]
    let document: JSON
    let steps: [JSON]
    let settings: JSON

    init(url: URL) throws {
        document = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! JSON
        steps = document["steps"] as? [JSON] ?? []
        settings = document["settings"] as? JSON ?? [:]
    }

    /// The server's settings as its environment (absent: accept global perms, no anonymous user).
    var environment: [String: String] {
        [
            "WARDEN_ACCEPT_GLOBAL_PERMS": (settings["accept_global_perms"] as? Bool ?? true) ? "true" : "false",
            "WARDEN_ANONYMOUS_USER": settings["anonymous_user"] as? String ?? "",
        ]
    }

    func run(on warden: WardenConnection) async throws -> [String] {
        var state = State(warden: warden)
        try await state.setup(document["setup"] as? JSON ?? [:])
        var failures: [String] = []
        for step in steps {
            let name = step["name"] as? String ?? "?"
            do {
                if let problem = try await state.run(step) { failures.append("\(name): \(problem)") }
            } catch {
                failures.append("\(name): the vector itself is malformed: \(error)")
            }
        }
        return failures
    }

    /// The connection and the registered content types (to find a grant's type from `app.codename`).
    struct State {
        let warden: WardenConnection
        private var registered: [(name: ContentTypeName, codenames: [String])] = []

        init(warden: WardenConnection) { self.warden = warden }

        mutating func setup(_ setup: JSON) async throws {
            for type in setup["content_types"] as? [JSON] ?? [] { try await register(type) }
            for user in setup["users"] as? [JSON] ?? [] { try await putUser(user) }
            for group in setup["groups"] as? [String] ?? [] { _ = try await warden.putGroup(group) }
            for member in setup["members"] as? [JSON] ?? [] {
                _ = try await warden.addMember(user: member["user"] as! String, group: member["group"] as! String)
            }
            let grants = try (setup["grants"] as? [JSON] ?? []).map(grant)
            if !grants.isEmpty { _ = try await warden.bulkGrant(grants) }
        }

        /// Runs one step; returns a description of the mismatch, or nil.
        mutating func run(_ step: JSON) async throws -> String? {
            let expect = step["expect"] as? JSON ?? [:]
            let outcome: Result<Answer, WardenError>
            if let change = step["apply"] as? JSON {
                let apply = try await self.apply(change)
                do {
                    try await apply()
                    return expect["error"] == nil ? nil : "expected \(expect), the change was applied"
                } catch let error as WardenError {
                    return Self.compareError(error, expect)
                }
            } else if let check = step["check"] as? JSON {
                outcome = await Self.catching { .decision(try await warden.check(Self.checkRequest(check)).decision) }
            } else if let list = step["list_objects"] as? JSON {
                outcome = await Self.catching { try await listAll(list) }
            } else if let list = step["list_subjects"] as? JSON {
                outcome = await Self.catching { .subjects(try await warden.listSubjects(Self.subjectsRequest(list))) }
            } else if let perms = step["get_permissions"] as? JSON {
                let request = try Self.permissionsRequest(perms)
                outcome = await Self.catching { .codenames(try await warden.getPermissions(request).codenames) }
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

        /// A server error as a failure; any other error (the connection's) propagates.
        static func catching(_ body: () async throws -> Answer) async -> Result<Answer, WardenError> {
            do { return .success(try await body()) } catch let error as WardenError { return .failure(error) } catch {
                return .failure(WardenError(code: .unknown, message: "not a server error: \(error)"))
            }
        }

        // MARK: Comparing

        enum Answer: CustomStringConvertible {
            case decision(Warden_V1_Decision)
            case unrestricted(Warden_V1_Decision)
            case pages([[String]])
            case subjects(Warden_V1_ListSubjectsResponse)
            case codenames([String])

            var description: String {
                switch self {
                case .decision(let decision): "decision(\(WireVectorRunner.State.describe(decision)))"
                case .unrestricted(let decision): "unrestricted(\(WireVectorRunner.State.describe(decision)))"
                case .pages(let pages): "\(pages)"
                case .subjects(let list): "users \(list.users.map(\.name)), groups \(list.groups.map(\.name))"
                case .codenames(let codenames): "\(codenames)"
                }
            }
        }

        static func describe(_ decision: Warden_V1_Decision) -> String {
            "\(decision.allowed ? "allow" : "deny") \(reasonName(decision.reason))\(decision.group.isEmpty ? "" : " (group \(decision.group))")"
        }

        static func reasonName(_ reason: Warden_V1_Reason) -> String {
            switch reason {
            case .unknownUser: Decision.Reason.unknownUser.rawValue
            case .inactiveUser: Decision.Reason.inactiveUser.rawValue
            case .superuser: Decision.Reason.superuser.rawValue
            case .unknownPermission: Decision.Reason.unknownPermission.rawValue
            case .objectGrantUser: Decision.Reason.objectGrantUser.rawValue
            case .objectGrantGroup: Decision.Reason.objectGrantGroup.rawValue
            case .modelGrantUser: Decision.Reason.modelGrantUser.rawValue
            case .modelGrantGroup: Decision.Reason.modelGrantGroup.rawValue
            case .noGrant: Decision.Reason.noGrant.rawValue
            case .unspecified: "REASON_UNSPECIFIED"
            case .UNRECOGNIZED(let value): "UNRECOGNIZED(\(value))"
            }
        }

        /// An empty group on the wire is no group.
        static func group(_ decision: Warden_V1_Decision) -> String? { decision.group.isEmpty ? nil : decision.group }

        static func compareError(_ error: WardenError, _ expect: JSON) -> String? {
            guard let code = expect["error"] as? String else { return "unexpected error \(error)" }
            if code != error.code.description { return "expected \(code), got \(error)" }
            for part in expect["message_contains"] as? [String] ?? [] where !error.message.contains(part) {
                return "message \"\(error.message)\" lacks \"\(part)\""
            }
            return nil
        }

        static func compare(_ value: Answer, _ expect: JSON) -> String? {
            switch value {
            case .decision(let decision):
                let wanted = (expect["allowed"] as? Bool, expect["reason"] as? String, expect["group"] as? String)
                let got = (decision.allowed, reasonName(decision.reason), group(decision))
                return wanted == got ? nil : "expected \(wanted), got \(got)"
            case .unrestricted(let decision):
                guard let reason = expect["unrestricted"] as? String else { return "expected objects, got \(value)" }
                let got = (reasonName(decision.reason), group(decision))
                return got == (reason, expect["group"] as? String) ? nil : "expected unrestricted \(reason), got \(got)"
            case .pages(let got):
                if expect["unrestricted"] is String { return "expected unrestricted, got \(got)" }
                if let wanted = expect["pages"] as? [[String]] {
                    return wanted == got ? nil : "expected pages \(wanted), got \(got)"
                }
                let wanted = expect["pks"] as? [String] ?? []
                return wanted == got.flatMap { $0 } ? nil : "expected \(wanted), got \(got.flatMap { $0 })"
            case .subjects(let list):
                let got = [encode(list.users, key: "id"), encode(list.groups, key: "name")]
                let wanted = [expect["users"] ?? [], expect["groups"] ?? []].map { NSArray(array: $0 as! [Any]) }
                return wanted == got.map { NSArray(array: $0) } ? nil : "expected \(wanted), got \(got)"
            case .codenames(let codenames):
                let wanted = expect["perms"] as? [String] ?? []
                return wanted == codenames ? nil : "expected \(wanted), got \(codenames)"
            }
        }

        private static func encode(_ entries: [Warden_V1_SubjectAccess], key: String) -> [Any] {
            entries.map { $0.permissions.isEmpty ? $0.name as Any : [key: $0.name, "perms": $0.permissions] as Any }
        }

        // MARK: Building requests

        /// Follows page tokens to the end.
        private func listAll(_ json: JSON) async throws -> Answer {
            var request = Warden_V1_ListObjectsRequest()
            if let subject = Self.subject(json) { request.subject = subject }
            request.permissions = json["perms"] as? [String] ?? []
            request.contentType = json["type"] as? String ?? ""
            request.anyPerm = json["any_perm"] as? Bool ?? false
            request.useGroups = json["use_groups"] as? Bool ?? true
            request.withSuperuser = json["with_superuser"] as? Bool ?? true
            if let accept = json["accept_global_perms"] as? Bool { request.acceptGlobalPerms = accept }
            if let size = json["page_size"] as? Int { request.pageSize = UInt32(clamping: size) }
            request.pageToken = json["page_token"] as? String ?? ""
            var pages: [[String]] = []
            while true {
                let page = try await warden.listObjects(request)
                if page.unrestricted { return .unrestricted(page.unrestrictedReason) }
                pages.append(page.pks)
                if page.nextPageToken.isEmpty { return .pages(pages) }
                if pages.count > 100_000 { return .pages(pages) }
                request.pageToken = page.nextPageToken
            }
        }

        static func subject(_ json: JSON) -> Warden_V1_Subject? {
            if let user = json["user"] as? String { return .user(user) }
            if let group = json["group"] as? String { return .group(group) }
            return nil
        }

        static func checkRequest(_ json: JSON) -> Warden_V1_CheckRequest {
            var request = Warden_V1_CheckRequest()
            if let subject = subject(json) { request.subject = subject }
            request.permission = json["perm"] as? String ?? ""
            let type = json["type"] as? String
            if let pk = json["pk"] as? String {
                request.object = Warden_V1_ObjectRef(type ?? "", pk)
                if let contentType = json["content_type"] as? String { request.contentType = contentType }
            } else if let type {
                request.contentType = type
            }
            if let accept = json["accept_global_perms"] as? Bool { request.acceptGlobalPerms = accept }
            return request
        }

        static func subjectsRequest(_ json: JSON) -> Warden_V1_ListSubjectsRequest {
            var request = Warden_V1_ListSubjectsRequest()
            request.object = Warden_V1_ObjectRef(json["type"] as? String ?? "", json["pk"] as? String ?? "")
            request.permissions = json["perms"] as? [String] ?? []
            request.withSuperusers = json["with_superusers"] as? Bool ?? false
            request.withGroupUsers = json["with_group_users"] as? Bool ?? true
            request.attachPerms = json["attach_perms"] as? Bool ?? false
            if let accept = json["accept_global_perms"] as? Bool { request.acceptGlobalPerms = accept }
            return request
        }

        static func permissionsRequest(_ json: JSON) throws -> Warden_V1_GetPermissionsRequest {
            var request = Warden_V1_GetPermissionsRequest()
            if let subject = subject(json) { request.subject = subject }
            request.object = Warden_V1_ObjectRef(json["type"] as? String ?? "", json["pk"] as? String ?? "")
            switch json["mode"] as? String {
            case nil, "both": request.mode = .both
            case "user": request.mode = .userOnly
            case "groups": request.mode = .groupsOnly
            case let mode?: throw WireVectorError("unknown mode \(mode)")
            }
            if let accept = json["accept_global_perms"] as? Bool { request.acceptGlobalPerms = accept }
            return request
        }

        // MARK: Building changes

        /// The RPC of an `apply` step, built before it is sent (a malformed step throws here).
        private mutating func apply(_ json: JSON) async throws -> () async throws -> Void {
            guard json.count == 1, let (kind, value) = json.first else { throw WireVectorError("apply needs one key") }
            let warden = self.warden
            switch kind {
            case "grant":
                let grant = try grant(value as! JSON)
                return { _ = try await warden.grant(grant) }
            case "revoke":
                let grant = try grant(value as! JSON)
                return { _ = try await warden.revoke(grant) }
            case "bulk_grant":
                let grants = try (value as! [JSON]).map(grant)
                return { _ = try await warden.bulkGrant(grants) }
            case "bulk_revoke":
                let grants = try (value as! [JSON]).map(grant)
                return { _ = try await warden.bulkRevoke(grants) }
            case "put_user":
                let user = value as! JSON
                return { try await Self.putUser(user, on: warden) }
            case "delete_user":
                let id = value as! String
                return { _ = try await warden.deleteUser(id) }
            case "put_group":
                let name = value as! String
                return { _ = try await warden.putGroup(name) }
            case "delete_group":
                let name = value as! String
                return { _ = try await warden.deleteGroup(name) }
            case "add_member", "remove_member":
                let member = value as! JSON
                let (user, group) = (member["user"] as! String, member["group"] as! String)
                if kind == "add_member" { return { _ = try await warden.addMember(user: user, group: group) } }
                return { _ = try await warden.removeMember(user: user, group: group) }
            case "register":
                let (type, defaults, custom) = try noteRegistration(value as! JSON)
                return { _ = try await warden.registerContentType(type, defaults: defaults, custom: custom) }
            case "delete_object":
                let object = value as! JSON
                let ref = Warden_V1_ObjectRef(object["type"] as! String, object["pk"] as! String)
                return { _ = try await warden.deleteObject(ref) }
            default: throw WireVectorError("unknown change \(kind)")
            }
        }

        private mutating func register(_ json: JSON) async throws {
            let (type, defaults, custom) = try noteRegistration(json)
            _ = try await warden.registerContentType(type, defaults: defaults, custom: custom)
        }

        /// Records a registration's codenames, as VectorTests does, and returns what to send.
        private mutating func noteRegistration(_ json: JSON) throws -> (String, Bool, [String]) {
            let name = json["type"] as! String
            let defaults = json["defaults"] as? Bool ?? true
            let custom = json["custom"] as? [String] ?? []
            let type = try ContentType(name: ContentTypeName(name), defaults: defaults, custom: custom)
            registered.append((type.name, type.codenames))
            return (name, defaults, custom)
        }

        private func putUser(_ json: JSON) async throws { try await Self.putUser(json, on: warden) }

        static func putUser(_ json: JSON, on warden: WardenConnection) async throws {
            _ = try await warden.putUser(
                json["id"] as! String,
                username: json["username"] as? String,
                isActive: json["is_active"] as? Bool ?? true,
                isSuperuser: json["is_superuser"] as? Bool ?? false
            )
        }

        /// A grant from `{user|group, perm: app.codename, type?, pk?}`, sent with its full
        /// `app.codename` and its resolved content type: `type`, else the registered type of that
        /// app holding the codename, else the placeholder `app.unregistered` (refused as NOT_FOUND).
        private func grant(_ json: JSON) throws -> Warden_V1_Grant {
            let perm = json["perm"] as! String
            guard let dot = perm.firstIndex(of: ".") else {
                throw WireVectorError("grant perm \(perm) needs app.codename")
            }
            let app = String(perm[..<dot])
            let codename = String(perm[perm.index(after: dot)...])
            let type: ContentTypeName
            if let explicit = json["type"] as? String {
                type = try ContentTypeName(explicit)
            } else {
                let candidates = Set(
                    registered.filter { $0.name.appLabel == app && $0.codenames.contains(codename) }.map(\.name)
                )
                guard candidates.count <= 1 else { throw WireVectorError("grant \(perm) is ambiguous: give its type") }
                type = try candidates.first ?? ContentTypeName("\(app).unregistered")
            }
            let subject: Warden_V1_Subject =
                (json["user"] as? String).map { .user($0) } ?? .group(json["group"] as! String)
            return Warden_V1_Grant(subject, perm, pk: json["pk"] as? String, contentType: type.description)
        }
    }
}

struct WireVectorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
