"""Permissions created, renamed or deleted at run time (``Permission.objects.create(...)``
outside a migration), mirrored into Warden:

- **created**: the permission's content type is registered again with the full codename list
  Django has for it (``RegisterContentType`` is additive and idempotent), *at once*, not at
  commit, whatever ``WARDEN_MIRROR_ON_COMMIT`` says: object grants go to Warden at once
  (``assign_perm``), so a grant issued right after the create, in the same transaction, must
  find the permission. A rolled-back create leaves the codename registered in Warden, holding
  nothing (registration cannot be undone: Warden never removes a codename);
- **renamed** (a saved codename or content type change): the new codename is registered at once,
  and at commit every grant of the old one moves to it (Django's rows point at the permission by
  pk, so their holders now hold the new name). Object grants move only when the content type is
  unchanged; with another type their objects are not of the permission's type, and they go;
- **deleted**: at commit, every grant of it, model-level and object, is revoked (Django's
  cascade removes ``user_permissions``, ``group.permissions`` and guardian's rows without
  ``m2m_changed``). The codename stays registered in Warden, holding nothing.

Renames and deletions read Warden's grants through one Export each: they are rare.
``bulk_create`` sends no signal: run ``manage.py warden_sync`` after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_delete, post_save, pre_save

from warden_client import Grant

from . import conf
from .catalog import clear_caches
from .identity import ct_label
from .mirror import exported_grants, run_mirrored
from .signals import register_content_types


def _label(perm: Permission, using: str | None) -> tuple[str, str] | None:
    """``(app_label.codename, content type label)`` of a permission; ``None`` when its content
    type row is missing (a raw fixture load in progress)."""
    ct = ContentType.objects.db_manager(using).filter(pk=perm.content_type_id).first()
    if ct is None:
        return None
    return f"{ct.app_label}.{perm.codename}", ct_label(ct)


def permission_pre_save(sender: Any, instance: Permission, using: str | None = None, **kwargs: Any) -> None:
    """``pre_save`` of ``Permission``: remember the stored codename and type, to see a rename."""
    old = None
    if instance.pk is not None and not kwargs.get("raw"):
        stored = Permission.objects.using(using).filter(pk=instance.pk).first()
        old = _label(stored, using) if stored is not None else None
    instance._warden_old_label = old  # type: ignore[attr-defined]


def permission_saved(sender: Any, instance: Permission, using: str | None = None, **kwargs: Any) -> None:
    """``post_save`` of ``Permission``: register its content type with every codename (at once),
    and on a rename move the old codename's grants to the new one (at commit)."""
    clear_caches()
    if not conf.mirror_enabled():
        return
    ct = ContentType.objects.db_manager(using).filter(pk=instance.content_type_id).first()
    if ct is None:
        return
    register_content_types([ct], using=using)
    old = getattr(instance, "_warden_old_label", None)
    new = _label(instance, using)
    instance._warden_old_label = new  # type: ignore[attr-defined]
    if old is not None and new is not None and old != new:
        run_mirrored(lambda: move_grants(old, new), using, f"move the grants of {old[0]} to {new[0]}")


def permission_deleted(sender: Any, instance: Permission, using: str | None = None, **kwargs: Any) -> None:
    """``post_delete`` of ``Permission``: revoke every grant of it (at commit)."""
    clear_caches()
    label = _label(instance, using)
    if label is not None:
        run_mirrored(lambda: revoke_all(label), using, f"revoke every grant of {label[0]}")


def grants_of(label: tuple[str, str]) -> Iterator[Grant]:
    """Every grant Warden holds of the permission ``(app_label.codename, content type)``."""
    perm, content_type = label
    for grant in exported_grants():
        if grant.content_type == content_type and grant.permission == perm:
            yield grant


def revoke_all(label: tuple[str, str]) -> int:
    """Revoke every grant of one permission; the number revoked."""
    grants = list(grants_of(label))
    return conf.get_client().bulk_revoke(grants).count if grants else 0


def move_grants(old: tuple[str, str], new: tuple[str, str]) -> None:
    """Grant the new permission to every holder of the old one, then revoke the old one."""
    held = list(grants_of(old))
    if not held:
        return
    same_type = old[1] == new[1]
    moved = [
        Grant(new[0], content_type=new[1], pk=g.pk, user=g.user, group=g.group)
        for g in held
        if same_type or g.pk is None
    ]
    client = conf.get_client()
    if moved:
        client.bulk_grant(moved)
    client.bulk_revoke(held)


def connect() -> None:
    """Connect the ``Permission`` handlers (from :func:`warden_client.django.signals.connect`)."""
    pre_save.connect(permission_pre_save, sender=Permission, dispatch_uid="warden.permission_pre_save")
    post_save.connect(permission_saved, sender=Permission, dispatch_uid="warden.permission_saved")
    post_delete.connect(permission_deleted, sender=Permission, dispatch_uid="warden.permission_deleted")
