import WardenIndex
import WardenModel
import WardenTestSupport

// The property tests' random queries: half of them aimed at a grant of the current state (so
// that allows and non-empty lists are frequent), the rest anywhere in the universe, some with
// several things wrong at once (the order of errors). See PropertyTests.swift for an overview.

extension PropertyRun {
    // MARK: Check

    func randomCheck() -> CheckRequest {
        if rng.chance(0.5), let grant = focusGrant() {
            let type = refString(grant.contentType)
            var object: ObjectRef? = nil
            var contentType: String? = nil
            if let pk = grant.pk, rng.chance(0.9) {
                object = ObjectRef(contentType: type, pk: refString(pk))
            } else if rng.chance(0.6) {
                object = ObjectRef(contentType: type, pk: randomPK())
            } else if rng.chance(0.6) {
                contentType = type
            }
            if object != nil && rng.chance(0.08) { contentType = type }
            return CheckRequest(
                subject: holder(of: grant),
                permission: rng.chance(0.9) ? spelled(grant.codename, of: grant.contentType) : typedPermission(type),
                object: object,
                contentType: contentType,
                acceptGlobalPerms: randomAccept()
            )
        }
        var object: ObjectRef? = nil
        var contentType: String? = nil
        if rng.chance(0.7) {
            object = ObjectRef(contentType: randomType(), pk: randomPK())
            if rng.chance(0.12) { contentType = rng.chance(0.6) ? object!.contentType : randomType() }
        } else if rng.chance(0.5) {
            contentType = randomType()
        }
        return CheckRequest(
            subject: randomSubject(),
            permission: randomPermission(for: object?.contentType ?? contentType),
            object: object,
            contentType: contentType,
            acceptGlobalPerms: randomAccept()
        )
    }

    // MARK: ListObjects

    func randomListObjects() -> ListObjectsQuery {
        switch rng.int(0..<100) {
        case 0..<9: if let query = wholeTypeListObjects() { return query }
        case 9..<21: return troubledListObjects()
        default: break
        }
        var query: ListObjectsQuery
        if rng.chance(0.6), let grant = focusGrant() {
            // Aim at what a holder of this grant holds on the type (often several permissions).
            let subject = holder(of: grant)
            let type = grant.contentType
            var permissions = [spelled(grant.codename, of: type)]
            // Grants of the subject's sources (its own and its groups') on the same object or
            // model-wide, so that one object often needs permissions from several sources.
            var sources: [ReferenceEvaluator.SubjectKey] = [grant.subject]
            let subjectKey = reference.requestSubject(subject)
            if let subjectKey { sources.append(subjectKey) }
            if case .user(let id)? = subjectKey { sources += reference.groups(of: id).map { .group($0) } }
            let sameObjectOnly = grant.pk != nil && rng.chance(0.8)
            let others = currentGrants.filter {
                $0.contentType == type && sources.contains($0.subject)
                    && (sameObjectOnly ? $0.pk == grant.pk : ($0.pk == nil || grant.pk == nil || $0.pk == grant.pk))
            }
            for _ in 0..<rng.pick([0, 1, 1, 2]) {
                permissions.append(
                    !others.isEmpty && rng.chance(0.6)
                        ? spelled(rng.pick(others).codename, of: type) : typedPermission(refString(type))
                )
            }
            if rng.chance(0.1) { permissions = [] }
            permissions.shuffle(using: &rng)
            query = ListObjectsQuery(
                subject: subject,
                permissions: permissions,
                contentType: rng.chance(0.7) ? refString(type) : nil
            )
        } else {
            let type = randomType()
            let count = rng.pick([0, 1, 1, 1, 2, 2, 2, 3])
            let permissions = (0..<count).map { _ in
                rng.chance(0.8) ? typedPermission(type) : randomPermission(for: nil)
            }
            query = ListObjectsQuery(
                subject: randomSubject(),
                permissions: permissions,
                contentType: rng.chance(0.5) ? type : nil
            )
        }
        randomFlags(&query)
        query.pageSize =
            rng.chance(0.02) ? rng.pick([0, -1, 100_001]) : rng.pick([nil, 1, 1, 2, 2, 3, 4, 1000, 100_000])
        query.pageToken = randomPageToken(type: query.contentType ?? typeOf(query.permissions))
        return query
    }

    func randomFlags(_ query: inout ListObjectsQuery) {
        query.anyPerm = rng.chance(0.5)
        query.useGroups = rng.chance(0.7)
        query.withSuperuser = rng.chance(0.7)
        query.acceptGlobalPerms = randomAccept()
    }

    /// The type the permissions name (the first that names one without a type), for page tokens.
    func typeOf(_ permissions: [String]) -> String? {
        for permission in permissions {
            if case .permission(_, let type) = reference.resolve(permission, in: nil) { return refString(type) }
        }
        return nil
    }

    /// "Any permission of T" for a holder of a model grant of T: the unrestricted reason is the
    /// first codename held model-wide in T's registration order, which the holder often holds
    /// from several sources (itself, its groups) for different codenames.
    func wholeTypeListObjects() -> ListObjectsQuery? {
        let modelGrants = currentGrants.filter { $0.pk == nil }
        guard !modelGrants.isEmpty else { return nil }
        let grant = rng.pick(modelGrants)
        var query = ListObjectsQuery(
            subject: holder(of: grant),
            permissions: [],
            contentType: refString(grant.contentType)
        )
        randomFlags(&query)
        query.useGroups = rng.chance(0.85)
        query.withSuperuser = rng.chance(0.4)
        if rng.chance(0.6) { query.acceptGlobalPerms = true }
        query.pageSize = rng.pick([nil, 1, 2, 1000])
        query.pageToken = rng.chance(0.15) ? randomPageToken(type: query.contentType) : nil
        return query
    }

    /// Several things wrong at once, in any position: failing permission strings among good
    /// ones (unknown, of another type, bare or shared without a type, breaking the field rule),
    /// with or without a type (registered or not), sometimes with a subject, a page size or a
    /// page token breaking its rule too.
    func troubledListObjects() -> ListObjectsQuery {
        let type = randomType()
        let good = (0..<rng.pick([0, 1, 1, 2])).map { _ in typedPermission(type) }
        let explicit = rng.chance(0.5) ? type : nil
        var query = ListObjectsQuery(
            subject: rng.chance(0.15) ? invalidSubject() : randomSubject(),
            permissions: withTrouble(good, besides: explicit ?? (good.isEmpty ? nil : type)),
            contentType: explicit
        )
        randomFlags(&query)
        query.pageSize = rng.chance(0.1) ? rng.pick([0, -1, 100_001]) : rng.pick([nil, 1, 2, 1000])
        query.pageToken = rng.chance(0.15) ? rng.pick(PropertyUniverse.malformedTokens) : randomPageToken(type: type)
        return query
    }

    // MARK: ListSubjects

    func randomObject() -> ObjectRef {
        if rng.chance(0.5), let grant = focusGrant() {
            return ObjectRef(contentType: refString(grant.contentType), pk: grant.pk.map(refString) ?? randomPK())
        }
        return ObjectRef(contentType: randomType(), pk: randomPK())
    }

    func randomListSubjects() -> ListSubjectsQuery {
        let object = randomObject()
        let count = rng.pick([0, 0, 1, 1, 2])
        var query = ListSubjectsQuery(
            object: object,
            permissions: (0..<count).map { _ in
                rng.chance(0.85) ? typedPermission(object.contentType) : randomPermission(for: nil)
            }
        )
        if rng.chance(0.15) {
            // Failing filter strings anywhere among good ones; sometimes in a type that is not
            // registered, sometimes with a pk breaking its rule.
            let type = rng.chance(0.3) ? rng.pick(PropertyUniverse.otherTypes) : object.contentType
            let pk = rng.chance(0.2) ? rng.pick(PropertyUniverse.invalidPKs) : object.pk
            query.object = ObjectRef(contentType: type, pk: pk)
            query.permissions = withTrouble(query.permissions, besides: type)
        }
        query.withSuperusers = rng.chance(0.5)
        query.withGroupUsers = rng.chance(0.7)
        query.attachPerms = rng.chance(0.6)
        query.acceptGlobalPerms = randomAccept()
        return query
    }

    // MARK: GetPermissions

    func randomPermissionsQuery() -> PermissionsQuery {
        var subject = randomSubject()
        var object = ObjectRef(contentType: randomType(), pk: randomPK())
        if rng.chance(0.6), let grant = focusGrant() {
            subject = holder(of: grant)
            object = ObjectRef(contentType: refString(grant.contentType), pk: grant.pk.map(refString) ?? randomPK())
        }
        if reference.contentType(refBytes(object.contentType)) == nil && rng.chance(0.3) {
            // An unregistered type with a field breaking its rule: the field rule first.
            if rng.chance(0.5) {
                subject = invalidSubject()
            } else {
                object = ObjectRef(contentType: object.contentType, pk: rng.pick(PropertyUniverse.invalidPKs))
            }
        }
        var query = PermissionsQuery(subject: subject, object: object, mode: rng.pick(PermissionsQuery.Mode.allCases))
        query.acceptGlobalPerms = randomAccept()
        return query
    }

    // MARK: BatchGetPermissions

    /// Mostly pks of one type that a subject holds grants on, with random and repeated pks
    /// between them; sometimes an invalid pk, no pk, or a field breaking its rule.
    func randomPermissionSetsQuery() -> PermissionSetsQuery {
        var subject = randomSubject()
        var type = randomType()
        if rng.chance(0.6), let grant = focusGrant() {
            subject = holder(of: grant)
            type = refString(grant.contentType)
        }
        let granted = currentGrants.filter { $0.contentType == refBytes(type) }.compactMap(\.pk).map(refString)
        var pks: [String] = []
        for _ in 0..<rng.pick([0, 1, 2, 5, 9, 17]) {
            pks.append(!granted.isEmpty && rng.chance(0.6) ? rng.pick(granted) : randomPK())
        }
        if !pks.isEmpty && rng.chance(0.1) { pks.append(rng.pick(pks)) }
        if rng.chance(0.05) { subject = invalidSubject() }
        var query = PermissionSetsQuery(
            subject: subject,
            contentType: type,
            pks: pks,
            mode: rng.pick(PermissionsQuery.Mode.allCases)
        )
        query.acceptGlobalPerms = randomAccept()
        return query
    }
}
