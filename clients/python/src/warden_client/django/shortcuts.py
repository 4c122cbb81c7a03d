"""django-guardian's shortcuts, answered by Warden: same names, same signatures, same return
types, so a migration changes ``from guardian.shortcuts import ...`` to
``from warden_client.django.shortcuts import ...``.

Differences from guardian are the consistent answers of ``docs/semantics.md`` ("Guardian quirks
Warden does not copy"), listed in ``docs/django.md``. The readers that guardian has no flag
for (``get_perms``, ``get_user_perms``, ``get_group_perms``, ``get_users_with_perms``,
``get_groups_with_perms``) take an extra keyword ``accept_global_perms`` (default: the
``WARDEN_ACCEPT_GLOBAL_PERMS`` setting; ``False`` gives guardian's answers, which ignore model
grants).

Object grants live in Warden only; model-level grants (``obj=None``) are written to Django's
``user_permissions`` / ``group.permissions`` as guardian does, and reach Warden through the
signal handlers when the transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import Manager, Model, QuerySet

from warden_client import BulkResult, PermissionMode, WriteResult, pb

from . import conf
from .backends import _is_active_superuser
from .catalog import content_types_of
from .core import active_subject, check_perms, codename_queryset, codenames_on
from .grants import grant_message, subject_message
from .exceptions import MixedContentTypeError, MultipleIdentityAndObjectError, WrongAppError
from .identity import content_type_label, content_type_of, object_pk, subject_of, subjects_of
from .querysets import filter_listed, filter_pks

T = TypeVar("T", bound=Model)

__all__ = [
    "assign_perm",
    "remove_perm",
    "bulk_assign_perm",
    "bulk_remove_perm",
    "get_perms",
    "get_user_perms",
    "get_group_perms",
    "get_perms_for_model",
    "get_objects_for_user",
    "get_objects_for_group",
    "get_users_with_perms",
    "get_groups_with_perms",
    "check_perms",
]


# -- arguments -------------------------------------------------------------------------------


def _ensure_permission(perm: Permission | str) -> Permission:
    """A ``Permission`` row from an instance or an ``app_label.codename`` string (as guardian)."""
    if isinstance(perm, Permission):
        return perm
    if not isinstance(perm, str) or "." not in perm:
        raise ValueError(
            f"perm: for model-level permissions, the permission must be 'app_label.codename' (got {perm!r})"
        )
    app_label, codename = perm.split(".", 1)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def _perm_string(perm: Permission | str) -> str:
    """The permission string Warden resolves in the object's type."""
    if isinstance(perm, Permission):
        return f"{perm.content_type.app_label}.{perm.codename}"
    if not isinstance(perm, str) or not perm:
        raise TypeError(f"perm: expected a permission string or a Permission instance (got {perm!r})")
    return perm


def _is_many(value: Any) -> bool:
    return isinstance(value, (QuerySet, list, tuple, set))


def _objects(objs: Any) -> tuple[str, Iterator[str]] | None:
    """The content type and a lazy iterator of the pks of a queryset or list of objects."""
    if isinstance(objs, QuerySet):
        ct = content_type_label(objs.model)
        return ct, (str(pk) for pk in objs.values_list("pk", flat=True).iterator(chunk_size=10_000))
    objs = list(objs)
    if not objs:
        return None
    ct = content_type_label(objs[0])
    for obj in objs:
        if content_type_label(obj) != ct:
            raise MixedContentTypeError(f"obj: objects of {ct} and {content_type_label(obj)} in one call")
    return ct, (object_pk(obj) for obj in objs)


def _subject_kwargs(user_or_group: Any) -> dict[str, str] | None:
    subject = subject_of(user_or_group)
    return subject.kwargs() if subject is not None else None


def _agp(value: bool | None) -> bool | None:
    return conf.accept_global_perms() if value is None else value


# -- writes ----------------------------------------------------------------------------------


def assign_perm(
    perm: str | Permission, user_or_group: Any, obj: Any = None, *, actor: Any = None
) -> Permission | WriteResult | BulkResult | None:
    """Grant ``perm`` to a user or group (or a list/queryset of them) on ``obj`` (a model
    instance, or a list/queryset of them: Warden's bulk path), or model-wide when ``obj`` is
    ``None``.

    Model-wide grants go to Django's ``user_permissions`` / ``group.permissions`` (mirrored to
    Warden at commit) and return the ``Permission``, as guardian. Object grants go to Warden at
    once: one grant returns a :class:`~warden_client.WriteResult`, a bulk one a
    :class:`~warden_client.BulkResult`. ``actor``: the app user on whose behalf the grant is
    made (Warden refuses escalation by a non-superuser actor)."""
    if (_is_many(user_or_group) and not user_or_group) or (_is_many(obj) and not obj):
        return None  # guardian's answer to an empty list of subjects or objects
    if obj is None:
        permission = _ensure_permission(perm)
        for item in user_or_group if _is_many(user_or_group) else [user_or_group]:
            if isinstance(item, Group):
                item.permissions.add(permission)
            else:
                subject_of(item)  # raises NotUserNorGroup for anything else
                item.user_permissions.add(permission)
        return permission
    if _is_many(obj):
        if _is_many(user_or_group):
            raise MultipleIdentityAndObjectError("Only bulk operations on either users/groups OR objects supported")
        return bulk_assign_perm(perm, user_or_group, obj, actor=actor)
    if _is_many(user_or_group):
        return bulk_assign_perm(perm, user_or_group, obj, actor=actor)
    subject = _subject_kwargs(user_or_group)
    if subject is None:
        raise ValueError("user_or_group: an anonymous user needs WARDEN_ANONYMOUS_USER_ID to hold grants")
    return conf.get_client().grant(
        _perm_string(perm), content_type=content_type_label(obj), pk=object_pk(obj), actor=actor, **subject
    )


def remove_perm(
    perm: str | Permission, user_or_group: Any = None, obj: Any = None, *, actor: Any = None
) -> WriteResult | BulkResult | None:
    """Revoke what :func:`assign_perm` granted (same arguments). Model-wide removals go through
    Django's tables (mirrored at commit) and return ``None``."""
    if (_is_many(user_or_group) and not user_or_group) or (_is_many(obj) and not obj):
        return None
    if obj is None:
        if _is_many(user_or_group):
            raise MultipleIdentityAndObjectError("Bulk global permissions removal is not supported")
        permission = _ensure_permission(perm)
        if isinstance(user_or_group, Group):
            user_or_group.permissions.remove(permission)
        else:
            subject_of(user_or_group)
            user_or_group.user_permissions.remove(permission)
        return None
    if _is_many(obj):
        if _is_many(user_or_group):
            raise MultipleIdentityAndObjectError("Only bulk operations on either users/groups OR objects are supported")
        return bulk_remove_perm(perm, user_or_group, obj, actor=actor)
    if _is_many(user_or_group):
        return bulk_remove_perm(perm, user_or_group, obj, actor=actor)
    subject = _subject_kwargs(user_or_group)
    if subject is None:
        return None
    return conf.get_client().revoke(
        _perm_string(perm), content_type=content_type_label(obj), pk=object_pk(obj), actor=actor, **subject
    )


def grant_messages(perm: str | Permission, users_or_groups: Any, objs: Any) -> Iterator[pb.Grant]:
    """The grants of ``perm`` to each user/group of ``users_or_groups`` on each object of ``objs``
    (one, a list or a queryset), as the bulk streams take them (lazily, for millions of rows)."""
    permission = _perm_string(perm)
    subjects = [subject_message(s.kind, s.name) for s in subjects_of(users_or_groups)]
    if not subjects:
        return
    if isinstance(objs, Model):
        ct, pk = content_type_label(objs), object_pk(objs)
        for subject in subjects:
            yield grant_message(permission, subject, ct, pk)
        return
    found = _objects(objs)
    if found is None:
        return
    ct, pks = found
    if len(subjects) == 1:
        for pk in pks:
            yield grant_message(permission, subjects[0], ct, pk)
        return
    pk_list = list(pks)
    for subject in subjects:
        for pk in pk_list:
            yield grant_message(permission, subject, ct, pk)


def bulk_assign_perm(perm: str | Permission, users_or_groups: Any, objs: Any, *, actor: Any = None) -> BulkResult:
    """Grant ``perm`` to every user/group of ``users_or_groups`` (one, a list or a queryset) on
    every object of ``objs`` (one, a list or a queryset) in one BulkGrant stream: one
    transaction, streamed in chunks, with one ``BULK_GRANTED`` event."""
    return conf.get_client().bulk_grant(grant_messages(perm, users_or_groups, objs), actor=actor)


def bulk_remove_perm(perm: str | Permission, users_or_groups: Any, objs: Any, *, actor: Any = None) -> BulkResult:
    """Revoke ``perm`` like :func:`bulk_assign_perm` grants it, in one BulkRevoke stream."""
    return conf.get_client().bulk_revoke(grant_messages(perm, users_or_groups, objs), actor=actor)


# -- permissions on one object ---------------------------------------------------------------


def get_perms(user_or_group: Any, obj: Model, *, accept_global_perms: bool | None = None) -> list[str]:
    """Codenames the user (own and groups' grants) or group holds on ``obj``, sorted; an active
    superuser holds every codename of the type, an inactive user none."""
    return codenames_on(user_or_group, obj, PermissionMode.BOTH, accept_global_perms)


def get_user_perms(user: Any, obj: Model, *, accept_global_perms: bool | None = None) -> QuerySet[Any]:
    """Codenames granted to the user itself on ``obj``, as guardian's QuerySet of codenames."""
    return codename_queryset(obj, codenames_on(user, obj, PermissionMode.USER_ONLY, accept_global_perms))


def get_group_perms(user_or_group: Any, obj: Model, *, accept_global_perms: bool | None = None) -> QuerySet[Any]:
    """Codenames granted on ``obj`` through the user's groups (or to the group), each once."""
    return codename_queryset(obj, codenames_on(user_or_group, obj, PermissionMode.GROUPS_ONLY, accept_global_perms))


def get_perms_for_model(cls: type[Model] | Model | str) -> QuerySet[Permission]:
    """Every ``Permission`` of a model (class, instance or ``"app_label.Model"``), as guardian."""
    if isinstance(cls, str):
        from django.apps import apps

        app_label, model_name = cls.split(".")
        cls = apps.get_model(app_label, model_name)
    return Permission.objects.filter(content_type=content_type_of(cls))


# -- objects a subject can reach -------------------------------------------------------------


def _get_queryset(klass: Any) -> QuerySet[Any]:
    if isinstance(klass, QuerySet):
        return klass
    if isinstance(klass, Manager):
        return klass.all()
    if isinstance(klass, type) and issubclass(klass, Model):
        return klass._default_manager.all()
    raise TypeError(f"klass: expected a model, manager or queryset (got {klass!r})")


def _resolve(perms: str | Iterable[str], klass: Any) -> tuple[list[str], str, QuerySet[Any]]:
    """The permission strings, the content type and the queryset of a guardian-style call:
    the type comes from ``klass`` or, without it, from the ``app_label.codename`` strings."""
    perm_list = [perms] if isinstance(perms, str) else list(perms)
    app_label: str | None = None
    for perm in perm_list:
        if not isinstance(perm, str):
            raise TypeError(f"perms: expected permission strings (got {perm!r})")
        if "." in perm:
            label = perm.split(".", 1)[0]
            if app_label is not None and label != app_label:
                raise MixedContentTypeError(f"Given perms must have same app label ({app_label} != {label})")
            app_label = label
    if klass is not None:
        queryset = _get_queryset(klass)
        ct_label = content_type_label(queryset.model)  # the content type hook may map the model
        klass_app = ct_label.split(".", 1)[0]
        if app_label is not None and app_label != klass_app:
            raise MixedContentTypeError(f"perms: app label {app_label!r} differs from klass's {klass_app!r}")
        return perm_list, ct_label, queryset
    if app_label is None:
        raise WrongAppError("Cannot determine content type: give klass, or perms as 'app_label.codename'")
    ct: ContentType | None = None
    for perm in perm_list:
        if "." not in perm:
            continue
        label, codename = perm.split(".", 1)
        types = content_types_of(label, codename)
        if not types:
            raise ContentType.DoesNotExist(f"perms: no content type has the permission {perm!r}")
        if len(types) > 1:
            raise ContentType.MultipleObjectsReturned(
                f"perms: {perm!r} is a permission of {', '.join(t.model for t in types)}; give klass"
            )
        if ct is not None and ct != types[0]:
            raise MixedContentTypeError(f"ContentType was once computed to be {ct} and another one {types[0]}")
        ct = types[0]
    assert ct is not None
    model = ct.model_class()
    if model is None:
        raise WrongAppError(f"perms: the content type {ct.app_label}.{ct.model} has no model")
    return perm_list, f"{ct.app_label}.{ct.model}", model._default_manager.all()


def get_objects_for_user(
    user: Any,
    perms: str | list[str],
    klass: type[T] | Manager[T] | QuerySet[T] | None = None,
    use_groups: bool = True,
    any_perm: bool = False,
    with_superuser: bool = True,
    accept_global_perms: bool = True,
) -> QuerySet[T]:
    """Objects on which ``user`` holds all of ``perms`` (any one with ``any_perm``), as a
    QuerySet: the whole queryset when Warden answers *unrestricted* (an active superuser with
    ``with_superuser``, a model grant with ``accept_global_perms``), else a ``pk__in`` filter.
    An inactive user gets an empty queryset; ``use_groups=False`` ignores group grants,
    model-level ones included; ``accept_global_perms`` alone decides whether model grants count."""
    perm_list, ct, queryset = _resolve(perms, klass)
    if with_superuser and _is_active_superuser(user):
        return queryset
    subject = active_subject(user)
    if subject is None:
        return queryset.none()
    return _listed(
        queryset,
        perm_list,
        content_type=ct,
        any_perm=any_perm,
        use_groups=use_groups,
        with_superuser=with_superuser,
        accept_global_perms=accept_global_perms,
        **subject.kwargs(),
    )


def _listed(queryset: QuerySet[T], perm_list: list[str], **kwargs: Any) -> QuerySet[T]:
    """``queryset`` as Warden's ListObjects answers it: whole when unrestricted, else filtered."""
    answer = conf.get_client().list_all_objects(perm_list, page_size=100_000, **kwargs)
    if answer.unrestricted:
        return queryset
    return filter_listed(queryset, answer)


def get_objects_for_group(
    group: Group,
    perms: str | list[str],
    klass: type[T] | Manager[T] | QuerySet[T] | None = None,
    any_perm: bool = False,
    accept_global_perms: bool = True,
) -> QuerySet[T]:
    """Objects on which ``group`` holds all of ``perms`` (any one with ``any_perm``)."""
    perm_list, ct, queryset = _resolve(perms, klass)
    return _listed(
        queryset, perm_list, group=group.name, content_type=ct, any_perm=any_perm,
        accept_global_perms=accept_global_perms,
    )


# -- who can reach an object -----------------------------------------------------------------


def get_users_with_perms(
    obj: Model,
    attach_perms: bool = False,
    with_superusers: bool = False,
    with_group_users: bool = True,
    only_with_perms_in: list[str] | None = None,
    *,
    accept_global_perms: bool | None = None,
) -> QuerySet[Any] | dict[Any, list[str]]:
    """Active users holding any permission (any of ``only_with_perms_in``) on ``obj``: a
    QuerySet of users, or with ``attach_perms`` a dict of user → sorted codenames (all the
    user's codenames on the object; a superuser's are every codename of the type, as guardian's
    ``get_perms``, unless only own grants are asked for). ``with_group_users`` counts grants
    through groups; ``with_superusers`` adds every active superuser."""
    user_model = get_user_model()
    filter_perms = list(only_with_perms_in) if only_with_perms_in is not None else []
    answer = conf.get_client().list_subjects(
        content_type_label(obj),
        object_pk(obj),
        permissions=filter_perms,
        with_superusers=with_superusers,
        with_group_users=with_group_users,
        attach_perms=attach_perms,
        accept_global_perms=_agp(accept_global_perms),
    )
    users = answer.users
    if only_with_perms_in is not None and not filter_perms:
        # guardian: an empty filter matches no grant; only superusers can be listed then.
        superusers = set(
            str(pk) for pk in user_model._default_manager.filter(is_superuser=True).values_list("pk", flat=True)
        )
        users = {uid: perms for uid, perms in users.items() if with_superusers and uid in superusers}
    found = filter_pks(user_model._default_manager.all(), list(users))
    if not attach_perms:
        return found
    by_id = {str(u.pk): u for u in found}
    everything: list[str] | None = None
    attached = {}
    for uid, perms in users.items():
        user = by_id.get(uid)
        if user is None:
            continue
        if (with_group_users or with_superusers) and getattr(user, "is_superuser", False):
            # guardian attaches get_perms(): an (active) superuser holds every codename
            if everything is None:
                everything = sorted(get_perms_for_model(obj).values_list("codename", flat=True))
            perms = everything
        attached[user] = list(perms)
    return attached


def get_groups_with_perms(
    obj: Model,
    attach_perms: bool = False,
    only_with_perms_in: list[str] | None = None,
    *,
    accept_global_perms: bool | None = None,
) -> QuerySet[Group] | dict[Group, list[str]]:
    """Groups holding any permission (any of ``only_with_perms_in``) on ``obj``: a QuerySet, or
    with ``attach_perms`` a dict of group → sorted codenames."""
    filter_perms = list(only_with_perms_in) if only_with_perms_in is not None else []
    if only_with_perms_in is not None and not filter_perms:
        return {} if attach_perms else Group.objects.none()
    answer = conf.get_client().list_subjects(
        content_type_label(obj),
        object_pk(obj),
        permissions=filter_perms,
        attach_perms=attach_perms,
        accept_global_perms=_agp(accept_global_perms),
    )
    found = Group.objects.filter(name__in=list(answer.groups))
    if not attach_perms:
        return found
    by_name = {g.name: g for g in found}
    return {by_name[name]: list(perms) for name, perms in answer.groups.items() if name in by_name}
