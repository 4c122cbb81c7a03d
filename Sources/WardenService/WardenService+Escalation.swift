import WardenIndex
import WardenModel

extension WardenService {
    /// Why `actor` may not make `change` (DESIGN.md §1 "No self-escalation"), or `nil` when it
    /// may. An active superuser may make any write. Anyone else may not:
    /// 1. set or clear `is_superuser`;
    /// 2. grant or revoke a model-level permission directly on a user (roles go through groups);
    /// 3. change their own memberships or grants (deleting their own account or a group they
    ///    belong to included), or their own `is_active`;
    /// 4. grant a permission they do not hold themselves (on that object, or model-wide),
    ///    as `Check` decides it.
    /// An actor that is not a registered user is held to the same rules and holds nothing. The
    /// actor is compared with the ids a change names byte for byte (`String.isExactly`).
    /// `DeleteObject` and `PruneOrphans` follow the app's objects (the `pre_delete` pattern) and
    /// are not actor-checked: an owner deleting her own object loses her grants on it, as she should.
    func refusal(of change: Change, by actor: String) -> String? {
        let actorUser = index.user(actor)
        if let actorUser, actorUser.isActive, actorUser.isSuperuser { return nil }
        switch change {
        case .putUser(let user):
            let existing = index.user(user.id)
            if user.isSuperuser != (existing?.isSuperuser ?? false) {
                return "actor \(actor) is not a superuser and may not set or clear is_superuser"
            }
            if user.id.isExactly(actor), let existing, existing.isActive != user.isActive {
                return "actor \(actor) may not change its own account's is_active"
            }
            return nil
        case .deleteGroup(let name) where index.isMember(user: actor, of: name):
            return "actor \(actor) may not delete group \(name): it would change its own memberships"
        case .deleteUser(let id) where id.isExactly(actor):
            return "actor \(actor) may not delete its own account (it would change its own grants)"
        case .addMember(let user, _) where user.isExactly(actor),
            .removeMember(let user, _) where user.isExactly(actor):
            return "actor \(actor) may not change its own memberships"
        case .grant(let grant), .revoke(let grant):
            if case .user(let id) = grant.subject {
                if id.isExactly(actor) { return "actor \(actor) may not change its own grants" }
                if grant.pk == nil {
                    return "actor \(actor) may not grant or revoke model-level permissions directly on a user; "
                        + "grant them to a group (role)"
                }
            }
            guard case .grant = change else { return nil }
            return holds(actor, grant)
                ? nil
                : "actor \(actor) does not hold \(grant.permission)"
                    + (grant.pk.map { " on \(grant.permission.contentType):\($0)" } ?? " model-wide")
                    + " and may not grant it"
        default:
            return nil
        }
    }

    /// Whether `actor` holds what `grant` gives, as `Check` decides it.
    private func holds(_ actor: String, _ grant: Grant) -> Bool {
        let type = grant.permission.contentType.description
        let request = CheckRequest(
            subject: .user(actor),
            permission: grant.permission.codename,
            object: grant.pk.map { ObjectRef(contentType: type, pk: $0) },
            contentType: grant.pk == nil ? type : nil
        )
        return (try? index.check(request).value.allowed) ?? false
    }
}
