#if canImport(Glibc)
import Glibc
#endif

/// Strings made from a column's bytes, for the backends' readers: validated as UTF-8 (a value
/// that is not is reported, never repaired into another string) and made once per distinct
/// value in a run of equal ones.
///
/// A snapshot reads millions of texts. `String(validating:as:)` is generic over the encoding and
/// looked up its metadata on every call (about a tenth of a cold load's reading thread); the
/// ASCII texts Warden's rows mostly hold are checked here with a plain loop and copied with
/// `String(decoding:as:)`, and only other texts take the generic path.
public enum StoredText {
    /// The string of `bytes`, or `nil` when they are not valid UTF-8.
    @inline(__always)
    public static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        isASCII(bytes) ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
    }

    /// The string of `bytes`, reusing `previous` (sharing its storage) when it holds the same
    /// bytes: rows read in key order repeat a pk for each of its grants, which then cost a
    /// comparison instead of an allocation. `previous` becomes the string returned.
    @inline(__always)
    public static func string(_ bytes: UnsafeBufferPointer<UInt8>, reusing previous: inout String?) -> String? {
        if var last = previous {
            let same = last.withUTF8 { last in
                last.count == bytes.count
                    && (bytes.isEmpty || memcmp(last.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
            }
            if same { return last }
        }
        previous = string(bytes)
        return previous
    }

    /// Whether every byte is below 0x80 (an OR of the bytes, which the compiler vectorizes).
    @inline(__always)
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var bits: UInt8 = 0
        for byte in bytes { bits |= byte }
        return bits < 0x80
    }
}
