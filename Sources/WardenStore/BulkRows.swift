#if canImport(Glibc)
import Glibc
#endif

/// The object grant rows of one bulk call, packed: integer keys and the pks' UTF-8
/// bytes in one buffer, so sorting compares bytes (SQLite's `BINARY` order) and binding copies
/// nothing.
public struct BulkRows: Sendable {
    public struct Row: Sendable {
        public var pid: Int64
        public var subject: Int64
        /// The pk's first 8 bytes, big-endian, zero-padded: most comparisons end here.
        public var prefix: UInt64
        public var pkStart: Int32
        public var pkCount: Int32
    }

    public private(set) var rows: [Row] = []
    /// The pks' UTF-8 bytes, one after another (`Row.pkStart`, `Row.pkCount`).
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int) {
        rows.reserveCapacity(capacity)
        bytes.reserveCapacity(capacity * 8)
    }

    public mutating func append(pid: Int64, pk: String, subject: Int64) {
        let start = bytes.count
        var pk = pk
        var prefix: UInt64 = 0
        pk.withUTF8 { utf8 in
            bytes.append(contentsOf: utf8)
            for index in 0..<8 { prefix = prefix << 8 | UInt64(index < utf8.count ? utf8[index] : 0) }
        }
        rows.append(
            Row(pid: pid, subject: subject, prefix: prefix, pkStart: Int32(start), pkCount: Int32(bytes.count - start))
        )
    }

    /// A row's pk.
    public func pk(_ row: Row) -> String {
        bytes.withUnsafeBufferPointer { buffer in
            String(
                decoding: UnsafeBufferPointer(rebasing: buffer[Int(row.pkStart)..<Int(row.pkStart + row.pkCount)]),
                as: UTF8.self
            )
        }
    }

    /// Rows sorted by `(pid, pk, subject)`, `object_grants`' key order, without duplicates.
    public func sortedByObject() -> [Row] {
        bytes.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress
            func pk(_ a: Row, _ b: Row) -> Int32 { Self.compare(base, a, b) }
            var sorted = rows.sorted { a, b in
                if a.pid != b.pid { return a.pid < b.pid }
                if a.prefix != b.prefix { return a.prefix < b.prefix }
                let order = pk(a, b)
                if order != 0 { return order < 0 }
                return a.subject < b.subject
            }
            var kept = 0
            for row in sorted {
                if kept > 0 {
                    let last = sorted[kept - 1]
                    if last.pid == row.pid && last.subject == row.subject && last.prefix == row.prefix
                        && pk(last, row) == 0
                    {
                        continue
                    }
                }
                sorted[kept] = row
                kept += 1
            }
            sorted.removeLast(sorted.count - kept)
            return sorted
        }
    }

    /// SQLite's `BINARY` collation (`prefix` orders the same way: a zero pad sorts before any byte
    /// and, on a tie, the full comparison decides): bytes compared with `memcmp`, then the shorter first.
    private static func compare(_ base: UnsafePointer<UInt8>?, _ a: Row, _ b: Row) -> Int32 {
        guard let base else { return 0 }
        let common = Int(min(a.pkCount, b.pkCount))
        let order = memcmp(base + Int(a.pkStart), base + Int(b.pkStart), common)
        if order != 0 { return order }
        return a.pkCount < b.pkCount ? -1 : (a.pkCount > b.pkCount ? 1 : 0)
    }
}
