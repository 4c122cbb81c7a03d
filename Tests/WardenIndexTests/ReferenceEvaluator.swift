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
                let ok =
                    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
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
}
