/// The access lists of one content type's object slots: each slot's grants as sorted
/// `IndexState.entry` values (`subject key << 32 | permission id`).
///
/// Most objects of a large index carry a single grant (a file shared with one user, a record
/// its owner may change), so a slot with one entry keeps it in `singles`, a flat array, without
/// a heap object; only a slot with two or more entries owns an array, in `lists`. For each slot:
/// - no entries (a free slot, or one whose last entry was just removed and that its caller
///   releases next): `lists[slot]` is empty and `singles[slot]` is `none`;
/// - one entry: `lists[slot]` is empty and `singles[slot]` is the entry;
/// - two or more: `lists[slot]` holds them, sorted, and `singles[slot]` is `none`.
///
/// `none` (all 64 bits set) is no entry: it would be permission id `UInt32.max`, and permission
/// ids are positions in `IndexState.permissions`, which can never hold 2³²−1 records. An empty
/// Swift array is a shared constant, not a heap object.
///
/// Why two arrays indexed by slot and not one 8-byte word pointing into a side table of arrays
/// (built first, commit 552aeef, 8 bytes less an object): a check on an object of two or more
/// grants reads `lists[slot]` and its array exactly as it read the one array per object before,
/// so the shared shape's checks keep their path; the word and the side table added a dependent
/// load. An object with one grant costs 16 bytes here against 56 before (reference and array).
///
/// Readers get a slot's entries as a sorted `UnsafeBufferPointer` (`withEntries`): the single
/// entry or the array's storage, no copy and no allocation. A freed array goes back to the
/// allocator, which hands it to the next list of its size, so grant and revoke churn does not
/// grow memory.
struct AccessLists {
    /// Per slot: its entries when it has two or more, else empty.
    private var lists: [[UInt64]] = []
    /// Per slot: its entry when it has exactly one, else `none`.
    private var singles: [UInt64] = []

    /// No single entry.
    static let none = UInt64.max

    /// The number of slots ever opened (live or free); the valid slot ids are below it.
    var slotCount: Int { singles.count }

    /// The number of slots that own an array (two or more entries).
    var spilledCount: Int { lists.count { !$0.isEmpty } }

    // MARK: Reading

    /// Calls `body` with the entries of `slot`, sorted; the buffer is valid only inside `body`.
    @inline(__always)
    func withEntries<Result>(
        of slot: UInt32,
        _ body: (UnsafeBufferPointer<UInt64>) throws -> Result
    ) rethrows -> Result {
        if !lists[Int(slot)].isEmpty { return try lists[Int(slot)].withUnsafeBufferPointer(body) }
        let single = singles[Int(slot)]
        if single == Self.none { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
        return try withUnsafePointer(to: single) { try body(UnsafeBufferPointer(start: $0, count: 1)) }
    }

    /// The entries of `slot`, copied: for a caller that changes the index while walking them.
    func entries(of slot: UInt32) -> [UInt64] { withEntries(of: slot) { Array($0) } }

    /// The number of entries of `slot`.
    func count(of slot: UInt32) -> Int {
        lists[Int(slot)].isEmpty ? (singles[Int(slot)] == Self.none ? 0 : 1) : lists[Int(slot)].count
    }

    /// Whether `slot` has no entries.
    func isEmpty(_ slot: UInt32) -> Bool { lists[Int(slot)].isEmpty && singles[Int(slot)] == Self.none }

    // MARK: Writing

    /// Opens `slot` for a new object, with no entries. `slot` is an existing slot or the next one.
    mutating func open(_ slot: UInt32) {
        lists.store([], at: slot)
        singles.store(Self.none, at: slot)
    }

    /// Adds `entry` to `slot` in order; false when it was there already.
    mutating func insert(_ entry: UInt64, into slot: UInt32) -> Bool {
        if !lists[Int(slot)].isEmpty { return lists[Int(slot)].sortedInsert(entry) }
        let single = singles[Int(slot)]
        if single == entry { return false }
        if single == Self.none {
            singles[Int(slot)] = entry
        } else {
            spill(slot, single < entry ? [single, entry] : [entry, single])
        }
        return true
    }

    /// Adds `entry` to `slot` without keeping the order or checking for a duplicate (a deferred
    /// batch). True when `slot`'s entries are no longer sorted and distinct (`entry` is not
    /// above the last one): the batch must then pass it to `sortAndDeduplicate` before anyone
    /// reads it. A load whose rows come in order never has to.
    mutating func append(_ entry: UInt64, to slot: UInt32) -> Bool {
        if let last = lists[Int(slot)].last {
            lists[Int(slot)].append(entry)
            return entry <= last
        }
        let single = singles[Int(slot)]
        guard single != Self.none else {
            singles[Int(slot)] = entry
            return false
        }
        spill(slot, [single, entry])
        return entry <= single
    }

    /// Sorts the entries of `slot` after a deferred batch and drops duplicates; returns how many
    /// it dropped.
    mutating func sortAndDeduplicate(_ slot: UInt32) -> Int {
        let before = lists[Int(slot)].count
        guard before > 0 else { return 0 }
        lists[Int(slot)].sortAndDeduplicate()
        let dropped = before - lists[Int(slot)].count
        unspillIfSingle(slot)
        return dropped
    }

    /// Removes `entry` from `slot`; false when it was not there. The last entry removed leaves
    /// the slot without entries, for its caller to release.
    @discardableResult
    mutating func remove(_ entry: UInt64, from slot: UInt32) -> Bool {
        if !lists[Int(slot)].isEmpty {
            guard lists[Int(slot)].sortedRemove(entry) else { return false }
            unspillIfSingle(slot)
            return true
        }
        guard singles[Int(slot)] == entry, entry != Self.none else { return false }
        singles[Int(slot)] = Self.none
        return true
    }

    /// Drops every entry of `slot` (its object is released).
    mutating func clear(_ slot: UInt32) {
        lists[Int(slot)] = []
        singles[Int(slot)] = Self.none
    }

    /// Moves the two or more entries of `slot` into an array.
    private mutating func spill(_ slot: UInt32, _ entries: [UInt64]) {
        lists[Int(slot)] = entries
        singles[Int(slot)] = Self.none
    }

    /// Moves the entry of a slot whose array holds just one back to `singles`, freeing the array.
    private mutating func unspillIfSingle(_ slot: UInt32) {
        guard lists[Int(slot)].count == 1 else { return }
        singles[Int(slot)] = lists[Int(slot)][0]
        lists[Int(slot)] = []
    }
}
