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
    /// The 32-bit hash of each id's key.
    private var hashes: [UInt32] = []
    /// `0` for an empty slot, otherwise `id + 1`.
    private var slots: [UInt32] = Array(repeating: 0, count: 8)
    private var freeIDs: [UInt32] = []
    /// Live keys.
    private(set) var count = 0

    private static let seed = UInt64.random(in: .min ... .max)

    /// One past the largest id ever handed out: the size arrays indexed by id need.
    var capacity: Int { keys.count }

    /// The id of `key`, if present.
    @inline(__always)
    func find(_ key: String) -> UInt32? {
        var key = key
        return key.withUTF8 { find(UnsafeRawBufferPointer($0)) }
    }

    /// The id of the key with these bytes, if present.
    func find(_ bytes: UnsafeRawBufferPointer) -> UInt32? {
        let hash = Self.hash(bytes)
        let mask = slots.count - 1
        var slot = Int(hash) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { return nil }
            let id = Int(entry - 1)
            if hashes[id] == hash && Self.equal(keys[id], bytes) { return UInt32(id) }
            slot = (slot + 1) & mask
        }
    }

    /// The id of `key`, inserting it when absent.
    mutating func insert(_ key: String) -> (id: UInt32, inserted: Bool) {
        if let id = find(key) { return (id, false) }
        var key = key
        let hash = key.withUTF8 { Self.hash(UnsafeRawBufferPointer($0)) }
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let id: UInt32
        if let free = freeIDs.popLast() {
            id = free
            keys[Int(id)] = key
            hashes[Int(id)] = hash
        } else {
            id = UInt32(keys.count)
            keys.append(key)
            hashes.append(hash)
        }
        place(id: id, hash: hash)
        count += 1
        return (id, true)
    }

    /// Removes `key`; its id becomes free for reuse. Returns the id it had.
    @discardableResult
    mutating func remove(_ key: String) -> UInt32? {
        guard let id = find(key) else { return nil }
        let mask = slots.count - 1
        var hole = Int(hashes[Int(id)]) & mask
        while slots[hole] != id + 1 { hole = (hole + 1) & mask }
        // Backward-shift: pull later entries of the probe run into the hole.
        var next = (hole + 1) & mask
        while slots[next] != 0 {
            let home = Int(hashes[Int(slots[next] - 1)]) & mask
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

    /// Approximate heap bytes held, for memory statistics.
    var approximateBytes: Int {
        keys.count * (MemoryLayout<String>.stride + 4) + slots.count * 4 + freeIDs.count * 4
            + keys.reduce(0) { $0 + ($1.utf8.count > 15 ? 32 + $1.utf8.count : 0) }
    }

    private mutating func place(id: UInt32, hash: UInt32) {
        let mask = slots.count - 1
        var slot = Int(hash) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = id + 1
    }

    private mutating func grow() {
        slots = Array(repeating: 0, count: slots.count * 2)
        for id in keys.indices where !keys[id].isEmpty {
            place(id: UInt32(id), hash: hashes[id])
        }
    }

    private static func equal(_ key: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var key = key
        return key.withUTF8 { stored in
            stored.count == bytes.count
                && (stored.count == 0 || memcmpEqual(stored.baseAddress!, bytes.baseAddress!, stored.count))
        }
    }

    @inline(__always)
    private static func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        let b = b.assumingMemoryBound(to: UInt8.self)
        var i = 0
        while i + 8 <= count {
            let x = UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self)
            let y = UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self)
            if x != y { return false }
            i += 8
        }
        while i < count {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }

    /// A seeded multiply-xorshift hash over 8-byte words.
    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var h = seed ^ (UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15)
        var i = 0
        let count = bytes.count
        while i + 8 <= count {
            let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ word) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        if i < count {
            var word: UInt64 = 0
            var shift: UInt64 = 0
            while i < count {
                word |= UInt64(bytes[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ word) &* 0x94D0_49BB_1331_11EB
        }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return UInt32(truncatingIfNeeded: h)
    }
}
