#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A `String` that hashes and compares by its UTF-8 bytes: the key type for dictionaries and
/// sets of identifiers. Swift's own `String` equality is Unicode canonical equivalence, which
/// Warden's identifiers must not use (`docs/semantics.md`); `[UInt8]` keys would allocate.
///
/// This is Warden's one rule for identities (user ids, usernames, group names, pks, actors):
/// every comparison goes through it — `String.isExactly(_:)` for two strings, `ExactString` as a
/// key, and the model's value types (`Subject`, `ObjectRef`, `User`, `Grant`, `Change`,
/// `CheckAudit`) hash and compare their identifiers this way. The index's interning
/// (`ByteTable`) and SQLite's `BINARY` collation compare bytes too.
public struct ExactString: Hashable, Sendable {
    public let value: String

    public init(_ value: String) { self.value = value }

    public static func == (lhs: ExactString, rhs: ExactString) -> Bool {
        lhs.withBytes { a in
            rhs.withBytes { b in
                a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: $0) }
    }

    private func withBytes<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T {
        if let result = value.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(value.utf8).withUnsafeBytes(body)
    }
}

extension ExactString {
    /// Whether two optional identifiers are the same bytes (both absent counts as the same).
    @inline(__always)
    public static func same(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let a?, let b?): ExactString(a) == ExactString(b)
        default: false
        }
    }
}

extension String {
    /// Byte-for-byte equality of the UTF-8: how Warden compares identifiers. `==` on `String` is
    /// canonical equivalence (`"\u{E9}" == "e\u{301}"`), which would take one user for another.
    @inline(__always)
    public func isExactly(_ other: String) -> Bool { ExactString(self) == ExactString(other) }
}

extension Hasher {
    /// Feeds an identifier's UTF-8 bytes (and its length, so that adjacent fields cannot blur).
    @inline(__always)
    public mutating func combine(exactly value: String) {
        ExactString(value).hash(into: &self)
        combine(value.utf8.count)
    }

    /// Feeds an optional identifier by its bytes.
    @inline(__always)
    public mutating func combine(exactly value: String?) {
        combine(value != nil)
        if let value { combine(exactly: value) }
    }
}
