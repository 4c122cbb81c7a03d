"""``ObjectPermissionChecker``: guardian's per-request checker, answered by Warden.

``prefetch_perms(objects)`` asks every codename of the objects' type for every object in
BatchCheck calls (one round trip per 10,000 decisions) and keeps the answers; ``has_perm`` and
``get_perms`` then answer from that cache, and ask Warden for anything not prefetched. As in
guardian, answers are cached for the checker's life: make one per request.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet

from warden_client import CheckItem

from . import conf
from .backends import batch_decisions
from .identity import content_type_label, object_pk, subject_of

_CodenameCache = dict[tuple[str, str], set[str]]


class ObjectPermissionChecker:
    """Checks one user's or group's permissions on objects, caching answers (guardian's API)."""

    def __init__(self, user_or_group: Any) -> None:
        """``user_or_group``: a user, ``AnonymousUser`` or ``Group`` instance."""
        self.subject = subject_of(user_or_group)
        self.user_or_group = user_or_group
        self._is_user = self.subject is not None and self.subject.kind == "user"
        self._cache: _CodenameCache = {}

    def _holds_nothing(self) -> bool:
        if self.subject is None:
            return True
        obj = self.user_or_group
        return self._is_user and getattr(obj, "is_authenticated", False) and not getattr(obj, "is_active", True)

    def _is_superuser(self) -> bool:
        obj = self.user_or_group
        return (
            self._is_user
            and getattr(obj, "is_authenticated", False)
            and getattr(obj, "is_active", True)
            and getattr(obj, "is_superuser", False)
        )

    def has_perm(self, perm: str, obj: Model) -> bool:
        """Whether the subject holds ``perm`` (``app_label.codename`` or a codename) on ``obj``."""
        if self._holds_nothing():
            return False
        if self._is_superuser():
            return True
        key = (content_type_label(obj), object_pk(obj))
        if key in self._cache:
            codename = perm.split(".", 1)[1] if "." in perm else perm
            if "." in perm and perm.split(".", 1)[0] != key[0].split(".", 1)[0]:
                return self._check(perm, obj)
            return codename in self._cache[key]
        return self._check(perm, obj)

    def _check(self, perm: str, obj: Model) -> bool:
        assert self.subject is not None
        return (
            conf.get_client()
            .check(
                perm,
                content_type=content_type_label(obj),
                pk=object_pk(obj),
                accept_global_perms=conf.accept_global_perms(),
                **self.subject.kwargs(),
            )
            .allowed
        )

    def get_perms(self, obj: Model) -> list[str]:
        """Sorted codenames the subject holds on ``obj``."""
        if self._holds_nothing():
            return []
        key = (content_type_label(obj), object_pk(obj))
        if key not in self._cache:
            assert self.subject is not None
            answer = conf.get_client().get_permissions(
                key[0], key[1], accept_global_perms=conf.accept_global_perms(), **self.subject.kwargs()
            )
            self._cache[key] = set(answer.codenames)
        return sorted(self._cache[key])

    def prefetch_perms(self, objects: QuerySet[Any] | list[Model]) -> bool:
        """Fetch the subject's codenames on every object of ``objects`` (one type) at once."""
        if self._holds_nothing():
            return False
        if isinstance(objects, QuerySet):
            ct = content_type_label(objects.model)
            pks = [str(pk) for pk in objects.values_list("pk", flat=True)]
        else:
            objects = list(objects)
            if not objects:
                return True
            ct = content_type_label(objects[0])
            pks = [object_pk(obj) for obj in objects]
        from .catalog import permission_universe

        codenames = [perm.split(".", 1)[1] for perm, t in permission_universe() if t == ct]
        assert self.subject is not None
        agp = conf.accept_global_perms()
        items = [
            CheckItem(codename, content_type=ct, pk=pk, accept_global_perms=agp, **self.subject.kwargs())
            for pk in pks
            for codename in codenames
        ]
        decisions = batch_decisions(items)
        for pk in pks:
            self._cache[(ct, pk)] = set()
        for item, decision in zip(items, decisions):
            if getattr(decision, "allowed", False):
                self._cache[(ct, str(item.pk))].add(item.permission)
        return True
