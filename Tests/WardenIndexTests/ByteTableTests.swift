import Testing

@testable import WardenIndex

/// The interning table: byte-exact identity, removal with backward shift, id reuse.
@Suite("ByteTable")
struct ByteTableTests {
    @Test("canonically equivalent strings are different keys")
    func byteExact() {
        var table = ByteTable()
        let precomposed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        #expect(precomposed == decomposed)  // Swift says equal; Warden must not
        let a = table.insert(precomposed)
        let b = table.insert(decomposed)
        #expect(a.inserted && b.inserted && a.id != b.id)
        #expect(table.find(precomposed) == a.id && table.find(decomposed) == b.id)
        #expect(table.find("\u{212A}") == nil)  // the Kelvin sign is not "K"
        _ = table.insert("K")
        #expect(table.find("\u{212A}") == nil && table.find("K") != nil)
        table.remove(precomposed)
        #expect(table.find(precomposed) == nil && table.find(decomposed) == b.id)
    }

    @Test("random inserts and removes agree with a byte-keyed dictionary")
    func randomized() {
        var table = ByteTable()
        var model: [[UInt8]: UInt32] = [:]
        var seed: UInt64 = 42
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed >> 33
        }
        let alphabet = ["a", "b", "\u{E9}", "e\u{301}", "/", " ", "7", "K", "\u{212A}"]
        for _ in 0..<20_000 {
            let length = Int(next() % 12) + 1
            let key = (0..<length).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }.joined()
            let bytes = Array(key.utf8)
            if next() % 3 == 0 {
                let removed = table.remove(key)
                #expect(removed == model.removeValue(forKey: bytes))
            } else {
                let (id, inserted) = table.insert(key)
                #expect(inserted == (model[bytes] == nil))
                if let existing = model[bytes] { #expect(existing == id) }
                model[bytes] = id
            }
        }
        #expect(table.count == model.count)
        for (bytes, id) in model { #expect(table.find(String(decoding: bytes, as: UTF8.self)) == id) }
        #expect(Set(model.values).count == model.count)
    }

    @Test("keys whose 32-bit hashes collide are told apart by their bytes")
    func hashCollisions() {
        // A slot keeps only the key's 32-bit hash and its id, so a hash that matches must be
        // confirmed against the key itself. Among 500,000 keys some hashes collide (about 29
        // pairs expected); each key must still find its own id, and a key never inserted none.
        var table = ByteTable()
        let keys = (0..<500_000).map { String($0 * 7919 + 10_000_000) }
        var ids: [UInt32] = []
        for key in keys { ids.append(table.insert(key).id) }
        var seen: [UInt32: Int] = [:]
        var collisions = 0
        for key in keys {
            let hash = ByteTable.withBytes(of: key) { table.hash($0) }
            seen[hash, default: 0] += 1
            if seen[hash] == 2 { collisions += 1 }
        }
        #expect(collisions > 0)
        #expect(zip(keys, ids).allSatisfy { table.find($0) == $1 })
        #expect((0..<1000).allSatisfy { table.find(String($0 * 7919 + 10_000_001)) == nil })
    }
}
