import WardenIndex
import WardenModel
import WardenTestSupport

// The property tests' universe: a few ids, names, pks, types and permission strings, small so
// that they collide often, with the edges of every rule among them; and the generators of the
// pieces a query is made of. See PropertyTests.swift for an overview.

// MARK: The universe

enum PropertyUniverse {
    static let userIDs = ["1", "2", "10", "Joe", "joe", "caf\u{E9}", "cafe\u{301}"]
    /// Ids outside the usual set (case, accent and leading-zero variants); `put_user` rarely creates one.
    static let strangerIDs = ["99", "JOE", "01", "cafe"]
    /// Usernames; the two `zoë`s differ in bytes only, so both may be taken at once.
    static let usernames: [String?] = [nil, nil, nil, "alice", "bob", "zo\u{EB}", "zoe\u{308}"]
    static let groupNames = ["admins", "Zed", "\u{E9}quipe", "e\u{301}quipe"]
    static let strangerGroups = ["nobody", "Admins", "\u{C9}quipe"]
    /// Object order's edges: leading zeros, the 18-digit limit of "integer" pks, pks sharing a
    /// long prefix, precomposed and decomposed `café`.
    static let pks = [
        "7", "07", "10", "1", "0", "/home/www/joe.config", "/home/www/joe", "a b", "caf\u{E9}", "cafe\u{301}",
        "999999999999999999", "1000000000000000000",
    ]
    static let strangerPKs = ["70", "cafe", " 7", "00"]
    static let invalidPKs = ["", String(repeating: "p", count: 256), "7\u{0}"]
    /// blog.post and blog.page share `publish`; shop.order is another app.
    static let initialTypes: [(String, [String])] = [
        ("blog.post", ["publish"]), ("blog.page", ["publish"]), ("shop.order", ["archive"]),
    ]
    /// Registrations that happen later, as changes: new codenames for existing types, a new type.
    static let laterTypes: [(String, [String])] = [
        ("blog.post", ["archive"]), ("zoo.animal", []), ("shop.order", ["publish"]), ("blog.page", ["feature"]),
    ]
    /// Types a query names besides the registered ones (zoo.animal: unregistered at first;
    /// shop.cart: never registered).
    static let otherTypes = ["zoo.animal", "zoo.animal", "shop.cart"]
    static let malformedTypes = ["Blog.Post", "blog", "blog.post.x", "blog.po-st"]
    static let barePermissions = [
        "publish", "archive", "feature", "view_post", "change_post", "add_page", "view_page", "delete_page",
        "view_order", "change_order", "view_animal", "fly",
    ]
    static let fullPermissions = [
        "blog.publish", "blog.archive", "shop.archive", "shop.publish", "blog.view_post", "blog.change_post",
        "blog.add_page", "blog.view_page", "blog.feature", "shop.view_order", "shop.change_order",
        "zoo.view_animal", "blog.fly", "Blog.publish", "blog.Publish",
    ]
    static let oddPermissions = ["blog.post.publish", "a.b.c", "blog.", ".publish", "view post", "blog.publish."]
    /// Strings that keep the field rules but name nothing, whatever is registered later.
    static let unknownPermissions = [
        "blog.fly", "a.b.c", "blog.post.publish", "Blog.publish", "blog.", ".publish", "shop.feature",
        "blog." + String(repeating: "x", count: 250),
    ]
    /// `app.codename`s that two types of `blog` may share (ambiguous without a type).
    static let sharedPermissions = ["blog.publish", "blog.archive", "blog.feature", "blog.view_post"]
    static let invalidPermissions = ["", "blog." + String(repeating: "x", count: 251)]
    /// Page tokens this server never issues: not `"o"` and lowercase hex, odd hex, a pk that
    /// breaks the pk rule (empty, NUL, 256 bytes) or is not UTF-8 (a lone lead byte, a bad
    /// continuation, an encoded surrogate, 0xFF).
    static let malformedTokens = [
        "garbage", "not a token", "%%%", "\u{E9}", "o", "o3", "O37", "o37 ", " o37", "0x37", "o3g", "o00", "o3700",
        "off", "oc3", "oc328", "oeda080", "o" + String(repeating: "61", count: 256),
    ]
    /// pks a well-formed token may resume after besides the universe's (none of them granted).
    static let tokenPKs = ["5", "8", "11", "zzz", "/home", "caf", String(repeating: "a", count: 255)]
}

// MARK: Pieces of queries

extension PropertyRun {
    var registeredTypes: [String] { reference.contentTypes.map { refString($0.name) } }

    func randomSubject() -> Subject? {
        let users = reference.sortedUserIDs()
        let groups = reference.sortedGroups()
        switch rng.int(0..<100) {
        case 0..<50 where !users.isEmpty: return .user(refString(rng.pick(users)))
        case 0..<64: return .user(rng.pick(PropertyUniverse.userIDs))
        case 64..<68: return .user(rng.pick(PropertyUniverse.strangerIDs))
        case 68..<80 where !groups.isEmpty: return .group(refString(rng.pick(groups)))
        case 68..<84: return .group(rng.pick(PropertyUniverse.groupNames + PropertyUniverse.strangerGroups))
        case 84..<98: return nil
        case 98: return .user(rng.pick(["", "1\u{0}"]))
        default: return .group(rng.pick(["", String(repeating: "g", count: 151)]))
        }
    }

    /// A grant of the current state to aim a query at, so that allows and non-empty lists are frequent.
    func focusGrant() -> ReferenceEvaluator.GrantRow? {
        let grants = currentGrants
        return grants.isEmpty ? nil : rng.pick(grants)
    }

    /// The reference's grants in a fixed order, cached until the next change.
    var currentGrants: [ReferenceEvaluator.GrantRow] {
        if let cached = grantCache, cached.revision == revision { return cached.grants }
        let grants = reference.sortedGrants()
        grantCache = (revision, grants)
        return grants
    }

    /// Someone who may hold `grant`: its user, or a member of its group, or the group itself.
    func holder(of grant: ReferenceEvaluator.GrantRow) -> Subject? {
        switch grant.subject {
        case .user(let id):
            return rng.chance(0.9) ? .user(refString(id)) : randomSubject()
        case .group(let name):
            let members = reference.memberships.filter { $0.group == name }.map(\.user).sorted(by: refBytePrecedes)
            if !members.isEmpty && rng.chance(0.7) { return .user(refString(rng.pick(members))) }
            return rng.chance(0.7) ? .group(refString(name)) : randomSubject()
        }
    }

    /// `codename` of `type` as a request writes it: bare or `app.codename`.
    func spelled(_ codename: RefBytes, of type: RefBytes) -> String {
        if rng.chance(0.5) { return refString(codename) }
        let app = type.prefix { $0 != UInt8(ascii: ".") }
        return refString(Array(app)) + "." + refString(codename)
    }

    func randomType() -> String {
        switch rng.int(0..<100) {
        case 0..<88: rng.pick(registeredTypes)
        case 88..<97: rng.pick(PropertyUniverse.otherTypes)
        default: rng.pick(PropertyUniverse.malformedTypes)
        }
    }

    func randomPK() -> String {
        switch rng.int(0..<100) {
        case 0..<94: rng.pick(PropertyUniverse.pks)
        case 94..<98: rng.pick(PropertyUniverse.strangerPKs)
        default: rng.pick(PropertyUniverse.invalidPKs)
        }
    }

    /// A permission of `type` (bare or `app.codename`) when it is registered, else of some registered type.
    func typedPermission(_ type: String?) -> String {
        let row = type.flatMap { reference.contentType(refBytes($0)) } ?? rng.pick(reference.contentTypes)
        return spelled(rng.pick(row.codenames), of: row.name)
    }

    func randomPermission(for type: String?) -> String {
        switch rng.int(0..<100) {
        case 0..<55: typedPermission(type)
        case 55..<70: rng.pick(PropertyUniverse.barePermissions)
        case 70..<88: rng.pick(PropertyUniverse.fullPermissions)
        case 88..<98: rng.pick(PropertyUniverse.oddPermissions)
        default: rng.pick(PropertyUniverse.invalidPermissions)
        }
    }

    func randomAccept() -> Bool? { rng.pick([nil, nil, true, false]) }

    /// A permission string that fails somewhere: a field-rule violation, an unknown name, one of
    /// another registered type than `type`, a bare codename or a shared `app.codename` (the last
    /// two fail only without a type).
    func troublePermission(besides type: String?) -> String {
        switch rng.int(0..<100) {
        case 0..<22: return rng.pick(PropertyUniverse.invalidPermissions)
        case 22..<50: return rng.pick(PropertyUniverse.unknownPermissions)
        case 50..<78:
            let others = reference.contentTypes.filter { type == nil || $0.name != refBytes(type!) }
            guard !others.isEmpty else { return rng.pick(PropertyUniverse.unknownPermissions) }
            let row = rng.pick(others)
            let app = refString(Array(row.name.prefix { $0 != UInt8(ascii: ".") }))
            return app + "." + refString(rng.pick(row.codenames))
        case 78..<90: return rng.pick(PropertyUniverse.barePermissions)
        default: return rng.pick(PropertyUniverse.sharedPermissions)
        }
    }

    /// `permissions` with one or two failing strings inserted anywhere (before, between, after
    /// the good ones), so that every order of the error kinds occurs.
    func withTrouble(_ permissions: [String], besides type: String?) -> [String] {
        var permissions = permissions
        for _ in 0..<rng.pick([1, 1, 2]) {
            permissions.insert(troublePermission(besides: type), at: rng.int(0...permissions.count))
        }
        return permissions
    }

    /// A subject that breaks a field rule (or none when no anonymous user is configured).
    func invalidSubject() -> Subject? {
        switch rng.int(0..<4) {
        case 0: return .user("")
        case 1: return .user("1\u{0}")
        case 2: return .group(String(repeating: "g", count: 151))
        default: return settings.anonymousUser == nil ? nil : .group("")
        }
    }

    /// A page token for a first page: mostly none; else empty (none), well-formed for some pk
    /// (another listing's, or one never granted), malformed, or in upper or mixed-case hex.
    func randomPageToken(type: String?) -> String? {
        func somePK() -> String {
            let granted = currentGrants.filter { type != nil && $0.contentType == refBytes(type!) }.compactMap(\.pk)
            switch rng.int(0..<100) {
            case 0..<45 where !granted.isEmpty: return refString(rng.pick(granted))
            case 0..<75: return rng.pick(PropertyUniverse.pks)
            case 75..<85: return rng.pick(PropertyUniverse.strangerPKs)
            default: return rng.pick(PropertyUniverse.tokenPKs)
            }
        }
        switch rng.int(0..<100) {
        case 0..<74: return nil
        case 74..<81: return ""
        case 81..<92: return ReferenceEvaluator.pageToken(after: refBytes(somePK()))
        case 92..<98: return rng.pick(PropertyUniverse.malformedTokens)
        default:
            let token = ReferenceEvaluator.pageToken(after: refBytes(somePK()))
            if rng.chance(0.5) { return "o" + token.dropFirst().uppercased() }
            return "o"
                + String(
                    token.dropFirst().enumerated().map {
                        $0.offset % 2 == 0 ? Character($0.element.uppercased()) : $0.element
                    }
                )
        }
    }
}
