import Foundation
import Testing
import WardenClient
import WardenProto
import WardenWire

/// Every RPC against a real server process over its socket.
@Suite("RPCs end to end", .serialized)
struct RPCTests {
    /// The lab of the README: experiments, a "Read only" role, a maintainer group, an owner.
    static func seed(_ warden: WardenConnection) async throws {
        _ = try await warden.registerContentType("lab.experiment", custom: ["publish_experiment"])
        _ = try await warden.putUser("1", username: "ada")
        _ = try await warden.putUser("2", username: "bob")
        _ = try await warden.putUser("3", username: "cy")
        _ = try await warden.putUser("4", username: "root", isSuperuser: true)
        _ = try await warden.putUser("5", username: "eve", isActive: false)
        _ = try await warden.putGroup("Read only")
        _ = try await warden.putGroup("Maintainer")
        _ = try await warden.addMember(user: "2", group: "Read only")
        _ = try await warden.addMember(user: "3", group: "Maintainer")
        _ = try await warden.grant(Warden_V1_Grant(.group("Maintainer"), "lab.change_experiment"))
        for pk in ["1", "2", "3"] {
            _ = try await warden.grant(Warden_V1_Grant(.group("Read only"), "lab.view_experiment", pk: pk))
        }
        for pk in ["4", "5"] {
            _ = try await warden.grant(Warden_V1_Grant(.user("1"), "lab.change_experiment", pk: pk))
        }
    }

    static func experiment(_ pk: String) -> Warden_V1_ObjectRef { Warden_V1_ObjectRef("lab.experiment", pk) }

    @Test("Check answers each reason, with the granting group and the revision")
    func check() async throws {
        try await withServer { _, warden in
            try await Self.seed(warden)
            let cases: [(String, String, String?, Bool, Warden_V1_Reason, String)] = [
                ("1", "lab.change_experiment", "4", true, .objectGrantUser, ""),
                ("2", "lab.view_experiment", "1", true, .objectGrantGroup, "Read only"),
                ("3", "lab.change_experiment", "9", true, .modelGrantGroup, "Maintainer"),
                ("4", "lab.nothing_at_all", nil, true, .superuser, ""),
                ("5", "lab.change_experiment", "1", false, .inactiveUser, ""),
                ("9", "lab.view_experiment", "1", false, .unknownUser, ""),
                ("2", "lab.view_experiment", "4", false, .noGrant, ""),
                ("2", "lab.fly_experiment", "4", false, .unknownPermission, ""),
            ]
            let revision = try await warden.health().revision
            for (user, permission, pk, allowed, reason, group) in cases {
                let answer = try await warden.check(.user(user), permission, object: pk.map(Self.experiment))
                #expect(answer.decision.allowed == allowed, "\(user) \(permission) \(pk ?? "-")")
                #expect(answer.decision.reason == reason, "\(user) \(permission) \(pk ?? "-")")
                #expect(answer.decision.group == group)
                #expect(answer.revision == revision)
            }
            // guardian's has_perm(perm, obj) exactly: model grants do not count.
            let strict = try await warden.check(
                .user("3"),
                "lab.change_experiment",
                object: Self.experiment("9"),
                acceptGlobalPerms: false
            )
            #expect(strict.decision.reason == .noGrant)
            // A permission of another type than the object's: INVALID_ARGUMENT naming both.
            await #expect {
                try await warden.check(
                    .user("1"),
                    "lab.change_experiment",
                    object: Warden_V1_ObjectRef("lab.sample", "1")
                )
            } throws: { ($0 as? WardenError)?.code == .invalidArgument && "\($0)".contains("lab.sample") }
        }
    }

    @Test("BatchCheck answers in order, a bad item gets its own error")
    func batchCheck() async throws {
        try await withServer { _, warden in
            try await Self.seed(warden)
            var request = Warden_V1_BatchCheckRequest()
            for (user, permission, pk) in [
                ("1", "change_experiment", "4"), ("2", "change_experiment", "4"), ("2", "bare_codename", ""),
                ("3", "lab.view_experiment", "1"),
            ] {
                var item = Warden_V1_CheckItem()
                item.subject = .user(user)
                item.permission = permission
                if !pk.isEmpty { item.object = Self.experiment(pk) }
                request.items.append(item)
            }
            let answer = try await warden.batchCheck(request)
            #expect(answer.results.count == 4)
            #expect(answer.results[0].decision.reason == .objectGrantUser)
            #expect(answer.results[1].decision.reason == .noGrant)
            #expect(answer.results[2].error.code == UInt32(StatusCode.invalidArgument.rawValue))
            #expect(answer.results[2].error.message.contains("bare codename"))
            #expect(answer.results[3].decision.reason == .noGrant)
        }
    }

    @Test("ListObjects pages to completion; superusers and model grants are unrestricted")
    func listObjects() async throws {
        try await withServer { _, warden in
            try await Self.seed(warden)
            let pks = (1...25).map { "\($0 * 3)" }
            _ = try await warden.bulkGrant(pks.map { Warden_V1_Grant(.user("2"), "lab.delete_experiment", pk: $0) })
            var request = Warden_V1_ListObjectsRequest()
            request.subject = .user("2")
            request.permissions = ["lab.delete_experiment"]
            request.pageSize = 7
            var pages = 0
            var listed: [String] = []
            while true {
                let page = try await warden.listObjects(request)
                pages += 1
                #expect(page.pks.count <= 7)
                listed += page.pks
                if page.nextPageToken.isEmpty { break }
                request.pageToken = page.nextPageToken
            }
            #expect(pages == 4)
            #expect(listed == pks, "canonical integers in numeric order")
            request.pageToken = ""
            request.subject = .user("4")
            let all = try await warden.listAllObjects(request)
            #expect(all.unrestricted?.reason == .superuser)
            #expect(all.contentType == "lab.experiment")
            request.subject = .user("3")
            request.permissions = ["lab.change_experiment"]
            #expect(try await warden.listAllObjects(request).unrestricted?.reason == .modelGrantGroup)
            request.acceptGlobalPerms = false
            let none = try await warden.listAllObjects(request)
            #expect(none.unrestricted == nil && none.pks.isEmpty && none.contentType == "lab.experiment")
        }
    }

    @Test("ListSubjects and GetPermissions")
    func listSubjectsAndPermissions() async throws {
        try await withServer { _, warden in
            try await Self.seed(warden)
            _ = try await warden.grant(Warden_V1_Grant(.user("2"), "lab.change_experiment", pk: "1"))
            var request = Warden_V1_ListSubjectsRequest()
            request.object = Self.experiment("1")
            request.attachPerms = true
            request.acceptGlobalPerms = false
            let subjects = try await warden.listSubjects(request)
            #expect(subjects.users.map(\.name) == ["2"])
            #expect(subjects.users.first?.permissions == ["change_experiment", "view_experiment"])
            #expect(subjects.groups.map(\.name) == ["Read only"])
            var perms = Warden_V1_GetPermissionsRequest()
            perms.subject = .user("2")
            perms.object = Self.experiment("1")
            #expect(try await warden.getPermissions(perms).codenames == ["change_experiment", "view_experiment"])
            perms.mode = .userOnly
            #expect(try await warden.getPermissions(perms).codenames == ["change_experiment"])
            perms.mode = .groupsOnly
            #expect(try await warden.getPermissions(perms).codenames == ["view_experiment"])
        }
    }

    @Test("Writes report their revision and whether anything changed; cascades remove grants")
    func writes() async throws {
        try await withServer { _, warden in
            try await Self.seed(warden)
            let grant = Warden_V1_Grant(.user("2"), "lab.publish_experiment", pk: "7")
            let first = try await warden.grant(grant)
            #expect(first.changed)
            let again = try await warden.grant(grant)
            #expect(!again.changed)
            #expect(again.revision == first.revision)
            #expect(
                try await warden.check(.user("2"), "lab.publish_experiment", object: Self.experiment("7")).decision
                    .allowed
            )
            let revoked = try await warden.revoke(grant)
            #expect(revoked.changed && revoked.revision == first.revision + 1)
            #expect(
                try await !warden.check(.user("2"), "lab.publish_experiment", object: Self.experiment("7")).decision
                    .allowed
            )

            // DeleteObject: a re-created object starts clean.
            #expect(try await warden.deleteObject(Self.experiment("4")).changed)
            #expect(
                try await warden.check(.user("1"), "lab.change_experiment", object: Self.experiment("4")).decision
                    .reason == .noGrant
            )
            // RemoveMember, DeleteGroup, DeleteUser.
            _ = try await warden.removeMember(user: "2", group: "Read only")
            #expect(
                try await warden.check(.user("2"), "lab.view_experiment", object: Self.experiment("1")).decision.reason
                    == .noGrant
            )
            _ = try await warden.deleteGroup("Maintainer")
            #expect(
                try await warden.check(.user("3"), "lab.change_experiment", object: Self.experiment("1")).decision
                    .reason == .noGrant
            )
            _ = try await warden.deleteUser("1")
            #expect(
                try await warden.check(.user("1"), "lab.change_experiment", object: Self.experiment("5")).decision
                    .reason == .unknownUser
            )
            _ = try await warden.putUser("1", username: "ada2")
            #expect(
                try await warden.check(.user("1"), "lab.change_experiment", object: Self.experiment("5")).decision
                    .reason == .noGrant
            )

            // Errors name the field.
            await #expect {
                try await warden.grant(Warden_V1_Grant(.user("2"), "lab.view_experiment", pk: ""))
            } throws: { ($0 as? WardenError)?.code == .invalidArgument && "\($0)".contains("pk") }
            await #expect {
                try await warden.grant(Warden_V1_Grant(.user("nobody"), "lab.view_experiment", pk: "1"))
            } throws: { ($0 as? WardenError)?.code == .notFound }
            await #expect { try await warden.putUser("x", username: "ada2") } throws: {
                ($0 as? WardenError)?.code == .alreadyExists
            }
            await #expect { try await warden.registerContentType("Lab.Bad") } throws: {
                ($0 as? WardenError)?.code == .invalidArgument && "\($0)".contains("content_type")
            }
        }
    }

    @Test("BulkGrant: every row visible right after the reply; BulkRevoke; PruneOrphans")
    func bulk() async throws {
        try await withServer { _, warden in
            try await Self.seed(warden)
            let grants = (1...25_000).map {
                Warden_V1_Grant(.user(String($0 % 3 + 1)), "lab.view_experiment", pk: "b\($0)")
            }
            let outcome = try await warden.bulkGrant(grants, chunkSize: 4000)
            #expect(outcome.count == 25_000 && outcome.requested == 25_000)
            var request = Warden_V1_BatchCheckRequest()
            for grant in grants.shuffled().prefix(5000) {
                var item = Warden_V1_CheckItem()
                item.subject = grant.subject
                item.permission = grant.permission
                item.object = Self.experiment(grant.pk)
                request.items.append(item)
            }
            let answers = try await warden.batchCheck(request)
            #expect(answers.results.allSatisfy { $0.decision.reason == .objectGrantUser })
            #expect(answers.revision == outcome.revision)

            let revoked = try await warden.bulkRevoke(grants.prefix(10_000))
            #expect(revoked.count == 10_000)
            #expect(
                try await warden.check(.user("2"), "lab.view_experiment", object: Self.experiment("b1")).decision.reason
                    == .noGrant
            )

            // Live objects b10001…b12000: every other grant on lab.experiment goes.
            let pruned = try await warden.pruneOrphans(
                contentType: "lab.experiment",
                livePKs: (10_001...12_000).map { "b\($0)" }
            )
            let stats = try await warden.stats()
            #expect(stats.objectGrants == 2000)
            #expect(pruned.count == 15_000 - 2000 + 5, "the seed's 5 object grants are orphans too")

            // An unknown subject refuses the whole call: nothing written.
            let before = try await warden.stats().objectGrants
            await #expect {
                try await warden.bulkGrant([
                    Warden_V1_Grant(.user("1"), "lab.view_experiment", pk: "z"),
                    Warden_V1_Grant(.user("nobody"), "lab.view_experiment", pk: "z"),
                ])
            } throws: { ($0 as? WardenError)?.code == .notFound }
            #expect(try await warden.stats().objectGrants == before)
        }
    }

    @Test(
        "BulkGrant decodes chunks as they arrive: a bad grant is named by its position in the stream, the first one wins, nothing is written"
    )
    func bulkErrorPositions() async throws {
        try await withServer { _, warden in
            try await Self.seed(warden)
            let before = try await warden.stats()
            var grants = (0..<10_000).map {
                Warden_V1_Grant(.user(String($0 % 3 + 1)), "lab.view_experiment", pk: "p\($0)")
            }
            grants[7345].pk = ""  // in the eighth chunk of 1,000
            grants[9100].subject = Warden_V1_Subject()  // a later chunk's error is not the one reported
            await #expect { try await warden.bulkGrant(grants, chunkSize: 1000) } throws: {
                ($0 as? WardenError)?.code == .invalidArgument
                    && ($0 as? WardenError)?.message.hasPrefix("grants[7345].pk") == true
            }
            grants[7345].pk = "p7345"
            await #expect { try await warden.bulkGrant(grants, chunkSize: 1000) } throws: {
                ($0 as? WardenError)?.message.hasPrefix("grants[9100].subject") == true
            }
            let after = try await warden.stats()
            #expect(after.objectGrants == before.objectGrants && after.revision == before.revision)
            // The same stream without the bad grant goes in whole.
            grants[9100].subject.user = "2"
            #expect(try await warden.bulkGrant(grants, chunkSize: 1000).count == 10_000)
        }
    }

    @Test("Health and Stats")
    func healthAndStats() async throws {
        try await withServer { _, warden in
            try await Self.seed(warden)
            let health = try await warden.health()
            #expect(health.status == "SERVING")
            let stats = try await warden.stats()
            #expect(stats.users == 5 && stats.groups == 2 && stats.contentTypes == 1 && stats.permissions == 5)
            #expect(stats.objectGrants == 5 && stats.modelGrants == 1)
            #expect(stats.revision == health.revision)
            #expect(stats.connections >= 1)
            #expect(stats.methods.first { $0.method == "putUser" }?.requests == 5)
        }
    }
}
