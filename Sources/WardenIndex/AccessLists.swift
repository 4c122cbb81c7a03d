/// The access lists of one content type's object slots: each slot's grants as sorted
/// `IndexState.entry` values (`subject key << 32 | permission id`).
///
/// Most objects of a large index carry a single grant (a file shared with one user, a record
/// its owner may change), so a slot holds one entry inline, in its 16-byte element of `lists`,
/// without a heap object; only a slot with two or more entries owns an array, referenced from
/// the same element. A slot is `.none` (no entries: a free slot, or one whose last entry was
/// just removed and that its caller releases next), `.one(entry)` or `.many(entries)`, sorted.
///
/// Why the array's reference sits in the slot's element and not in a side table addressed from
/// an 8-byte inline word (that layout was built first, commit 552aeef): a check on an object
/// with two or more grants then reads the word, the side table's reference and the array, one
/// dependent cache miss more than before; with about ten grants an object, random checks at 1M
/// grants took 38% longer (median of 8 interleaved runs, 719 against 519 ns). Here the element
/// costs 8 bytes more an object than the word did, and a check misses no more lines than with
/// one array an object: one for a single entry, two for more.
///
/// Readers get a slot's entries as a sorted `UnsafeBufferPointer` (`withEntries`): the inline
/// entry or the array's storage, no copy and no allocation. A freed array goes back to the
/// allocator, which hands it to the next list of its size, so grant and revoke churn does not
/// grow memory.
struct AccessLists {
    /// A slot's entries: none, one inline, or two or more in a sorted array.
    private enum List {
        case none
        case one(UInt64)
        case many([UInt64])
    }

    /// One element a slot (16 bytes: the entry or the array reference, and the case).
    private var lists: [List] = []

    /// The number of slots ever opened (live or free); the valid slot ids are below it.
    var slotCount: Int { lists.count }

    /// The number of slots that own an array (two or more entries).
    var spilledCount: Int {
        lists.count {
            if case .many = $0 { return true }
            return false
        }
    }

    // MARK: Reading

    /// Calls `body` with the entries of `slot`, sorted; the buffer is valid only inside `body`.
    @inline(__always)
    func withEntries<Result>(
        of slot: UInt32,
        _ body: (UnsafeBufferPointer<UInt64>) throws -> Result
    ) rethrows -> Result {
        switch lists[Int(slot)] {
        case .one(let entry):
            return try withUnsafePointer(to: entry) { try body(UnsafeBufferPointer(start: $0, count: 1)) }
        case .many(let entries):
            return try entries.withUnsafeBufferPointer(body)
        case .none:
            return try body(UnsafeBufferPointer(start: nil, count: 0))
        }
    }

    /// The entries of `slot`, copied: for a caller that changes the index while walking them.
    func entries(of slot: UInt32) -> [UInt64] { withEntries(of: slot) { Array($0) } }

    /// The number of entries of `slot`.
    func count(of slot: UInt32) -> Int {
        switch lists[Int(slot)] {
        case .none: 0
        case .one: 1
        case .many(let entries): entries.count
        }
    }

    /// Whether `slot` has no entries.
    @inline(__always)
    func isEmpty(_ slot: UInt32) -> Bool {
        if case .none = lists[Int(slot)] { return true }
        return false
    }

    // MARK: Writing

    /// Opens `slot` for a new object, with no entries. `slot` is an existing slot or the next one.
    mutating func open(_ slot: UInt32) { lists.store(.none, at: slot) }

    /// Adds `entry` to `slot` in order; false when it was there already.
    mutating func insert(_ entry: UInt64, into slot: UInt32) -> Bool {
        switch lists[Int(slot)] {
        case .none:
            lists[Int(slot)] = .one(entry)
            return true
        case .one(let only):
            if only == entry { return false }
            lists[Int(slot)] = .many(only < entry ? [only, entry] : [entry, only])
            return true
        case .many:
            return modifyArray(of: slot) { $0.sortedInsert(entry) }
        }
    }

    /// Adds `entry` to `slot` without keeping the order or checking for a duplicate (a deferred
    /// batch). True when `slot` now has two or more entries: the batch must then pass it to
    /// `sortAndDeduplicate` before anyone reads it.
    mutating func append(_ entry: UInt64, to slot: UInt32) -> Bool {
        switch lists[Int(slot)] {
        case .none:
            lists[Int(slot)] = .one(entry)
            return false
        case .one(let only):
            lists[Int(slot)] = .many([only, entry])
        case .many:
            modifyArray(of: slot) { $0.append(entry) }
        }
        return true
    }

    /// Sorts the entries of `slot` after a deferred batch and drops duplicates; returns how many
    /// it dropped.
    mutating func sortAndDeduplicate(_ slot: UInt32) -> Int {
        guard case .many = lists[Int(slot)] else { return 0 }
        return modifyArray(of: slot) { entries in
            let before = entries.count
            entries.sortAndDeduplicate()
            return before - entries.count
        }
    }

    /// Removes `entry` from `slot`; false when it was not there. The last entry removed leaves
    /// the slot `.none`, for its caller to release.
    @discardableResult
    mutating func remove(_ entry: UInt64, from slot: UInt32) -> Bool {
        switch lists[Int(slot)] {
        case .none:
            return false
        case .one(let only):
            guard only == entry else { return false }
            lists[Int(slot)] = .none
            return true
        case .many:
            return modifyArray(of: slot) { $0.sortedRemove(entry) }
        }
    }

    /// Drops every entry of `slot` (its object is released).
    mutating func clear(_ slot: UInt32) { lists[Int(slot)] = .none }

    /// Changes the array of a `.many` slot in place (the slot's element is cleared meanwhile, so
    /// the array is uniquely referenced and not copied), then stores it back: inline when one
    /// entry is left.
    @discardableResult
    private mutating func modifyArray<Result>(of slot: UInt32, _ body: (inout [UInt64]) -> Result) -> Result {
        guard case .many(var entries) = lists[Int(slot)] else { preconditionFailure("access lists: not an array") }
        lists[Int(slot)] = .none
        let result = body(&entries)
        switch entries.count {
        case 0: lists[Int(slot)] = .none
        case 1: lists[Int(slot)] = .one(entries[0])
        default: lists[Int(slot)] = .many(entries)
        }
        return result
    }
}
