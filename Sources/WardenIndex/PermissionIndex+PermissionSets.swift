import WardenModel

/// A `BatchGetPermissions`: `GetPermissions` for many objects of one content type, for one
/// subject (guardian's `ObjectPermissionChecker.prefetch_perms`).
public struct PermissionSetsQuery: Hashable, Sendable {
    /// The user or group; `nil` means the configured anonymous user.
    public var subject: Subject?
    /// The objects' content type.
    public var contentType: String
    /// The objects' pks, in the order the answer keeps; a pk may repeat.
    public var pks: [String]
    /// Which grants count.
    public var mode: PermissionsQuery.Mode = .both
    /// Whether model grants count; `nil`: the index's setting.
    public var acceptGlobalPerms: Bool?

    public init(subject: Subject?, contentType: String, pks: [String], mode: PermissionsQuery.Mode = .both) {
        self.subject = subject
        self.contentType = contentType
        self.pks = pks
        self.mode = mode
    }
}

/// The answer to a `BatchGetPermissions`: for each object, in the query's order, the set of
/// codenames `GetPermissions` answers for it, as a bit mask over the type's codenames.
public struct PermissionSets: Hashable, Sendable {
    /// Every codename of the content type, in UTF-8 byte order; bit `i` stands for `codenames[i]`.
    public let codenames: [String]
    /// Bytes per object: `(codenames.count + 7) / 8`.
    public let width: Int
    /// The masks, `width` bytes an object: bit `i` is bit `i % 8` of byte `i / 8`.
    public let masks: [UInt8]

    public init(codenames: [String], masks: [UInt8]) {
        self.codenames = codenames
        self.width = (codenames.count + 7) / 8
        self.masks = masks
    }

    /// How many objects the answer covers.
    public var count: Int { width == 0 ? 0 : masks.count / width }

    /// Whether object `index` holds `codenames[bit]`.
    public func holds(_ index: Int, bit: Int) -> Bool {
        masks[index * width + bit / 8] & (1 << UInt8(bit % 8)) != 0
    }

    /// The sorted codenames of object `index` (what `GetPermissions` answers for it).
    public func codenames(of index: Int) -> [String] {
        codenames.indices.filter { holds(index, bit: $0) }.map { codenames[$0] }
    }
}

extension PermissionIndex {
    /// Each object's codenames, at one revision; the subject and the type are resolved once.
    public func permissionSets(_ query: PermissionSetsQuery) throws(IndexError) -> Evaluated<PermissionSets> {
        try read { (state) throws(IndexError) in try state.permissionSets(query, settings) }
    }
}

extension IndexState {
    /// `GetPermissions` for each pk (its rules, in its order: field rules, every pk's included,
    /// before the type must be registered), built from the same pieces.
    func permissionSets(
        _ query: PermissionSetsQuery,
        _ settings: PermissionIndex.Settings
    ) throws(IndexError)
        -> PermissionSets
    {
        try checkFieldRules(
            subject: query.subject,
            anonymous: settings.anonymousUser,
            permissions: [],
            contentType: query.contentType,
            contentTypeField: "content_type",
            pk: nil
        )
        guard case .registered(let type) = try lookupType(query.contentType, field: "content_type") else {
            for position in query.pks.indices { try checkPK(query.pks[position], position) }
            throw IndexError(.notFound, "content_type: content type \(query.contentType) is not registered")
        }
        var slots: [UInt32?] = []
        slots.reserveCapacity(query.pks.count)
        for position in query.pks.indices {
            if let slot = types[Int(type)].objects.find(query.pks[position]) {
                slots.append(slot)
            } else {
                try checkPK(query.pks[position], position)
                slots.append(nil)
            }
        }
        let order = types[Int(type)].permissionsByCodename
        let codenames = order.map { permissions[Int($0)].codename }
        let width = (order.count + 7) / 8
        var masks = [UInt8](repeating: 0, count: width * slots.count)
        switch try permissionSources(
            query.subject,
            mode: query.mode,
            acceptGlobalPerms: query.acceptGlobalPerms,
            settings
        ) {
        case .nothing:
            break
        case .everything:
            for position in slots.indices {
                for bit in order.indices { masks[position * width + bit / 8] |= 1 << UInt8(bit % 8) }
            }
        case .grants(let sources, let model):
            var base = [UInt8](repeating: 0, count: width)
            if model { set(modelPermissions(of: sources, in: type), order, in: &base, at: 0) }
            var held: [UInt32] = []
            for (position, slot) in slots.enumerated() {
                let start = position * width
                for byte in 0..<width { masks[start + byte] = base[byte] }
                guard let slot else { continue }
                held.removeAll(keepingCapacity: true)
                appendObjectPermissions(of: sources, slot: slot, in: type, to: &held)
                set(held, order, in: &masks, at: start)
            }
        }
        return PermissionSets(codenames: codenames, masks: masks)
    }

    /// Sets the bit of each permission of `held` (ids of the type whose codename order is `order`).
    private func set(_ held: [UInt32], _ order: [UInt32], in masks: inout [UInt8], at start: Int) {
        for permission in held {
            guard let bit = order.firstIndex(of: permission) else { continue }
            masks[start + bit / 8] |= 1 << UInt8(bit % 8)
        }
    }

    /// A pk's rule; the field's name (`pks[3]`) is spelled only for a pk that breaks it.
    private func checkPK(_ pk: String, _ position: Int) throws(IndexError) {
        do {
            try Limits.checkIdentifier(pk, field: "pks")
        } catch {
            var named = error
            named.field = "pks[\(position)]"
            throw .invalid(named)
        }
    }
}
