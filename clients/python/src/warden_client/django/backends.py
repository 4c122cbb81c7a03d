"""``WardenBackend``: Django's permission API answered by the Warden sidecar.

    AUTHENTICATION_BACKENDS = ["warden_client.django.backends.WardenBackend"]

It replaces both ``ModelBackend`` and guardian's ``ObjectPermissionBackend`` (it subclasses
``ModelBackend``, so password login keeps working):

- without an object, Django's ``ModelBackend`` semantics: ``"app_label.codename"`` strings;
  inactive users hold nothing, active superusers everything; anonymous users nothing unless
  ``WARDEN_ANONYMOUS_USER_ID`` names the Warden user they are checked as;
- with an object, guardian's ``ObjectPermissionBackend`` semantics: ``has_perm`` takes
  ``"app_label.codename"`` or a bare codename, the ``get_*_permissions`` methods answer bare
  codenames; model grants count on objects unless ``WARDEN_ACCEPT_GLOBAL_PERMS = False``
  (guardian's answer). A permission of another content type than the object's raises the
  client's ``InvalidArgument`` (guardian raises ``WrongAppError`` for another app only).

The user object's own ``is_active``/``is_superuser`` decide those two rules (as Django's
backends do), so an inactive or superuser user costs no round trip.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Model, QuerySet

from warden_client import CheckItem, PermissionMode, Reason
from warden_client.errors import InvalidArgument

from . import conf
from .exceptions import WrongAppError
from .catalog import content_type_labels_of, permission_universe
from .identity import content_type_label, object_pk, permission_label

#: Items per BatchCheck (the server's default limit is 10,000).
BATCH = 10_000


def _subject_id(user_obj: Any) -> str | None:
    """The Warden user id to ask about, or ``None`` when the user holds nothing (inactive, or
    anonymous without ``WARDEN_ANONYMOUS_USER_ID``)."""
    if user_obj is None:
        return None
    if not getattr(user_obj, "is_authenticated", False):
        return conf.anonymous_user_id()
    if not getattr(user_obj, "is_active", True):
        return None
    return str(user_obj.pk)


def _is_active_superuser(user_obj: Any) -> bool:
    return bool(
        getattr(user_obj, "is_authenticated", False)
        and getattr(user_obj, "is_active", True)
        and getattr(user_obj, "is_superuser", False)
    )


def batch_decisions(items: list[CheckItem]) -> list[Any]:
    """Decisions (or per-item errors) of many checks, in BatchCheck calls of :data:`BATCH`."""
    client = conf.get_client()
    out: list[Any] = []
    for start in range(0, len(items), BATCH):
        out.extend(client.batch_check(items[start : start + BATCH]).results)
    return out


def object_check(perm: str, subject: dict[str, str], content_type: str, pk: str) -> bool:
    """Warden's Check of ``perm`` for ``subject`` (``user=`` / ``group=``) on one object. A
    permission of another content type than the object's is Warden's ``InvalidArgument``;
    under ``WARDEN_GUARDIAN_COMPAT`` it is guardian's answer, ``False`` (a guarded admin inline
    asks ``has_perm("app.add_profile", <User>)``)."""
    try:
        return conf.get_client().check(
            perm, content_type=content_type, pk=pk, accept_global_perms=conf.accept_global_perms(), **subject
        ).allowed
    except InvalidArgument:
        if not conf.guardian_compat() or "." not in perm:
            raise
        # guardian's answers: another model's permission of the object's app is not held on it;
        # another app's permission raises WrongAppError.
        app_label = content_type.split(".", 1)[0]
        if perm.split(".", 1)[0] != app_label:
            raise WrongAppError(f"perm: {perm!r} is not a permission of the object's app {app_label!r}") from None
        return False


class WardenBackend(ModelBackend):
    """Django's authorization backend interface, answered by Warden (see the module doc)."""

    #: guardian's ``ObjectPermissionBackend`` declares these; code that inspects a backend's
    #: support (``getattr(backend, "supports_object_permissions", False)``) finds them here too.
    supports_object_permissions = True
    supports_anonymous_user = True
    supports_inactive_user = True

    # -- checks --------------------------------------------------------------------------------

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        """Whether the user holds ``perm`` (model-wide, or on ``obj``)."""
        if obj is not None:
            return self._has_object_perm(user_obj, perm, obj)
        if _is_active_superuser(user_obj):
            return True
        uid = _subject_id(user_obj)
        if uid is None or not isinstance(perm, str) or "." not in perm:
            return False
        client = conf.get_client()
        try:
            return client.check(perm, user=uid).allowed
        except InvalidArgument:
            # An app_label.codename that two types of the app share: ModelBackend allows either.
            app_label, codename = perm.split(".", 1)
            types = content_type_labels_of(app_label, codename)
            if len(types) < 2:
                raise
            items = [CheckItem(perm, user=uid, content_type=t) for t in types]
            return any(getattr(d, "allowed", False) for d in batch_decisions(items))

    def _has_object_perm(self, user_obj: Any, perm: str, obj: Any) -> bool:
        if not isinstance(obj, Model) or obj.pk is None:
            return False
        if _is_active_superuser(user_obj):
            return True
        uid = _subject_id(user_obj)
        if uid is None:
            return False
        return object_check(perm, {"user": uid}, content_type_label(obj), object_pk(obj))

    def has_perms(self, user_obj: Any, perm_list: list[str], obj: Any = None) -> bool:
        """Whether the user holds every permission of ``perm_list``, in one BatchCheck."""
        perms = list(perm_list)
        if not perms:
            return True
        if _is_active_superuser(user_obj):
            return True
        uid = _subject_id(user_obj)
        if uid is None:
            return False
        if obj is None:
            return all(self.has_perm(user_obj, perm) for perm in perms)
        if not isinstance(obj, Model) or obj.pk is None:
            return False
        ct, pk, agp = content_type_label(obj), object_pk(obj), conf.accept_global_perms()
        items = [CheckItem(perm, user=uid, content_type=ct, pk=pk, accept_global_perms=agp) for perm in perms]
        decisions = batch_decisions(items)
        for decision in decisions:
            if isinstance(decision, Exception):
                raise decision
        return all(d.allowed for d in decisions)

    # -- permission sets -------------------------------------------------------------------------

    def _model_perms(self, user_obj: Any, source: str) -> set[str]:
        """Model-level ``app_label.codename`` strings of the user from ``source``: ``"all"``,
        ``"user"`` (its own grants) or ``"group"`` (its groups'). Cached on the user object, as
        ``ModelBackend`` caches them: a fresh user object (each request has one) asks again."""
        cache = getattr(user_obj, "_warden_perm_cache", None)
        if cache is None:
            cache = {}
            try:
                user_obj._warden_perm_cache = cache
            except AttributeError:
                pass
        if source not in cache:
            cache[source] = self._fetch_model_perms(user_obj, source)
        return set(cache[source])

    def _fetch_model_perms(self, user_obj: Any, source: str) -> set[str]:
        if _is_active_superuser(user_obj):
            return {perm for perm, _ in permission_universe()}
        uid = _subject_id(user_obj)
        if uid is None:
            return set()
        universe = permission_universe()
        if source == "group":
            if not getattr(user_obj, "is_authenticated", False):
                return set()
            names = list(user_obj.groups.values_list("name", flat=True))
            items = [CheckItem(p, group=g, content_type=t) for g in names for p, t in universe]
            return {item.permission for item, d in zip(items, batch_decisions(items)) if getattr(d, "allowed", False)}
        items = [CheckItem(p, user=uid, content_type=t) for p, t in universe]
        held = set()
        for item, decision in zip(items, batch_decisions(items)):
            if not getattr(decision, "allowed", False):
                continue
            if source == "all" or decision.reason == Reason.MODEL_GRANT_USER:
                held.add(item.permission)
        return held

    def _object_perms(self, user_obj: Any, obj: Any, mode: PermissionMode) -> set[str]:
        if not isinstance(obj, Model) or obj.pk is None:
            return set()
        uid = _subject_id(user_obj)
        if uid is None:
            return set()
        answer = conf.get_client().get_permissions(
            content_type_label(obj),
            object_pk(obj),
            user=uid,
            mode=mode,
            accept_global_perms=conf.accept_global_perms(),
        )
        return set(answer.codenames)

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        """The user's own permissions: ``app_label.codename`` model-wide, codenames on ``obj``."""
        if obj is not None:
            return self._object_perms(user_obj, obj, PermissionMode.USER_ONLY)
        return self._model_perms(user_obj, "user")

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        """Permissions through the user's groups: ``app_label.codename`` model-wide, codenames on ``obj``."""
        if obj is not None:
            return self._object_perms(user_obj, obj, PermissionMode.GROUPS_ONLY)
        return self._model_perms(user_obj, "group")

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        """Every permission of the user: ``app_label.codename`` model-wide, codenames on ``obj``."""
        if obj is not None:
            return self._object_perms(user_obj, obj, PermissionMode.BOTH)
        return self._model_perms(user_obj, "all")

    # -- who has it ------------------------------------------------------------------------------

    def with_perm(
        self, perm: str | Permission, is_active: bool = True, include_superusers: bool = True, obj: Any = None
    ) -> QuerySet[Any]:
        """Users holding ``perm``; on an object, answered by Warden's ListSubjects (inactive users
        never hold anything there). Without an object, ``ModelBackend``'s query."""
        if obj is None:
            return super().with_perm(perm, is_active=is_active, include_superusers=include_superusers, obj=obj)
        user_model = get_user_model()
        if isinstance(perm, Permission):
            perm, _ = permission_label(perm)
        if not isinstance(perm, str):
            raise TypeError(f"perm: the permission must be a string or a Permission instance (got {perm!r})")
        if is_active is False or not isinstance(obj, Model) or obj.pk is None:
            return user_model._default_manager.none()
        answer = conf.get_client().list_subjects(
            content_type_label(obj),
            object_pk(obj),
            permissions=[perm],
            with_superusers=include_superusers,
            accept_global_perms=conf.accept_global_perms(),
        )
        return user_model._default_manager.filter(pk__in=list(answer.users))
