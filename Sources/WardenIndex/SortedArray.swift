/// Sorted integers, searched in place: a sorted array, or a borrowed buffer of one
/// (`AccessLists.withEntries`).
extension RandomAccessCollection where Element: FixedWidthInteger, Index == Int {
    /// The position of the first element not less than `value`.
    @inline(__always)
    func lowerBound(of value: Element) -> Int {
        var low = startIndex
        var high = endIndex
        while low < high {
            let mid = (low + high) >> 1
            if self[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Whether the sorted collection holds `value`.
    @inline(__always)
    func sortedContains(_ value: Element) -> Bool {
        let position = lowerBound(of: value)
        return position < endIndex && self[position] == value
    }
}

/// Sets of integers kept as sorted arrays: compact, cache-friendly, and merged in linear time.
extension Array where Element: FixedWidthInteger {

    /// Inserts `value` in order; returns false when it was already there.
    @discardableResult
    mutating func sortedInsert(_ value: Element) -> Bool {
        let position = lowerBound(of: value)
        if position < count && self[position] == value { return false }
        insert(value, at: position)
        return true
    }

    /// Removes `value`; returns false when it was not there.
    @discardableResult
    mutating func sortedRemove(_ value: Element) -> Bool {
        let position = lowerBound(of: value)
        guard position < count && self[position] == value else { return false }
        remove(at: position)
        return true
    }

    /// Appends `value` without keeping the order (a deferred batch); returns true when the array
    /// is no longer sorted and distinct (`value` is not above the last element), so it must be
    /// passed to `sortAndDeduplicate` before it is read.
    @inline(__always)
    mutating func appendNotingOrder(_ value: Element) -> Bool {
        let broken = last.map { value <= $0 } ?? false
        append(value)
        return broken
    }

    /// Appends the slots (low 32 bits) of `run`, a sorted run of `permission << 32 | slot`
    /// words, dropping a slot equal to the one before it; sorts and de-duplicates the whole array
    /// when the run starts at or below its last element.
    mutating func appendSlots(_ run: Slice<UnsafeMutableBufferPointer<UInt64>>) where Element == UInt32 {
        if isEmpty { reserveCapacity(run.count) }
        let broken = last.map { UInt32(truncatingIfNeeded: run.first!) <= $0 } ?? false
        var previous: UInt32? = nil
        for word in run {
            let slot = UInt32(truncatingIfNeeded: word)
            if slot == previous { continue }
            append(slot)
            previous = slot
        }
        if broken { sortAndDeduplicate() }
    }

    /// Sorts and drops duplicates (after a bulk append).
    mutating func sortAndDeduplicate() {
        sort()
        var kept = 0
        for index in indices where index == 0 || self[index] != self[kept - 1] {
            self[kept] = self[index]
            kept += 1
        }
        removeLast(count - kept)
    }

    /// The union of two sorted arrays, sorted.
    func sortedUnion(_ other: [Element]) -> [Element] {
        if isEmpty { return other }
        if other.isEmpty { return self }
        var result: [Element] = []
        result.reserveCapacity(count + other.count)
        var i = 0
        var j = 0
        while i < count && j < other.count {
            let a = self[i]
            let b = other[j]
            if a < b {
                result.append(a)
                i += 1
            } else if b < a {
                result.append(b)
                j += 1
            } else {
                result.append(a)
                i += 1
                j += 1
            }
        }
        result.append(contentsOf: self[i...])
        result.append(contentsOf: other[j...])
        return result
    }

    /// The intersection of two sorted arrays, sorted.
    func sortedIntersection(_ other: [Element]) -> [Element] {
        var result: [Element] = []
        var i = 0
        var j = 0
        while i < count && j < other.count {
            let a = self[i]
            let b = other[j]
            if a < b {
                i += 1
            } else if b < a {
                j += 1
            } else {
                result.append(a)
                i += 1
                j += 1
            }
        }
        return result
    }
}

extension UnsafeMutableBufferPointer where Element: Comparable {
    /// Whether each element is above the one before it.
    var isSortedStrictly: Bool {
        guard count > 1 else { return true }
        for index in 1..<count where self[index - 1] >= self[index] { return false }
        return true
    }
}
