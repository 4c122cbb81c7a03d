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
public struct ExactString: Hashable, Sendable {
    public let value: String

    public init(_ value: String) { self.value = value }

    public static func == (lhs: ExactString, rhs: ExactString) -> Bool {
        lhs.withBytes { a in rhs.withBytes { b in a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0) } }
    }

    public func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: $0) }
    }

    private func withBytes<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T {
        if let result = value.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return result }
        return Array(value.utf8).withUnsafeBytes(body)
    }
}
