import Testing

@testable import WardenIndex

/// `AccessLists`: one entry inline, two or more in an array.
@Suite("AccessLists")
struct AccessListsTests {
    /// Entries at the edges: user 0's permission 0 (all zero), the largest group key, large
    /// permission ids.
    static let entries: [UInt64] = [
        0, 1, 5 << 32 | 3, 1 << 63 | 2, 0xFFFF_FFFF << 32 | 0xFFFF_FFFE, 7 << 32, 1 << 63 | 0xFFFF_FFFE,
    ]

    /// Compares every slot with the model; only slots with two or more entries own an array.
    static func expectAgree(_ lists: AccessLists, _ model: [[UInt64]]) {
        for slot in model.indices {
            let expected = model[slot].sorted()
            let actual = lists.withEntries(of: UInt32(slot)) { Array($0) }
            #expect(actual == expected, "slot \(slot)")
            #expect(lists.count(of: UInt32(slot)) == expected.count)
            #expect(lists.isEmpty(UInt32(slot)) == expected.isEmpty)
        }
        #expect(lists.spilledCount == model.count { $0.count >= 2 })
    }

    @Test("0→1→2→3→2→1→0 entries, interleaved over many slots")
    func transitions() {
        var lists = AccessLists()
        var model: [[UInt64]] = []
        let slotCount = 120
        for slot in 0..<slotCount {
            lists.open(UInt32(slot))
            model.append([])
        }
        // Each slot walks 0→1→2→3→2→1→0 from its own phase; its entries arrive in an order of
        // its own (the pool rotated) and leave from the middle, the front or the back.
        let path = [1, 2, 3, 2, 1, 0]
        for step in 0..<(path.count * 5) {
            for slot in 0..<slotCount {
                let target = path[(step + slot) % path.count]
                let s = UInt32(slot)
                let pool = Self.entries.rotated(by: slot)
                // One entry at a time (the first step starts some slots further along the path).
                while target > model[slot].count {
                    let entry = pool.first { !model[slot].contains($0) }!
                    let added = lists.insert(entry, into: s)
                    let again = lists.insert(entry, into: s)  // already there
                    #expect(added && !again)
                    model[slot].append(entry)
                }
                while target < model[slot].count {
                    let entry = model[slot][(step + slot) % model[slot].count]
                    let absent = lists.remove(pool.first { !model[slot].contains($0) }!, from: s)
                    let removed = lists.remove(entry, from: s)
                    #expect(!absent && removed)
                    model[slot].removeAll { $0 == entry }
                }
            }
            Self.expectAgree(lists, model)
        }
        for slot in 0..<slotCount where !model[slot].isEmpty {
            lists.clear(UInt32(slot))
            model[slot] = []
        }
        Self.expectAgree(lists, model)
    }

    @Test("a deferred batch appends, then sorts and drops duplicates; one left goes back inline")
    func deferred() {
        var lists = AccessLists()
        lists.open(0)
        lists.open(1)
        let single = lists.append(9, to: 0)  // one entry: nothing to sort
        let duplicate = lists.append(9, to: 0)  // a duplicate spills, and must be dropped
        #expect(!single && duplicate && lists.spilledCount == 1)
        let dropped = lists.sortAndDeduplicate(0)
        #expect(dropped == 1)
        #expect(lists.withEntries(of: 0) { Array($0) } == [9])
        // In order so far: nothing to sort; the first entry below the last one says so.
        let inOrder = [0, 3, 1 << 63 | 4].map { lists.append($0, to: 1) }
        #expect(inOrder == [false, false, false])
        // 3 goes below the last entry (noted); the next is above 3 (the slot is noted already).
        let outOfOrder = [3, 1 << 63 | 4].map { lists.append($0, to: 1) }
        #expect(outOfOrder == [true, false])
        let droppedOfSlot1 = lists.sortAndDeduplicate(1)
        #expect(droppedOfSlot1 == 2)
        #expect(lists.withEntries(of: 1) { Array($0) } == [0, 3, 1 << 63 | 4])
        #expect(lists.spilledCount == 1)  // slot 0 is back inline
        let droppedInline = lists.sortAndDeduplicate(0)
        #expect(droppedInline == 0)
        lists.clear(1)
        #expect(lists.isEmpty(1) && lists.count(of: 0) == 1)
        lists.open(2)  // the next slot
        #expect(lists.slotCount == 3 && lists.isEmpty(2))
    }
}

extension Array {
    fileprivate func rotated(by count: Int) -> [Element] {
        let shift = count % self.count
        return Array(self[shift...] + self[..<shift])
    }
}

@Suite("Deferred appends: what must be sorted after a batch")
struct AppendNotingOrderTests {
    @Test("an append below or equal to the last element is noted, one above it is not")
    func noted() {
        var values: [UInt32] = []
        let notes = [1, 5, 9, 9, 12, 3, 20].map { values.appendNotingOrder(UInt32($0)) }
        #expect(notes == [false, false, false, true, false, true, false])
        values.sortAndDeduplicate()
        #expect(values == [1, 3, 5, 9, 12, 20])
    }
}
