#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The order in which Warden lists objects (and user ids): pks that are canonical decimal
/// integers (`0`, or 1..18 digits without a leading zero) first, numerically; then every other
/// pk in UTF-8 byte order.
///
/// Each key gets a 64-bit sort key once, when it is interned: integers map to their value
/// (below 2^60), other strings to `2^63 | first 7 bytes`. Keys order exactly as the pks do
/// except between two non-integers that share their first 7 bytes, which are then compared in
/// full. pks never contain NUL, so padding short ones with zero bytes keeps byte order.
enum ObjectOrder {
    static func key(_ pk: String) -> UInt64 {
        if let key = pk.utf8.withContiguousStorageIfAvailable(key) { return key }
        return Array(pk.utf8).withUnsafeBufferPointer(key)
    }

    private static func key(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        if let value = canonicalInteger(bytes) { return value }
        var prefix: UInt64 = 0
        for position in 0..<7 {
            prefix <<= 8
            if position < bytes.count { prefix |= UInt64(bytes[position]) }
        }
        return 1 << 63 | prefix
    }

    /// Whether pk `a` comes before pk `b`, given their keys.
    @inline(__always)
    static func precedes(_ a: String, _ keyA: UInt64, _ b: String, _ keyB: UInt64) -> Bool {
        if keyA != keyB { return keyA < keyB }
        if keyA >> 63 == 0 { return false }  // equal integers: the same pk
        return bytesPrecede(a, b)
    }

    /// UTF-8 byte order, compared with `memcmp` on the strings' own storage (the generic
    /// `utf8.lexicographicallyPrecedes` walks `String.Index` values and costs ten times more).
    static func bytesPrecede(_ a: String, _ b: String) -> Bool {
        let result = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in
                let common = min(x.count, y.count)
                let order = common == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, common)
                return order != 0 ? order < 0 : x.count < y.count
            }
        }
        return (result ?? nil) ?? a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    private static func canonicalInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard (1...18).contains(bytes.count), bytes.count == 1 || bytes[0] != UInt8(ascii: "0") else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
        }
        return value
    }
}

extension ObjectOrder {
    /// `slots` in object order, keeping only those after `cursor` when one is given.
    static func sorted(_ slots: [UInt32], keys: [UInt64], pks: [String], after cursor: String?) -> [UInt32] {
        var sortKeys: [UInt64] = []
        var sorted: [UInt32] = []
        sortKeys.reserveCapacity(slots.count)
        sorted.reserveCapacity(slots.count)
        if let cursor {
            let cursorKey = key(cursor)
            for slot in slots where precedes(cursor, cursorKey, pks[Int(slot)], keys[Int(slot)]) {
                sortKeys.append(keys[Int(slot)])
                sorted.append(slot)
            }
        } else {
            for slot in slots {
                sortKeys.append(keys[Int(slot)])
                sorted.append(slot)
            }
        }
        if sorted.count < radixThreshold {
            var items = Array(zip(sortKeys, sorted))
            items.sort { a, b in a.0 != b.0 ? a.0 < b.0 : a.0 >> 63 != 0 && bytesPrecede(pks[Int(a.1)], pks[Int(b.1)]) }
            return items.map(\.1)
        }
        radixSort(&sortKeys, &sorted)
        breakTies(sortKeys, &sorted, pks: pks)
        return sorted
    }
}
