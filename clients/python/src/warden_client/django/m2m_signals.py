"""The ``m2m_changed`` handlers of the relations the integration mirrors: memberships
(``user.groups``, both sides, and the rows of a custom through model written directly) and
model-level permissions (``user.user_permissions``, ``group.permissions``, both sides). The
through-tables are read by their real field names (:mod:`.relations`), so a custom user model,
its own primary key, or groups that are a ``Group`` subclass all work."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from warden_client import Grant
from warden_client import records as rec

from . import conf, relations
from .identity import ct_label
from .mirror import run_mirrored, write_records


# -- memberships -----------------------------------------------------------------------------


def _pairs(instance: Any, reverse: bool, pks: Iterable[Any], using: str | None) -> list[tuple[str, str]]:
    """(user id, group name) pairs of an ``m2m_changed`` of ``user.groups``: ``instance`` is a
    user (``pks`` its groups') or, with ``reverse``, a group of the relation's group model."""
    pks = list(pks)
    relation = relations.user_groups()
    if not pks or relation is None:
        return []
    if reverse:  # instance is a group, pks are users'
        return [(str(pk), instance.name) for pk in pks]
    names = relation.target_model._base_manager.using(using).filter(pk__in=pks).values_list("name", flat=True)
    return [(str(instance.pk), name) for name in names]


def memberships_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[Any] | None, using: str | None = None,
    **kwargs: Any,
) -> None:
    """``m2m_changed`` of ``user.groups`` (either side): AddMember / RemoveMember."""
    if action == "pre_clear":
        relation = relations.user_groups()
        current = relation.related_pks(instance, reverse, using) if relation is not None else []
        instance._warden_cleared = _pairs(instance, reverse, current, using)
        return
    if action == "post_clear":
        pairs = getattr(instance, "_warden_cleared", [])
        instance._warden_cleared = []
        adding = False
    elif action in ("post_add", "post_remove"):
        pairs = _pairs(instance, reverse, pk_set or (), using)
        adding = action == "post_add"
    else:
        return
    _send_memberships(pairs, adding, using)


def _send_memberships(pairs: list[tuple[str, str]], adding: bool, using: str | None) -> None:
    if not pairs:
        return

    def send() -> None:
        client = conf.get_client()
        if adding:
            write_records(rec.member(user, group) for user, group in pairs)
        else:
            for user, group in pairs:
                client.remove_member(user, group)

    run_mirrored(send, using, f"{'add' if adding else 'remove'} {len(pairs)} membership(s)")


def membership_row_saved(sender: Any, instance: Any, created: bool = False, using: str | None = None,
                         **kwargs: Any) -> None:
    """``post_save`` of a custom through model of ``user.groups`` (a row written directly, not
    through ``user.groups.add``): AddMember."""
    relation = relations.user_groups()
    pair = relation.row_pair(instance) if relation is not None else None
    if pair is not None:
        _send_memberships([(str(pair[0]), pair[1].name)], True, using)


def membership_row_deleted(sender: Any, instance: Any, using: str | None = None, **kwargs: Any) -> None:
    """``post_delete`` of a custom through model of ``user.groups``: RemoveMember."""
    relation = relations.user_groups()
    pair = relation.row_pair(instance) if relation is not None else None
    if pair is not None:
        _send_memberships([(str(pair[0]), pair[1].name)], False, using)


# -- model-level permissions -----------------------------------------------------------------


def _model_grants(
    instance: Any, reverse: bool, pks: Iterable[Any], subject_kind: str, using: str | None
) -> list[Grant]:
    """Model-level grants of an ``m2m_changed`` of ``user_permissions`` / ``group.permissions``."""
    pks = list(pks)
    if not pks:
        return []
    if reverse:  # instance is a Permission; pks are users' or groups'
        perm = instance
        ct = ContentType.objects.db_manager(using).get_for_id(perm.content_type_id)
        if subject_kind == "user":
            names = [str(pk) for pk in pks]
        else:
            names = list(Group.objects.using(using).filter(pk__in=pks).values_list("name", flat=True))
        return [_model_grant(subject_kind, name, ct, perm.codename) for name in names]
    name = str(instance.pk) if subject_kind == "user" else instance.name
    rows = Permission.objects.using(using).filter(pk__in=pks).select_related("content_type")
    return [_model_grant(subject_kind, name, p.content_type, p.codename) for p in rows]


def _model_grant(kind: str, name: str, ct: ContentType, codename: str) -> Grant:
    return Grant(f"{ct.app_label}.{codename}", content_type=ct_label(ct), **{kind: name})


def _permissions_handler(subject_kind: str) -> Callable[..., None]:
    def handler(
        sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[Any] | None, using: str | None = None,
        **kwargs: Any,
    ) -> None:
        if action == "pre_clear":
            relation = relations.user_permissions() if subject_kind == "user" else relations.group_permissions()
            current = relation.related_pks(instance, reverse, using) if relation is not None else []
            instance._warden_cleared_perms = _model_grants(instance, reverse, current, subject_kind, using)
            return
        if action == "post_clear":
            grants = getattr(instance, "_warden_cleared_perms", [])
            instance._warden_cleared_perms = []
            adding = False
        elif action in ("post_add", "post_remove"):
            grants = _model_grants(instance, reverse, pk_set or (), subject_kind, using)
            adding = action == "post_add"
        else:
            return
        if not grants:
            return

        def send() -> None:
            client = conf.get_client()
            if adding:
                write_records(
                    rec.grant(g.permission, user=g.user, group=g.group, content_type=g.content_type) for g in grants
                )
            elif len(grants) == 1:
                client.revoke(grants[0])
            else:
                client.bulk_revoke(grants)

        run_mirrored(send, using, f"{'grant' if adding else 'revoke'} {len(grants)} model permission(s)")

    handler.__name__ = f"{subject_kind}_permissions_changed"
    handler.__doc__ = f"``m2m_changed`` of the {subject_kind}'s model permissions: Grant / Revoke."
    return handler


user_permissions_changed = _permissions_handler("user")
group_permissions_changed = _permissions_handler("group")
