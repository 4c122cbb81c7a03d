import NIOCore
import WardenIndex
import WardenModel
import WardenService
import WardenWire

/// A hand-written protobuf codec for the hot path: Check and BatchCheck requests read in place
/// (byte ranges, checked against the index as bytes by `PermissionIndex.check(raw:)`), and their
/// replies encoded straight into the outgoing buffer. swift-protobuf's generic coding costs several times the check itself.
///
/// It reads the wire format of proto3 exactly for these messages (fields in any order, unknown
/// fields skipped, a repeated scalar's last value wins). Whatever it does not handle — a message
/// field sent twice (which proto merges), a string field sent twice (swift-protobuf refuses the
/// message when the overwritten one is not UTF-8, which this reader does not check), groups,
/// malformed or non-UTF-8 bytes — makes it return `nil`, and the caller decodes with
/// swift-protobuf, which then answers or refuses exactly as it always does.
enum CheckCodec {
    /// Where a CheckRequest's (or CheckItem's) fields lie in the body: offsets, no copies.
    struct Fields {
        var user: Range<Int>?
        var group: Range<Int>?
        var permission: Range<Int> = 0..<0
        var hasObject = false
        var objectType: Range<Int> = 0..<0
        var pk: Range<Int> = 0..<0
        var contentType: Range<Int>?
        var acceptGlobalPerms: Bool?
        var minRevision: UInt64 = 0

        /// The fields as borrowed bytes, for `PermissionIndex.check(raw:)`.
        func raw(_ bytes: UnsafeRawBufferPointer) -> RawCheckRequest {
            func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[range]) }
            return RawCheckRequest(
                user: group == nil ? user.map(slice) : nil,
                permission: slice(permission),
                objectType: hasObject ? slice(objectType) : nil,
                pk: slice(pk),
                hasContentType: contentType != nil,
                acceptGlobalPerms: acceptGlobalPerms
            )
        }

        /// The fields as a `CheckRequest`; `nil` when a string is not UTF-8 (the message is then
        /// invalid as a whole, as swift-protobuf finds it).
        func request(_ bytes: UnsafeRawBufferPointer) -> CheckRequest? {
            func string(_ range: Range<Int>) -> String? {
                String(
                    validating: UnsafeRawBufferPointer(rebasing: bytes[range]).bindMemory(to: UInt8.self),
                    as: UTF8.self
                )
            }
            var subject: Subject?
            if let group {
                guard let name = string(group) else { return nil }
                subject = .group(name)
            } else if let user {
                guard let id = string(user) else { return nil }
                subject = .user(id)
            }
            guard let permission = string(permission) else { return nil }
            var object: ObjectRef?
            if hasObject {
                guard let type = string(objectType), let pk = string(pk) else { return nil }
                object = ObjectRef(contentType: type, pk: pk)
            }
            var explicit: String?
            if let contentType {
                guard let type = string(contentType) else { return nil }
                explicit = type
            }
            return CheckRequest(
                subject: subject,
                permission: permission,
                object: object,
                contentType: explicit,
                acceptGlobalPerms: acceptGlobalPerms
            )
        }
    }

    /// A CheckRequest's fields, or `nil` for what the fast reader does not handle.
    static func check(_ bytes: UnsafeRawBufferPointer) -> Fields? {
        var reader = Reader(bytes: bytes)
        return reader.check(until: bytes.count)
    }

    /// A BatchCheckRequest's items and min_revision.
    static func batch(_ bytes: UnsafeRawBufferPointer) -> ([Fields], minRevision: UInt64)? {
        var reader = Reader(bytes: bytes)
        var items: [Fields] = []
        var minRevision: UInt64 = 0
        while reader.position < bytes.count {
            guard let (field, wire) = reader.tag() else { return nil }
            switch (field, wire) {
            case (1, 2):
                guard let length = reader.length(), let item = reader.check(until: reader.position + length) else {
                    return nil
                }
                items.append(item)
            case (2, 0):
                guard let value = reader.varint() else { return nil }
                minRevision = value
            default:
                guard reader.skip(wire) else { return nil }
            }
        }
        return (items, minRevision)
    }

    /// How often top-level field `field` occurs in a message, counted by walking the wire format
    /// without decoding or allocating. The item limits are checked with this before a batch is
    /// decoded, so it never undercounts: where the walk stops before the end (a malformed byte,
    /// or a protobuf group, which swift-protobuf skips but this walk does not), every 2 bytes
    /// left could still be one more item (a 1-byte tag and a 1-byte length), and are counted as
    /// such. A body that leads with an empty group cannot hide 2M items behind it.
    static func occurrences(of field: UInt64, in bytes: UnsafeRawBufferPointer) -> Int {
        var reader = Reader(bytes: bytes)
        var count = 0
        while reader.position < bytes.count {
            let start = reader.position
            guard let (number, wire) = reader.tag(), reader.skip(wire) else {
                return count + (bytes.count - start + 1) / 2
            }
            if number == field { count += 1 }
        }
        return count
    }

    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        mutating func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while position < bytes.count, shift < 64 {
                let byte = bytes[position]
                position += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }

        /// A field's number and wire type. At most 5 bytes and below 2^32, as swift-protobuf reads
        /// tags: it refuses the message otherwise, so this reader must not skip such a field.
        mutating func tag() -> (UInt64, UInt64)? {
            let start = position
            guard let key = varint(), key >> 3 > 0, key <= UInt32.max, position - start <= 5 else { return nil }
            return (key >> 3, key & 7)
        }

        mutating func length() -> Int? {
            guard let length = varint(), length <= UInt64(bytes.count - position) else { return nil }
            return Int(length)
        }

        /// A length-delimited field's byte range.
        mutating func range() -> Range<Int>? {
            guard let length = length() else { return nil }
            defer { position += length }
            return position..<position + length
        }

        mutating func skip(_ wire: UInt64) -> Bool {
            switch wire {
            case 0: return varint() != nil
            case 1:
                guard bytes.count - position >= 8 else { return false }
                position += 8
            case 2:
                guard let length = length() else { return false }
                position += length
            case 5:
                guard bytes.count - position >= 4 else { return false }
                position += 4
            default: return false
            }
            return true
        }

        /// CheckRequest / CheckItem fields up to `end`.
        mutating func check(until end: Int) -> Fields? {
            var fields = Fields()
            var sawSubject = false
            var strings = StringFields()
            while position < end {
                guard let (field, wire) = tag() else { return nil }
                switch (field, wire) {
                case (1, 2):
                    guard !sawSubject, let length = length() else { return nil }
                    sawSubject = true
                    let stop = position + length
                    while position < stop {
                        guard let (inner, innerWire) = tag() else { return nil }
                        switch (inner, innerWire) {
                        case (1, 2):
                            guard strings.first(.subject), let range = range() else { return nil }
                            fields.user = range
                        case (2, 2):
                            guard strings.first(.subject), let range = range() else { return nil }
                            fields.group = range
                        default: guard skip(innerWire) else { return nil }
                        }
                    }
                    guard position == stop else { return nil }
                case (2, 2):
                    guard strings.first(.permission), let range = range() else { return nil }
                    fields.permission = range
                case (3, 2):
                    guard !fields.hasObject, let length = length() else { return nil }
                    fields.hasObject = true
                    let stop = position + length
                    while position < stop {
                        guard let (inner, innerWire) = tag() else { return nil }
                        switch (inner, innerWire) {
                        case (1, 2):
                            guard strings.first(.objectType), let range = range() else { return nil }
                            fields.objectType = range
                        case (2, 2):
                            guard strings.first(.pk), let range = range() else { return nil }
                            fields.pk = range
                        default: guard skip(innerWire) else { return nil }
                        }
                    }
                    guard position == stop else { return nil }
                case (4, 2):
                    guard strings.first(.contentType), let range = range() else { return nil }
                    fields.contentType = range.isEmpty ? nil : range
                case (5, 0):
                    guard let value = varint() else { return nil }
                    fields.acceptGlobalPerms = value != 0
                case (6, 0):
                    guard let value = varint() else { return nil }
                    fields.minRevision = value
                default:
                    guard skip(wire) else { return nil }
                }
            }
            guard position == end else { return nil }
            return fields
        }
    }

    /// The string fields a CheckRequest has read so far (user and group are one: a oneof).
    struct StringFields: OptionSet {
        let rawValue: UInt8
        static let subject = StringFields(rawValue: 1 << 0)
        static let permission = StringFields(rawValue: 1 << 1)
        static let objectType = StringFields(rawValue: 1 << 2)
        static let pk = StringFields(rawValue: 1 << 3)
        static let contentType = StringFields(rawValue: 1 << 4)

        /// Marks `field` read; `false` when it was already.
        mutating func first(_ field: StringFields) -> Bool { insert(field).inserted }
    }

    // MARK: Encoding

    static func varintSize(_ value: UInt64) -> Int {
        var value = value
        var size = 1
        while value >= 0x80 {
            value >>= 7
            size += 1
        }
        return size
    }

    static func writeVarint(_ value: UInt64, to buffer: inout ByteBuffer) {
        var value = value
        while value >= 0x80 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        buffer.writeInteger(UInt8(value))
    }

    /// The encoded size of a Decision message.
    static func decisionSize(_ decision: Decision) -> Int {
        var size = decision.allowed ? 2 : 0
        size += 2  // reason: never 0
        if let group = decision.group, !group.isEmpty {
            let count = group.utf8.count
            size += 1 + varintSize(UInt64(count)) + count
        }
        return size
    }

    static func writeDecision(_ decision: Decision, to buffer: inout ByteBuffer) {
        if decision.allowed { buffer.writeBytes([0x08, 0x01]) }
        buffer.writeBytes([0x10, UInt8(ProtoMapping.reason(decision.reason).rawValue)])
        if let group = decision.group, !group.isEmpty {
            buffer.writeInteger(UInt8(0x1a))
            writeVarint(UInt64(group.utf8.count), to: &buffer)
            buffer.writeString(group)
        }
    }

    /// A CheckResponse frame.
    static func writeCheckResponse(
        _ decision: Decision,
        revision: Revision,
        requestID: UInt32,
        method: UInt16,
        to buffer: inout ByteBuffer
    ) {
        let inner = decisionSize(decision)
        let bodyLength =
            1 + varintSize(UInt64(inner)) + inner + (revision.rawValue == 0 ? 0 : 1 + varintSize(revision.rawValue))
        Frame.writeHeader(
            to: &buffer,
            bodyLength: bodyLength,
            requestID: requestID,
            method: method,
            flags: .endStream,
            status: 0,
            timeoutMilliseconds: 0
        )
        buffer.writeInteger(UInt8(0x0a))
        writeVarint(UInt64(inner), to: &buffer)
        writeDecision(decision, to: &buffer)
        if revision.rawValue != 0 {
            buffer.writeInteger(UInt8(0x10))
            writeVarint(revision.rawValue, to: &buffer)
        }
    }

    /// A BatchCheckResponse frame; per-item errors as Status messages.
    static func writeBatchResponse(
        _ results: [Result<Decision, IndexError>],
        revision: Revision,
        requestID: UInt32,
        method: UInt16,
        to buffer: inout ByteBuffer
    ) {
        // Sizes first: each CheckResult is field 1 (decision) or field 2 (error) of a message.
        var sizes: [Int] = []
        sizes.reserveCapacity(results.count)
        var bodyLength = revision.rawValue == 0 ? 0 : 1 + varintSize(revision.rawValue)
        for result in results {
            let inner: Int
            switch result {
            case .success(let decision): inner = decisionSize(decision)
            case .failure(let error): inner = statusSize(error)
            }
            let resultSize = 1 + varintSize(UInt64(inner)) + inner
            sizes.append(resultSize)
            bodyLength += 1 + varintSize(UInt64(resultSize)) + resultSize
        }
        Frame.writeHeader(
            to: &buffer,
            bodyLength: bodyLength,
            requestID: requestID,
            method: method,
            flags: .endStream,
            status: 0,
            timeoutMilliseconds: 0
        )
        for (result, size) in zip(results, sizes) {
            buffer.writeInteger(UInt8(0x0a))
            writeVarint(UInt64(size), to: &buffer)
            switch result {
            case .success(let decision):
                buffer.writeInteger(UInt8(0x0a))
                writeVarint(UInt64(decisionSize(decision)), to: &buffer)
                writeDecision(decision, to: &buffer)
            case .failure(let error):
                buffer.writeInteger(UInt8(0x12))
                writeVarint(UInt64(statusSize(error)), to: &buffer)
                buffer.writeBytes([0x08, statusCode(error)])
                buffer.writeInteger(UInt8(0x12))
                writeVarint(UInt64(error.message.utf8.count), to: &buffer)
                buffer.writeString(error.message)
            }
        }
        if revision.rawValue != 0 {
            buffer.writeInteger(UInt8(0x10))
            writeVarint(revision.rawValue, to: &buffer)
        }
    }

    static func statusCode(_ error: IndexError) -> UInt8 {
        StatusMapping.code(ServiceError(error).code).rawValue
    }

    static func statusSize(_ error: IndexError) -> Int {
        let count = error.message.utf8.count
        return 2 + 1 + varintSize(UInt64(count)) + count
    }
}
