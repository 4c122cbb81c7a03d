#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A hash table from strings to dense `UInt32` ids that compares keys byte for byte (UTF-8).
///
/// Swift's `String` equality is Unicode canonical equivalence (`"é"` precomposed equals `"é"`
/// decomposed, the Kelvin sign equals `K`), which would merge identifiers that SQLite and
/// Django keep apart. This table hashes and compares raw UTF-8 bytes, finds a key without
/// allocating (it reads the string's own storage), and hands out dense ids that the index uses
/// as array positions. Ids of removed keys are reused.
///
/// Open addressing with linear probing and backward-shift deletion (no tombstones); the hash is
/// seeded per process so that crafted keys cannot be precomputed to collide.
struct ByteTable {
    /// The key of each id; `""` for a free id.
    private(set) var keys: [String] = []
    /// An empty slot is all zero. Otherwise `tag` is `hash << 32 | (id + 1)`, so probing compares
    /// hashes without touching another array, and `inline` holds a key of up to 7 bytes with
    /// its length (`Slot.inline(_:)`), so a short key (most user ids, integer pks) is confirmed
    /// without reading `keys` either: one cache miss per lookup instead of three.
    private var slots: [Slot] = Array(repeating: Slot(), count: 8)

    struct Slot {
        var tag: UInt64 = 0
        var inline: UInt64 = 0

        /// Up to 7 bytes and their count in the top byte; longer keys get `longKey`.
        @inline(__always)
        static func inline(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
            guard bytes.count <= 7 else { return longKey }
            var value = UInt64(bytes.count) << 56
            for position in 0..<bytes.count { value |= UInt64(bytes[position]) << (8 * UInt64(position)) }
            return value
        }

        static let longKey: UInt64 = 0xFF << 56
    }
    private var freeIDs: [UInt32] = []
    /// Live keys.
    private(set) var count = 0

    /// The process's hash seed, copied into each table: a `static let` is a lazily initialized
    /// global, checked on every access.
    private static let processSeed = UInt64.random(in: .min ... .max)
    private let seed = ByteTable.processSeed

    /// The id of `key`, if present.
    @inline(__always)
    func find(_ key: String) -> UInt32? {
        if let id = key.utf8.withContiguousStorageIfAvailable({ find(UnsafeRawBufferPointer($0)) }) { return id }
        return Array(key.utf8).withUnsafeBytes { find($0) }
    }

    /// The id of the key with these bytes, if present.
    func find(_ bytes: UnsafeRawBufferPointer) -> UInt32? {
        let inline = Slot.inline(bytes)
        let keyHash = hash(bytes, inline: inline)
        let mask = slots.count - 1
        var slot = Int(keyHash) & mask
        return slots.withUnsafeBufferPointer { slots in
            while true {
                let entry = slots[slot]
                if entry.tag == 0 { return nil }
                if UInt32(truncatingIfNeeded: entry.tag >> 32) == keyHash && entry.inline == inline {
                    let id = Int(UInt32(truncatingIfNeeded: entry.tag) - 1)
                    if inline != Slot.longKey || Self.equal(keys[id], bytes) { return UInt32(id) }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The id of `key`, inserting it when absent.
    mutating func insert(_ key: String) -> (id: UInt32, inserted: Bool) {
        if let id = find(key) { return (id, false) }
        let (keyHash, inline) = Self.withBytes(of: key) { (self.hash($0), Slot.inline($0)) }
        if (count + 1) * 2 > slots.count { grow() }
        let id: UInt32
        if let free = freeIDs.popLast() {
            id = free
            keys[Int(id)] = key
        } else {
            id = UInt32(keys.count)
            keys.append(key)
        }
        place(Slot(tag: UInt64(keyHash) << 32 | UInt64(id + 1), inline: inline))
        count += 1
        return (id, true)
    }

    /// Calls `body` with the UTF-8 bytes of `key`, read in place when its storage is contiguous.
    @inline(__always)
    static func withBytes<Result>(of key: String, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        if let result = key.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(key.utf8).withUnsafeBytes(body)
    }

    /// Removes `key`; its id becomes free for reuse. Returns the id it had.
    @discardableResult
    mutating func remove(_ key: String) -> UInt32? {
        guard let id = find(key) else { return nil }
        let mask = slots.count - 1
        var hole = Int(Self.withBytes(of: key) { self.hash($0) }) & mask
        while UInt32(truncatingIfNeeded: slots[hole].tag) != id + 1 { hole = (hole + 1) & mask }
        // Backward-shift: pull later entries of the probe run into the hole.
        var next = (hole + 1) & mask
        while slots[next].tag != 0 {
            let home = Int(slots[next].tag >> 32) & mask
            let distanceToNext = (next - home) & mask
            let distanceToHole = (hole - home) & mask
            if distanceToHole <= distanceToNext {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = Slot()
        keys[Int(id)] = ""
        freeIDs.append(id)
        count -= 1
        return id
    }

    /// Whether `id` is handed out.
    func contains(id: UInt32) -> Bool { Int(id) < keys.count && !keys[Int(id)].isEmpty }

    private mutating func place(_ entry: Slot) {
        let mask = slots.count - 1
        var slot = Int(entry.tag >> 32) & mask
        while slots[slot].tag != 0 { slot = (slot + 1) & mask }
        slots[slot] = entry
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(), count: slots.count * 2)
        for entry in old where entry.tag != 0 { place(entry) }
    }

    @inline(__always)
    private static func equal(_ key: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard key.utf8.count == bytes.count else { return false }
        let equal = key.utf8.withContiguousStorageIfAvailable { stored in
            stored.count == 0 || memcmpEqual(stored.baseAddress!, bytes.baseAddress!, stored.count)
        }
        return equal ?? key.utf8.elementsEqual(bytes)
    }

    @inline(__always)
    private static func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        let a = UnsafeRawPointer(a)
        guard count >= 8 else { return memcmp(a, b, count) == 0 }
        var i = 0
        while i + 8 < count {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                != b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            {
                return false
            }
            i += 8
        }
        // The last word, overlapping the one before when the count is not a multiple of 8.
        return a.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            == b.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
    }

    /// A seeded multiply-xorshift hash over 8-byte words. Keys of up to 7 bytes hash their
    /// `Slot.inline` form (one word); longer ones every word, the last one overlapping.
    @inline(__always)
    func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        hash(bytes, inline: Slot.inline(bytes))
    }

    @inline(__always)
    func hash(_ bytes: UnsafeRawBufferPointer, inline: UInt64) -> UInt32 {
        var h: UInt64
        if inline != Slot.longKey {
            h = (seed ^ inline) &* 0xBF58_476D_1CE4_E5B9
        } else {
            let count = bytes.count
            h = seed ^ (UInt64(count) &* 0x9E37_79B9_7F4A_7C15)
            var i = 0
            while i + 8 < count {
                h = (h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
                h ^= h >> 31
                i += 8
            }
            h = (h ^ bytes.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)) &* 0x94D0_49BB_1331_11EB
        }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return UInt32(truncatingIfNeeded: h)
    }
}
