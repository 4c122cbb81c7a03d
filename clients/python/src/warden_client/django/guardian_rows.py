"""Rows written into django-guardian's permission tables reach Warden (the guardian
compatibility switch, :mod:`warden_client.django.compat`).

Code that still writes guardian's rows — ``UserObjectPermission.objects.assign_perm``,
``objects.create``, a row's ``save()`` or ``delete()``, ``QuerySet.delete()``, the rows of a
deleted user, group or (direct foreign key) object — is mirrored by ``post_save`` /
``post_delete`` handlers on every concrete subclass of guardian's ``UserObjectPermissionBase``
and ``GroupObjectPermissionBase``, the pattern guardian's own signals page recommends.
``bulk_create`` sends no signals, so the managers' ``bulk_assign_perm`` and
``assign_perm_to_many`` are wrapped to send their new rows in one ``BulkGrant``; their
removals are wrapped to revoke in Warden as well what Warden's own shortcuts granted (no row). Like the other
mirrored changes these go when the transaction commits (``WARDEN_MIRROR_ON_COMMIT``).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save, pre_save

from warden_client import Grant, NotFound

from . import conf
from .identity import ct_label, valid_codename
from .mirror import run_mirrored as _run

log = logging.getLogger("warden_client.django")

#: Per thread: the sets :func:`recording_deletions` fills.
_recorders = threading.local()


def row_models() -> list[type[Any]]:
    """Every concrete guardian object-permission model of the project (generic and direct)."""
    from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

    return [
        model
        for model in apps.get_models()
        if not model._meta.abstract and issubclass(model, (UserObjectPermissionBase, GroupObjectPermissionBase))
    ]


def row_grant(row: Any, using: str | None = None) -> Grant | None:
    """The Warden grant a guardian row stands for (``None`` for a row Warden cannot hold: a
    permission of another type than its object, a codename Warden cannot name)."""
    permission = row.permission
    perm_ct = ContentType.objects.db_manager(using).get_for_id(permission.content_type_id)
    fields = {f.name for f in row._meta.get_fields()}
    if "object_pk" in fields:
        object_ct = ContentType.objects.db_manager(using).get_for_id(row.content_type_id)
        pk = str(row.object_pk)
    else:
        target = row._meta.get_field("content_object").related_model._meta.concrete_model
        object_ct = ContentType.objects.db_manager(using).get_for_model(target)
        pk = str(row.content_object_id)
    if object_ct.pk != perm_ct.pk or not valid_codename(permission.codename) or not pk:
        return None
    subject = {"user": str(row.user_id)} if "user" in fields else {"group": row.group.name}
    return Grant(f"{perm_ct.app_label}.{permission.codename}", content_type=ct_label(object_ct), pk=pk, **subject)


def _send(grants: list[Grant], *, grant: bool) -> None:
    client = conf.get_client()
    if grant:
        if len(grants) == 1:
            client.grant(grants[0])
        else:
            client.bulk_grant(grants)
        return
    for one in grants:  # one at a time: a grant whose user or group is already gone is no error
        try:
            client.revoke(one)
        except NotFound:
            pass


def _mirror(grants: Iterable[Grant | None], using: str | None, *, grant: bool) -> None:
    found = [g for g in grants if g is not None]
    if found:
        _run(lambda: _send(found, grant=grant), using, f"{'grant' if grant else 'revoke'} {len(found)} guardian row(s)")


def row_pre_save(sender: Any, instance: Any, raw: bool = False, using: str | None = None, **kwargs: Any) -> None:
    """An existing row about to change: remember the grant it stood for."""
    if raw or instance.pk is None:
        return
    old = sender._default_manager.using(using).filter(pk=instance.pk).first()
    instance._warden_old_grant = row_grant(old, using) if old is not None else None


def row_saved(sender: Any, instance: Any, created: bool = False, raw: bool = False, using: str | None = None,
              **kwargs: Any) -> None:
    """``post_save`` of a guardian row: Grant (and Revoke what an edited row stood for)."""
    if raw:
        return
    new = row_grant(instance, using)
    old = getattr(instance, "_warden_old_grant", None)
    instance._warden_old_grant = None
    if old is not None and old != new:
        _mirror([old], using, grant=False)
    _mirror([new], using, grant=True)


def row_deleted(sender: Any, instance: Any, using: str | None = None, **kwargs: Any) -> None:
    """``post_delete`` of a guardian row: Revoke."""
    try:
        grant = row_grant(instance, using)
    except Exception:  # the row's permission or group went first in a cascade
        log.debug("guardian row %r: its permission or group is gone; nothing to revoke", instance.pk)
        return
    if grant is not None:
        for recorded in getattr(_recorders, "sets", ()):
            recorded.add(grant)
    _mirror([grant], using, grant=False)


@contextmanager
def recording_deletions() -> Iterator[set[Grant]]:
    """The grants of the guardian rows deleted in this thread while the block runs (their
    revocations may still wait for the commit)."""
    recorded: set[Grant] = set()
    stack = _recorders.__dict__.setdefault("sets", [])
    stack.append(recorded)
    try:
        yield recorded
    finally:
        stack.remove(recorded)


def _bulk_wrapper(method: Any) -> Any:
    """A manager method that ``bulk_create``\ s rows (no signals): mirror the rows it returns."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        rows = method(self, *args, **kwargs)
        _mirror((row_grant(row, self.db) for row in rows or ()), self.db, grant=True)
        return rows

    wrapper.__warden__ = True  # type: ignore[attr-defined]
    return wrapper


def _revoke_quietly(perm: Any, subjects: Any, objs: Any) -> None:
    from .shortcuts import remove_perm

    try:
        remove_perm(perm, subjects, objs)
    except NotFound:  # the user, group or permission is gone: so is the grant
        pass


def _removal_wrapper(method: Any) -> Any:
    """A manager removal (``remove_perm(perm, user_or_group, obj)``, ``bulk_remove_perm(perm,
    user_or_group, objects)``, ``remove_perm_from_many(perm, users_or_groups, obj)``): the rows'
    ``post_delete`` revokes what had a row; this also revokes, in Warden, what Warden's own
    shortcuts granted without one."""

    @functools.wraps(method)
    def wrapper(self: Any, perm: Any, subjects: Any, objs: Any, *args: Any, **kwargs: Any) -> Any:
        result = method(self, perm, subjects, objs, *args, **kwargs)
        # QuerySets are read now: at commit they could name other rows.
        if isinstance(subjects, QuerySet):
            subjects = list(subjects)
        if isinstance(objs, QuerySet):
            objs = list(objs)
        _run(lambda: _revoke_quietly(perm, subjects, objs), self.db, "revoke through guardian's manager")
        return result

    wrapper.__warden__ = True  # type: ignore[attr-defined]
    return wrapper


_WRAPPERS = {
    "bulk_assign_perm": _bulk_wrapper,
    "assign_perm_to_many": _bulk_wrapper,
    "remove_perm": _removal_wrapper,
    "bulk_remove_perm": _removal_wrapper,
    "remove_perm_from_many": _removal_wrapper,
}


def connect() -> None:
    """Connect the row handlers to every guardian row model, and wrap the bulk methods."""
    from guardian.managers import BaseObjectPermissionManager

    for name, wrap in _WRAPPERS.items():
        method = getattr(BaseObjectPermissionManager, name, None)
        if method is not None and not getattr(method, "__warden__", False):
            setattr(BaseObjectPermissionManager, name, wrap(method))
    for model in row_models():
        uid = f"warden.guardian_row.{model._meta.label}"
        pre_save.connect(row_pre_save, sender=model, dispatch_uid=uid + ".pre_save")
        post_save.connect(row_saved, sender=model, dispatch_uid=uid + ".saved")
        post_delete.connect(row_deleted, sender=model, dispatch_uid=uid + ".deleted")
