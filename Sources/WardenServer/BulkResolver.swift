import WardenModel
import WardenProto
import WardenService

/// A bulk row's permission as sent, compared byte for byte.
struct PermissionKey: Hashable {
    let permission: ExactString
    let contentType: ExactString
}

/// Resolves a bulk stream's permissions, each distinct one once: a bulk names few.
struct BulkResolver {
    let service: WardenService
    /// By the bytes sent (permission, content type); looked up by `BulkCodec` items.
    private var byBytes: [(permission: [UInt8], contentType: [UInt8], ref: PermissionRef)] = []
    private var lastHit = 0
    /// By the strings decoded, for swift-protobuf's messages.
    private var byKey: [PermissionKey: PermissionRef] = [:]

    init(service: WardenService) {
        self.service = service
    }

    /// The permission an item names, if it resolved before or resolves now; `nil` when it
    /// does not resolve (the caller's slow path then refuses with the precise error).
    mutating func permission(_ item: BulkCodec.Item, _ bytes: UnsafeRawBufferPointer) -> PermissionRef? {
        let permission = UnsafeRawBufferPointer(rebasing: bytes[item.permission])
        let contentType = UnsafeRawBufferPointer(rebasing: bytes[item.contentType])
        func matches(_ entry: (permission: [UInt8], contentType: [UInt8], ref: PermissionRef)) -> Bool {
            entry.permission.elementsEqual(permission) && entry.contentType.elementsEqual(contentType)
        }
        if lastHit < byBytes.count && matches(byBytes[lastHit]) { return byBytes[lastHit].ref }
        if let found = byBytes.firstIndex(where: matches) {
            lastHit = found
            return byBytes[found].ref
        }
        let type = String(decoding: contentType, as: UTF8.self)
        guard
            let grant = try? service.makeGrant(
                subject: .user("-"),
                permission: String(decoding: permission, as: UTF8.self),
                contentType: type.isEmpty ? nil : type,
                pk: nil
            )
        else { return nil }
        byBytes.append((Array(permission), Array(contentType), grant.permission))
        lastHit = byBytes.count - 1
        return grant.permission
    }

    /// Maps a wire grant and appends it, or refuses naming `grants[n]`: its position in the
    /// stream, `offset` (the grants of earlier chunks) plus its position in `grants`.
    mutating func append(_ wire: Warden_V1_Grant, to grants: inout [Grant], offset: Int) throws(ServiceError) {
        let field = "grants[\(offset + grants.count)]"
        let key = PermissionKey(permission: ExactString(wire.permission), contentType: ExactString(wire.contentType))
        guard let permission = byKey[key] else {
            let grant = try ProtoMapping.grant(wire, field: field, service: service)
            byKey[key] = grant.permission
            grants.append(grant)
            return
        }
        let subject = try ProtoMapping.requiredSubject(wire.hasSubject ? wire.subject : nil, field: "\(field).subject")
        do throws(ValidationError) {
            grants.append(try Grant(subject: subject, permission: permission, pk: wire.hasPk ? wire.pk : nil))
        } catch {
            throw ServiceError(ValidationError(field: "\(field).pk", rule: error.rule))
        }
    }
}

extension BulkCodec.Item {
    /// The item as swift-protobuf's message (its strings are valid UTF-8: the reader checked).
    func wire(_ bytes: UnsafeRawBufferPointer) -> Warden_V1_Grant {
        func string(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        var wire = Warden_V1_Grant()
        if hasSubject {
            var subject = Warden_V1_Subject()
            if let user { subject.user = string(user) } else if let group { subject.group = string(group) }
            wire.subject = subject
        }
        wire.permission = string(permission)
        wire.contentType = string(contentType)
        if let pk { wire.pk = string(pk) }
        return wire
    }
}
