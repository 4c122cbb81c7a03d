import Foundation
import Testing
import WardenClient
import WardenProto
import WardenWire

/// BatchGetPermissions (method 6) and ListObjects' `packed_pks` against a real server process.
@Suite("BatchGetPermissions and packed ListObjects end to end", .serialized)
struct PermissionSetsRPCTests {
    static func request(
        _ subject: Warden_V1_Subject,
        _ pks: [String],
        mode: Warden_V1_PermissionMode = .both
    ) -> Warden_V1_BatchGetPermissionsRequest {
        var request = Warden_V1_BatchGetPermissionsRequest()
        request.subject = subject
        request.contentType = "lab.experiment"
        request.pks = pks
        request.mode = mode
        return request
    }

    @Test("each object's answer equals GetPermissions for it, in every mode, for users and groups")
    func equalsGetPermissions() async throws {
        try await withServer { _, warden in
            try await RPCTests.seed(warden)
            _ = try await warden.grant(Warden_V1_Grant(.user("2"), "lab.change_experiment", pk: "1"))
            _ = try await warden.grant(
                Warden_V1_Grant(.user("2"), "lab.publish_experiment", pk: "/home/www/joe.config")
            )
            let pks = ["1", "2", "3", "4", "5", "9", "/home/www/joe.config", "1"]
            let subjects: [Warden_V1_Subject] =
                ["1", "2", "3", "4", "5", "404"].map { .user($0) } + [.group("Read only"), .group("Nobody")]
            for subject in subjects {
                for mode in [Warden_V1_PermissionMode.both, .userOnly, .groupsOnly] {
                    for accept in [nil, false] as [Bool?] {
                        var batch = Self.request(subject, pks, mode: mode)
                        if let accept { batch.acceptGlobalPerms = accept }
                        let answer = try await warden.batchGetPermissions(batch)
                        #expect(
                            answer.codenames == [
                                "add_experiment", "change_experiment", "delete_experiment", "publish_experiment",
                                "view_experiment",
                            ]
                        )
                        #expect(answer.masks.count == pks.count, "one byte per object for five codenames")
                        for (position, pk) in pks.enumerated() {
                            var single = Warden_V1_GetPermissionsRequest()
                            single.subject = subject
                            single.object = RPCTests.experiment(pk)
                            single.mode = mode
                            if let accept { single.acceptGlobalPerms = accept }
                            let expected = try await warden.getPermissions(single)
                            #expect(
                                answer.codenames(of: position) == expected.codenames,
                                "\(subject) \(mode) \(accept as Any) \(pk)"
                            )
                            #expect(answer.revision == expected.revision)
                        }
                    }
                }
            }
            // The superuser holds every codename; the maintainer's model grant counts unless turned off.
            #expect(try await warden.batchGetPermissions(Self.request(.user("4"), ["7"])).masks == Data([0b11111]))
            #expect(try await warden.batchGetPermissions(Self.request(.user("3"), ["7"])).masks == Data([0b00010]))
            #expect(try await warden.batchGetPermissions(Self.request(.user("2"), [])).masks.isEmpty)
            let stats = try await warden.stats()
            #expect(stats.methods.first { $0.method == "batchGetPermissions" }?.requests ?? 0 > 0)
        }
    }

    @Test("bad input: an empty or over-long pk, an unknown type, too many pks, an unknown mode")
    func badInput() async throws {
        try await withServer(environment: ["WARDEN_MAX_BATCH_ITEMS": "100"]) { _, warden in
            try await RPCTests.seed(warden)
            func fails(_ request: Warden_V1_BatchGetPermissionsRequest, _ code: StatusCode, _ text: String) async {
                await #expect { try await warden.batchGetPermissions(request) } throws: {
                    ($0 as? WardenError)?.code == code && "\($0)".contains(text)
                }
            }
            await fails(Self.request(.user("1"), ["1", ""]), .invalidArgument, "pks[1]: must be 1..255 bytes")
            await fails(Self.request(.user("1"), [String(repeating: "x", count: 256)]), .invalidArgument, "pks[0]")
            var unknownType = Self.request(.user("1"), ["1"])
            unknownType.contentType = "lab.sample"
            await fails(unknownType, .notFound, "content_type: content type lab.sample is not registered")
            unknownType.pks = ["1", ""]
            await fails(unknownType, .invalidArgument, "pks[1]")
            var malformedType = Self.request(.user("1"), ["1"])
            malformedType.contentType = "Lab"
            await fails(malformedType, .invalidArgument, "content_type")
            await fails(
                Self.request(.user("1"), (0...100).map(String.init)),
                .invalidArgument,
                "pks: at most 100 pks in one BatchGetPermissions (got 101)"
            )
            #expect(
                try await warden.batchGetPermissions(Self.request(.user("1"), (1...100).map(String.init))).masks.count
                    == 100
            )
            var badMode = Self.request(.user("1"), ["1"])
            badMode.mode = .UNRECOGNIZED(7)
            await fails(badMode, .invalidArgument, "mode: 7")
            await fails(Self.request(.user(""), ["1"]), .invalidArgument, "user")
            var anonymous = Self.request(.user("1"), ["1"])
            anonymous.clearSubject()
            await fails(anonymous, .invalidArgument, "user: required")
        }
    }

    @Test("ListObjects with packed_pks: the same pks, NUL-joined; without it, `pks` as before")
    func packedListObjects() async throws {
        try await withServer { _, warden in
            try await RPCTests.seed(warden)
            let pks = (1...25).map { "\($0 * 3)" } + ["/home/www/joe.config", "caf\u{E9}"]
            _ = try await warden.bulkGrant(pks.map { Warden_V1_Grant(.user("2"), "lab.delete_experiment", pk: $0) })
            var request = Warden_V1_ListObjectsRequest()
            request.subject = .user("2")
            request.permissions = ["lab.delete_experiment"]
            request.pageSize = 10
            var plain: [String] = []
            var packed: [String] = []
            while true {
                let page = try await warden.listObjects(request)
                #expect(page.packedPks.isEmpty)
                plain += page.pks
                if page.nextPageToken.isEmpty { break }
                request.pageToken = page.nextPageToken
            }
            request.pageToken = ""
            request.packedPks = true
            while true {
                let page = try await warden.listObjects(request)
                #expect(page.pks.isEmpty)
                #expect(
                    page.packedPks.split(separator: 0, omittingEmptySubsequences: false).count == page.pagePks.count
                )
                packed += page.pagePks
                if page.nextPageToken.isEmpty { break }
                request.pageToken = page.nextPageToken
            }
            #expect(plain == pks && packed == pks)
            request.pageToken = ""
            #expect(try await warden.listAllObjects(request).pks == pks)
            request.subject = .user("1")
            request.pageToken = ""
            let empty = try await warden.listObjects(request)
            #expect(empty.packedPks.isEmpty && empty.pks.isEmpty && empty.pagePks.isEmpty)
        }
    }
}
