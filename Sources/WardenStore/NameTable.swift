#if canImport(Glibc)
import Glibc
#endif

/// A map from names to values, compared byte for byte (as `ExactString`), for the lookup per row
/// of a bulk call: open addressing with an FNV-1a hash of the UTF-8 bytes, which costs a fraction
/// of `Dictionary`'s SipHash and closure-based comparison for short names.
struct NameTable<Value> {
    private var names: [String] = []
    private var values: [Value] = []
    private var hashes: [UInt64] = []
    /// Indices into `names`, or -1 for an empty slot; a power of two, at most half full.
    private var slots = [Int32](repeating: -1, count: 64)

    /// The value stored for `name`, or `nil`.
    func value(for name: String) -> Value? {
        let hash = Self.hash(name)
        var index = Int(truncatingIfNeeded: hash) & (slots.count - 1)
        while true {
            let entry = Int(slots[index])
            if entry < 0 { return nil }
            if hashes[entry] == hash && Self.equal(names[entry], name) { return values[entry] }
            index = (index + 1) & (slots.count - 1)
        }
    }

    /// Stores `value` for `name`, which must not be stored yet.
    mutating func insert(_ value: Value, for name: String) {
        if (names.count + 1) * 2 > slots.count {
            slots = [Int32](repeating: -1, count: slots.count * 2)
            for entry in hashes.indices { place(Int32(entry)) }
        }
        names.append(name)
        values.append(value)
        hashes.append(Self.hash(name))
        place(Int32(names.count - 1))
    }

    private mutating func place(_ entry: Int32) {
        var index = Int(truncatingIfNeeded: hashes[Int(entry)]) & (slots.count - 1)
        while slots[index] >= 0 { index = (index + 1) & (slots.count - 1) }
        slots[index] = entry
    }

    private static func hash(_ name: String) -> UInt64 {
        var name = name
        return name.withUTF8 { bytes in
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            // FNV's low bits mix poorly; fold the high ones in, since slots use the low ones.
            return hash ^ (hash >> 29)
        }
    }

    private static func equal(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in x.count == y.count && (x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0)
            }
        }
    }
}
