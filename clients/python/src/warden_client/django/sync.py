"""Pushing Django's whole auth state, and a django-guardian database's object permissions, into
Warden (what ``manage.py warden_sync`` and ``manage.py warden_import_guardian`` run).

Both are idempotent: Warden's writes are (putting a user as it is, granting what is held and
adding a member twice change nothing), so a second run reports nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from warden_client import Grant, pb
from warden_client import records as rec

from . import conf, relations
from .grants import grant_message, subject_message
from .identity import valid_codename
from .mirror import grant_of
from .signals import content_type_record, user_record_fields

Progress = Callable[[str], None]

#: Records per WriteBatch call.
BATCH = 5000
#: Rows fetched from the database at a time.
FETCH = 20_000
#: How often (rows) the streamed steps report progress.
REPORT_EVERY = 100_000


@dataclass
class SyncReport:
    """What a sync sent (``sent``) and changed (``changed``) per step, and what it pruned."""

    sent: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    pruned: dict[str, int] = field(default_factory=dict)
    skipped: int = 0


def _quiet(_: str) -> None:
    pass


def _write_batches(step: str, records: Iterable[Any], total: int, report: SyncReport, progress: Progress) -> None:
    client = conf.get_client()
    chunk: list[Any] = []
    sent = changed = 0

    def flush() -> None:
        nonlocal chunk, sent, changed
        if chunk:
            changed += client.write_batch(chunk).changed
            sent += len(chunk)
            chunk = []
            progress(f"{step}: {sent}/{total}")

    for record in records:
        chunk.append(record)
        if len(chunk) >= BATCH:
            flush()
    flush()
    if sent == 0:
        progress(f"{step}: 0/0")
    report.sent[step] = sent
    report.changed[step] = changed


def _counted(step: str, rows: Iterable[Any], progress: Progress, counter: list[int]) -> Iterator[Any]:
    for row in rows:
        counter[0] += 1
        if counter[0] % REPORT_EVERY == 0:
            progress(f"{step}: {counter[0]} streamed")
        yield row


def _bulk(step: str, grants: Iterable[Any], report: SyncReport, progress: Progress) -> None:
    counter = [0]
    result = conf.get_client().bulk_grant(_counted(step, grants, progress, counter))
    report.sent[step] = result.requested
    report.changed[step] = result.count
    progress(f"{step}: {result.requested} sent, {result.count} new, revision {result.revision}")


def _model_grant_rows() -> Iterator[Grant]:
    perm_fields = ("content_type__app_label", "content_type__model", "codename")
    users = relations.user_permissions()
    if users is not None:
        for uid, app, model, codename in users.rows(*perm_fields).iterator(chunk_size=FETCH):
            if valid_codename(codename):
                yield Grant(f"{app}.{codename}", user=str(uid), content_type=f"{app}.{model}")
    groups = relations.group_permissions().rows(*perm_fields, source="name")
    for name, app, model, codename in groups.iterator(chunk_size=FETCH):
        if valid_codename(codename):
            yield Grant(f"{app}.{codename}", group=name, content_type=f"{app}.{model}")


def _membership_rows() -> Any:
    """``(user pk, group name)`` of every membership (empty when the user model has no groups)."""
    members = relations.user_groups()
    if members is None:
        return []
    return members.rows("name")


def sync(*, prune: bool = False, progress: Progress = _quiet) -> SyncReport:
    """Push content types and permissions, users, groups, memberships and model-level grants to
    Warden. With ``prune``, first delete what Warden holds and Django does not: users, groups,
    memberships and model-level grants (object grants are Warden's own; only those of deleted
    users and groups go, with them)."""
    report = SyncReport()
    user_model = get_user_model()
    if prune:
        _prune(report, progress)

    cts = list(ContentType.objects.order_by("app_label", "model"))
    codenames: dict[int, list[str]] = {ct.pk: [] for ct in cts}
    for ct_id, codename in Permission.objects.values_list("content_type_id", "codename"):
        codenames.setdefault(ct_id, []).append(codename)
    ct_records = [r for ct in cts if (r := content_type_record(ct, codenames[ct.pk])) is not None]
    _write_batches("content types", ct_records, len(ct_records), report, progress)

    _repair_usernames(progress)
    users = user_model._default_manager.order_by("pk")
    _write_batches(
        "users",
        (rec.user(**user_record_fields(u)) for u in users.iterator(chunk_size=FETCH)),
        users.count(),
        report,
        progress,
    )
    groups = Group.objects.order_by("name").values_list("name", flat=True)
    _write_batches("groups", (rec.group(name) for name in groups.iterator(chunk_size=FETCH)), groups.count(), report,
                   progress)
    if relations.user_groups() is not None:
        members = _membership_rows()
        _write_batches(
            "memberships",
            (rec.member(str(uid), name) for uid, name in members.iterator(chunk_size=FETCH)),
            members.count(),
            report,
            progress,
        )
    _bulk("model grants", _model_grant_rows(), report, progress)
    return report


def _repair_usernames(progress: Progress) -> None:
    """Free the usernames that Warden gives to another id than Django does (users deleted or
    renamed without signals), so that pushing the users cannot conflict: a Warden user that
    Django no longer has is deleted, one Django renamed loses its username until it is pushed."""
    user_model = get_user_model()
    client = conf.get_client()
    held: dict[str, str] = {}
    with client.export() as stream:
        for record in stream:
            kind = record.WhichOneof("record")
            if kind == "user" and record.user.HasField("username"):
                held[record.user.username] = record.user.id
            elif kind in ("member", "grant"):
                break
    if not held:
        return
    django_ids = {}
    for pk, name in user_model._default_manager.values_list("pk", user_model.USERNAME_FIELD).iterator(chunk_size=FETCH):
        django_ids[str(name)] = str(pk)
    existing = {str(pk) for pk in user_model._default_manager.values_list("pk", flat=True)}
    repaired = 0
    for name, wid in held.items():
        if name in django_ids and django_ids[name] != wid:
            if wid in existing:
                other = user_model._default_manager.get(pk=wid)
                fields = user_record_fields(other)
                client.put_user(wid, username=None, is_active=fields["is_active"], is_superuser=fields["is_superuser"])
            else:
                client.delete_user(wid)
            repaired += 1
    if repaired:
        progress(f"usernames held by stale Warden users: {repaired} repaired")


def _prune(report: SyncReport, progress: Progress) -> None:
    """Delete from Warden the users, groups, memberships and model grants Django does not have."""
    user_model = get_user_model()
    client = conf.get_client()
    user_ids = {str(pk) for pk in user_model._default_manager.values_list("pk", flat=True)}
    group_names = set(Group.objects.values_list("name", flat=True))
    members = {(str(u), g) for u, g in _membership_rows()}
    model_grants = {(g.user, g.group, g.permission, g.content_type) for g in _model_grant_rows()}
    stale_users, stale_groups, stale_members, stale_grants = [], [], [], []
    with client.export() as stream:
        for record in stream:
            kind = record.WhichOneof("record")
            if kind == "user" and record.user.id not in user_ids:
                stale_users.append(record.user.id)
            elif kind == "group" and record.group not in group_names:
                stale_groups.append(record.group)
            elif kind == "member" and (record.member.user, record.member.group) not in members:
                stale_members.append((record.member.user, record.member.group))
            elif kind == "grant" and not record.grant.HasField("pk"):
                g = grant_of(record.grant)
                if g.user in stale_users or g.group in stale_groups:
                    continue
                if (g.user, g.group, g.permission, g.content_type) not in model_grants:
                    stale_grants.append(g)
    gone_users, gone_groups = set(stale_users), set(stale_groups)
    for uid in stale_users:
        client.delete_user(uid)
    for name in stale_groups:
        client.delete_group(name)
    stale_members = [(u, g) for u, g in stale_members if u not in gone_users and g not in gone_groups]
    for uid, name in stale_members:
        client.remove_member(uid, name)
    if stale_grants:
        client.bulk_revoke(stale_grants)
    report.pruned = {
        "users": len(stale_users),
        "groups": len(stale_groups),
        "memberships": len(stale_members),
        "model grants": len(stale_grants),
    }
    progress("pruned: " + ", ".join(f"{n} {what}" for what, n in report.pruned.items()))


# -- django-guardian -------------------------------------------------------------------------


def _guardian_models() -> tuple[list[Any], list[Any]]:
    """guardian's user and group object-permission models: the generic ones and every direct
    (foreign key) subclass the project defines."""
    try:
        from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
    except ImportError as error:  # pragma: no cover - needs guardian absent
        raise RuntimeError("warden_import_guardian: django-guardian is not installed") from error
    user_models, group_models = [], []
    for model in apps.get_models():
        if model._meta.abstract:
            continue
        if issubclass(model, UserObjectPermissionBase):
            user_models.append(model)
        elif issubclass(model, GroupObjectPermissionBase):
            group_models.append(model)
    return user_models, group_models


def _guardian_rows(model: Any, subject_field: str, kind: str, skipped: list[int]) -> Iterator[pb.Grant]:
    generic = any(f.name == "object_pk" for f in model._meta.get_fields())
    perm_fields = ["permission__content_type__app_label", "permission__content_type__model", "permission__codename"]
    subjects: dict[Any, pb.Subject] = {}

    def subject(name: Any) -> pb.Subject:
        found = subjects.get(name)
        if found is None:
            found = subjects[name] = subject_message(kind, str(name))
        return found

    if generic:
        rows = model.objects.values_list(
            subject_field, *perm_fields, "content_type__app_label", "content_type__model", "object_pk"
        ).order_by()
        for name, app, ptype, codename, oapp, otype, pk in rows.iterator(chunk_size=FETCH):
            if (app, ptype) != (oapp, otype) or not valid_codename(codename) or not pk:
                skipped[0] += 1
                continue
            yield grant_message(f"{app}.{codename}", subject(name), f"{app}.{ptype}", pk)
    else:
        target = model._meta.get_field("content_object").related_model._meta.concrete_model._meta
        rows = model.objects.values_list(subject_field, *perm_fields, "content_object_id").order_by()
        for name, app, ptype, codename, pk in rows.iterator(chunk_size=FETCH):
            if (app, ptype) != (target.app_label, target.model_name) or not valid_codename(codename):
                skipped[0] += 1
                continue
            yield grant_message(f"{app}.{codename}", subject(name), f"{app}.{ptype}", str(pk))


def guardian_grants(skipped: list[int]) -> Iterator[pb.Grant]:
    """Every object permission of guardian's tables as a Warden grant (rows whose permission
    is of another type than their object, or with a codename Warden cannot hold, are counted
    in ``skipped[0]``)."""
    user_models, group_models = _guardian_models()
    for model in user_models:
        yield from _guardian_rows(model, relations.pk_lookup(model, "user"), "user", skipped)
    for model in group_models:
        yield from _guardian_rows(model, "group__name", "group", skipped)


def guardian_row_count() -> int:
    """How many object-permission rows guardian's tables hold."""
    user_models, group_models = _guardian_models()
    return sum(model.objects.count() for model in user_models + group_models)


def import_guardian(*, progress: Progress = _quiet) -> SyncReport:
    """Copy guardian's object permissions into Warden in one BulkGrant stream (the users and
    groups must be in Warden: run :func:`sync` first)."""
    report = SyncReport()
    skipped = [0]
    progress(f"guardian object permissions: {guardian_row_count()} rows")
    _bulk("object grants", guardian_grants(skipped), report, progress)
    report.skipped = skipped[0]
    if skipped[0]:
        progress(f"skipped {skipped[0]} rows (permission of another type than the object, or a bad codename)")
    return report
