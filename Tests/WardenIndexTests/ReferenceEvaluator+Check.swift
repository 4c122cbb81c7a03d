import WardenIndex
import WardenModel

/// The reference evaluator: permission strings, Check, and the order of errors.
extension ReferenceEvaluator {
    // MARK: Resolving a permission string (semantics.md "Resolving a permission string")

    enum Resolution: Equatable {
        /// The registered permission `codename` of `contentType`.
        case permission(codename: RefBytes, contentType: RefBytes)
        /// Not registered (for this type): evaluated as unknown.
        case unknown
        /// Registered only for other types than the request's.
        case mismatch
        /// A bare codename without a type: request error.
        case needsType
        /// `app.codename` of two types of the app, without a type: request error.
        case ambiguous
    }

    func resolve(_ permission: String, in type: RefBytes?) -> Resolution {
        let bytes = refBytes(permission)
        let dots = bytes.filter { $0 == UInt8(ascii: ".") }.count
        if dots >= 2 { return .unknown }
        if dots == 0 {
            guard let type else { return .needsType }
            if let row = contentType(type), row.codenames.contains(bytes) {
                return .permission(codename: bytes, contentType: type)
            }
            return .unknown
        }
        let dot = bytes.firstIndex(of: UInt8(ascii: "."))!
        let app = Array(bytes[..<dot])
        let codename = Array(bytes[(dot + 1)...])
        var owners: [RefBytes] = []
        for row in contentTypes where row.appLabel == app && row.codenames.contains(codename) {
            owners.append(row.name)
        }
        if let type {
            if owners.contains(type) { return .permission(codename: codename, contentType: type) }
            return owners.isEmpty ? .unknown : .mismatch
        }
        switch owners.count {
        case 0: return .unknown
        case 1: return .permission(codename: codename, contentType: owners[0])
        default: return .ambiguous
        }
    }

    // MARK: Check

    func check(_ request: CheckRequest) -> RefExpected<Decision> {
        // Request errors, whoever the user is.
        guard let subject = requestSubject(request.subject) else { return .error(.invalidArgument) }
        guard Self.isValidPermissionString(request.permission) else { return .error(.invalidArgument) }
        if let object = request.object {
            guard Self.isValidContentType(object.contentType), Self.isValidPK(object.pk) else {
                return .error(.invalidArgument)
            }
        }
        if let explicit = request.contentType {
            guard Self.isValidContentType(explicit) else { return .error(.invalidArgument) }
            if let object = request.object, refBytes(object.contentType) != refBytes(explicit) {
                return .error(.invalidArgument)
            }
        }
        let type = request.object.map { refBytes($0.contentType) } ?? request.contentType.map(refBytes)
        let resolution = resolve(request.permission, in: type)
        if resolution == .needsType || resolution == .ambiguous { return .error(.invalidArgument) }

        let pk = request.object.map { refBytes($0.pk) }
        let accept = request.acceptGlobalPerms ?? acceptGlobalPerms
        let modelGrantsCount = pk == nil || accept

        switch subject {
        case .user(let id):
            guard let user = users[id] else { return .value(Decision(.unknownUser)) }
            if !user.isActive { return .value(Decision(.inactiveUser)) }
            if user.isSuperuser { return .value(Decision(.superuser)) }
            guard case .permission(let codename, let permissionType) = resolution else {
                return resolution == .unknown ? .value(Decision(.unknownPermission)) : .error(.invalidArgument)
            }
            let userGroups = groups(of: id)
            if let pk {
                if holdsObjectGrant(.user(id), permissionType, codename, pk) {
                    return .value(Decision(.objectGrantUser))
                }
                for group in userGroups where holdsObjectGrant(.group(group), permissionType, codename, pk) {
                    return .value(Decision(.objectGrantGroup, group: refString(group)))
                }
            }
            if modelGrantsCount {
                if holdsModelGrant(.user(id), permissionType, codename) { return .value(Decision(.modelGrantUser)) }
                for group in userGroups where holdsModelGrant(.group(group), permissionType, codename) {
                    return .value(Decision(.modelGrantGroup, group: refString(group)))
                }
            }
            return .value(Decision(.noGrant))

        case .group(let name):
            guard groups.contains(name) else { return .value(Decision(.unknownUser)) }
            guard case .permission(let codename, let permissionType) = resolution else {
                return resolution == .unknown ? .value(Decision(.unknownPermission)) : .error(.invalidArgument)
            }
            if let pk, holdsObjectGrant(.group(name), permissionType, codename, pk) {
                return .value(Decision(.objectGrantGroup, group: refString(name)))
            }
            if modelGrantsCount, holdsModelGrant(.group(name), permissionType, codename) {
                return .value(Decision(.modelGrantGroup, group: refString(name)))
            }
            return .value(Decision(.noGrant))
        }
    }

    // MARK: Order of errors (semantics.md "Order of errors")
    // 1. Field rules, every field: INVALID_ARGUMENT, whatever else is wrong with the request.
    // 2. Name resolution, permission strings in request order: the first that fails decides.
    // 3. Evaluation, where unknown subjects are answers.

    static func same(_ a: Decision, _ b: Decision) -> Bool {
        a.reason == b.reason && a.group.map(refBytes) == b.group.map(refBytes)
    }

    /// The code of a permission string that failed to resolve: `NOT_FOUND` for an unknown one,
    /// `INVALID_ARGUMENT` for one of another type, or a bare or ambiguous one without a type.
    static func failureCode(_ resolution: Resolution) -> IndexError.Code {
        resolution == .unknown ? .notFound : .invalidArgument
    }

    /// Resolves `permissions` in `type`, in request order: their codenames, or the code of the
    /// first string that fails (it decides, whatever the later ones are).
    func resolveAll(
        _ permissions: [String],
        in type: RefBytes,
        tally: RefTally? = nil,
        _ kind: String = ""
    )
        -> RefResolved<[RefBytes]>
    {
        var codenames: [RefBytes] = []
        for (position, permission) in permissions.enumerated() {
            let resolution = resolve(permission, in: type)
            guard case .permission(let codename, _) = resolution else {
                let code = Self.failureCode(resolution)
                if let tally {
                    let laterCodes = permissions[(position + 1)...].compactMap { later -> IndexError.Code? in
                        let resolved = resolve(later, in: type)
                        if case .permission = resolved { return nil }
                        return Self.failureCode(resolved)
                    }
                    if laterCodes.contains(where: { $0 != code }) {
                        tally.note("\(kind): the first failing string decides over a later one of the other code")
                    }
                }
                return .failed(code)
            }
            codenames.append(codename)
        }
        return .resolved(codenames)
    }
}
