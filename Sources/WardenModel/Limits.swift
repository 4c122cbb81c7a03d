#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The limits of DESIGN.md §1 and the checks that enforce them.
///
/// Identifiers are compared byte for byte (UTF-8), never Unicode-normalized: SQLite's `BINARY`
/// collation does the same, so the index and the database always agree on identity.
public enum Limits {
    /// User ids and object pks: 1..255 bytes of UTF-8.
    public static let maxIdentifierBytes = 255
    /// Usernames and group names: 1..150 characters (Unicode scalars), as Django's fields.
    public static let maxNameCharacters = 150
    /// Each part of `app_label.model`: 1..100 characters of `[a-z0-9_]`.
    public static let maxContentTypePartCharacters = 100
    /// Codenames: 1..100 characters of `[A-Za-z0-9_-]`.
    public static let maxCodenameCharacters = 100
    /// Codenames of one content type, at most: far above any Django model's (its four defaults
    /// plus the `Meta.permissions` it lists, rarely more than a few dozen), and low enough that
    /// one registration stays a short write (10,000 took 0.2 s, docs/reliability.md). Counts
    /// every codename the type holds, earlier registrations' included.
    public static let maxCodenamesPerContentType = 10_000
    /// A permission string in a request: 1..255 bytes.
    public static let maxPermissionBytes = 255
    /// ListObjects pages: 1..100000 objects, 1000 when the request does not say.
    public static let maxPageSize = 100_000
    /// The page size used when a request gives none.
    public static let defaultPageSize = 1000

    /// Checks a byte-limited identifier (user id, object pk): 1..255 bytes, no NUL.
    public static func checkIdentifier(_ value: String, field: String) throws(ValidationError) {
        let count = value.utf8.count
        guard count >= 1, count <= maxIdentifierBytes else {
            throw ValidationError(field: field, rule: "must be 1..\(maxIdentifierBytes) bytes of UTF-8 (got \(count))")
        }
        guard !containsNUL(value) else {
            throw ValidationError(field: field, rule: "must not contain NUL")
        }
    }

    /// Whether `value` holds a NUL byte, scanned with `memchr` on the string's own storage
    /// (`utf8.contains` walks `String.Index` values, ten times slower: it showed in cold loads).
    @inline(__always)
    static func containsNUL(_ value: String) -> Bool {
        value.utf8.withContiguousStorageIfAvailable { $0.isEmpty ? false : memchr($0.baseAddress!, 0, $0.count) != nil }
            ?? value.utf8.contains(0)
    }

    /// Checks a character-limited name (username, group name): 1..150 characters, no NUL.
    public static func checkName(_ value: String, field: String) throws(ValidationError) {
        let count = value.utf8.count <= maxNameCharacters ? value.utf8.count : value.unicodeScalars.count
        guard count >= 1, count <= maxNameCharacters else {
            throw ValidationError(field: field, rule: "must be 1..\(maxNameCharacters) characters (got \(count))")
        }
        guard !containsNUL(value) else {
            throw ValidationError(field: field, rule: "must not contain NUL")
        }
    }

    /// Checks a codename: 1..100 characters of `[A-Za-z0-9_-]`.
    public static func checkCodename(_ value: String, field: String = "codename") throws(ValidationError) {
        let count = value.utf8.count
        guard count >= 1, count <= maxCodenameCharacters,
            value.utf8.allSatisfy({ isLetterOrDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else {
            throw ValidationError(
                field: field,
                rule: "must be 1..\(maxCodenameCharacters) characters of [A-Za-z0-9_-] (got \"\(value)\")"
            )
        }
    }

    /// Checks a permission string as a request carries it: 1..255 bytes.
    public static func checkPermissionString(_ value: String, field: String = "permission") throws(ValidationError) {
        let count = value.utf8.count
        guard count >= 1, count <= maxPermissionBytes else {
            throw ValidationError(field: field, rule: "must be 1..\(maxPermissionBytes) bytes (got \(count))")
        }
    }

    static func isContentTypePart(_ part: Substring.UTF8View) -> Bool {
        (1...maxContentTypePartCharacters).contains(part.count)
            && part.allSatisfy {
                ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || isDigit($0) || $0 == UInt8(ascii: "_")
            }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
}
