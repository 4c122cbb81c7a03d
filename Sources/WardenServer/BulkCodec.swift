import NIOCore
import WardenModel

/// A hand-written reader for the chunks of BulkGrant and BulkRevoke (`BulkGrantRequest`): the
/// grants' fields as byte ranges of the chunk, read in place. swift-protobuf builds a message
/// object and five strings per grant, and that was most of a bulk's decoding.
///
/// It reads proto3's wire format exactly for this message, as `CheckCodec` does for checks:
/// fields in any order, unknown fields skipped, a repeated scalar's last value wins, a oneof's
/// last member wins, every string field valid UTF-8. Whatever it does not handle — a message
/// field sent twice (which proto merges), a known field with another wire type, groups,
/// malformed bytes, invalid UTF-8 — makes it return `nil`; the caller then decodes the chunk
/// with swift-protobuf, which answers or refuses exactly as it always did.
enum BulkCodec {
    /// One grant's fields: ranges of the chunk's bytes.
    struct Item: Equatable {
        /// The subject message was present (a subject with neither member is still "present").
        var hasSubject = false
        var user: Range<Int>?
        var group: Range<Int>?
        var permission: Range<Int> = 0..<0
        var contentType: Range<Int> = 0..<0
        var pk: Range<Int>?
    }

    /// A chunk's grants and its actor, or `nil` for what this reader does not handle.
    static func request(_ bytes: UnsafeRawBufferPointer) -> (items: [Item], actor: Range<Int>)? {
        var reader = CheckCodec.Reader(bytes: bytes)
        var items: [Item] = []
        // A grant takes at least 8 bytes on the wire; reserving for that avoids regrowing.
        items.reserveCapacity(bytes.count / 24)
        var actor = 0..<0
        while reader.position < bytes.count {
            guard let (field, wire) = reader.fieldTag() else { return nil }
            switch (field, wire) {
            case (1, 2):
                guard let length = reader.length(), let item = reader.grant(until: reader.position + length) else {
                    return nil
                }
                items.append(item)
            case (2, 2):
                guard let range = reader.string() else { return nil }
                actor = range
            case (1, _), (2, _):
                return nil
            default:
                guard reader.skip(wire) else { return nil }
            }
        }
        return (items, actor)
    }
}

extension CheckCodec.Reader {
    /// A tag whose field number protobuf allows (1 ..< 2^29).
    mutating func fieldTag() -> (UInt64, UInt64)? {
        guard let (field, wire) = tag(), field < 1 << 29 else { return nil }
        return (field, wire)
    }

    /// A length-delimited field holding valid UTF-8, as swift-protobuf requires of strings.
    mutating func string() -> Range<Int>? {
        guard let range = range() else { return nil }
        var ascii = true
        for index in range where bytes[index] >= 0x80 {
            ascii = false
            break
        }
        if !ascii {
            let slice = UnsafeRawBufferPointer(rebasing: bytes[range]).bindMemory(to: UInt8.self)
            guard String(validating: slice, as: UTF8.self) != nil else { return nil }
        }
        return range
    }

    /// A `Grant` message's fields up to `end`.
    mutating func grant(until end: Int) -> BulkCodec.Item? {
        var item = BulkCodec.Item()
        while position < end {
            guard let (field, wire) = fieldTag() else { return nil }
            switch (field, wire) {
            case (1, 2):
                guard !item.hasSubject, let length = length() else { return nil }
                item.hasSubject = true
                let stop = position + length
                while position < stop {
                    guard let (inner, innerWire) = fieldTag() else { return nil }
                    switch (inner, innerWire) {
                    case (1, 2):
                        guard let range = string() else { return nil }
                        item.user = range
                        item.group = nil
                    case (2, 2):
                        guard let range = string() else { return nil }
                        item.group = range
                        item.user = nil
                    case (1, _), (2, _): return nil
                    default: guard skip(innerWire) else { return nil }
                    }
                }
                guard position == stop else { return nil }
            case (2, 2):
                guard let range = string() else { return nil }
                item.permission = range
            case (3, 2):
                guard let range = string() else { return nil }
                item.contentType = range
            case (4, 2):
                guard let range = string() else { return nil }
                item.pk = range
            case (1, _), (2, _), (3, _), (4, _):
                return nil
            default:
                guard skip(wire) else { return nil }
            }
        }
        guard position == end else { return nil }
        return item
    }
}
