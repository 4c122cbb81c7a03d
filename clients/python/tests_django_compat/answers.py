"""Warden's answers read directly through the integration's client, so that a test can tell
Warden's state from guardian's tables."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from warden_client.django.conf import get_client
from warden_client.django.identity import content_type_label
from warden_client.django.mirror import exported_grants


def warden_allows(user_or_group: Any, perm: str, obj: Model) -> bool:
    """Warden's own answer (Check, no model grants counted) for a user or group on ``obj``."""
    from django.contrib.auth.models import Group

    subject = {"group": user_or_group.name} if isinstance(user_or_group, Group) else {"user": str(user_or_group.pk)}
    return get_client().check(
        perm, content_type=content_type_label(obj), pk=str(obj.pk), accept_global_perms=False, **subject
    ).allowed


def object_grants() -> set[tuple[str, str, str, str]]:
    """Every object grant Warden holds: ``(subject, permission, content type, pk)``, subjects as
    ``user:<id>`` or ``group:<name>``."""
    return {
        (f"user:{g.user}" if g.user is not None else f"group:{g.group}", g.permission, str(g.content_type), str(g.pk))
        for g in exported_grants()
        if g.pk is not None
    }


def warden_subjects() -> set[str]:
    """Every user (``user:<id>``) and group (``group:<name>``) Warden holds."""
    found = set()
    with get_client().export() as stream:
        for record in stream:
            kind = record.WhichOneof("record")
            if kind == "user":
                found.add(f"user:{record.user.id}")
            elif kind == "group":
                found.add(f"group:{record.group}")
    return found
