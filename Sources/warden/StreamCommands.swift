import ArgumentParser
import Foundation
import WardenClient
import WardenProto
import WardenRecords

#if canImport(Glibc)
import Glibc
#endif

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tail change events: history after --from, then live ones, until Ctrl-C.",
        discussion: """
            Text: one line per event (revision, kind, what it is about). With --json, one JSON object \
            per line. Resume after a disconnect with --from LAST_REVISION_SEEN. A revision older than \
            the changelog keeps is an error naming the oldest kept one.
            Examples: warden watch --from 0; warden watch --kind GRANT_ADDED --content-type lab.experiment
            """
    )
    @OptionGroup var client: ClientOptions
    @Option(help: "Start after this revision (default: from now).") var from: UInt64?
    @Option(help: "Only these kinds, e.g. GRANT_ADDED (repeatable).") var kind: [String] = []
    @Option(name: .customLong("content-type"), help: "Only events about these content types (repeatable).")
    var contentType: [String] = []
    @Flag(help: "Also PERMISSION_CHECKED audit events for checks.") var audit = false
    @Option(name: .customLong("sample-rate"), help: "The share of checks audited, in (0, 1].") var sampleRate: Double =
        1
    @Option(help: "Stop after this many events.") var count: Int?

    func run() async throws {
        try await client.run { warden in
            var kinds: [Warden_V1_EventKind] = []
            for name in kind {
                guard let value = Self.kinds[name] else {
                    throw CommandError(
                        "--kind: \(name) is not an event kind (\(Self.kinds.keys.sorted().joined(separator: ", ")))"
                    )
                }
                kinds.append(value)
            }
            var seen = 0
            for try await event in warden.watch(
                afterRevision: from,
                kinds: kinds,
                contentTypes: contentType,
                auditChecks: audit,
                auditSampleRate: sampleRate
            ) {
                print(client.json ? jsonLine(Self.json(event)) : Self.text(event))
                fflush(nil)
                seen += 1
                if let count, seen >= count { break }
            }
            return 0
        }
    }

    static let kinds: [String: Warden_V1_EventKind] = {
        var kinds: [String: Warden_V1_EventKind] = [:]
        for value in 1...18 {
            guard let kind = Warden_V1_EventKind(rawValue: value) else { continue }
            kinds[name(kind)] = kind
        }
        return kinds
    }()

    /// `GRANT_ADDED` from `.grantAdded`.
    static func name(_ kind: Warden_V1_EventKind) -> String {
        "\(kind)".reduce(into: "") { name, character in
            if character.isUppercase { name += "_" }
            name += character.uppercased()
        }
    }

    static func json(_ event: Warden_V1_Event) -> [String: Any] {
        var object: [String: Any] = ["revision": event.revision, "kind": name(event.kind), "time_ms": event.timeMs]
        if !event.actor.isEmpty { object["actor"] = event.actor }
        if event.hasGrant {
            object["grant"] = RecordFormat.fields(
                {
                    var r = Warden_V1_Record()
                    r.grant = event.grant
                    return r
                }()
            )
        }
        if event.hasUser {
            object["user"] = RecordFormat.fields(
                {
                    var r = Warden_V1_Record()
                    r.user = event.user
                    return r
                }()
            )
        }
        if !event.userID.isEmpty { object["user_id"] = event.userID }
        if !event.group.isEmpty { object["group"] = event.group }
        if event.hasObject { object["object"] = "\(event.object.contentType):\(event.object.pk)" }
        if event.hasRegistration {
            object["content_type"] = event.registration.contentType
            object["codenames"] = event.registration.codenames
        }
        if event.count > 0 { object["count"] = event.count }
        if !event.failure.isEmpty { object["failure"] = event.failure }
        if !event.message.isEmpty { object["message"] = event.message }
        if event.hasCheck {
            var check = decisionJSON(
                {
                    var d = Warden_V1_Decision()
                    d.allowed = event.check.allowed
                    d.reason = event.check.reason
                    d.group = event.check.group
                    return d
                }()
            )
            check["subject"] = describe(event.check.subject)
            check["perm"] = event.check.permission
            if event.check.hasObject { check["object"] = "\(event.check.object.contentType):\(event.check.object.pk)" }
            object["check"] = check
        }
        return object
    }

    static func text(_ event: Warden_V1_Event) -> String {
        var parts = ["\(event.revision)", name(event.kind)]
        if event.hasGrant {
            parts.append(describe(event.grant.subject))
            parts.append(
                event.grant.permission
                    + (event.grant.hasPk ? " on \(event.grant.contentType):\(event.grant.pk)" : " (model)")
            )
        }
        if event.hasUser {
            parts.append(
                "user:\(event.user.id)" + (event.user.isSuperuser ? " superuser" : "")
                    + (event.user.isActive ? "" : " inactive")
            )
        }
        if !event.userID.isEmpty { parts.append("user:\(event.userID)") }
        if !event.group.isEmpty { parts.append("group:\(event.group)") }
        if event.hasObject { parts.append("\(event.object.contentType):\(event.object.pk)") }
        if event.hasRegistration {
            parts.append("\(event.registration.contentType) [\(event.registration.codenames.joined(separator: " "))]")
        }
        if event.count > 0 { parts.append("count \(event.count)") }
        if !event.failure.isEmpty { parts.append(event.failure) }
        if !event.message.isEmpty { parts.append("\"\(event.message)\"") }
        if event.hasCheck {
            parts.append(
                "\(describe(event.check.subject)) \(event.check.permission)"
                    + (event.check.hasObject ? " on \(event.check.object.contentType):\(event.check.object.pk)" : "")
                    + " → " + (event.check.allowed ? "allow " : "deny ") + reasonName(event.check.reason)
            )
        }
        if !event.actor.isEmpty { parts.append("(actor \(event.actor))") }
        return parts.joined(separator: "  ")
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What the server holds and has served; --prometheus prints its metrics in the Prometheus text format."
    )
    @OptionGroup var client: ClientOptions
    @Flag(help: "Print the metrics in the Prometheus text format (for a scrape job or a textfile collector).")
    var prometheus = false

    func run() async throws {
        try await client.run { warden in
            let stats = try await warden.stats()
            if prometheus {
                print(stats.prometheus, terminator: stats.prometheus.hasSuffix("\n") ? "" : "\n")
                return 0
            }
            let fields: [(String, UInt64)] = [
                ("revision", stats.revision), ("users", stats.users), ("groups", stats.groups),
                ("content_types", stats.contentTypes), ("permissions", stats.permissions), ("objects", stats.objects),
                ("object_grants", stats.objectGrants), ("model_grants", stats.modelGrants),
                ("connections", stats.connections),
                ("watchers", stats.watchers), ("uptime_ms", stats.uptimeMs),
            ]
            if client.json {
                var object: [String: Any] = Dictionary(uniqueKeysWithValues: fields.map { ($0.0, $0.1 as Any) })
                object["methods"] = stats.methods.map {
                    ["method": $0.method, "requests": $0.requests, "errors": $0.errors]
                }
                print(jsonLine(object))
            } else {
                for (name, value) in fields {
                    print(name.padding(toLength: 16, withPad: " ", startingAt: 0) + "\(value)")
                }
                for method in stats.methods {
                    print(
                        "requests " + method.method.padding(toLength: 22, withPad: " ", startingAt: 0)
                            + "\(method.requests) (\(method.errors) errors)"
                    )
                }
            }
            return 0
        }
    }
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exit 0 when the server answers SERVING (for health checks and probes), 2 otherwise."
    )
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await client.run { warden in
            let health = try await warden.health()
            print(
                client.json
                    ? jsonLine(["status": health.status, "revision": health.revision])
                    : "\(health.status) at revision \(health.revision)"
            )
            return health.status == "SERVING" ? 0 : 2
        }
    }
}
