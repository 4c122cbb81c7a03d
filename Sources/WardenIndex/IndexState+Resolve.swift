import WardenModel

/// A content type as a request names it.
enum TypeLookup {
    /// A registered type.
    case registered(UInt32)
    /// A well-formed name that is not registered.
    case unregistered(String)
}

/// What a permission string means in a request's context (`docs/semantics.md`).
enum PermissionResolution {
    case resolved(UInt32)
    case unknown
    /// Registered, but only for other content types than the request's.
    case mismatch([UInt32])
}

extension IndexState {
    /// Looks up a content type string; a malformed one is `INVALID_ARGUMENT` naming `field`.
    func lookupType(_ name: String, field: String) throws(IndexError) -> TypeLookup {
        if let type = typeNames.find(name) { return .registered(type) }
        do { _ = try ContentTypeName(name, field: field) } catch { throw .invalid(error) }
        return .unregistered(name)
    }

    /// Looks up a content type that must be registered (`NOT_FOUND` otherwise).
    func registeredType(_ name: String, field: String) throws(IndexError) -> UInt32 {
        guard case .registered(let type) = try lookupType(name, field: field) else {
            throw IndexError(.notFound, "\(field): content type \(name) is not registered")
        }
        return type
    }

    /// The object's slot when it has grants; checks the pk's rule when it is not found.
    func lookupObject(_ pk: String, in type: TypeLookup) throws(IndexError) -> UInt32? {
        if case .registered(let t) = type, let slot = types[Int(t)].objects.find(pk) { return slot }
        do { try Limits.checkIdentifier(pk, field: "object.pk") } catch { throw .invalid(error) }
        return nil
    }

    /// Resolves a permission string against the request's content type, raising the request
    /// errors (bad string, bare codename without a type, ambiguity without a type).
    func resolvePermission(
        _ string: String,
        in type: TypeLookup?,
        field: String = "permission"
    )
        throws(IndexError) -> PermissionResolution
    {
        do { try Limits.checkPermissionString(string, field: field) } catch { throw .invalid(error) }
        switch Self.dotCount(string) {
        case 0:
            guard let type else {
                throw IndexError(
                    .invalidArgument,
                    "\(field): cannot tell which content type the bare codename \"\(string)\" belongs to; "
                        + "write app_label.codename or name an object or a content_type"
                )
            }
            guard case .registered(let t) = type, let permission = permission(codename: string, ofType: t) else {
                return .unknown
            }
            return .resolved(permission)
        case 1:
            guard let name = permissionNames.find(string) else { return .unknown }
            let candidates = permissionsOfName[Int(name)]
            switch type {
            case .registered(let t):
                for candidate in candidates where permissions[Int(candidate)].type == t { return .resolved(candidate) }
                return .mismatch(candidates)
            case .unregistered:
                return .mismatch(candidates)
            case nil:
                guard candidates.count == 1 else {
                    throw IndexError(
                        .invalidArgument,
                        "\(field): \"\(string)\" is registered for \(typeList(candidates)); "
                            + "name an object or a content_type to say which"
                    )
                }
                return .resolved(candidates[0])
            }
        default:
            return .unknown
        }
    }

    /// How many dots a permission string has (0: bare codename, 1: `app.codename`), from the
    /// string's own bytes: `String.UTF8View`'s generic iterator costs more than the lookup.
    @inline(__always)
    static func dotCount(_ string: String) -> Int {
        let count = string.utf8.withContiguousStorageIfAvailable { bytes in
            var dots = 0
            for byte in bytes where byte == UInt8(ascii: ".") { dots += 1 }
            return dots
        }
        return count ?? string.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: ".") ? 1 : 0) }
    }

    /// The error of DESIGN.md §1 step 5 (guardian's `WrongAppError`).
    func mismatchError(_ string: String, _ candidates: [UInt32], _ type: TypeLookup, field: String) -> IndexError {
        IndexError(
            .invalidArgument,
            "\(field): \"\(string)\" is a permission of \(typeList(candidates)), "
                + "not of the object's content type \(typeName(type))"
        )
    }

    func typeName(_ type: TypeLookup) -> String {
        switch type {
        case .registered(let t): types[Int(t)].name.description
        case .unregistered(let name): name
        }
    }

    /// `a.b and c.d`: the content types of these permissions, sorted.
    func typeList(_ permissionIDs: [UInt32]) -> String {
        permissionIDs.map { types[Int(permissions[Int($0)].type)].name.description }.sorted().joined(separator: " and ")
    }

    /// Checks every field of a list or permissions request against its own rule before any
    /// name is resolved, so a malformed request is `INVALID_ARGUMENT` whatever else it names
    /// and in whatever order (`docs/semantics.md`, "Order of errors").
    /// `subject` is `.some(nil)` for a request that may name a subject and did not (then the
    /// anonymous user must exist), `.none` for one that takes no subject.
    func checkFieldRules(
        subject: Subject??,
        anonymous: String?,
        permissions: [String],
        contentType: String?,
        contentTypeField: String,
        pk: String?,
        permissionField: (Int) -> String = { "permissions[\($0)]" }
    ) throws(IndexError) {
        if case .some(nil) = subject, anonymous == nil { throw Self.subjectRequired }
        do {
            if case .some(.some(let subject)) = subject { try subject.validate() }
            for (position, permission) in permissions.enumerated() {
                try Limits.checkPermissionString(permission, field: permissionField(position))
            }
            if let contentType, typeNames.find(contentType) == nil {
                _ = try ContentTypeName(contentType, field: contentTypeField)
            }
            if let pk { try Limits.checkIdentifier(pk, field: "object.pk") }
        } catch {
            throw .invalid(error)
        }
    }

    static let subjectRequired = IndexError(
        .invalidArgument,
        "user: required (the request names no subject and no anonymous user is configured)"
    )

    /// The request's subject, falling back on the anonymous user.
    func subject(_ subject: Subject?, anonymous: String?) throws(IndexError) -> Subject {
        if let subject { return subject }
        guard let anonymous else { throw Self.subjectRequired }
        return .user(anonymous)
    }

    /// A user's id in the index, or `nil` if unknown; a malformed id is `INVALID_ARGUMENT`.
    func lookupUser(_ id: String) throws(IndexError) -> UInt32? {
        if let uid = userIDs.find(id) { return uid }
        do { try Limits.checkIdentifier(id, field: "user") } catch { throw .invalid(error) }
        return nil
    }

    /// A group's id in the index, or `nil` if unknown; a malformed name is `INVALID_ARGUMENT`.
    func lookupGroup(_ name: String) throws(IndexError) -> UInt32? {
        if let gid = groupNames.find(name) { return gid }
        do { try Limits.checkName(name, field: "group") } catch { throw .invalid(error) }
        return nil
    }
}
