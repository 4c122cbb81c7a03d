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
    /// An empty slot is zero; otherwise `hash << 32 | (id + 1)`, so probing compares hashes
    /// without touching another array, and a hash that matches is confirmed against `keys[id]`.
    /// Eight bytes a slot: the table is the largest part of an index whose objects carry one grant
    /// each (docs/architecture.md); a 16-byte slot that also held keys of up to 7 bytes, to
    /// confirm them without reading `keys`, cost 16 bytes more an object for one cache miss less.
    private var slots: [UInt64] = Array(repeating: 0, count: 8)

    /// Up to 7 bytes and their count in the top byte, the one word a short key hashes; longer
    /// keys get `longKey`.
    @inline(__always)
    static func inline(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard bytes.count <= 7 else { return longKey }
        var value = UInt64(bytes.count) << 56
        for position in 0..<bytes.count { value |= UInt64(bytes[position]) << (8 * UInt64(position)) }
        return value
    }

    static let longKey: UInt64 = 0xFF << 56

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
        let keyHash = hash(bytes)
        let mask = slots.count - 1
        var slot = Int(keyHash) & mask
        return slots.withUnsafeBufferPointer { slots in
            keys.withUnsafeBufferPointer { keys in
                while true {
                    let tag = slots[slot]
                    if tag == 0 { return nil }
                    if UInt32(truncatingIfNeeded: tag >> 32) == keyHash {
                        let id = Int(UInt32(truncatingIfNeeded: tag) - 1)
                        if Self.equal(keys[id], bytes) { return UInt32(id) }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    /// The id of `key`, inserting it when absent.
    mutating func insert(_ key: String) -> (id: UInt32, inserted: Bool) {
        if let id = find(key) { return (id, false) }
        let keyHash = Self.withBytes(of: key) { self.hash($0) }
        if (count + 1) * 2 > slots.count { grow() }
        let id: UInt32
        if let free = freeIDs.popLast() {
            id = free
            keys[Int(id)] = key
        } else {
            id = UInt32(keys.count)
            keys.append(key)
        }
        place(UInt64(keyHash) << 32 | UInt64(id + 1))
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
        while UInt32(truncatingIfNeeded: slots[hole]) != id + 1 { hole = (hole + 1) & mask }
        // Backward-shift: pull later entries of the probe run into the hole.
        var next = (hole + 1) & mask
        while slots[next] != 0 {
            let home = Int(slots[next] >> 32) & mask
            let distanceToNext = (next - home) & mask
            let distanceToHole = (hole - home) & mask
            if distanceToHole <= distanceToNext {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = 0
        keys[Int(id)] = ""
        freeIDs.append(id)
        count -= 1
        return id
    }

    /// Whether `id` is handed out.
    func contains(id: UInt32) -> Bool { Int(id) < keys.count && !keys[Int(id)].isEmpty }

    private mutating func place(_ tag: UInt64) {
        let mask = slots.count - 1
        var slot = Int(tag >> 32) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = tag
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: 0, count: slots.count * 2)
        for tag in old where tag != 0 { place(tag) }
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
    /// `inline` form (one word); longer ones every word, the last one overlapping.
    @inline(__always)
    func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let inline = Self.inline(bytes)
        var h: UInt64
        if inline != Self.longKey {
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
