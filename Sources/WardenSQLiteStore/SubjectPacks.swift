import CSQLite
import WardenModel
import WardenStore

/// The subject side of the object grants a bulk grant adds: one `subject_packs` row per subject
/// and bulk, holding that subject's new `(pid, pk)` pairs in one blob, instead of one
/// `subject_grants` row per grant. A bulk grant of 1M rows then writes about 10,000 small rows
/// here instead of 1M B-tree entries (docs/store.md, "Subject packs").
///
/// Cascades of users and groups only need to *find* a subject's rows, so a pack may name rows that
/// are gone (revoked or deleted since): deleting a row that is not in `subject_grants` counts one
/// stale entry for its subject in `subject_pack_stale`, and once a subject's stale entries are at
/// least `compactionFloor` and half of its packed entries, its packs are rewritten as one pack of
/// the rows that remain. Every row of `object_grants` is in `subject_grants` or in a pack of its
/// subject; `SubjectGrantsTests` checks it after every write kind.
enum SubjectPack {
    /// Stale entries a subject must reach before its packs are compacted.
    static let compactionFloor = 1024

    /// Appends one `(pid, pk)` entry: the pid and the pk's byte count as LEB128 varints, then the
    /// pk's UTF-8 bytes.
    static func append(pid: Int64, pk: UnsafeBufferPointer<UInt8>, to blob: inout [UInt8]) {
        let start = blob.count
        blob.append(contentsOf: repeatElement(0, count: size(pid: pid, count: pk.count)))
        blob.withUnsafeMutableBufferPointer {
            _ = write(pid: pid, pk: pk.baseAddress!, count: pk.count, into: $0, at: start)
        }
    }

    /// The bytes of one entry.
    static func size(pid: Int64, count: Int) -> Int {
        varintSize(UInt64(bitPattern: pid)) + varintSize(UInt64(count)) + count
    }

    /// Writes one entry at `offset` (`size` bytes must be free there); returns the offset after it.
    static func write(
        pid: Int64,
        pk: UnsafePointer<UInt8>,
        count: Int,
        into blob: UnsafeMutableBufferPointer<UInt8>,
        at offset: Int
    ) -> Int {
        var offset = writeVarint(UInt64(bitPattern: pid), into: blob, at: offset)
        offset = writeVarint(UInt64(count), into: blob, at: offset)
        UnsafeMutableRawPointer(blob.baseAddress! + offset).copyMemory(from: pk, byteCount: count)
        return offset + count
    }

    private static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    private static func writeVarint(
        _ value: UInt64,
        into blob: UnsafeMutableBufferPointer<UInt8>,
        at offset: Int
    ) -> Int {
        var value = value
        var offset = offset
        while value >= 0x80 {
            blob[offset] = UInt8(truncatingIfNeeded: value) | 0x80
            value >>= 7
            offset += 1
        }
        blob[offset] = UInt8(value)
        return offset + 1
    }

    /// The entries of `blob` in order. A malformed blob (written by another tool) is an error.
    static func entries(_ blob: UnsafeRawBufferPointer) throws(SQLiteError) -> [(pid: Int64, pk: String)] {
        var entries: [(pid: Int64, pk: String)] = []
        var offset = 0
        func varint() throws(SQLiteError) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while offset < blob.count, shift < 64 {
                let byte = blob[offset]
                offset += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            throw malformed
        }
        while offset < blob.count {
            let pid = Int64(bitPattern: try varint())
            let count = try varint()
            guard count <= UInt64(blob.count - offset),
                let pk = String(
                    validating: UnsafeRawBufferPointer(rebasing: blob[offset..<offset + Int(count)]),
                    as: UTF8.self
                )
            else { throw malformed }
            offset += Int(count)
            entries.append((pid, pk))
        }
        return entries
    }

    private static var malformed: SQLiteError {
        SQLiteError(code: SQLITE_CORRUPT, message: "subject_packs.pks holds a malformed pack", sql: nil)
    }
}

extension SQLiteWriter {
    /// Writes one pack per subject for the rows of `rows` whose `isNew` flag is set, in subject
    /// order. Groups rows by subject with a counting sort, so each pack keeps the rows' order, and
    /// encodes every pack into one buffer.
    func pack(_ rows: [BulkRows.Row], isNew: [Bool], bytes: UnsafePointer<UInt8>, at revision: Revision) throws {
        // Small to start (a bulk names far fewer subjects than rows), so the table stays in cache.
        var slots = SubjectSlots(capacity: 1024)
        var sizes: [Int] = []
        var counts: [Int] = []
        var slotOfRow = [Int32](repeating: -1, count: rows.count)
        for index in rows.indices where isNew[index] {
            let row = rows[index]
            let slot = slots.slot(of: row.subject)
            if slot == counts.count {
                counts.append(0)
                sizes.append(0)
            }
            counts[slot] += 1
            sizes[slot] += SubjectPack.size(pid: row.pid, count: Int(row.pkCount))
            slotOfRow[index] = Int32(slot)
        }
        guard !counts.isEmpty else { return }
        var offsets = [Int](repeating: 0, count: counts.count + 1)
        for slot in counts.indices { offsets[slot + 1] = offsets[slot] + sizes[slot] }
        var blob = [UInt8](repeating: 0, count: offsets[counts.count])
        blob.withUnsafeMutableBufferPointer { blob in
            var next = offsets
            for index in rows.indices where slotOfRow[index] >= 0 {
                let row = rows[index]
                let slot = Int(slotOfRow[index])
                next[slot] = SubjectPack.write(
                    pid: row.pid,
                    pk: bytes + Int(row.pkStart),
                    count: Int(row.pkCount),
                    into: blob,
                    at: next[slot]
                )
            }
        }
        let insert = try connection.statement(
            "INSERT INTO subject_packs (subject, revision, rows, pks) VALUES (?, ?, ?, ?)"
        )
        try blob.withUnsafeBytes { blob in
            for (subject, slot) in slots.subjects.enumerated().sorted(by: { $0.element < $1.element }).map({
                ($0.element, $0.offset)
            }) {
                insert.reset()
                try insert.bind(.integer(subject), .revision(revision), .integer(Int64(counts[slot])))
                try insert.bindBlob(UnsafeRawBufferPointer(rebasing: blob[offsets[slot]..<offsets[slot + 1]]), at: 4)
                while try insert.step() {}
            }
        }
        insert.reset()
    }

    /// The `(pid, pk)` entries of every pack of `subject` (stale ones included).
    func packedRows(of subject: Int64) throws -> [(pid: Int64, pk: String)] {
        let packs = try connection.statement("SELECT pks FROM subject_packs WHERE subject = ?").bind(.integer(subject))
        var rows: [(pid: Int64, pk: String)] = []
        while try packs.step() {
            rows += try packs.withBlob(0) { blob throws(SQLiteError) in try SubjectPack.entries(blob) }
        }
        packs.reset()
        return rows
    }

    /// Drops every pack of `subject` (its rows are gone: the end of a user or group cascade).
    func dropPacks(of subject: Int64) throws {
        try connection.statement("DELETE FROM subject_packs WHERE subject = ?").run(.integer(subject))
        try connection.statement("DELETE FROM subject_pack_stale WHERE subject = ?").run(.integer(subject))
    }

    /// Removes a deleted object grant row from the subject side: its `subject_grants` row, or, when
    /// it has none, it was packed: one more stale entry for its subject, counted in `stale` until
    /// the write flushes them (`flush(_:)`).
    func unindex(subject: Int64, pid: Int64, pk: String, stale: inout StaleEntries) throws {
        try connection.statement("DELETE FROM subject_grants WHERE subject = ? AND pid = ? AND pk = ?")
            .run(.integer(subject), .integer(pid), .text(pk))
        if connection.changes == 0 { stale.counts[subject, default: 0] += 1 }
    }

    /// Adds a write's stale entries to `subject_pack_stale`, one statement per subject, and
    /// compacts the packs of each subject whose stale entries reach `compactionFloor` and half of
    /// its packed entries.
    func flush(_ stale: StaleEntries) throws {
        guard !stale.counts.isEmpty else { return }
        let count = try connection.statement(
            "INSERT INTO subject_pack_stale (subject, stale) VALUES (?, ?) "
                + "ON CONFLICT (subject) DO UPDATE SET stale = stale + excluded.stale RETURNING stale"
        )
        let packed = try connection.statement("SELECT coalesce(sum(rows), 0) FROM subject_packs WHERE subject = ?")
        for (subject, added) in stale.counts.sorted(by: { $0.key < $1.key }) {
            count.reset()
            try count.bind(.integer(subject), .integer(added))
            let total = try count.step() ? count.int64(0) : 0
            count.reset()
            guard total >= SubjectPack.compactionFloor else { continue }
            packed.reset()
            try packed.bind(.integer(subject))
            let entries = try packed.step() ? packed.int64(0) : 0
            packed.reset()
            if total * 2 >= entries { try compactPacks(of: subject) }
        }
    }

    /// Rewrites the packs of `subject` as one pack of the entries whose rows still exist and have
    /// no `subject_grants` row, without duplicates.
    func compactPacks(of subject: Int64) throws {
        let latest = try connection.statement("SELECT max(revision) FROM subject_packs WHERE subject = ?").bind(
            .integer(subject)
        )
        let revision = try latest.step() ? latest.int64(0) : 0
        latest.reset()
        let exists = try connection.statement(
            "SELECT 1 FROM object_grants WHERE pid = ? AND pk = ? AND subject = ? "
                + "AND NOT EXISTS (SELECT 1 FROM subject_grants WHERE subject = ? AND pid = ? AND pk = ?)"
        )
        var seen: Set<PackedRow> = []
        var blob: [UInt8] = []
        var kept: Int64 = 0
        for row in try packedRows(of: subject)
        where seen.insert(PackedRow(pid: row.pid, pk: ExactString(row.pk))).inserted {
            exists.reset()
            try exists.bind(
                .integer(row.pid),
                .text(row.pk),
                .integer(subject),
                .integer(subject),
                .integer(row.pid),
                .text(row.pk)
            )
            guard try exists.step() else { continue }
            var pk = row.pk
            pk.withUTF8 { SubjectPack.append(pid: row.pid, pk: $0, to: &blob) }
            kept += 1
        }
        exists.reset()
        try dropPacks(of: subject)
        guard !blob.isEmpty else { return }
        let insert = try connection.statement(
            "INSERT INTO subject_packs (subject, revision, rows, pks) VALUES (?, ?, ?, ?)"
        )
        try insert.bind(.integer(subject), .integer(revision), .integer(kept))
        try blob.withUnsafeBytes { blob in try insert.bindBlob(blob, at: 4) }
        while try insert.step() {}
        insert.reset()
    }
}

/// Dense slot numbers for the subjects of a bulk, in first-seen order: open addressing with a
/// multiplicative hash, cheaper than `Dictionary`'s SipHash for a lookup per row.
struct SubjectSlots {
    private var keys: [Int64]
    private var values: [Int32]
    private let mask: Int
    private let shift: UInt64
    /// The subjects, by slot.
    private(set) var subjects: [Int64] = []

    init(capacity: Int) {
        var size = 16
        var bits: UInt64 = 4
        while size < capacity * 2 {
            size <<= 1
            bits += 1
        }
        keys = [Int64](repeating: 0, count: size)
        values = [Int32](repeating: -1, count: size)
        mask = size - 1
        shift = 64 - bits
    }

    /// The slot of `subject`, a new one (`subjects.count` before the call) when first seen.
    mutating func slot(of subject: Int64) -> Int {
        var index = Int((UInt64(bitPattern: subject) &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let value = values[index]
            if value < 0 {
                if subjects.count * 2 >= keys.count {
                    grow()
                    return slot(of: subject)
                }
                keys[index] = subject
                values[index] = Int32(subjects.count)
                subjects.append(subject)
                return subjects.count - 1
            }
            if keys[index] == subject { return Int(value) }
            index = (index + 1) & mask
        }
    }

    private mutating func grow() {
        var bigger = SubjectSlots(capacity: keys.count)
        for subject in subjects { _ = bigger.slot(of: subject) }
        self = bigger
    }
}

/// Stale pack entries counted during one write, by subject (`SQLiteWriter.unindex`).
struct StaleEntries {
    var counts: [Int64: Int64] = [:]
}

/// A packed entry as a set member: pks compared byte for byte.
private struct PackedRow: Hashable {
    let pid: Int64
    let pk: ExactString
}

/// How the subject side covers the object grants (`SQLiteBackend.subjectIndexAudit`).
public struct SubjectIndexAudit: Hashable, Sendable {
    /// Rows of `object_grants`.
    public let objectRows: Int
    /// Object grant rows found neither in `subject_grants` nor in a pack of their subject: a
    /// user or group cascade would miss them. Always 0 in a healthy file.
    public let uncovered: Int
    /// Rows of `subject_grants` without their `object_grants` row. Always 0 in a healthy file.
    public let danglingSubjectRows: Int
    /// Entries in `subject_packs`, and how many of them name rows that are gone.
    public let packedEntries: Int
    public let staleEntries: Int
}

extension SQLiteBackend {
    /// Checks the subject side against `object_grants`, reading both whole: a diagnostic for
    /// tests and operators, not for the serving path.
    public func subjectIndexAudit() throws(StoreError) -> SubjectIndexAudit {
        try read { reader in
            // One read transaction: both sides from the same commit.
            let connection = reader.connection
            struct Row: Hashable {
                let subject: Int64
                let pid: Int64
                let pk: ExactString
            }
            var objects: Set<Row> = []
            let all = try connection.statement("SELECT subject, pid, pk FROM object_grants")
            while try all.step() {
                objects.insert(Row(subject: all.int64(0), pid: all.int64(1), pk: ExactString(try all.text(2))))
            }
            all.reset()
            var covered: Set<Row> = []
            var dangling = 0
            let rows = try connection.statement("SELECT subject, pid, pk FROM subject_grants")
            while try rows.step() {
                let row = Row(subject: rows.int64(0), pid: rows.int64(1), pk: ExactString(try rows.text(2)))
                if objects.contains(row) { covered.insert(row) } else { dangling += 1 }
            }
            rows.reset()
            var packed = 0
            var stale = 0
            let packs = try connection.statement("SELECT subject, pks FROM subject_packs")
            while try packs.step() {
                let subject = packs.int64(0)
                for entry in try packs.withBlob(1, { blob throws(SQLiteError) in try SubjectPack.entries(blob) }) {
                    let row = Row(subject: subject, pid: entry.pid, pk: ExactString(entry.pk))
                    packed += 1
                    if objects.contains(row) { covered.insert(row) } else { stale += 1 }
                }
            }
            packs.reset()
            return SubjectIndexAudit(
                objectRows: objects.count,
                uncovered: objects.count - covered.count,
                danglingSubjectRows: dangling,
                packedEntries: packed,
                staleEntries: stale
            )
        }
    }
}
