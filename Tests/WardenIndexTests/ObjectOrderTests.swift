import Testing
import WardenTestSupport

@testable import WardenIndex

@Suite("ObjectOrder: the radix sort agrees with the comparison sort")
struct ObjectOrderTests {
    /// pks of every kind: integers (small and up to 18 digits), strings sharing 7-byte prefixes
    /// (equal keys, told apart by the full bytes), short strings, non-canonical integers.
    static func pks(_ count: Int, _ rng: inout SplitMix64) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        while out.count < count {
            let pk: String =
                switch rng.int(0..<6) {
                case 0: String(rng.int(0..<5_000))
                case 1: String(rng.int(0..<999_999_999_999_999_999))
                case 2: "/home/www/" + String(rng.int(0..<3_000))
                case 3: "prefix-" + String(rng.int(0..<100))
                case 4: "0" + String(rng.int(0..<100))
                default: String(UnicodeScalar(UInt8(rng.int(97..<123)))) + String(rng.int(0..<50))
                }
            if seen.insert(pk).inserted { out.append(pk) }
        }
        return out
    }

    @Test(
        "random sets of every size around the threshold, with and without a cursor",
        arguments: [0, 1, 255, 256, 257, 3_000, 20_000]
    )
    func agrees(count: Int) {
        var rng = SplitMix64(seed: UInt64(count) &+ 7)
        let pks = Self.pks(count + 50, &rng)
        let keys = pks.map(ObjectOrder.key)
        let slots = (0..<UInt32(pks.count)).filter { _ in rng.chance(Double(count) / Double(count + 50)) }
        for cursor in [nil, pks.isEmpty ? nil : pks[rng.int(0..<pks.count)]] {
            let sorted = ObjectOrder.sorted(slots, keys: keys, pks: pks, after: cursor)
            var expected = slots.map { (keys[Int($0)], $0) }
            if let cursor {
                let cursorKey = ObjectOrder.key(cursor)
                expected = expected.filter { ObjectOrder.precedes(cursor, cursorKey, pks[Int($0.1)], $0.0) }
            }
            expected.sort { ObjectOrder.precedes(pks[Int($0.1)], $0.0, pks[Int($1.1)], $1.0) }
            #expect(sorted == expected.map(\.1), "\(count) slots, cursor \(cursor ?? "none")")
        }
        var keysOnly = slots.map { keys[Int($0)] }
        var carried = slots
        ObjectOrder.radixSort(&keysOnly, &carried)
        #expect(keysOnly == keysOnly.sorted())
        #expect(carried.map { keys[Int($0)] } == keysOnly)
    }
}
