import Testing
import WardenIndex
import WardenModel
import WardenTestSupport

/// `check(raw:)` — the transport's bytes fast path — answers exactly as `check` does whenever it
/// answers, and declines (nil) otherwise.
@Suite("Raw check fast path")
struct RawCheckTests {
    static func withRaw<T>(_ request: CheckRequest, _ body: (RawCheckRequest) -> T) -> T {
        func bytes<R>(_ string: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
            var copy = string
            return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        }
        let user: String? = if case .user(let id) = request.subject { id } else { nil }
        return bytes(user ?? "") { userBytes in
            bytes(request.permission) { permission in
                bytes(request.object?.contentType ?? "") { type in
                    bytes(request.object?.pk ?? "") { pk in
                        body(
                            RawCheckRequest(
                                user: user == nil ? nil : userBytes,
                                permission: permission,
                                objectType: request.object == nil ? nil : type,
                                pk: pk,
                                hasContentType: request.contentType != nil,
                                acceptGlobalPerms: request.acceptGlobalPerms
                            )
                        )
                    }
                }
            }
        }
    }

    @Test("agrees with check on random requests, common and odd")
    func agrees() throws {
        let data = try BenchmarkDataSet(scale: 0.002)
        let index = PermissionIndex()
        try index.apply(data.schema + data.grants.map(Change.grant))
        try index.apply([
            .putUser(try User(id: "off", isActive: false)),
            .register(try ContentType(name: ContentTypeName("blog.post"))),
        ])
        var random = SplitMix64(seed: 99)
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        var answered = 0
        for _ in 0..<20_000 {
            let grant = pick(data.grants)
            let user = pick([
                BenchmarkDataSet.userID(Int(random.next() % UInt64(data.userCount))), "off", "nobody", "", "1",
            ])
            let permission = pick([
                grant.permission.description, grant.permission.codename, "lab.nope", "a.b.c", "", "blog.add_post",
            ])
            let object: ObjectRef? = pick([
                grant.pk.map { ObjectRef(contentType: grant.permission.contentType.description, pk: $0) },
                ObjectRef(contentType: "drivers.car", pk: "car-1"), ObjectRef(contentType: "lab.experiment", pk: ""),
                ObjectRef(contentType: "lab.experiment", pk: "a\u{0}b"), ObjectRef(contentType: "nope.type", pk: "1"),
                nil,
            ])
            let request = CheckRequest(
                subject: pick([.user(user), .user(user), .group(BenchmarkDataSet.groupName(0)), nil]),
                permission: permission,
                object: object,
                contentType: pick([nil, nil, nil, "lab.experiment"]),
                acceptGlobalPerms: pick([nil, true, false])
            )
            let expected = Result { () throws(IndexError) in try index.check(request).value }
            guard let raw = Self.withRaw(request, { index.check(raw: $0) }) else { continue }
            answered += 1
            #expect(expected == .success(raw.value), "\(request)")
            #expect(raw.revision == index.revision)
        }
        // The common case: a registered user, app.codename, the grant's own object (or none).
        var common = 0
        for _ in 0..<10_000 {
            let grant = pick(data.grants)
            let request = CheckRequest(
                subject: .user(BenchmarkDataSet.userID(Int(random.next() % UInt64(data.userCount)))),
                permission: grant.permission.description,
                object: grant.pk.map { ObjectRef(contentType: grant.permission.contentType.description, pk: $0) },
                acceptGlobalPerms: pick([nil, false])
            )
            guard let raw = Self.withRaw(request, { index.check(raw: $0) }) else { continue }
            common += 1
            #expect(try index.check(request).value == raw.value, "\(request)")
        }
        #expect(
            answered > 100 && common == 10_000,
            "the fast path answered \(answered) odd and \(common) of 10000 common requests"
        )
    }
}
