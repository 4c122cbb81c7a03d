import WardenIndex
import WardenModel

// A brute-force evaluator of docs/semantics.md, written from the document alone (not from the
// index's code), for the property tests to compare the index against. It keeps raw rows (users,
// groups, memberships, content types, grants) and answers every query with a few nested loops.
// Slow and simple on purpose.
//
// Every identifier is kept and compared as its UTF-8 bytes (`RefBytes`), never with Swift
// `String ==`, which is Unicode canonical equivalence: `café` (U+00E9) and `cafe` + U+0301 are
// equal Swift strings but two users, two pks, two groups for Warden.

/// An identifier's UTF-8 bytes.
typealias RefBytes = [UInt8]

/// `string`'s UTF-8 bytes.
func refBytes(_ string: String) -> RefBytes { Array(string.utf8) }

/// The string whose UTF-8 bytes are `bytes` (always valid here: every byte string came from a String).
func refString(_ bytes: RefBytes) -> String { String(decoding: bytes, as: UTF8.self) }

/// Byte order (SQLite's BINARY collation).
func refBytePrecedes(_ a: RefBytes, _ b: RefBytes) -> Bool { a.lexicographicallyPrecedes(b) }

/// Object order (semantics.md "Order and pages"): pks that are canonical decimal integers (`0`,
/// or 1..18 digits without a leading zero) first, numerically; then every other pk in byte order.
func refObjectOrderPrecedes(_ a: RefBytes, _ b: RefBytes) -> Bool {
    switch (refCanonicalInteger(a), refCanonicalInteger(b)) {
    case (let x?, let y?): return x < y
    case (.some, nil): return true
    case (nil, .some): return false
    case (nil, nil): return refBytePrecedes(a, b)
    }
}

/// The value of a pk that is a canonical decimal integer, else nil.
func refCanonicalInteger(_ pk: RefBytes) -> UInt64? {
    let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    guard pk.count >= 1, pk.count <= 18, pk.allSatisfy(isDigit) else { return nil }
    if pk.count > 1 && pk[0] == UInt8(ascii: "0") { return nil }
    var value: UInt64 = 0
    for byte in pk { value = value * 10 + UInt64(byte - UInt8(ascii: "0")) }
    return value
}

/// What the reference expects of a query: a value, an error code, or nothing because
/// docs/semantics.md does not decide the case (the property test then skips the comparison and
/// counts it under the reason given). Today the document decides every case the generators
/// make, so nothing returns `.unspecified`; it stays for the next undecided question.
enum RefExpected<Value> {
    case value(Value)
    case error(IndexError.Code)
    case unspecified(String)
}

/// What resolving a request's names gave: a value, or the code of the first failure.
enum RefResolved<Value> {
    case resolved(Value)
    case failed(IndexError.Code)

    func map<Other>(_ transform: (Value) -> Other) -> RefResolved<Other> {
        switch self {
        case .resolved(let value): .resolved(transform(value))
        case .failed(let code): .failed(code)
        }
    }
}

/// Counts the queries that fell under a rule docs/semantics.md decided late (the "Order of
/// errors" and its neighbours), so that the property tests can show they compare such cases.
final class RefTally {
    private(set) var counts: [String: Int] = [:]

    func note(_ rule: String) { counts[rule, default: 0] += 1 }
}

struct ReferenceEvaluator {
    // MARK: Raw data

    /// A subject as grants and requests name it.
    enum SubjectKey: Hashable {
        case user(RefBytes)
        case group(RefBytes)
    }

    /// A registered content type: `app_label.model` and its codenames in registration order.
    struct ContentTypeRow {
        var name: RefBytes
        var appLabel: RefBytes
        var codenames: [RefBytes]
    }

    /// One grant: a model grant when `pk` is nil, else an object grant on `contentType:pk`.
    struct GrantRow: Hashable {
        var subject: SubjectKey
        var contentType: RefBytes
        var codename: RefBytes
        var pk: RefBytes?
    }

    struct MembershipRow: Hashable {
        var user: RefBytes
        var group: RefBytes
    }

    /// The server settings.
    var acceptGlobalPerms: Bool
    var anonymousUser: String?

    /// id (bytes) → user.
    var users: [RefBytes: User] = [:]
    var groups: Set<RefBytes> = []
    var memberships: Set<MembershipRow> = []
    var contentTypes: [ContentTypeRow] = []
    var grants: Set<GrantRow> = []

    init(settings: PermissionIndex.Settings) {
        acceptGlobalPerms = settings.acceptGlobalPerms
        anonymousUser = settings.anonymousUser
    }

    // MARK: Answers

    enum ObjectsAnswer {
        case unrestricted(Decision)
        /// Every qualifying pk (after the cursor, if any), in object order.
        case objects([RefBytes])
    }

    struct SubjectEntry {
        var name: RefBytes
        /// Sorted codenames when the query attaches them, else empty.
        var codenames: [RefBytes]
    }

    struct SubjectsAnswer {
        var users: [SubjectEntry]
        var groups: [SubjectEntry]
    }

    // MARK: Field rules (the table "Identifiers and their rules")

    static func isValidUserID(_ id: String) -> Bool {
        let bytes = refBytes(id)
        return bytes.count >= 1 && bytes.count <= 255 && !bytes.contains(0)
    }

    static func isValidGroupName(_ name: String) -> Bool {
        let count = name.unicodeScalars.count
        return count >= 1 && count <= 150 && !refBytes(name).contains(0)
    }

    static func isValidPK(_ pk: String) -> Bool { isValidUserID(pk) }

    static func isValidPermissionString(_ permission: String) -> Bool {
        let count = refBytes(permission).count
        return count >= 1 && count <= 255
    }

    static func isValidContentType(_ type: String) -> Bool {
        let parts = refBytes(type).split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        for part in parts {
            guard part.count >= 1, part.count <= 100 else { return false }
            for byte in part {
                let ok = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
                if !ok { return false }
            }
        }
        return true
    }

    // MARK: Page tokens (semantics.md "Order and pages")

    /// What a request's `page_token` means: `o` followed by the hex (issued lowercase, read in
    /// either case) of the pk to resume after, which must keep the pk rule (1..255 bytes of
    /// UTF-8, no NUL).
    enum PageToken: Equatable {
        /// Absent or empty (proto3's default): the first page.
        case none
        /// Resume strictly after this pk, whichever listing issued the token.
        case cursor(RefBytes)
        /// Not a token this server issues: `INVALID_ARGUMENT` (`page_token`), a field rule.
        case invalid
    }

    static func decodePageToken(_ token: String?) -> PageToken {
        guard let token, !token.isEmpty else { return .none }
        let bytes = refBytes(token)
        guard bytes[0] == UInt8(ascii: "o"), bytes.count % 2 == 1 else { return .invalid }
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var pk: RefBytes = []
        var position = 1
        while position < bytes.count {
            guard let high = nibble(bytes[position]), let low = nibble(bytes[position + 1]) else { return .invalid }
            pk.append(high << 4 | low)
            position += 2
        }
        guard pk.count >= 1, pk.count <= 255, !pk.contains(0), String(validating: pk, as: UTF8.self) != nil else {
            return .invalid
        }
        return .cursor(pk)
    }

    /// The token that resumes after `pk`, as this server writes it (lowercase hex).
    static func pageToken(after pk: RefBytes) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var token: RefBytes = [UInt8(ascii: "o")]
        for byte in pk { token += [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]] }
        return refString(token)
    }

    // MARK: Lookups

    func contentType(_ name: RefBytes) -> ContentTypeRow? {
        for row in contentTypes where row.name == name { return row }
        return nil
    }

    /// The groups a user belongs to, smallest name first (byte order).
    func groups(of user: RefBytes) -> [RefBytes] {
        var result: [RefBytes] = []
        for membership in memberships where membership.user == user && groups.contains(membership.group) {
            result.append(membership.group)
        }
        return result.sorted(by: refBytePrecedes)
    }

    func holdsObjectGrant(_ subject: SubjectKey, _ type: RefBytes, _ codename: RefBytes, _ pk: RefBytes) -> Bool {
        grants.contains(GrantRow(subject: subject, contentType: type, codename: codename, pk: pk))
    }

    func holdsModelGrant(_ subject: SubjectKey, _ type: RefBytes, _ codename: RefBytes) -> Bool {
        grants.contains(GrantRow(subject: subject, contentType: type, codename: codename, pk: nil))
    }

    func isRegisteredSubject(_ subject: SubjectKey) -> Bool {
        switch subject {
        case .user(let id): users[id] != nil
        case .group(let name): groups.contains(name)
        }
    }

    /// The subject a request names (nil: the anonymous user); nil when that is a request error.
    func requestSubject(_ subject: Subject?) -> SubjectKey? {
        switch subject {
        case nil:
            guard let anonymousUser, Self.isValidUserID(anonymousUser) else { return nil }
            return .user(refBytes(anonymousUser))
        case .user(let id):
            return Self.isValidUserID(id) ? .user(refBytes(id)) : nil
        case .group(let name):
            return Self.isValidGroupName(name) ? .group(refBytes(name)) : nil
        }
    }

    // MARK: Resolving a permission string (semantics.md "Resolving a permission string")

    enum Resolution: Equatable {
        /// The registered permission `codename` of `contentType`.
        case permission(codename: RefBytes, contentType: RefBytes)
        /// Not registered (for this type): evaluated as unknown.
        case unknown
        /// Registered only for other types than the request's.
        case mismatch
        /// A bare codename without a type: request error.
        case needsType
        /// `app.codename` of two types of the app, without a type: request error.
        case ambiguous
    }

    func resolve(_ permission: String, in type: RefBytes?) -> Resolution {
        let bytes = refBytes(permission)
        let dots = bytes.filter { $0 == UInt8(ascii: ".") }.count
        if dots >= 2 { return .unknown }
        if dots == 0 {
            guard let type else { return .needsType }
            if let row = contentType(type), row.codenames.contains(bytes) {
                return .permission(codename: bytes, contentType: type)
            }
            return .unknown
        }
        let dot = bytes.firstIndex(of: UInt8(ascii: "."))!
        let app = Array(bytes[..<dot])
        let codename = Array(bytes[(dot + 1)...])
        var owners: [RefBytes] = []
        for row in contentTypes where row.appLabel == app && row.codenames.contains(codename) {
            owners.append(row.name)
        }
        if let type {
            if owners.contains(type) { return .permission(codename: codename, contentType: type) }
            return owners.isEmpty ? .unknown : .mismatch
        }
        switch owners.count {
        case 0: return .unknown
        case 1: return .permission(codename: codename, contentType: owners[0])
        default: return .ambiguous
        }
    }

    // MARK: Check

    func check(_ request: CheckRequest) -> RefExpected<Decision> {
        // Request errors, whoever the user is.
        guard let subject = requestSubject(request.subject) else { return .error(.invalidArgument) }
        guard Self.isValidPermissionString(request.permission) else { return .error(.invalidArgument) }
        if let object = request.object {
            guard Self.isValidContentType(object.contentType), Self.isValidPK(object.pk) else {
                return .error(.invalidArgument)
            }
        }
        if let explicit = request.contentType {
            guard Self.isValidContentType(explicit) else { return .error(.invalidArgument) }
            if let object = request.object, refBytes(object.contentType) != refBytes(explicit) {
                return .error(.invalidArgument)
            }
        }
        let type = request.object.map { refBytes($0.contentType) } ?? request.contentType.map(refBytes)
        let resolution = resolve(request.permission, in: type)
        if resolution == .needsType || resolution == .ambiguous { return .error(.invalidArgument) }

        let pk = request.object.map { refBytes($0.pk) }
        let accept = request.acceptGlobalPerms ?? acceptGlobalPerms
        let modelGrantsCount = pk == nil || accept

        switch subject {
        case .user(let id):
            guard let user = users[id] else { return .value(Decision(.unknownUser)) }
            if !user.isActive { return .value(Decision(.inactiveUser)) }
            if user.isSuperuser { return .value(Decision(.superuser)) }
            guard case .permission(let codename, let permissionType) = resolution else {
                return resolution == .unknown ? .value(Decision(.unknownPermission)) : .error(.invalidArgument)
            }
            let userGroups = groups(of: id)
            if let pk {
                if holdsObjectGrant(.user(id), permissionType, codename, pk) {
                    return .value(Decision(.objectGrantUser))
                }
                for group in userGroups where holdsObjectGrant(.group(group), permissionType, codename, pk) {
                    return .value(Decision(.objectGrantGroup, group: refString(group)))
                }
            }
            if modelGrantsCount {
                if holdsModelGrant(.user(id), permissionType, codename) { return .value(Decision(.modelGrantUser)) }
                for group in userGroups where holdsModelGrant(.group(group), permissionType, codename) {
                    return .value(Decision(.modelGrantGroup, group: refString(group)))
                }
            }
            return .value(Decision(.noGrant))

        case .group(let name):
            guard groups.contains(name) else { return .value(Decision(.unknownUser)) }
            guard case .permission(let codename, let permissionType) = resolution else {
                return resolution == .unknown ? .value(Decision(.unknownPermission)) : .error(.invalidArgument)
            }
            if let pk, holdsObjectGrant(.group(name), permissionType, codename, pk) {
                return .value(Decision(.objectGrantGroup, group: refString(name)))
            }
            if modelGrantsCount, holdsModelGrant(.group(name), permissionType, codename) {
                return .value(Decision(.modelGrantGroup, group: refString(name)))
            }
            return .value(Decision(.noGrant))
        }
    }

    // MARK: Order of errors (semantics.md "Order of errors")
    // 1. Field rules, every field: INVALID_ARGUMENT, whatever else is wrong with the request.
    // 2. Name resolution, permission strings in request order: the first that fails decides.
    // 3. Evaluation, where unknown subjects are answers.

    static func same(_ a: Decision, _ b: Decision) -> Bool {
        a.reason == b.reason && a.group.map(refBytes) == b.group.map(refBytes)
    }

    /// The code of a permission string that failed to resolve: `NOT_FOUND` for an unknown one,
    /// `INVALID_ARGUMENT` for one of another type, or a bare or ambiguous one without a type.
    static func failureCode(_ resolution: Resolution) -> IndexError.Code {
        resolution == .unknown ? .notFound : .invalidArgument
    }

    /// Resolves `permissions` in `type`, in request order: their codenames, or the code of the
    /// first string that fails (it decides, whatever the later ones are).
    func resolveAll(_ permissions: [String], in type: RefBytes, tally: RefTally? = nil, _ kind: String = "")
        -> RefResolved<[RefBytes]>
    {
        var codenames: [RefBytes] = []
        for (position, permission) in permissions.enumerated() {
            let resolution = resolve(permission, in: type)
            guard case .permission(let codename, _) = resolution else {
                let code = Self.failureCode(resolution)
                if let tally {
                    let laterCodes = permissions[(position + 1)...].compactMap { later -> IndexError.Code? in
                        let resolved = resolve(later, in: type)
                        if case .permission = resolved { return nil }
                        return Self.failureCode(resolved)
                    }
                    if laterCodes.contains(where: { $0 != code }) {
                        tally.note("\(kind): the first failing string decides over a later one of the other code")
                    }
                }
                return .failed(code)
            }
            codenames.append(codename)
        }
        return .resolved(codenames)
    }

    // MARK: ListObjects

    /// Every qualifying object after the request's page token (every page at once).
    func listObjects(_ query: ListObjectsQuery, tally: RefTally? = nil) -> RefExpected<ObjectsAnswer> {
        // 1. Field rules, every field: INVALID_ARGUMENT whatever else is wrong.
        let subject = requestSubject(query.subject)
        let token = Self.decodePageToken(query.pageToken)
        var fieldError = subject == nil
        if case .invalid = token { fieldError = true }
        if let size = query.pageSize, size < 1 || size > 100_000 { fieldError = true }
        if query.permissions.contains(where: { !Self.isValidPermissionString($0) }) { fieldError = true }
        if let explicit = query.contentType, !Self.isValidContentType(explicit) { fieldError = true }
        guard !fieldError, let subject else {
            if let tally, query.contentType.map(Self.isValidContentType) ?? true,
                case .failed(.notFound) = resolveListObjects(query)
            {
                tally.note("ListObjects: a field rule (INVALID_ARGUMENT) before a NOT_FOUND")
            }
            return .error(.invalidArgument)
        }

        // 2. Name resolution, before the subject is looked at.
        let resolution: ListObjectsResolution
        switch resolveListObjects(query, tally: tally) {
        case .failed(let code): return .error(code)
        case .resolved(let resolved): resolution = resolved
        }
        let type = resolution.type
        let codenames = resolution.codenames
        let anyPerm = query.anyPerm || resolution.wholeType

        // 3. Evaluation.
        let accept = query.acceptGlobalPerms ?? acceptGlobalPerms
        var sources: [SubjectKey]
        switch subject {
        case .user(let id):
            guard let user = users[id], user.isActive else { return .value(.objects([])) }
            if query.withSuperuser && user.isSuperuser { return .value(.unrestricted(Decision(.superuser))) }
            sources = [.user(id)]
            if query.useGroups { sources += groups(of: id).map { .group($0) } }
        case .group(let name):
            guard groups.contains(name) else { return .value(.objects([])) }
            sources = [.group(name)]
        }

        var remaining = codenames
        if accept {
            func modelSatisfied(_ codename: RefBytes) -> Bool {
                sources.contains { holdsModelGrant($0, type, codename) }
            }
            /// Why a model-satisfied permission opens every object.
            func reason(_ codename: RefBytes) -> Decision {
                if case .group(let name) = subject { return Decision(.modelGrantGroup, group: refString(name)) }
                if holdsModelGrant(sources[0], type, codename) { return Decision(.modelGrantUser) }
                for source in sources.dropFirst() where holdsModelGrant(source, type, codename) {
                    if case .group(let name) = source { return Decision(.modelGrantGroup, group: refString(name)) }
                }
                fatalError("not model-satisfied")
            }
            // In request order, or the type's registration order for the empty list.
            let satisfied = codenames.filter(modelSatisfied)
            if !satisfied.isEmpty && (anyPerm || satisfied.count == codenames.count) {
                let decision = reason(satisfied[0])
                if let tally, resolution.wholeType, satisfied.map(reason).contains(where: { !Self.same($0, decision) }) {
                    tally.note("ListObjects: empty list, model grants with different reasons (registration order)")
                }
                return .value(.unrestricted(decision))
            }
            remaining = codenames.filter { !modelSatisfied($0) }
        }

        // Object grants: every pk of T that some grant names.
        var candidates: Set<RefBytes> = []
        for grant in grants where grant.contentType == type {
            if let pk = grant.pk { candidates.insert(pk) }
        }
        var result: [RefBytes] = []
        for pk in candidates {
            var held = 0
            for codename in remaining where sources.contains(where: { holdsObjectGrant($0, type, codename, pk) }) {
                held += 1
            }
            let qualifies = anyPerm ? held >= 1 : held == remaining.count
            if qualifies { result.append(pk) }
        }
        result.sort(by: refObjectOrderPrecedes)
        if case .cursor(let cursor) = token { result = result.filter { refObjectOrderPrecedes(cursor, $0) } }
        return .value(.objects(result))
    }

    /// What ListObjects resolves: the type T and the codenames every object is checked for.
    private struct ListObjectsResolution {
        var type: RefBytes
        var codenames: [RefBytes]
        /// The permission list was empty: "any permission of T", in registration order.
        var wholeType: Bool
    }

    /// ListObjects' resolution (semantics.md "Resolution"), for a request that keeps the field rules.
    private func resolveListObjects(_ query: ListObjectsQuery, tally: RefTally? = nil)
        -> RefResolved<ListObjectsResolution>
    {
        let strings = query.permissions
        var type: RefBytes? = nil
        if let explicit = query.contentType {
            // The given type comes first: T must exist before anything resolves in it.
            guard let row = contentType(refBytes(explicit)) else {
                if let tally, strings.contains(where: { resolve($0, in: refBytes(explicit)) == .mismatch }) {
                    tally.note("ListObjects: an unregistered type (NOT_FOUND) before a string of another type")
                }
                return .failed(.notFound)
            }
            if strings.isEmpty {
                return .resolved(ListObjectsResolution(type: row.name, codenames: row.codenames, wholeType: true))
            }
            type = row.name
        } else {
            if strings.isEmpty { return .failed(.invalidArgument) }
            for permission in strings {
                if case .permission(_, let owner) = resolve(permission, in: nil) {
                    type = owner
                    break
                }
            }
        }
        guard let type else {
            // No type derivable: no string resolves, so the first one fails first (bare or
            // ambiguous: INVALID_ARGUMENT; unknown: NOT_FOUND).
            if let tally, strings.contains(where: { resolve($0, in: nil) == .unknown }) {
                tally.note("ListObjects: no type derivable, some string unknown")
            }
            return .failed(Self.failureCode(resolve(strings[0], in: nil)))
        }
        return resolveAll(strings, in: type, tally: tally, "ListObjects").map {
            ListObjectsResolution(type: type, codenames: $0, wholeType: false)
        }
    }

    // MARK: ListSubjects

    func listSubjects(_ query: ListSubjectsQuery, tally: RefTally? = nil) -> RefExpected<SubjectsAnswer> {
        let type = refBytes(query.object.contentType)
        let pk = refBytes(query.object.pk)
        // 1. Field rules.
        let fieldError = query.permissions.contains(where: { !Self.isValidPermissionString($0) })
            || !Self.isValidContentType(query.object.contentType) || !Self.isValidPK(query.object.pk)
        if fieldError {
            if let tally, Self.isValidContentType(query.object.contentType) {
                if contentType(type) == nil {
                    tally.note("ListSubjects: a field rule (INVALID_ARGUMENT) before an unregistered type")
                } else if case .failed(.notFound) = resolveAll(query.permissions, in: type) {
                    tally.note("ListSubjects: a field rule (INVALID_ARGUMENT) before a NOT_FOUND")
                }
            }
            return .error(.invalidArgument)
        }
        // 2. Name resolution: the type, then the filter strings in request order.
        guard let typeRow = contentType(type) else {
            if let tally, query.permissions.contains(where: { resolve($0, in: type) == .mismatch }) {
                tally.note("ListSubjects: an unregistered type (NOT_FOUND) before a string of another type")
            }
            return .error(.notFound)
        }
        let filter: [RefBytes]
        switch resolveAll(query.permissions, in: type, tally: tally, "ListSubjects") {
        case .failed(let code): return .error(code)
        case .resolved(let codenames): filter = codenames
        }

        // 3. Evaluation.
        let accept = query.acceptGlobalPerms ?? acceptGlobalPerms
        /// The type's codenames that any of `sources` holds on the object.
        func codenames(_ sources: [SubjectKey]) -> [RefBytes] {
            var result: [RefBytes] = []
            for codename in typeRow.codenames {
                let held = sources.contains {
                    holdsObjectGrant($0, type, codename, pk) || (accept && holdsModelGrant($0, type, codename))
                }
                if held { result.append(codename) }
            }
            return result.sorted(by: refBytePrecedes)
        }
        func keep(_ held: [RefBytes]) -> Bool {
            if held.isEmpty { return false }
            return filter.isEmpty || filter.contains { held.contains($0) }
        }

        var listedUsers: [SubjectEntry] = []
        for (id, user) in users where user.isActive {
            let held: [RefBytes]
            if query.withSuperusers && user.isSuperuser {
                held = typeRow.codenames.sorted(by: refBytePrecedes)
            } else {
                var sources: [SubjectKey] = [.user(id)]
                if query.withGroupUsers { sources += groups(of: id).map { .group($0) } }
                held = codenames(sources)
            }
            if keep(held) { listedUsers.append(SubjectEntry(name: id, codenames: query.attachPerms ? held : [])) }
        }
        var listedGroups: [SubjectEntry] = []
        for name in groups {
            let held = codenames([.group(name)])
            if keep(held) { listedGroups.append(SubjectEntry(name: name, codenames: query.attachPerms ? held : [])) }
        }
        listedUsers.sort { refObjectOrderPrecedes($0.name, $1.name) }
        listedGroups.sort { refBytePrecedes($0.name, $1.name) }
        return .value(SubjectsAnswer(users: listedUsers, groups: listedGroups))
    }

    // MARK: GetPermissions

    func permissions(_ query: PermissionsQuery, tally: RefTally? = nil) -> RefExpected<[RefBytes]> {
        let type = refBytes(query.object.contentType)
        let pk = refBytes(query.object.pk)
        // 1. Field rules.
        guard let subject = requestSubject(query.subject), Self.isValidContentType(query.object.contentType),
            Self.isValidPK(query.object.pk)
        else {
            if let tally, Self.isValidContentType(query.object.contentType), contentType(type) == nil {
                tally.note("GetPermissions: a field rule (INVALID_ARGUMENT) before an unregistered type")
            }
            return .error(.invalidArgument)
        }
        // 2. Name resolution: the object's type must be registered.
        guard let typeRow = contentType(type) else {
            tally?.note("GetPermissions: an unregistered type (NOT_FOUND)")
            return .error(.notFound)
        }

        // 3. Evaluation.
        let accept = query.acceptGlobalPerms ?? acceptGlobalPerms
        var sources: [SubjectKey]
        switch subject {
        case .user(let id):
            guard let user = users[id], user.isActive else { return .value([]) }
            if user.isSuperuser && query.mode == .both {
                return .value(typeRow.codenames.sorted(by: refBytePrecedes))
            }
            switch query.mode {
            case .both: sources = [.user(id)] + groups(of: id).map { .group($0) }
            case .user: sources = [.user(id)]
            case .groups: sources = groups(of: id).map { .group($0) }
            }
        case .group(let name):
            guard groups.contains(name) else { return .value([]) }
            sources = [.group(name)]
        }
        var result: [RefBytes] = []
        for codename in typeRow.codenames {
            let held = sources.contains {
                holdsObjectGrant($0, type, codename, pk) || (accept && holdsModelGrant($0, type, codename))
            }
            if held { result.append(codename) }
        }
        return .value(result.sorted(by: refBytePrecedes))
    }

    // MARK: Changes (semantics.md "Writes to the index")

    /// Applies a batch: each change is checked against the state the earlier ones left; the first
    /// refused one refuses the whole batch (nothing applied) with its code.
    mutating func apply(_ changes: [Change]) -> IndexError.Code? {
        var next = self
        for change in changes {
            if let code = next.applyOne(change) { return code }
        }
        self = next
        return nil
    }

    /// Applies one change, or returns why it is refused (without changing anything).
    mutating func applyOne(_ change: Change) -> IndexError.Code? {
        switch change {
        case .putUser(let user):
            let id = refBytes(user.id)
            if let username = user.username {
                for (otherID, other) in users where otherID != id {
                    if let taken = other.username, refBytes(taken) == refBytes(username) { return .alreadyExists }
                }
            }
            users[id] = user

        case .deleteUser(let rawID):
            let id = refBytes(rawID)
            users[id] = nil
            memberships = memberships.filter { $0.user != id }
            grants = grants.filter { $0.subject != .user(id) }

        case .putGroup(let name):
            guard Self.isValidGroupName(name) else { return .invalidArgument }
            groups.insert(refBytes(name))

        case .deleteGroup(let rawName):
            let name = refBytes(rawName)
            groups.remove(name)
            memberships = memberships.filter { $0.group != name }
            grants = grants.filter { $0.subject != .group(name) }

        case .addMember(let user, let group):
            guard users[refBytes(user)] != nil, groups.contains(refBytes(group)) else { return .notFound }
            memberships.insert(MembershipRow(user: refBytes(user), group: refBytes(group)))

        case .removeMember(let user, let group):
            memberships.remove(MembershipRow(user: refBytes(user), group: refBytes(group)))

        case .register(let type):
            let name = refBytes(type.name.description)
            let codenames = type.codenames.map(refBytes)
            if let position = contentTypes.firstIndex(where: { $0.name == name }) {
                for codename in codenames where !contentTypes[position].codenames.contains(codename) {
                    contentTypes[position].codenames.append(codename)
                }
            } else {
                contentTypes.append(ContentTypeRow(name: name, appLabel: refBytes(type.name.appLabel), codenames: codenames))
            }

        case .grant(let grant):
            let row = Self.row(grant)
            guard isRegisteredSubject(row.subject) else { return .notFound }
            guard let type = contentType(row.contentType), type.codenames.contains(row.codename) else {
                return .notFound
            }
            grants.insert(row)

        case .revoke(let grant):
            grants.remove(Self.row(grant))

        case .deleteObject(let type, let pk):
            let typeBytes = refBytes(type.description)
            let pkBytes = refBytes(pk)
            grants = grants.filter { !($0.contentType == typeBytes && $0.pk == pkBytes) }
        }
        return nil
    }

    static func row(_ grant: Grant) -> GrantRow {
        let subject: SubjectKey =
            switch grant.subject {
            case .user(let id): .user(refBytes(id))
            case .group(let name): .group(refBytes(name))
            }
        return GrantRow(
            subject: subject,
            contentType: refBytes(grant.permission.contentType.description),
            codename: refBytes(grant.permission.codename),
            pk: grant.pk.map(refBytes)
        )
    }

    // MARK: Inspection (for generators and statistics)

    /// Grants in a fixed order (Sets iterate in a per-process random order; generators must not).
    func sortedGrants() -> [GrantRow] {
        func key(_ row: GrantRow) -> RefBytes {
            var key: RefBytes
            switch row.subject {
            case .user(let id): key = [1] + id
            case .group(let name): key = [2] + name
            }
            key += [0] + row.contentType + [0] + row.codename + [0] + (row.pk.map { [1] + $0 } ?? [])
            return key
        }
        return grants.sorted { refBytePrecedes(key($0), key($1)) }
    }

    func sortedUserIDs() -> [RefBytes] { users.keys.sorted(by: refBytePrecedes) }
    func sortedGroups() -> [RefBytes] { groups.sorted(by: refBytePrecedes) }

    /// The counts `PermissionIndex.statistics` reports (besides the revision).
    var statistics: (users: Int, groups: Int, contentTypes: Int, permissions: Int, objects: Int, objectGrants: Int, modelGrants: Int) {
        var objects: Set<[RefBytes]> = []
        for grant in grants { if let pk = grant.pk { objects.insert([grant.contentType, pk]) } }
        return (
            users.count, groups.count, contentTypes.count,
            contentTypes.reduce(0) { $0 + $1.codenames.count },
            objects.count,
            grants.filter { $0.pk != nil }.count,
            grants.filter { $0.pk == nil }.count
        )
    }
}
