/// The access lists of one content type's object slots: each slot's grants as sorted
/// `IndexState.entry` values (`subject key << 32 | permission id`).
///
/// Most objects of a large index carry a single grant (a file shared with one user, a record
/// its owner may change), so a slot's list starts in one word of `words`, without a heap object;
/// only a slot with two or more entries owns an array, in the side table `spilled`. A slot's
/// word is one of:
/// - `empty` (all 64 bits set): no entries. A free slot, or one whose last entry was just
///   removed and that its caller releases next.
/// - an entry: the slot's only entry, inline.
/// - `index << 32 | UInt32.max`: two or more entries, sorted, in `spilled[index]`.
///
/// No entry has a low half of all ones, which would be permission id `UInt32.max`: permission
/// ids are positions in `IndexState.permissions`, which can never hold 2³²−1 records (over 100
/// GB). `empty` is the spill marker of index `UInt32.max`, which the side table never reaches
/// (it holds at most one list a slot, and slots are `UInt32` ids below it).
///
/// Readers get a slot's entries as a sorted `UnsafeBufferPointer` (`withEntries`), pointing at
/// the inline word or into the spilled array: no copy, no allocation, no reference counting on
/// the check path. A spilled list freed (its slot back to one entry or none) leaves an empty
/// array behind and its index on `freeSpilled`, taken by the next slot to spill, so grant and
/// revoke churn does not grow the side table.
struct AccessLists {
    /// One word a slot, in the encoding above.
    private var words: [UInt64] = []
    /// The entries of slots with two or more, each array sorted (except between a deferred
    /// batch's `append` and its `sortAndDeduplicate`).
    private var spilled: [[UInt64]] = []
    /// Indices of `spilled` whose arrays are empty and free for reuse.
    private var freeSpilled: [UInt32] = []

    /// The word of a slot with no entries.
    static let empty = UInt64.max
    /// The low half of a spilled slot's word (and of `empty`).
    private static let marker: UInt64 = 0xFFFF_FFFF

    /// The number of slots ever opened (live or free); the valid slot ids are below it.
    var slotCount: Int { words.count }

    /// The side table's length, free arrays included: at most the number of slots that had two
    /// or more entries at one time.
    var spilledCount: Int { spilled.count }

    @inline(__always)
    private static func isInline(_ word: UInt64) -> Bool { word & marker != marker }

    @inline(__always)
    private static func isSpilled(_ word: UInt64) -> Bool { word & marker == marker && word != empty }

    // MARK: Reading

    /// Calls `body` with the entries of `slot`, sorted; the buffer is valid only inside `body`.
    @inline(__always)
    func withEntries<Result>(
        of slot: UInt32,
        _ body: (UnsafeBufferPointer<UInt64>) throws -> Result
    ) rethrows
        -> Result
    {
        let word = words[Int(slot)]
        if Self.isInline(word) {
            return try words.withUnsafeBufferPointer { words in
                try body(UnsafeBufferPointer(rebasing: words[Int(slot)..<Int(slot) + 1]))
            }
        }
        if word == Self.empty { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
        return try spilled[Int(word >> 32)].withUnsafeBufferPointer(body)
    }

    /// The entries of `slot`, copied: for a caller that changes the index while walking them.
    func entries(of slot: UInt32) -> [UInt64] { withEntries(of: slot) { Array($0) } }

    /// The number of entries of `slot`.
    func count(of slot: UInt32) -> Int {
        let word = words[Int(slot)]
        if Self.isInline(word) { return 1 }
        return word == Self.empty ? 0 : spilled[Int(word >> 32)].count
    }

    /// Whether `slot` has no entries.
    @inline(__always)
    func isEmpty(_ slot: UInt32) -> Bool { words[Int(slot)] == Self.empty }

    // MARK: Writing

    /// Opens `slot` for a new object, with no entries. `slot` is an existing slot or the next one.
    mutating func open(_ slot: UInt32) { words.store(Self.empty, at: slot) }

    /// Adds `entry` to `slot` in order; false when it was there already.
    mutating func insert(_ entry: UInt64, into slot: UInt32) -> Bool {
        let word = words[Int(slot)]
        if word == Self.empty {
            words[Int(slot)] = entry
            return true
        }
        if Self.isInline(word) {
            if word == entry { return false }
            spill(slot, word < entry ? [word, entry] : [entry, word])
            return true
        }
        return spilled[Int(word >> 32)].sortedInsert(entry)
    }

    /// Adds `entry` to `slot` without keeping the order or checking for a duplicate (a deferred
    /// batch). True when `slot` now has two or more entries: the batch must then pass it to
    /// `sortAndDeduplicate` before anyone reads it.
    mutating func append(_ entry: UInt64, to slot: UInt32) -> Bool {
        let word = words[Int(slot)]
        if Self.isSpilled(word) {
            spilled[Int(word >> 32)].append(entry)
        } else if Self.isInline(word) {
            spill(slot, [word, entry])
        } else {
            words[Int(slot)] = entry
            return false
        }
        return true
    }

    /// Sorts the entries of `slot` after a deferred batch and drops duplicates; returns how many
    /// it dropped.
    mutating func sortAndDeduplicate(_ slot: UInt32) -> Int {
        let word = words[Int(slot)]
        guard Self.isSpilled(word) else { return 0 }
        let index = Int(word >> 32)
        let before = spilled[index].count
        spilled[index].sortAndDeduplicate()
        let dropped = before - spilled[index].count
        if spilled[index].count == 1 { unspill(slot) }
        return dropped
    }

    /// Removes `entry` from `slot`; false when it was not there. The last entry removed leaves
    /// the slot `empty`, for its caller to release.
    @discardableResult
    mutating func remove(_ entry: UInt64, from slot: UInt32) -> Bool {
        let word = words[Int(slot)]
        if Self.isInline(word) {
            guard word == entry else { return false }
            words[Int(slot)] = Self.empty
            return true
        }
        if word == Self.empty { return false }
        let index = Int(word >> 32)
        guard spilled[index].sortedRemove(entry) else { return false }
        if spilled[index].count == 1 { unspill(slot) }
        return true
    }

    /// Drops every entry of `slot` (its object is released).
    mutating func clear(_ slot: UInt32) {
        let word = words[Int(slot)]
        if Self.isSpilled(word) { free(Int(word >> 32)) }
        words[Int(slot)] = Self.empty
    }

    /// Moves the entries of `slot` (two or more) into a side-table array, reusing a free one.
    private mutating func spill(_ slot: UInt32, _ entries: [UInt64]) {
        let index: UInt32
        if let free = freeSpilled.popLast() {
            index = free
            spilled[Int(index)] = entries
        } else {
            precondition(spilled.count < Int(UInt32.max), "access lists: side table full")
            index = UInt32(spilled.count)
            spilled.append(entries)
        }
        words[Int(slot)] = UInt64(index) << 32 | Self.marker
    }

    /// Moves the single entry of a spilled `slot` back inline and frees its array.
    private mutating func unspill(_ slot: UInt32) {
        let index = Int(words[Int(slot)] >> 32)
        words[Int(slot)] = spilled[index][0]
        free(index)
    }

    private mutating func free(_ index: Int) {
        spilled[index] = []
        freeSpilled.append(UInt32(index))
    }
}
