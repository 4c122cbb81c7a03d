import WardenIndex
import WardenModel

/// The reference evaluator: ListObjects, ListSubjects, GetPermissions.
extension ReferenceEvaluator {
    // MARK: ListObjects

    /// Every qualifying object after the request's page token (every page at once).
    func listObjects(_ query: ListObjectsQuery, tally: RefTally? = nil) -> RefExpected<ObjectsAnswer> {
        // 1. Field rules, every field: INVALID_ARGUMENT whatever else is wrong.
        let subject = requestSubject(query.subject)
        let token = Self.decodePageToken(query.pageToken)
        var fieldError = subject == nil
        if case .invalid = token { fieldError = true }
        if let size = query.pageSize, size < 1 || size > 100_000 { fieldError = true }
        if query.permissions.contains(where: { !Self.isValidPermissionString($0) }) { fieldError = true }
        if let explicit = query.contentType, !Self.isValidContentType(explicit) { fieldError = true }
        guard !fieldError, let subject else {
            if let tally, query.contentType.map(Self.isValidContentType) ?? true,
                case .failed(.notFound) = resolveListObjects(query)
            {
                tally.note("ListObjects: a field rule (INVALID_ARGUMENT) before a NOT_FOUND")
            }
            return .error(.invalidArgument)
        }

        // 2. Name resolution, before the subject is looked at.
        let resolution: ListObjectsResolution
        switch resolveListObjects(query, tally: tally) {
        case .failed(let code): return .error(code)
        case .resolved(let resolved): resolution = resolved
        }
        let type = resolution.type
        let codenames = resolution.codenames
        let anyPerm = query.anyPerm || resolution.wholeType

        // 3. Evaluation.
        let accept = query.acceptGlobalPerms ?? acceptGlobalPerms
        var sources: [SubjectKey]
        switch subject {
        case .user(let id):
            guard let user = users[id], user.isActive else { return .value(.objects([])) }
            if query.withSuperuser && user.isSuperuser { return .value(.unrestricted(Decision(.superuser))) }
            sources = [.user(id)]
            if query.useGroups { sources += groups(of: id).map { .group($0) } }
        case .group(let name):
            guard groups.contains(name) else { return .value(.objects([])) }
            sources = [.group(name)]
        }

        var remaining = codenames
        if accept {
            func modelSatisfied(_ codename: RefBytes) -> Bool {
                sources.contains { holdsModelGrant($0, type, codename) }
            }
            /// Why a model-satisfied permission opens every object.
            func reason(_ codename: RefBytes) -> Decision {
                if case .group(let name) = subject { return Decision(.modelGrantGroup, group: refString(name)) }
                if holdsModelGrant(sources[0], type, codename) { return Decision(.modelGrantUser) }
                for source in sources.dropFirst() where holdsModelGrant(source, type, codename) {
                    if case .group(let name) = source { return Decision(.modelGrantGroup, group: refString(name)) }
                }
                fatalError("not model-satisfied")
            }
            // In request order, or the type's registration order for the empty list.
            let satisfied = codenames.filter(modelSatisfied)
            if !satisfied.isEmpty && (anyPerm || satisfied.count == codenames.count) {
                let decision = reason(satisfied[0])
                if let tally, resolution.wholeType, satisfied.map(reason).contains(where: { !Self.same($0, decision) })
                {
                    tally.note("ListObjects: empty list, model grants with different reasons (registration order)")
                }
                return .value(.unrestricted(decision))
            }
            remaining = codenames.filter { !modelSatisfied($0) }
        }

        // Object grants: every pk of T that some grant names.
        var candidates: Set<RefBytes> = []
        for grant in grants where grant.contentType == type {
            if let pk = grant.pk { candidates.insert(pk) }
        }
        var result: [RefBytes] = []
        for pk in candidates {
            var held = 0
            for codename in remaining where sources.contains(where: { holdsObjectGrant($0, type, codename, pk) }) {
                held += 1
            }
            let qualifies = anyPerm ? held >= 1 : held == remaining.count
            if qualifies { result.append(pk) }
        }
        result.sort(by: refObjectOrderPrecedes)
        if case .cursor(let cursor) = token { result = result.filter { refObjectOrderPrecedes(cursor, $0) } }
        return .value(.objects(result))
    }

    /// What ListObjects resolves: the type T and the codenames every object is checked for.
    struct ListObjectsResolution {
        var type: RefBytes
        var codenames: [RefBytes]
        /// The permission list was empty: "any permission of T", in registration order.
        var wholeType: Bool
    }

    /// ListObjects' resolution (semantics.md "Resolution"), for a request that keeps the field rules.
    func resolveListObjects(
        _ query: ListObjectsQuery,
        tally: RefTally? = nil
    )
        -> RefResolved<ListObjectsResolution>
    {
        let strings = query.permissions
        var type: RefBytes? = nil
        if let explicit = query.contentType {
            // The given type comes first: T must exist before anything resolves in it.
            guard let row = contentType(refBytes(explicit)) else {
                if let tally, strings.contains(where: { resolve($0, in: refBytes(explicit)) == .mismatch }) {
                    tally.note("ListObjects: an unregistered type (NOT_FOUND) before a string of another type")
                }
                return .failed(.notFound)
            }
            if strings.isEmpty {
                return .resolved(ListObjectsResolution(type: row.name, codenames: row.codenames, wholeType: true))
            }
            type = row.name
        } else {
            if strings.isEmpty { return .failed(.invalidArgument) }
            for permission in strings {
                if case .permission(_, let owner) = resolve(permission, in: nil) {
                    type = owner
                    break
                }
            }
        }
        guard let type else {
            // No type derivable: no string resolves, so the first one fails first (bare or
            // ambiguous: INVALID_ARGUMENT; unknown: NOT_FOUND).
            if let tally, strings.contains(where: { resolve($0, in: nil) == .unknown }) {
                tally.note("ListObjects: no type derivable, some string unknown")
            }
            return .failed(Self.failureCode(resolve(strings[0], in: nil)))
        }
        return resolveAll(strings, in: type, tally: tally, "ListObjects").map {
            ListObjectsResolution(type: type, codenames: $0, wholeType: false)
        }
    }

    // MARK: ListSubjects

    func listSubjects(_ query: ListSubjectsQuery, tally: RefTally? = nil) -> RefExpected<SubjectsAnswer> {
        let type = refBytes(query.object.contentType)
        let pk = refBytes(query.object.pk)
        // 1. Field rules.
        let fieldError =
            query.permissions.contains(where: { !Self.isValidPermissionString($0) })
            || !Self.isValidContentType(query.object.contentType) || !Self.isValidPK(query.object.pk)
        if fieldError {
            if let tally, Self.isValidContentType(query.object.contentType) {
                if contentType(type) == nil {
                    tally.note("ListSubjects: a field rule (INVALID_ARGUMENT) before an unregistered type")
                } else if case .failed(.notFound) = resolveAll(query.permissions, in: type) {
                    tally.note("ListSubjects: a field rule (INVALID_ARGUMENT) before a NOT_FOUND")
                }
            }
            return .error(.invalidArgument)
        }
        // 2. Name resolution: the type, then the filter strings in request order.
        guard let typeRow = contentType(type) else {
            if let tally, query.permissions.contains(where: { resolve($0, in: type) == .mismatch }) {
                tally.note("ListSubjects: an unregistered type (NOT_FOUND) before a string of another type")
            }
            return .error(.notFound)
        }
        let filter: [RefBytes]
        switch resolveAll(query.permissions, in: type, tally: tally, "ListSubjects") {
        case .failed(let code): return .error(code)
        case .resolved(let codenames): filter = codenames
        }

        // 3. Evaluation.
        let accept = query.acceptGlobalPerms ?? acceptGlobalPerms
        /// The type's codenames that any of `sources` holds on the object.
        func codenames(_ sources: [SubjectKey]) -> [RefBytes] {
            var result: [RefBytes] = []
            for codename in typeRow.codenames {
                let held = sources.contains {
                    holdsObjectGrant($0, type, codename, pk) || (accept && holdsModelGrant($0, type, codename))
                }
                if held { result.append(codename) }
            }
            return result.sorted(by: refBytePrecedes)
        }
        func keep(_ held: [RefBytes]) -> Bool {
            if held.isEmpty { return false }
            return filter.isEmpty || filter.contains { held.contains($0) }
        }

        var listedUsers: [SubjectEntry] = []
        for (id, user) in users where user.isActive {
            let held: [RefBytes]
            if query.withSuperusers && user.isSuperuser {
                held = typeRow.codenames.sorted(by: refBytePrecedes)
            } else {
                var sources: [SubjectKey] = [.user(id)]
                if query.withGroupUsers { sources += groups(of: id).map { .group($0) } }
                held = codenames(sources)
            }
            if keep(held) { listedUsers.append(SubjectEntry(name: id, codenames: query.attachPerms ? held : [])) }
        }
        var listedGroups: [SubjectEntry] = []
        for name in groups {
            let held = codenames([.group(name)])
            if keep(held) { listedGroups.append(SubjectEntry(name: name, codenames: query.attachPerms ? held : [])) }
        }
        listedUsers.sort { refObjectOrderPrecedes($0.name, $1.name) }
        listedGroups.sort { refBytePrecedes($0.name, $1.name) }
        return .value(SubjectsAnswer(users: listedUsers, groups: listedGroups))
    }

    // MARK: GetPermissions

    func permissions(_ query: PermissionsQuery, tally: RefTally? = nil) -> RefExpected<[RefBytes]> {
        let type = refBytes(query.object.contentType)
        let pk = refBytes(query.object.pk)
        // 1. Field rules.
        guard let subject = requestSubject(query.subject), Self.isValidContentType(query.object.contentType),
            Self.isValidPK(query.object.pk)
        else {
            if let tally, Self.isValidContentType(query.object.contentType), contentType(type) == nil {
                tally.note("GetPermissions: a field rule (INVALID_ARGUMENT) before an unregistered type")
            }
            return .error(.invalidArgument)
        }
        // 2. Name resolution: the object's type must be registered.
        guard let typeRow = contentType(type) else {
            tally?.note("GetPermissions: an unregistered type (NOT_FOUND)")
            return .error(.notFound)
        }

        // 3. Evaluation.
        let accept = query.acceptGlobalPerms ?? acceptGlobalPerms
        var sources: [SubjectKey]
        switch subject {
        case .user(let id):
            guard let user = users[id], user.isActive else { return .value([]) }
            if user.isSuperuser && query.mode == .both {
                return .value(typeRow.codenames.sorted(by: refBytePrecedes))
            }
            switch query.mode {
            case .both: sources = [.user(id)] + groups(of: id).map { .group($0) }
            case .user: sources = [.user(id)]
            case .groups: sources = groups(of: id).map { .group($0) }
            }
        case .group(let name):
            guard groups.contains(name) else { return .value([]) }
            sources = [.group(name)]
        }
        var result: [RefBytes] = []
        for codename in typeRow.codenames {
            let held = sources.contains {
                holdsObjectGrant($0, type, codename, pk) || (accept && holdsModelGrant($0, type, codename))
            }
            if held { result.append(codename) }
        }
        return .value(result.sorted(by: refBytePrecedes))
    }
}
