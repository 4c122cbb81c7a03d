import WardenIndex
import WardenModel

extension WardenService {
    /// Decides a check; audits it to watchers that asked. Never blocks (the caller has waited for
    /// `min_revision` first).
    @inline(__always)
    public func check(_ request: CheckRequest) throws(ServiceError) -> Evaluated<Decision> {
        let answer: Evaluated<Decision>
        do { answer = try index.check(request) } catch { throw ServiceError(error) }
        if hub.wantsAudits { audit(request, answer) }
        return answer
    }

    /// Decides many checks at one revision; each item gets its decision or its own error.
    public func check(_ requests: [CheckRequest]) throws(ServiceError) -> Evaluated<[Result<Decision, IndexError>]> {
        guard requests.count <= settings.maxBatchItems else {
            throw ServiceError(
                .invalidArgument,
                "items: at most \(settings.maxBatchItems) checks in one BatchCheck (got \(requests.count))"
            )
        }
        let answers = index.check(requests)
        if hub.wantsAudits {
            for (request, result) in zip(requests, answers.value) {
                if case .success(let decision) = result {
                    audit(request, Evaluated(value: decision, revision: answers.revision))
                }
            }
        }
        return answers
    }

    /// A check from bytes (`PermissionIndex.check(raw:)`); `nil` when the fast path declines or
    /// watchers want audits (the caller then uses `check`).
    @inline(__always)
    public func check(raw request: RawCheckRequest) -> Evaluated<Decision>? {
        hub.wantsAudits ? nil : index.check(raw: request)
    }

    /// A batch from bytes with a fallback per item (`PermissionIndex.check(raw:fallback:)`);
    /// `nil` when watchers want audits or the fallback found the request invalid.
    public func check(
        raw requests: [RawCheckRequest],
        fallback: (Int) -> CheckRequest?
    )
        throws(ServiceError) -> Evaluated<[Result<Decision, IndexError>]>?
    {
        guard requests.count <= settings.maxBatchItems else {
            throw ServiceError(
                .invalidArgument,
                "items: at most \(settings.maxBatchItems) checks in one BatchCheck (got \(requests.count))"
            )
        }
        return hub.wantsAudits ? nil : index.check(raw: requests, fallback: fallback)
    }

    private func audit(_ request: CheckRequest, _ answer: Evaluated<Decision>) {
        hub.audit(
            CheckAudit(
                subject: request.subject,
                permission: request.permission,
                object: request.object,
                decision: answer.value,
                revision: answer.revision
            )
        )
    }

    /// guardian's `get_objects_for_user`, one page, with the content type it lists.
    public func listObjects(_ query: ListObjectsQuery) throws(ServiceError) -> Evaluated<ObjectListing> {
        do { return try index.objectListing(query) } catch { throw ServiceError(error) }
    }

    /// guardian's `get_users_with_perms` and `get_groups_with_perms`.
    public func listSubjects(_ query: ListSubjectsQuery) throws(ServiceError) -> Evaluated<SubjectList> {
        do { return try index.listSubjects(query) } catch { throw ServiceError(error) }
    }

    /// guardian's `get_perms`.
    public func permissions(_ query: PermissionsQuery) throws(ServiceError) -> Evaluated<[String]> {
        do { return try index.permissions(query) } catch { throw ServiceError(error) }
    }

    /// guardian's `get_perms` for many objects of one type (`prefetch_perms`): at most
    /// `maxBatchItems` pks, like a BatchCheck's items.
    public func permissionSets(_ query: PermissionSetsQuery) throws(ServiceError) -> Evaluated<PermissionSets> {
        guard query.pks.count <= settings.maxBatchItems else {
            throw ServiceError(
                .invalidArgument,
                "pks: at most \(settings.maxBatchItems) pks in one BatchGetPermissions (got \(query.pks.count))"
            )
        }
        do { return try index.permissionSets(query) } catch { throw ServiceError(error) }
    }
}
