import ArgumentParser
import Foundation
import WardenClient
import WardenProto

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "May SUBJECT use PERMISSION (on an object)? Prints the decision and its reason.",
        discussion: """
            Exit status 0 when allowed, 1 when denied, 2 on an error. Examples:
              warden check 42 drivers.change_car --object drivers.car:7
              warden check group:editors drivers.view_car
              warden check 42 change_car --object drivers.car:7 --strict
            """
    )
    @OptionGroup var client: ClientOptions
    @Argument(help: "The user (42, user:42) or group (group:NAME).") var subject: String
    @Argument(help: "app_label.codename, or a bare codename of the object's or --content-type's type.") var permission:
        String
    @Option(help: "The object, app_label.model:pk.") var object: String?
    @Option(name: .customLong("content-type"), help: "An explicit content type, for a bare codename without an object.")
    var contentType: String?
    @Flag(help: "guardian's has_perm(perm, obj) exactly: model grants do not imply object access.") var strict = false
    @Option(name: .customLong("min-revision"), help: "Do not answer from a state older than this revision.")
    var minRevision: UInt64 = 0

    func run() async throws {
        try await client.run { warden in
            var request = Warden_V1_CheckRequest()
            request.subject = parseSubject(subject)
            request.permission = permission
            if let object { request.object = try parseObject(object) }
            if let contentType { request.contentType = contentType }
            if strict { request.acceptGlobalPerms = false }
            request.minRevision = minRevision
            let answer = try await warden.check(request)
            if client.json {
                var object = decisionJSON(answer.decision)
                object["revision"] = answer.revision
                print(jsonLine(object))
            } else {
                print("\(decisionText(answer.decision))   (revision \(answer.revision))")
            }
            return answer.decision.allowed ? 0 : 1
        }
    }
}

struct BatchCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch-check",
        abstract: "Checks from JSON lines on stdin; one JSON line per check on stdout, in order.",
        discussion: """
            Each input line: {"user": "42", "perm": "drivers.change_car", "type": "drivers.car", "pk": "7"}; \
            "group" instead of "user"; "type" without "pk" is an explicit content type; optional \
            "content_type" and "accept_global_perms". Each output line is {"allowed", "reason", \
            "group"?, "revision"} or {"error": {"code", "message"}}. Sent in batches of --batch-size.
            """
    )
    @OptionGroup var client: ClientOptions
    @Option(name: .customLong("batch-size"), help: "Checks per BatchCheck request.") var batchSize = 1000

    func run() async throws {
        try await client.run { warden in
            var items: [Warden_V1_CheckItem] = []
            var lineNumber = 0
            func send() async throws {
                guard !items.isEmpty else { return }
                var request = Warden_V1_BatchCheckRequest()
                request.items = items
                let answer = try await warden.batchCheck(request)
                for result in answer.results {
                    switch result.result {
                    case .decision(let decision)?:
                        var object = decisionJSON(decision)
                        object["revision"] = answer.revision
                        print(jsonLine(object))
                    case .error(let status)?:
                        let code = StatusName.of(status.code)
                        print(jsonLine(["error": ["code": code, "message": status.message]]))
                    case nil:
                        print(jsonLine(["error": ["code": "INTERNAL", "message": "empty result"]]))
                    }
                }
                items.removeAll(keepingCapacity: true)
            }
            while let line = readLine() {
                lineNumber += 1
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                    throw CommandError("stdin line \(lineNumber): not a JSON object")
                }
                var item = Warden_V1_CheckItem()
                if let user = object["user"] as? String { item.subject = .user(user) }
                if let group = object["group"] as? String { item.subject = .group(group) }
                item.permission = object["perm"] as? String ?? object["permission"] as? String ?? ""
                let type = object["type"] as? String
                if let pk = object["pk"] as? String {
                    item.object = Warden_V1_ObjectRef(type ?? "", pk)
                    if let explicit = object["content_type"] as? String { item.contentType = explicit }
                } else if let type {
                    item.contentType = type
                }
                if let accept = object["accept_global_perms"] as? Bool { item.acceptGlobalPerms = accept }
                items.append(item)
                if items.count >= batchSize { try await send() }
            }
            try await send()
            return 0
        }
    }
}

/// gRPC status names by number.
enum StatusName {
    static func of(_ code: UInt32) -> String {
        let names = [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
            "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
            "UNIMPLEMENTED",
            "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
        ]
        return Int(code) < names.count ? names[Int(code)] : "STATUS_\(code)"
    }
}

struct ListObjects: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-objects",
        abstract:
            "The objects of one content type SUBJECT may use the permissions on (guardian's get_objects_for_user).",
        discussion: """
            Prints one pk per line, all pages, or "unrestricted: REASON" when every object of the type \
            qualifies (a superuser, a model grant). Example: warden list-objects 42 lab.view_experiment
            """
    )
    @OptionGroup var client: ClientOptions
    @Argument(help: "The user or group.") var subject: String
    @Argument(help: "Permissions, all required (any one with --any-perm); none: any permission of --type.")
    var permissions: [String] = []
    @Option(name: .customLong("type"), help: "The content type (derived from the permissions when omitted).") var type:
        String?
    @Flag(name: .customLong("any-perm"), help: "One of the permissions is enough.") var anyPerm = false
    @Flag(name: .customLong("no-groups"), help: "Ignore every group grant.") var noGroups = false
    @Flag(name: .customLong("no-superuser"), help: "No superuser shortcut.") var noSuperuser = false
    @Flag(help: "Model grants do not count (accept_global_perms = false).") var strict = false
    @Option(name: .customLong("page-size"), help: "Objects per request (1..100000).") var pageSize: UInt32 = 10_000

    func run() async throws {
        try await client.run { warden in
            var request = Warden_V1_ListObjectsRequest()
            request.subject = parseSubject(subject)
            request.permissions = permissions
            if let type { request.contentType = type }
            request.anyPerm = anyPerm
            if noGroups { request.useGroups = false }
            if noSuperuser { request.withSuperuser = false }
            if strict { request.acceptGlobalPerms = false }
            request.pageSize = pageSize
            let (unrestricted, pks, contentType) = try await warden.listAllObjects(request)
            if let unrestricted {
                print(
                    client.json
                        ? jsonLine(["unrestricted": decisionJSON(unrestricted), "content_type": contentType])
                        : "unrestricted (every \(contentType)): \(decisionText(unrestricted))"
                )
            } else if client.json {
                print(jsonLine(["pks": pks, "content_type": contentType]))
            } else {
                for pk in pks { print(pk) }
            }
            return 0
        }
    }
}

struct ListSubjects: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-subjects",
        abstract:
            "Who can reach an object, and through what (guardian's get_users_with_perms / get_groups_with_perms).",
        discussion: "Example: warden list-subjects lab.experiment:7 --attach-perms"
    )
    @OptionGroup var client: ClientOptions
    @Argument(help: "The object, app_label.model:pk.") var object: String
    @Option(name: .customLong("perm"), help: "Keep subjects holding one of these (repeatable).") var permissions:
        [String] = []
    @Flag(name: .customLong("with-superusers"), help: "List active superusers too.") var withSuperusers = false
    @Flag(name: .customLong("no-group-users"), help: "Do not count grants users hold through groups.")
    var noGroupUsers = false
    @Flag(name: .customLong("attach-perms"), help: "Show each subject's codenames.") var attachPerms = false
    @Flag(help: "Model grants do not count.") var strict = false

    func run() async throws {
        try await client.run { warden in
            var request = Warden_V1_ListSubjectsRequest()
            request.object = try parseObject(object)
            request.permissions = permissions
            request.withSuperusers = withSuperusers
            if noGroupUsers { request.withGroupUsers = false }
            request.attachPerms = attachPerms
            if strict { request.acceptGlobalPerms = false }
            let answer = try await warden.listSubjects(request)
            if client.json {
                func entries(_ list: [Warden_V1_SubjectAccess]) -> [[String: Any]] {
                    list.map { ["name": $0.name, "permissions": $0.permissions] }
                }
                print(
                    jsonLine([
                        "users": entries(answer.users), "groups": entries(answer.groups), "revision": answer.revision,
                    ])
                )
            } else {
                for user in answer.users {
                    print(
                        "user:\(user.name)"
                            + (user.permissions.isEmpty ? "" : "  " + user.permissions.joined(separator: " "))
                    )
                }
                for group in answer.groups {
                    print(
                        "group:\(group.name)"
                            + (group.permissions.isEmpty ? "" : "  " + group.permissions.joined(separator: " "))
                    )
                }
            }
            return 0
        }
    }
}

struct Perms: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The codenames SUBJECT holds on objects (guardian's get_perms, get_user_perms, get_group_perms).",
        discussion: """
            One object: GetPermissions, one codename per line. Several objects of one type: one \
            BatchGetPermissions, one line per object (the object, then its codenames). \
            Example: warden perms 42 lab.experiment:7 --mode user
            """
    )
    @OptionGroup var client: ClientOptions
    @Argument(help: "The user or group.") var subject: String
    @Argument(help: "The objects, app_label.model:pk, all of one type.") var objects: [String]
    @Option(help: "both (own and groups'), user (own only) or groups (through groups only).") var mode = "both"
    @Flag(help: "Model grants do not count.") var strict = false

    func run() async throws {
        try await client.run { warden in
            let mode: Warden_V1_PermissionMode
            switch self.mode {
            case "both": mode = .both
            case "user": mode = .userOnly
            case "groups": mode = .groupsOnly
            default: throw CommandError("--mode: must be both, user or groups (got \(self.mode))")
            }
            let refs = try objects.map(parseObject)
            guard let type = refs.first?.contentType else { throw CommandError("objects: name at least one object") }
            guard refs.allSatisfy({ $0.contentType == type }) else {
                throw CommandError("objects: must all be of one content type (BatchGetPermissions)")
            }
            if refs.count == 1 {
                var request = Warden_V1_GetPermissionsRequest()
                request.subject = parseSubject(subject)
                request.object = refs[0]
                request.mode = mode
                if strict { request.acceptGlobalPerms = false }
                let answer = try await warden.getPermissions(request)
                if client.json {
                    print(jsonLine(["permissions": answer.codenames, "revision": answer.revision]))
                } else {
                    for codename in answer.codenames { print(codename) }
                }
                return 0
            }
            var request = Warden_V1_BatchGetPermissionsRequest()
            request.subject = parseSubject(subject)
            request.contentType = type
            request.pks = refs.map(\.pk)
            request.mode = mode
            if strict { request.acceptGlobalPerms = false }
            let answer = try await warden.batchGetPermissions(request)
            if client.json {
                let list = refs.indices.map {
                    ["pk": refs[$0].pk, "permissions": answer.codenames(of: $0)] as [String: Any]
                }
                print(jsonLine(["objects": list, "revision": answer.revision]))
            } else {
                for position in refs.indices {
                    print(([objects[position]] + answer.codenames(of: position)).joined(separator: "  "))
                }
            }
            return 0
        }
    }
}
