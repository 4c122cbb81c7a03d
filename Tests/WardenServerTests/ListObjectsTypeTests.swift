import Testing
import WardenClient
import WardenProto

/// ListObjects names the content type it lists on every answer (`ListObjectsResponse.content_type`),
/// against a real server: given, derived from the permissions, unrestricted, empty, and on every
/// page of a paged listing, packed or not.
@Suite("ListObjects echoes the content type", .serialized)
struct ListObjectsTypeTests {
    /// Two types of one app, so a type derived from `lab.view_sample` is not simply the app's first.
    static func seed(_ warden: WardenConnection) async throws {
        _ = try await warden.registerContentType("lab.experiment")
        _ = try await warden.registerContentType("lab.sample")
        _ = try await warden.putUser("1")
        _ = try await warden.putUser("root", isSuperuser: true)
        _ = try await warden.putGroup("Lab")
        _ = try await warden.addMember(user: "1", group: "Lab")
        _ = try await warden.grant(Warden_V1_Grant(.group("Lab"), "lab.change_sample"))
        _ = try await warden.bulkGrant((1...25).map { Warden_V1_Grant(.user("1"), "lab.view_sample", pk: "\($0)") })
    }

    static func request(
        _ subject: String,
        _ permissions: [String],
        contentType: String = ""
    ) -> Warden_V1_ListObjectsRequest {
        var request = Warden_V1_ListObjectsRequest()
        request.subject = .user(subject)
        request.permissions = permissions
        request.contentType = contentType
        return request
    }

    @Test("every page of a listing derived from app_label.codename names the type, packed or not")
    func pages() async throws {
        try await withServer { _, warden in
            try await Self.seed(warden)
            for packed in [false, true] {
                var request = Self.request("1", ["lab.view_sample"])
                request.pageSize = 7
                request.packedPks = packed
                var types: [String] = []
                var listed: [String] = []
                while true {
                    let page = try await warden.listObjects(request)
                    types.append(page.contentType)
                    listed += page.pagePks
                    if page.nextPageToken.isEmpty { break }
                    request.pageToken = page.nextPageToken
                    request.minRevision = page.revision
                }
                #expect(types == Array(repeating: "lab.sample", count: 4), "packed: \(packed)")
                #expect(listed == (1...25).map { "\($0)" })
            }
        }
    }

    @Test("given explicitly, derived, unrestricted (superuser, model grant) and empty answers name the type")
    func answers() async throws {
        try await withServer { _, warden in
            try await Self.seed(warden)
            // Given explicitly, with no permissions: any permission of the type (object grants
            // only: the group's model grant would make it unrestricted).
            var any = Self.request("1", [], contentType: "lab.sample")
            any.acceptGlobalPerms = false
            let given = try await warden.listObjects(any)
            #expect(given.contentType == "lab.sample" && given.pks.count == 25)
            // Given explicitly with bare codenames.
            let bare = try await warden.listObjects(
                Self.request("1", ["view_experiment"], contentType: "lab.experiment")
            )
            #expect(bare.contentType == "lab.experiment" && bare.pks.isEmpty && !bare.unrestricted)
            // Unrestricted for a superuser: the type comes from the permission alone.
            let superuser = try await warden.listObjects(Self.request("root", ["lab.view_experiment"]))
            #expect(superuser.unrestricted && superuser.unrestrictedReason.reason == .superuser)
            #expect(superuser.contentType == "lab.experiment")
            // Unrestricted through a group's model grant, derived from the permission too.
            let model = try await warden.listObjects(Self.request("1", ["lab.change_sample"]))
            #expect(model.unrestricted && model.unrestrictedReason.reason == .modelGrantGroup)
            #expect(model.contentType == "lab.sample")
            // An unknown user: one empty page, still naming the type.
            let unknown = try await warden.listObjects(Self.request("nobody", ["lab.view_sample"]))
            #expect(unknown.contentType == "lab.sample" && unknown.pks.isEmpty && unknown.nextPageToken.isEmpty)
        }
    }
}
