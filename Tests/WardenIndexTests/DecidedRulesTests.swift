import Testing
import WardenIndex
import WardenModel

// Minimal cases of the rules docs/semantics.md decided late ("Order of errors", empty and
// foreign page tokens, the empty permission list, GetPermissions on an unregistered type), each
// with the answer the document gives. Both the reference evaluator and the index must give it;
// the property tests compare the two on random cases of the same rules.

@Suite("Late-decided rules: minimal cases")
struct DecidedRulesTests {
    enum Query: Sendable {
        case listObjects(ListObjectsQuery)
        case listSubjects(ListSubjectsQuery)
        case permissions(PermissionsQuery)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let query: Query
        /// The document's answer, rendered as the property tests render answers.
        let expected: String
        var testDescription: String { name }
    }

    /// blog.post and blog.page share `publish`; user 1 (in group g) holds view_post model-wide,
    /// g holds change_post model-wide, and 1 holds shop.order's archive on 7, 10 and x; user 2
    /// is a superuser. Default settings: no anonymous user.
    static func setUp() throws -> [Change] {
        let order = try ContentTypeName("shop.order")
        let post = try ContentTypeName("blog.post")
        var changes: [Change] = [
            .register(try ContentType(name: post, custom: ["publish"])),
            .register(try ContentType(name: ContentTypeName("blog.page"), custom: ["publish"])),
            .register(try ContentType(name: order, custom: ["archive"])),
            .putUser(try User(id: "1")),
            .putUser(try User(id: "2", isSuperuser: true)),
            .putGroup(name: "g"),
            .addMember(user: "1", group: "g"),
            .grant(
                try Grant(
                    subject: .user("1"),
                    permission: PermissionRef(contentType: post, codename: "view_post"),
                    pk: nil
                )
            ),
            .grant(
                try Grant(
                    subject: .group("g"),
                    permission: PermissionRef(contentType: post, codename: "change_post"),
                    pk: nil
                )
            ),
        ]
        for pk in ["7", "10", "x"] {
            changes.append(
                .grant(
                    try Grant(
                        subject: .user("1"),
                        permission: PermissionRef(contentType: order, codename: "archive"),
                        pk: pk
                    )
                )
            )
        }
        return changes
    }

    static func objects(
        _ subject: Subject?,
        _ permissions: [String],
        _ type: String? = nil,
        pageSize: Int? = nil,
        token: String? = nil
    ) -> Query {
        var query = ListObjectsQuery(subject: subject, permissions: permissions, contentType: type)
        query.pageSize = pageSize
        query.pageToken = token
        return .listObjects(query)
    }

    static func subjects(_ type: String, _ pk: String, _ permissions: [String]) -> Query {
        .listSubjects(ListSubjectsQuery(object: ObjectRef(contentType: type, pk: pk), permissions: permissions))
    }

    static func permissions(_ subject: Subject?, _ type: String, _ pk: String) -> Query {
        .permissions(PermissionsQuery(subject: subject, object: ObjectRef(contentType: type, pk: pk)))
    }

    static let invalid = "error INVALID_ARGUMENT"
    static let notFound = "error NOT_FOUND"
    static let one = Subject.user("1")

    static let cases: [Case] = [
        // 1. Field rules first, whatever the names name.
        Case(
            name: "ListObjects: page_size 0 before an unknown permission",
            query: objects(one, ["blog.fly"], "blog.post", pageSize: 0),
            expected: invalid
        ),
        Case(
            name: "ListObjects: malformed page_token before an unregistered type",
            query: objects(one, ["view_animal"], "zoo.animal", token: "zz"),
            expected: invalid
        ),
        Case(
            name: "ListObjects: an empty string after an unknown one",
            query: objects(one, ["blog.fly", ""], nil),
            expected: invalid
        ),
        Case(
            name: "ListObjects: no subject and no anonymous user, unknown permission",
            query: objects(nil, ["blog.fly"], "blog.post"),
            expected: invalid
        ),
        Case(
            name: "ListObjects: no subject and no anonymous user, unregistered type",
            query: objects(nil, ["view_animal"], "zoo.animal"),
            expected: invalid
        ),
        // 2. Name resolution, strings in request order: the first that fails decides.
        Case(
            name: "ListObjects: unknown, then of another type",
            query: objects(one, ["blog.fly", "blog.view_post"], "shop.order"),
            expected: notFound
        ),
        Case(
            name: "ListObjects: of another type, then unknown",
            query: objects(one, ["blog.view_post", "blog.fly"], "shop.order"),
            expected: invalid
        ),
        Case(
            name: "ListObjects: unknown alone, no type derivable",
            query: objects(one, ["blog.fly"]),
            expected: notFound
        ),
        Case(
            name: "ListObjects: unknown, then bare, no type derivable",
            query: objects(one, ["blog.fly", "publish"]),
            expected: notFound
        ),
        Case(
            name: "ListObjects: bare, then unknown, no type derivable",
            query: objects(one, ["publish", "blog.fly"]),
            expected: invalid
        ),
        Case(
            name: "ListObjects: ambiguous, then unknown, no type derivable",
            query: objects(one, ["blog.publish", "blog.fly"]),
            expected: invalid
        ),
        Case(
            name: "ListObjects: of another type than the derived one, then unknown",
            query: objects(one, ["blog.publish", "blog.fly", "shop.archive"]),
            expected: invalid
        ),
        Case(
            name: "ListObjects: an unregistered type before a string of another type",
            query: objects(one, ["blog.view_post"], "zoo.animal"),
            expected: notFound
        ),
        Case(
            name: "ListObjects: a superuser asking about an unknown permission",
            query: objects(.user("2"), ["blog.fly"], "blog.post"),
            expected: notFound
        ),
        // Page tokens.
        Case(
            name: "ListObjects: an empty page_token means none",
            query: objects(one, ["shop.archive"], token: ""),
            expected: "objects [\"7\", \"10\", \"x\"]"
        ),
        Case(
            name: "ListObjects: a token for a pk never listed resumes after it",
            query: objects(one, ["shop.archive"], token: "o38"),
            expected: "objects [\"10\", \"x\"]"
        ),
        Case(
            name: "ListObjects: a token past the last pk",
            query: objects(one, ["archive"], "shop.order", token: "o7a"),
            expected: "objects []"
        ),
        Case(
            name: "ListObjects: a token for a 255-byte pk",
            query: objects(one, ["shop.archive"], token: "o" + String(repeating: "61", count: 255)),
            expected: "objects [\"x\"]"
        ),
        Case(
            name: "ListObjects: a token in uppercase hex",
            query: objects(one, ["shop.archive"], token: "o2F"),
            expected: "objects [\"x\"]"
        ),
        Case(
            name: "ListObjects: a token in mixed-case hex",
            query: objects(one, ["shop.archive"], token: "o6A"),
            expected: "objects [\"x\"]"
        ),
        Case(
            name: "ListObjects: a capital O is no token",
            query: objects(one, ["shop.archive"], token: "O38"),
            expected: invalid
        ),
        Case(
            name: "ListObjects: a token with odd hex",
            query: objects(one, ["shop.archive"], token: "o373"),
            expected: invalid
        ),
        Case(
            name: "ListObjects: a token for a pk with NUL",
            query: objects(one, ["shop.archive"], token: "o3700"),
            expected: invalid
        ),
        Case(
            name: "ListObjects: a token that is not UTF-8",
            query: objects(one, ["shop.archive"], token: "oc3"),
            expected: invalid
        ),
        Case(
            name: "ListObjects: a token for a 256-byte pk",
            query: objects(one, ["shop.archive"], token: "o" + String(repeating: "61", count: 256)),
            expected: invalid
        ),
        Case(
            name: "ListObjects: a token for the empty pk",
            query: objects(one, ["shop.archive"], token: "o"),
            expected: invalid
        ),
        // The empty permission list: T's registration order (add, change, delete, view, publish).
        Case(
            name: "ListObjects: empty list, the first model grant in registration order",
            query: objects(one, [], "blog.post"),
            expected: "unrestricted allow MODEL_GRANT_GROUP group=\"g\""
        ),
        Case(
            name: "ListObjects: request order, for comparison",
            query: objects(one, ["view_post", "change_post"], "blog.post"),
            expected: "unrestricted allow MODEL_GRANT_USER"
        ),
        // ListSubjects.
        Case(
            name: "ListSubjects: an invalid pk before an unregistered type",
            query: subjects("zoo.animal", "", []),
            expected: invalid
        ),
        Case(
            name: "ListSubjects: an empty string before an unknown one",
            query: subjects("shop.order", "7", ["blog.fly", ""]),
            expected: invalid
        ),
        Case(
            name: "ListSubjects: unknown, then of another type",
            query: subjects("shop.order", "7", ["blog.fly", "blog.view_post"]),
            expected: notFound
        ),
        Case(
            name: "ListSubjects: of another type, then unknown",
            query: subjects("shop.order", "7", ["blog.view_post", "blog.fly"]),
            expected: invalid
        ),
        Case(
            name: "ListSubjects: an unregistered type before a string of another type",
            query: subjects("zoo.animal", "7", ["blog.view_post"]),
            expected: notFound
        ),
        // GetPermissions.
        Case(
            name: "GetPermissions: an unregistered type",
            query: permissions(one, "zoo.animal", "7"),
            expected: notFound
        ),
        Case(
            name: "GetPermissions: an invalid pk before an unregistered type",
            query: permissions(one, "zoo.animal", ""),
            expected: invalid
        ),
        Case(
            name: "GetPermissions: an invalid user before an unregistered type",
            query: permissions(.user(""), "zoo.animal", "7"),
            expected: invalid
        ),
        Case(
            name: "GetPermissions: no subject and no anonymous user, unregistered type",
            query: permissions(nil, "zoo.animal", "7"),
            expected: invalid
        ),
    ]

    @Test("the reference and the index give the document's answer", arguments: cases)
    func documented(_ testCase: Case) throws {
        let changes = try Self.setUp()
        var reference = ReferenceEvaluator(settings: .init())
        #expect(reference.apply(changes) == nil)
        let index = PermissionIndex()
        try index.apply(changes)

        let referenceAnswer: String
        let indexAnswer: String
        func text<V>(_ expected: RefExpected<V>, _ render: (V) -> String) -> String {
            switch expected {
            case .value(let value): render(value)
            case .error(let code): "error " + code.rawValue
            case .unspecified(let why): "unspecified: " + why
            }
        }
        func text<V>(_ body: () throws(IndexError) -> Evaluated<V>, _ render: (V) -> String) -> String {
            do throws(IndexError) { return render(try body().value) } catch {
                return "error \(error.code.rawValue) (\(esc(error.message)))"
            }
        }
        switch testCase.query {
        case .listObjects(let query):
            referenceAnswer = text(reference.listObjects(query)) { answer in
                switch answer {
                case .unrestricted(let decision): "unrestricted " + render(decision)
                case .objects(let pks): renderPage(pks.map(refString), more: false)
                }
            }
            indexAnswer = text({ () throws(IndexError) in try index.listObjects(query) }, render)
        case .listSubjects(let query):
            referenceAnswer = text(reference.listSubjects(query), render)
            indexAnswer = text({ () throws(IndexError) in try index.listSubjects(query) }, render)
        case .permissions(let query):
            referenceAnswer = text(reference.permissions(query)) { render($0.map(refString)) }
            indexAnswer = text({ () throws(IndexError) in try index.permissions(query) }, render)
        }
        #expect(referenceAnswer == testCase.expected, "reference")
        // An error is compared by its code; its message is shown on failure.
        let indexCompared =
            indexAnswer.hasPrefix("error ")
            ? indexAnswer.split(separator: " ").prefix(2).joined(separator: " ") : indexAnswer
        #expect(indexCompared == testCase.expected, "index: \(indexAnswer)")
    }
}
