"""``ObjectPermissionChecker``: guardian's per-request checker, answered by Warden.

``prefetch_perms(objects)`` asks Warden for the subject's codenames on every object in one
BatchGetPermissions request (per 10,000 objects) and keeps each object's answer as a bit mask;
``has_perm`` and ``get_perms`` then answer from that cache, and ask Warden for anything not
prefetched (and for a permission that is not a codename of the object's type, so that every
answer is the one Warden's Check gives). As in guardian, answers are cached for the checker's
life: make one per request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Model, QuerySet

from warden_client import PermissionSets

from . import conf
from .backends import BATCH
from .identity import content_type_label, object_pk, subject_of


class CodenameMasks:
    """Objects' codenames as Warden's BatchGetPermissions answers them: one int mask per
    ``(content type, pk)``, and per content type each codename's bit (guardian's checker cache)."""

    __slots__ = ("masks", "bits", "_lists", "_perm_bits")

    def __init__(self) -> None:
        self.masks: dict[tuple[str, str], int] = {}
        self.bits: dict[str, dict[str, int]] = {}
        self._lists: dict[tuple[str, int], list[str]] = {}
        self._perm_bits: dict[tuple[str, str], int | None] = {}

    def fetch(self, subject: dict[str, str], ct: str, pks: Iterable[str]) -> None:
        """Asks for the codenames of ``subject`` (``user=``/``group=``) on the objects of type
        ``ct`` with these pks: one request per :data:`BATCH` pks."""
        client = conf.get_client()
        agp = conf.accept_global_perms()
        pk_list = list(pks)
        for start in range(0, len(pk_list), BATCH):
            chunk = pk_list[start : start + BATCH]
            self.add(ct, client.batch_get_permissions(ct, chunk, accept_global_perms=agp, **subject))

    def add(self, ct: str, answer: PermissionSets) -> None:
        self.bits[ct] = answer.bits()
        self.masks.update(zip([(ct, pk) for pk in answer.pks], answer.masks))

    def bit(self, ct: str, perm: str) -> int | None:
        """The bit of ``perm`` in the masks of type ``ct`` when it names one of the type's
        codenames (bare, or ``app_label.codename`` of the type's app); else ``None``: only
        Warden's Check answers it (another type's permission: an error; an unknown one: no)."""
        key = (ct, perm)
        if key in self._perm_bits:
            return self._perm_bits[key]
        head, dot, tail = perm.partition(".")
        codename = head if not dot else tail if ct.split(".", 1)[0] == head else None
        bit = None if codename is None else self.bits[ct].get(codename)
        self._perm_bits[key] = bit
        return bit

    def codenames(self, ct: str, mask: int) -> list[str]:
        """The sorted codenames of a mask of type ``ct``."""
        names = self._lists.get((ct, mask))
        if names is None:
            names = self._lists[(ct, mask)] = sorted(name for name, bit in self.bits[ct].items() if mask >> bit & 1)
        return names


class ObjectPermissionChecker:
    """Checks one user's or group's permissions on objects, caching answers (guardian's API)."""

    def __init__(self, user_or_group: Any) -> None:
        """``user_or_group``: a user, ``AnonymousUser`` or ``Group`` instance."""
        self.subject = subject_of(user_or_group)
        self.user_or_group = user_or_group
        self._is_user = self.subject is not None and self.subject.kind == "user"
        self._cache = CodenameMasks()
        self._labels: dict[type, str] = {}

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

    def _label(self, obj: Model) -> str:
        label = self._labels.get(obj.__class__)
        if label is None:
            label = self._labels[obj.__class__] = content_type_label(obj)
        return label

    def has_perm(self, perm: str, obj: Model) -> bool:
        """Whether the subject holds ``perm`` (``app_label.codename`` or a codename) on ``obj``."""
        if self._holds_nothing():
            return False
        if self._is_superuser():
            return True
        ct = self._label(obj)
        mask = self._cache.masks.get((ct, object_pk(obj)))
        bit = None if mask is None else self._cache.bit(ct, perm)
        if mask is None or bit is None:
            return self._check(perm, obj)
        return bool(mask >> bit & 1)

    def _check(self, perm: str, obj: Model) -> bool:
        assert self.subject is not None
        return (
            conf.get_client()
            .check(
                perm,
                content_type=self._label(obj),
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
        assert self.subject is not None
        ct, pk = self._label(obj), object_pk(obj)
        mask = self._cache.masks.get((ct, pk))
        if mask is None:
            self._cache.fetch(self.subject.kwargs(), ct, [pk])
            mask = self._cache.masks[(ct, pk)]
        return list(self._cache.codenames(ct, mask))

    def prefetch_perms(self, objects: QuerySet[Any] | list[Model]) -> bool:
        """Fetch the subject's codenames on every object of ``objects`` (one type) at once: one
        BatchGetPermissions request per 10,000 objects."""
        if self._holds_nothing():
            return False
        if isinstance(objects, QuerySet):
            ct = content_type_label(objects.model)
            pks = [str(pk) for pk in objects.values_list("pk", flat=True)]
        else:
            objects = list(objects)
            if not objects:
                return True
            ct = self._label(objects[0])
            pks = [object_pk(obj) for obj in objects]
        assert self.subject is not None
        self._cache.fetch(self.subject.kwargs(), ct, pks)
        return True
