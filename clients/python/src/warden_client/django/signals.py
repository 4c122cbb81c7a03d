"""Signal handlers that mirror Django's auth state into Warden, so that it stays in sync without
changes to the app's code:

- users (``post_save``/``post_delete`` of the user model: id, username, ``is_active``,
  ``is_superuser``; a save whose ``update_fields`` touches none of them, such as the
  ``last_login`` update at every login, writes nothing);
- groups (``post_save``/``post_delete``; a rename moves the members and grants to the new name);
- groups that are a subclass or proxy of ``Group`` (their saves are sent with their own class);
- memberships and model-level permissions (:mod:`.m2m_signals`);
- permissions created, renamed or deleted at run time (:mod:`.runtime_perms`);
- content types and their permission codenames (``post_migrate``);
- object deletions of the models named in ``WARDEN_OBJECT_MODELS`` (``post_delete`` →
  ``DeleteObject``, so a re-created object with the same pk starts with no grants).

Writes run after the transaction commits (``WARDEN_MIRROR_ON_COMMIT``) so a rolled-back change
never reaches Warden. Changes Django makes without signals (``QuerySet.update``, raw SQL,
``bulk_create``) are not seen: run ``manage.py warden_sync`` after them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.apps import AppConfig, apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.signals import setting_changed
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save, pre_save

from warden_client import Grant
from warden_client import records as rec
from warden_client.errors import AlreadyExists

from . import conf, relations
from .catalog import clear_caches
from .identity import content_type_label, ct_label, username_of, valid_codename, valid_content_type
from .m2m_signals import (
    group_permissions_changed,
    membership_row_deleted,
    membership_row_saved,
    memberships_changed,
    user_permissions_changed,
)
from .mirror import BATCH, log, run_mirrored, write_records

__all__ = ["BATCH", "log", "run_mirrored", "write_records"]  # re-exported for existing imports

_object_models_connected: list[type[Model]] = []


def content_type_record(ct: ContentType, codenames: Iterable[str]) -> Any | None:
    """The RegisterContentType record of a content type with exactly ``codenames`` (those
    Warden cannot name are left out with a warning); ``None`` for a type Warden cannot name."""
    label = ct_label(ct)
    if not valid_content_type(label):
        log.warning("Warden: content type %r is not [a-z0-9_].[a-z0-9_]; not registered", label)
        return None
    good = []
    for codename in sorted(set(codenames)):
        if valid_codename(codename):
            good.append(codename)
        else:
            log.warning("Warden: permission %s.%s has a codename Warden cannot hold; skipped", ct.app_label, codename)
    return rec.content_type(label, custom=good, defaults=False)


def register_content_types(cts: Iterable[ContentType], using: str | None = None) -> int:
    """Register content types with their permission codenames (additive, idempotent)."""
    cts = list(cts)
    codenames: dict[int, list[str]] = {ct.pk: [] for ct in cts}
    rows = Permission.objects.db_manager(using).filter(content_type__in=cts)
    for ct_id, codename in rows.values_list("content_type_id", "codename"):
        codenames[ct_id].append(codename)
    records = [r for ct in cts if (r := content_type_record(ct, codenames[ct.pk])) is not None]
    write_records(records)
    return len(records)


# -- users -----------------------------------------------------------------------------------

_USER_FIELDS = {"is_active", "is_superuser"}


def user_record_fields(user: Any) -> dict[str, Any]:
    """The fields Warden keeps of a user: ``id``, ``username``, ``is_active``, ``is_superuser``."""
    return {
        "id": str(user.pk),
        "username": username_of(user),
        "is_active": bool(getattr(user, "is_active", True)),
        "is_superuser": bool(getattr(user, "is_superuser", False)),
    }


def user_saved(sender: Any, instance: Any, update_fields: Any = None, using: str | None = None, **kwargs: Any) -> None:
    """``post_save`` of the user model: PutUser."""
    if update_fields is not None:
        watched = _USER_FIELDS | {sender.USERNAME_FIELD}
        if not watched & set(update_fields):
            return
    fields = user_record_fields(instance)
    uid = fields["id"]
    run_mirrored(lambda: put_user(fields, sender, using), using, f"put user {uid}")


_USERNAME_HELD = re.compile(r'already belongs to user "((?:[^"\\]|\\.)*)"')


def put_user(fields: dict[str, Any], user_model: Any = None, using: str | None = None) -> None:
    """PutUser; when Warden gives the username to another id (a user deleted, or renamed,
    without signals), repair that user from Django's data first: delete it when Django no
    longer has it, else put it with its current username."""
    client = conf.get_client()
    kwargs = {k: v for k, v in fields.items() if k != "id"}
    try:
        client.put_user(fields["id"], **kwargs)
        return
    except AlreadyExists as error:
        found = _USERNAME_HELD.search(error.message)
        if not found:
            raise
        holder = found.group(1)
        if "\\" in holder:
            raise
    user_model = user_model or get_user_model()
    other = user_model._default_manager.db_manager(using).filter(pk=holder).first()
    if other is None:
        client.delete_user(holder)
    else:
        other_fields = user_record_fields(other)
        client.put_user(holder, **{k: v for k, v in other_fields.items() if k != "id"})
    client.put_user(fields["id"], **kwargs)


def user_deleted(sender: Any, instance: Any, using: str | None = None, **kwargs: Any) -> None:
    """``post_delete`` of the user model: DeleteUser (memberships and grants go with it)."""
    uid = str(instance.pk)
    run_mirrored(lambda: conf.get_client().delete_user(uid), using, f"delete user {uid}")


# -- groups ----------------------------------------------------------------------------------


def group_pre_save(sender: Any, instance: Group, using: str | None = None, **kwargs: Any) -> None:
    """``pre_save`` of ``Group``: remember the stored name, to see a rename in ``post_save``."""
    if instance.pk is not None and not kwargs.get("raw"):
        old = Group.objects.using(using).filter(pk=instance.pk).values_list("name", flat=True).first()
        instance._warden_old_name = old  # type: ignore[attr-defined]


def group_saved(sender: Any, instance: Group, created: bool = False, using: str | None = None, **kwargs: Any) -> None:
    """``post_save`` of ``Group``: PutGroup, or a rename (see :func:`rename_group`)."""
    name = instance.name
    old = getattr(instance, "_warden_old_name", None)
    instance._warden_old_name = name  # type: ignore[attr-defined]
    if old is not None and old != name:
        run_mirrored(lambda: rename_group(old, name), using, f"rename group {old!r} to {name!r}")
    else:
        run_mirrored(lambda: conf.get_client().put_group(name), using, f"put group {name!r}")


def rename_group(old: str, new: str) -> None:
    """Move a group to its new name: create it with the memberships and grants Warden holds for
    the old name (read through Export), then delete the old name. Renames are rare; this costs
    one export of Warden's state."""
    client = conf.get_client()
    members: list[Any] = []
    moved: list[Grant] = []
    with client.export() as stream:
        for record in stream:
            kind = record.WhichOneof("record")
            if kind == "member" and record.member.group == old:
                members.append(rec.member(record.member.user, new))
            elif kind == "grant":
                grant = record.grant
                if grant.subject.WhichOneof("kind") == "group" and grant.subject.group == old:
                    moved.append(
                        Grant(
                            grant.permission,
                            group=new,
                            content_type=grant.content_type or None,
                            pk=grant.pk if grant.HasField("pk") else None,
                        )
                    )
    client.put_group(new)
    write_records(members)
    if moved:
        client.bulk_grant(moved)
    client.delete_group(old)


def group_deleted(sender: Any, instance: Group, using: str | None = None, **kwargs: Any) -> None:
    """``post_delete`` of ``Group``: DeleteGroup (memberships and grants go with it)."""
    name = instance.name
    run_mirrored(lambda: conf.get_client().delete_group(name), using, f"delete group {name!r}")


# -- content types and objects ---------------------------------------------------------------


def migrated(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """``post_migrate`` of an app: register its content types with their permission codenames."""
    label = sender.label
    cts = list(ContentType.objects.using(using).filter(app_label=label))
    if not cts:
        return

    clear_caches()

    def send() -> None:
        clear_caches()
        register_content_types(cts)

    run_mirrored(send, using, f"register the content types of {label}")


def object_deleted(sender: type[Model], instance: Model, using: str | None = None, **kwargs: Any) -> None:
    """``post_delete`` of a model in ``WARDEN_OBJECT_MODELS``: DeleteObject."""
    if instance.pk is None:
        return
    ct, pk = content_type_label(sender), str(instance.pk)
    run_mirrored(lambda: conf.get_client().delete_object(ct, pk), using, f"delete object {ct}:{pk}")


def connect_object_models() -> None:
    """(Re)connect :func:`object_deleted` to the models of ``WARDEN_OBJECT_MODELS``."""
    for model in _object_models_connected:
        post_delete.disconnect(object_deleted, sender=model, dispatch_uid=f"warden.object_deleted.{model._meta.label}")
    _object_models_connected.clear()
    for label in conf.object_models():
        model = apps.get_model(label)
        post_delete.connect(object_deleted, sender=model, dispatch_uid=f"warden.object_deleted.{model._meta.label}")
        _object_models_connected.append(model)


def _on_setting_changed(**kwargs: Any) -> None:
    if kwargs.get("setting") == "WARDEN_OBJECT_MODELS":
        connect_object_models()


def group_models() -> list[type[Model]]:
    """``Group`` and every installed subclass or proxy of it (a save of a subclass sends its
    signals with the subclass as sender)."""
    return [model for model in apps.get_models() if issubclass(model, Group)]


def connect() -> None:
    """Connect every handler (called once, from ``WardenConfig.ready``)."""
    from . import runtime_perms

    user_model = get_user_model()
    post_save.connect(user_saved, sender=user_model, dispatch_uid="warden.user_saved")
    post_delete.connect(user_deleted, sender=user_model, dispatch_uid="warden.user_deleted")
    for model in group_models():
        suffix = "" if model is Group else f".{model._meta.label}"
        pre_save.connect(group_pre_save, sender=model, dispatch_uid=f"warden.group_pre_save{suffix}")
        post_save.connect(group_saved, sender=model, dispatch_uid=f"warden.group_saved{suffix}")
        # Deleting a multi-table subclass deletes its Group row too, with Group's post_delete.
        if model._meta.concrete_model is Group:
            post_delete.connect(group_deleted, sender=model, dispatch_uid=f"warden.group_deleted{suffix}")
    members = relations.user_groups()
    if members is not None:
        m2m_changed.connect(memberships_changed, sender=members.through, dispatch_uid="warden.members")
        if members.custom_through:
            post_save.connect(membership_row_saved, sender=members.through, dispatch_uid="warden.member_row_saved")
            post_delete.connect(
                membership_row_deleted, sender=members.through, dispatch_uid="warden.member_row_deleted"
            )
    user_perms = relations.user_permissions()
    if user_perms is not None:
        m2m_changed.connect(user_permissions_changed, sender=user_perms.through, dispatch_uid="warden.user_perms")
    m2m_changed.connect(group_permissions_changed, sender=Group.permissions.through, dispatch_uid="warden.group_perms")
    post_migrate.connect(migrated, dispatch_uid="warden.migrated")
    setting_changed.connect(_on_setting_changed, dispatch_uid="warden.setting_changed")
    connect_object_models()
    runtime_perms.connect()
