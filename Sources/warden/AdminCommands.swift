import ArgumentParser
import Foundation
import WardenClient
import WardenProto

/// The options of grant and revoke.
struct GrantArguments: ParsableArguments {
    @Argument(help: "The user (42, user:42) or group (group:NAME).") var subject: String
    @Argument(help: "app_label.codename, or a bare codename with --content-type or an object.") var permission: String
    @Option(help: "The object, app_label.model:pk; omitted: a model-level permission.") var object: String?
    @Option(
        name: .customLong("content-type"),
        help: "The permission's content type, when the codename alone is ambiguous."
    )
    var contentType: String?
    @Option(help: "The app user this write is made for (no-self-escalation rules apply).") var actor: String?

    func grant() throws -> Warden_V1_Grant {
        var grant = Warden_V1_Grant(parseSubject(subject), permission, contentType: contentType)
        if let object {
            let ref = try parseObject(object)
            grant.pk = ref.pk
            if contentType == nil { grant.contentType = ref.contentType }
        }
        return grant
    }
}

struct GrantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant",
        abstract: "Grant a permission to a user or group, model-wide or on one object.",
        discussion:
            "Examples: warden grant 42 drivers.change_car --object drivers.car:7; warden grant group:editors drivers.view_car"
    )
    @OptionGroup var client: ClientOptions
    @OptionGroup var arguments: GrantArguments

    func run() async throws {
        try await client.run { warden in
            printWrite(try await warden.grant(try arguments.grant(), actor: arguments.actor), json: client.json)
            return 0
        }
    }
}

struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a permission (revoking what is not held changes nothing)."
    )
    @OptionGroup var client: ClientOptions
    @OptionGroup var arguments: GrantArguments

    func run() async throws {
        try await client.run { warden in
            printWrite(try await warden.revoke(try arguments.grant(), actor: arguments.actor), json: client.json)
            return 0
        }
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Create, update or delete a user.",
        discussion: """
            warden user put ID [--username NAME] [--inactive] [--superuser]
            warden user delete ID    (with its memberships and every grant)
            """
    )
    @OptionGroup var client: ClientOptions
    @Argument(help: "put or delete.") var action: String
    @Argument(help: "The app's user id.") var id: String
    @Option(help: "A unique username.") var username: String?
    @Flag(help: "is_active = false: denied everything.") var inactive = false
    @Flag(help: "is_superuser = true: allowed everything while active.") var superuser = false
    @Option(help: "The app user this write is made for.") var actor: String?

    func run() async throws {
        try await client.run { warden in
            switch action {
            case "put":
                printWrite(
                    try await warden.putUser(
                        id,
                        username: username,
                        isActive: !inactive,
                        isSuperuser: superuser,
                        actor: actor
                    ),
                    json: client.json
                )
            case "delete":
                printWrite(try await warden.deleteUser(id, actor: actor), json: client.json)
            default:
                throw CommandError("user: the action must be put or delete (got \(action))")
            }
            return 0
        }
    }
}

struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group",
        abstract: "Create or delete a group (role).",
        discussion: "warden group put NAME; warden group delete NAME (with its memberships and grants)"
    )
    @OptionGroup var client: ClientOptions
    @Argument(help: "put or delete.") var action: String
    @Argument(help: "The group's name.") var name: String
    @Option(help: "The app user this write is made for.") var actor: String?

    func run() async throws {
        try await client.run { warden in
            switch action {
            case "put": printWrite(try await warden.putGroup(name, actor: actor), json: client.json)
            case "delete": printWrite(try await warden.deleteGroup(name, actor: actor), json: client.json)
            default: throw CommandError("group: the action must be put or delete (got \(action))")
            }
            return 0
        }
    }
}

struct MemberCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member",
        abstract: "Add a user to a group, or remove one.",
        discussion: "warden member add USER GROUP; warden member remove USER GROUP"
    )
    @OptionGroup var client: ClientOptions
    @Argument(help: "add or remove.") var action: String
    @Argument(help: "The user id.") var user: String
    @Argument(help: "The group's name.") var group: String
    @Option(help: "The app user this write is made for.") var actor: String?

    func run() async throws {
        try await client.run { warden in
            switch action {
            case "add":
                printWrite(try await warden.addMember(user: user, group: group, actor: actor), json: client.json)
            case "remove":
                printWrite(try await warden.removeMember(user: user, group: group, actor: actor), json: client.json)
            default: throw CommandError("member: the action must be add or remove (got \(action))")
            }
            return 0
        }
    }
}

struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register a content type and its permissions (additive, like Django's post_migrate).",
        discussion:
            "Example: warden register drivers.car --custom drive_car   (adds add_, change_, delete_, view_car and drive_car)"
    )
    @OptionGroup var client: ClientOptions
    @Argument(help: "app_label.model") var contentType: String
    @Option(help: "A custom codename (repeatable).") var custom: [String] = []
    @Flag(name: .customLong("no-defaults"), help: "Do not add the four default codenames.") var noDefaults = false
    @Option(help: "The app user this write is made for.") var actor: String?

    func run() async throws {
        try await client.run { warden in
            printWrite(
                try await warden.registerContentType(contentType, defaults: !noDefaults, custom: custom, actor: actor),
                json: client.json
            )
            return 0
        }
    }
}

struct DeleteObject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete-object",
        abstract: "Remove every grant on an object (call it when the app deletes the object)."
    )
    @OptionGroup var client: ClientOptions
    @Argument(help: "The object, app_label.model:pk.") var object: String
    @Option(help: "The app user this write is made for.") var actor: String?

    func run() async throws {
        try await client.run { warden in
            printWrite(try await warden.deleteObject(try parseObject(object), actor: actor), json: client.json)
            return 0
        }
    }
}

struct PruneOrphans: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune-orphans",
        abstract: "Remove grants on objects the app no longer has (guardian's clean_orphan_obj_perms).",
        discussion:
            "Reads the live pks of the type, one per line, from --pks FILE or stdin. Example: psql -Atc 'select id from cars' | warden prune-orphans drivers.car"
    )
    @OptionGroup var client: ClientOptions
    @Argument(help: "app_label.model") var contentType: String
    @Option(help: "A file of live pks, one per line (default: stdin).") var pks: String?
    @Option(help: "The app user this write is made for.") var actor: String?

    func run() async throws {
        try await client.run { warden in
            var live: [String] = []
            if let pks {
                guard let text = try? String(contentsOfFile: pks, encoding: .utf8) else {
                    throw CommandError("--pks: cannot read \(pks)")
                }
                live = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            } else {
                while let line = readLine() { if !line.isEmpty { live.append(line) } }
            }
            let outcome = try await warden.pruneOrphans(contentType: contentType, livePKs: live, actor: actor)
            if client.json {
                print(jsonLine(["pruned": outcome.count, "live": outcome.requested, "revision": outcome.revision]))
            } else {
                print("pruned \(outcome.count) grants (\(outcome.requested) live pks) at revision \(outcome.revision)")
            }
            return 0
        }
    }
}
