import ArgumentParser
import Foundation
import WardenIndex
import WardenModel
import WardenSQLiteStore
import WardenService
import WardenStore

// `warden demo`: the lab demo straight on the index and store, without a socket.
#if canImport(Glibc)
import Glibc
#endif

/// The lab demo: every answer below comes from the index.
func demo() throws {
    let experiment = try ContentTypeName("lab.experiment")
    let path = ProcessInfo.processInfo.environment["WARDEN_DB"] ?? "var/warden.db"
    try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent.isEmpty
            ? "." : (path as NSString).deletingLastPathComponent,
        withIntermediateDirectories: true
    )
    let replica = try IndexReplica(store: SQLiteStore(path: path))
    let index = replica.index
    func perm(_ codename: String) throws -> PermissionRef {
        try PermissionRef(contentType: experiment, codename: codename)
    }
    var changes: [Change] = [
        .register(try ContentType(name: experiment, custom: ["publish_experiment"])),
        .putUser(try User(id: "1", username: "ada")),
        .putUser(try User(id: "2", username: "bob")),
        .putUser(try User(id: "3", username: "cy")),
        .putUser(try User(id: "4", username: "root", isSuperuser: true)),
        .putUser(try User(id: "5", username: "eve", isActive: false)),
        .putGroup(name: "Read only"),
        .putGroup(name: "Maintainer"),
        .addMember(user: "2", group: "Read only"),
        .addMember(user: "3", group: "Maintainer"),
        .addMember(user: "5", group: "Maintainer"),
        // Maintainers change every experiment (a model-level grant).
        .grant(try Grant(subject: .group("Maintainer"), permission: perm("change_experiment"))),
    ]
    // Experiments 1–3 are public: "Read only" may view them. 4 and 5 are private.
    for pk in ["1", "2", "3"] {
        changes.append(.grant(try Grant(subject: .group("Read only"), permission: perm("view_experiment"), pk: pk)))
    }
    // Ada owns 4 and 5: she may view and change her own, and nothing else.
    for pk in ["4", "5"] {
        changes.append(.grant(try Grant(subject: .user("1"), permission: perm("view_experiment"), pk: pk)))
        changes.append(.grant(try Grant(subject: .user("1"), permission: perm("change_experiment"), pk: pk)))
    }
    let bobChanges = Change.grant(try Grant(subject: .user("2"), permission: perm("change_experiment"), pk: "2"))
    changes.append(bobChanges.revoked)
    let committed = try replica.apply(batch: changes).filter(\.changed).count
    print("Database \(path): \(committed) writes committed now, at revision \(index.revision).")
    print(
        "Index: \(index.statistics.users) users, \(index.statistics.groups) groups, \(index.statistics.grants) grants.\n"
    )
    print("Checks (user, permission, object → decision):")
    let checks: [(String, String, String?)] = [
        ("1", "change_experiment", "4"), ("1", "change_experiment", "1"), ("2", "view_experiment", "2"),
        ("2", "view_experiment", "4"), ("3", "change_experiment", "4"), ("4", "delete_experiment", "5"),
        ("5", "change_experiment", "4"), ("9", "view_experiment", "1"), ("2", "lab.view_experiment", nil),
    ]
    for (user, permission, pk) in checks {
        let request = CheckRequest(
            subject: .user(user),
            permission: permission,
            object: pk.map { ObjectRef(contentType: "lab.experiment", pk: $0) },
            contentType: "lab.experiment"
        )
        let target = pk.map { "lab.experiment:\($0)" } ?? "(model level)"
        print("  user \(user)  \(permission.padding(22))\(target.padding(18))→ \(try index.check(request).value)")
    }

    print("\nWhich experiments may each user view? (ListObjects)")
    for user in ["1", "2", "3", "4"] {
        let answer = try index.listObjects(ListObjectsQuery(subject: .user(user), permissions: ["lab.view_experiment"]))
            .value
        switch answer {
        case .unrestricted(let decision): print("  user \(user): all of them (\(decision.reason.rawValue))")
        case .objects(let pks, _): print("  user \(user): \(pks)")
        }
    }

    print("\nWho can change experiment 4? (ListSubjects, with permissions)")
    var who = ListSubjectsQuery(
        object: ObjectRef(contentType: "lab.experiment", pk: "4"),
        permissions: ["change_experiment"]
    )
    who.attachPerms = true
    let subjects = try index.listSubjects(who).value
    for user in subjects.users { print("  user \(user.name): \(user.permissions)") }
    for group in subjects.groups { print("  group \(group.name): \(group.permissions)") }

    print("\nGrant bob change on experiment 2, then ask again:")
    _ = try replica.apply(bobChanges)
    let after = try index.check(
        CheckRequest(
            subject: .user("2"),
            permission: "change_experiment",
            object: ObjectRef(contentType: "lab.experiment", pk: "2")
        )
    )
    print("  user 2  change_experiment     lab.experiment:2  → \(after.value)   (revision \(after.revision))")
}

extension Change {
    /// The revoke of a grant change.
    var revoked: Change {
        guard case .grant(let grant) = self else { return self }
        return .revoke(grant)
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the lab demo into a database and print its answers, without a socket.",
        discussion: """
            Writes a small lab database (experiments, "Read only" and "Maintainer" roles, private and \
            public experiments, an owner who may edit only her own) into ./var/warden.db (WARDEN_DB \
            overrides it), loads it into the index, and prints checks with their reasons, object lists \
            and who-has-access. Writes that are already there change nothing, so running it again shows \
            the same answers.
            """
    )

    func run() throws { try demo() }
}
