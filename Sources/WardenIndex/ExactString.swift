#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A `String` that hashes and compares by its UTF-8 bytes, for dictionaries and sets off the
/// hot path (the batch validation overlay). Swift's own `String` equality is Unicode canonical
/// equivalence, which Warden's identifiers must not use; `[UInt8]` keys would allocate.
struct ExactString: Hashable {
    let value: String

    init(_ value: String) { self.value = value }

    static func == (lhs: ExactString, rhs: ExactString) -> Bool {
        lhs.withBytes { a in rhs.withBytes { b in a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0) } }
    }

    func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: $0) }
    }

    private func withBytes<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T {
        if let result = value.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return result }
        return Array(value.utf8).withUnsafeBytes(body)
    }
}
