"""``ObjectPermissionChecker``: guardian's per-request checker, answered by Warden; and
``check_perms``, the same answers for a list of checks in one call.

``prefetch_perms(objects)`` asks Warden for the subject's codenames on every object in one
BatchGetPermissions request (per 10,000 objects) and keeps each object's answer as a bit mask;
``has_perm`` and ``get_perms`` then answer from that cache, and ask Warden for anything not
prefetched (and for a permission that is not a codename of the object's type, so that every
answer is the one Warden's Check gives). As in guardian, answers are cached for the checker's
life: make one per request.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth.models import Permission
from django.db.models import Model, QuerySet

from warden_client import CheckItem, NotFound, PermissionMode, PermissionSets

from . import conf
from .backends import BATCH, _is_active_superuser, batch_decisions, object_check
from .identity import Subject, content_type_label, content_type_of, object_pk, pk_reader, subject_of

_CLASS = operator.attrgetter("__class__")


class CodenameMasks:
    """Objects' codenames as Warden's BatchGetPermissions answers them (guardian's checker
    cache): per content type, each pk's int mask and each codename's bit."""

    __slots__ = ("by_type", "bits", "_lists", "_perm_bits")

    def __init__(self) -> None:
        #: content type -> pk -> mask
        self.by_type: dict[str, dict[str, int]] = {}
        #: content type -> codename -> its bit in that type's masks
        self.bits: dict[str, dict[str, int]] = {}
        self._lists: dict[str, dict[int, list[str]]] = {}
        self._perm_bits: dict[str, dict[str, int | None]] = {}

    def fetch(self, subject: dict[str, str], ct: str, pks: list[str], *, quiet: bool = True) -> None:
        """Asks for the codenames of ``subject`` (``user=``/``group=``) on the objects of type
        ``ct`` with these pks: one request per :data:`BATCH` pks. A type Warden does not know
        raises ``NotFound`` unless ``quiet``."""
        client = conf.get_client()
        agp = conf.accept_global_perms()
        for start in range(0, len(pks), BATCH):
            chunk = pks[start : start + BATCH] if len(pks) > BATCH else pks
            try:
                answer = client.batch_get_permissions(ct, chunk, accept_global_perms=agp, **subject)
            except NotFound:
                if not quiet:
                    raise
                return  # a type Warden does not know: nothing is kept, and Check answers each question
            self.add(ct, answer)

    def add(self, ct: str, answer: PermissionSets) -> None:
        """Keeps an answer's masks. If the type's codenames changed since an earlier answer (a
        registration in between), the earlier masks are dropped: they would read wrong."""
        bits = self.bits.get(ct)
        if bits is None or len(bits) != len(answer.codenames) or any(
            bits.get(name) != bit for bit, name in enumerate(answer.codenames)
        ):
            self.bits[ct] = answer.bits()
            self.by_type[ct] = {}
            self._lists[ct] = {}
            self._perm_bits[ct] = {}
        self.by_type[ct].update(zip(answer.pks, answer.masks))

    def bit(self, ct: str, perm: str) -> int | None:
        """The bit of ``perm`` in the masks of type ``ct`` when it names one of the type's
        codenames (bare, or ``app_label.codename`` of the type's app); else ``None``: only
        Warden's Check answers it (another type's permission: an error; an unknown one: no)."""
        known = self._perm_bits[ct]
        bit = known.get(perm, -1)
        if bit != -1:
            return bit
        head, dot, tail = perm.partition(".")
        codename = head if not dot else tail if ct.split(".", 1)[0] == head else None
        bit = known[perm] = None if codename is None else self.bits[ct].get(codename)
        return bit

    def codenames(self, ct: str, mask: int) -> list[str]:
        """The sorted codenames of a mask of type ``ct``."""
        lists = self._lists[ct]
        names = lists.get(mask)
        if names is None:
            names = lists[mask] = sorted(name for name, bit in self.bits[ct].items() if mask >> bit & 1)
        return names


def pks_of(objects: list[Model] | tuple[Model, ...], read_pk: Callable[[Any], Any] | None = None) -> list[str]:
    """The objects' pks as Warden's strings (``object_pk`` of each, read in one pass).
    ``read_pk``: the objects' one model's :func:`pk_reader`, when the caller knows it."""
    if read_pk is None:
        classes = set(map(_CLASS, objects))
        read_pk = pk_reader(classes.pop()) if len(classes) == 1 else operator.attrgetter("pk")
    raw = list(map(read_pk, objects))
    if None in raw:
        object_pk(objects[raw.index(None)])  # raises, naming the object
    return list(map(str, raw))


def active_subject(user_or_group: Any) -> Subject | None:
    """The subject to ask about, or ``None`` when it holds nothing (inactive user, anonymous
    user without ``WARDEN_ANONYMOUS_USER_ID``)."""
    subject = subject_of(user_or_group)
    if subject is None:
        return None
    if subject.kind == "user" and getattr(user_or_group, "is_authenticated", False):
        if not getattr(user_or_group, "is_active", True):
            return None
    return subject


def codenames_on(user_or_group: Any, obj: Model, mode: PermissionMode, accept_global_perms: bool | None) -> list[str]:
    """Sorted codenames a user or group holds on ``obj`` (Warden's GetPermissions): its own and
    its groups' (``BOTH``), its own (``USER_ONLY``: none for a group, as guardian) or its groups'
    (``GROUPS_ONLY``). An inactive user holds none. ``accept_global_perms``: ``None`` for
    ``WARDEN_ACCEPT_GLOBAL_PERMS``."""
    subject = active_subject(user_or_group)
    if subject is None or (mode is PermissionMode.USER_ONLY and subject.kind == "group"):
        return []
    answer = conf.get_client().get_permissions(
        content_type_label(obj),
        object_pk(obj),
        mode=mode,
        accept_global_perms=conf.accept_global_perms() if accept_global_perms is None else accept_global_perms,
        **subject.kwargs(),
    )
    return list(answer.codenames)


def codename_queryset(obj: Model, codenames: list[str]) -> QuerySet[Any]:
    """guardian's return type for codenames on an object: a QuerySet of codename strings of the
    object's content type."""
    return Permission.objects.filter(content_type=content_type_of(obj), codename__in=codenames).values_list(
        "codename", flat=True
    )


def check_perms(user_or_group: Any, checks: Iterable[tuple[str, Model]]) -> list[bool]:
    """Many ``(perm, obj)`` checks of one user or group: what guardian's ``prefetch_perms``
    followed by ``has_perm`` calls is for. One BatchGetPermissions per content type (per 10,000
    objects) answers every check whose permission is a codename of its object's type; any other
    (another type's or app's permission, an unknown one) goes to Warden's Check in one BatchCheck,
    so each answer is Check's. Inactive users are denied and active superusers allowed without a
    round trip, as by the backend; a check's own error (a permission of another type than its
    object) raises."""
    pairs = checks if isinstance(checks, list) else list(checks)
    if _is_active_superuser(user_or_group):
        return [True] * len(pairs)
    subject = active_subject(user_or_group)
    if subject is None or not pairs:
        return [False] * len(pairs)
    perms, objects = zip(*pairs)
    classes = set(map(_CLASS, objects))
    kwargs = subject.kwargs()
    masks = CodenameMasks()
    if len(classes) == 1:
        # The common call: objects of one model. Their pks are read in one pass and asked for
        # in request order (a repeated pk is answered twice).
        model = classes.pop()
        ct = content_type_label(model)
        pks = pks_of(objects, pk_reader(model))
        cts: list[str] | tuple[str, ...] = (ct,) * len(pks)
        masks.fetch(kwargs, ct, pks)
        table = masks.by_type.get(ct)
        if table is not None and len(set(perms)) == 1:
            bit = masks.bit(ct, perms[0])
            if bit is not None:
                return [table[pk] >> bit & 1 == 1 for pk in pks]
    else:
        known: dict[type, tuple[str, Callable[[Any], Any]]] = {}
        cts, pks = [], []
        by_type: dict[str, dict[str, None]] = {}
        for obj in objects:
            model = obj.__class__
            label_reader = known.get(model)
            if label_reader is None:
                label_reader = known[model] = (content_type_label(model), pk_reader(model))
            pk = label_reader[1](obj)
            if pk is None:
                object_pk(obj)  # raises, naming the object
            pk = str(pk)
            cts.append(label_reader[0])
            pks.append(pk)
            by_type.setdefault(label_reader[0], {})[pk] = None
        for ct, distinct in by_type.items():
            masks.fetch(kwargs, ct, list(distinct))
    answers: list[bool] = []
    rest: list[tuple[int, CheckItem]] = []
    agp = conf.accept_global_perms()
    no_masks: dict[str, int] = {}
    for perm, ct, pk in zip(perms, cts, pks):
        mask = masks.by_type.get(ct, no_masks).get(pk)
        bit = None if mask is None else masks.bit(ct, perm)
        if mask is None or bit is None:
            rest.append((len(answers), CheckItem(perm, content_type=ct, pk=pk, accept_global_perms=agp, **kwargs)))
            answers.append(False)
        else:
            answers.append(bool(mask >> bit & 1))
    if rest:
        for (position, _), decision in zip(rest, batch_decisions([item for _, item in rest])):
            if isinstance(decision, Exception):
                raise decision
            answers[position] = decision.allowed
    return answers


class ObjectPermissionChecker:
    """Checks one user's or group's permissions on objects, caching answers (guardian's API)."""

    def __init__(self, user_or_group: Any = None) -> None:
        """``user_or_group``: a user, ``AnonymousUser`` or ``Group`` instance; anything else
        (nothing included) raises :class:`~warden_client.django.exceptions.NotUserNorGroup`."""
        self.subject = subject_of(user_or_group)
        self.user_or_group = user_or_group
        #: An authenticated user: its ``is_active`` and ``is_superuser`` are read at each call (as
        #: guardian's checker reads them); whether it is authenticated is read once, here (a
        #: user class's ``is_authenticated`` is a constant: True for users, False for
        #: ``AnonymousUser``).
        self._user = (
            self.subject is not None
            and self.subject.kind == "user"
            and bool(getattr(user_or_group, "is_authenticated", False))
        )
        self._cache = CodenameMasks()
        #: model class -> (content type, pk reader)
        self._classes: dict[type, tuple[str, Callable[[Any], Any]]] = {}
        #: perm -> (the model class it was last asked for, its pk reader, the type's masks, the
        #: perm's bit); emptied when the cache may have replaced a type's masks
        self._fast: dict[str, tuple[type, Callable[[Any], Any], dict[str, int], int]] = {}

    def _standing(self) -> int:
        """``_NOTHING`` (an inactive user, an anonymous one without ``WARDEN_ANONYMOUS_USER_ID``),
        ``_SUPERUSER`` (an active superuser) or ``_ASK`` (Warden decides)."""
        if not self._user:
            return _ASK if self.subject is not None else _NOTHING
        obj = self.user_or_group
        if not getattr(obj, "is_active", True):
            return _NOTHING
        return _SUPERUSER if getattr(obj, "is_superuser", False) else _ASK

    def _class(self, model: type) -> tuple[str, Callable[[Any], Any]]:
        known = self._classes.get(model)
        if known is None:
            known = self._classes[model] = (content_type_label(model), pk_reader(model))
        return known

    def _label(self, obj: Model) -> str:
        return self._class(obj.__class__)[0]

    def has_perm(self, perm: str, obj: Model) -> bool:
        """Whether the subject holds ``perm`` (``app_label.codename`` or a codename) on ``obj``."""
        if self._user:  # _standing(), inlined: this is the hot path after a prefetch
            user = self.user_or_group
            if not getattr(user, "is_active", True):
                return False
            if getattr(user, "is_superuser", False):
                return True
        elif self.subject is None:
            return False
        # After a prefetch: one lookup of the perm for the model, pk reader, masks and bit of
        # its last use, then the object's mask.
        fast = self._fast.get(perm)
        if fast is not None and fast[0] is obj.__class__:
            mask = fast[2].get(str(fast[1](obj)))
            if mask is not None:
                return mask >> fast[3] & 1 == 1
            return self._check(perm, obj)
        model = obj.__class__
        ct, read_pk = self._classes.get(model) or self._class(model)
        masks = self._cache.by_type.get(ct)
        if masks is not None:
            bit = self._cache.bit(ct, perm)
            if bit is not None:
                self._fast[perm] = (model, read_pk, masks, bit)
                mask = masks.get(str(read_pk(obj)))
                if mask is not None:
                    return mask >> bit & 1 == 1
        return self._check(perm, obj)

    def _check(self, perm: str, obj: Model) -> bool:
        assert self.subject is not None
        return object_check(perm, self.subject.kwargs(), self._label(obj), object_pk(obj))

    def get_perms(self, obj: Model) -> list[str]:
        """Sorted codenames the subject holds on ``obj``."""
        if self._standing() == _NOTHING:
            return []
        assert self.subject is not None
        ct, pk = self._label(obj), object_pk(obj)
        mask = self._cache.by_type.get(ct, {}).get(pk)
        if mask is None:
            self._cache.fetch(self.subject.kwargs(), ct, [pk], quiet=False)
            self._fast.clear()  # the fetch may have replaced the type's masks
            mask = self._cache.by_type[ct][pk]
        return list(self._cache.codenames(ct, mask))

    def get_user_perms(self, obj: Model) -> QuerySet[Any]:
        """Codenames granted to the user itself on ``obj`` (none for a group or an inactive
        user), as guardian's QuerySet of codename strings. Asked each call, as guardian's."""
        return codename_queryset(obj, codenames_on(self.user_or_group, obj, PermissionMode.USER_ONLY, None))

    def get_group_perms(self, obj: Model) -> QuerySet[Any]:
        """Codenames granted on ``obj`` through the user's groups (or to the group), as guardian's
        QuerySet of codename strings. Asked each call, as guardian's."""
        return codename_queryset(obj, codenames_on(self.user_or_group, obj, PermissionMode.GROUPS_ONLY, None))

    @property
    def _obj_perms_cache(self) -> dict[tuple[str, str], list[str]]:
        """guardian's checker cache, as a read-only copy: :meth:`get_local_cache_key` -> the
        codenames of every object asked or prefetched (code and tests that inspect guardian's
        private cache read its size and contents; writing to it changes nothing)."""
        return {
            (ct, pk): self._cache.codenames(ct, mask)
            for ct, masks in self._cache.by_type.items()
            for pk, mask in masks.items()
        }

    def get_local_cache_key(self, obj: Model) -> tuple[str, str]:
        """The key the checker keeps ``obj``'s answer under: ``(content type label, pk)``
        (guardian: ``(content type id, pk)``)."""
        return self._label(obj), object_pk(obj)

    def prefetch_perms(self, objects: QuerySet[Any] | list[Model]) -> bool:
        """Fetch the subject's codenames on every object of ``objects`` (one type) at once: one
        BatchGetPermissions request per 10,000 objects."""
        if self._standing() == _NOTHING:
            return False
        if isinstance(objects, QuerySet):
            ct = content_type_label(objects.model)
            pks = [str(pk) for pk in objects.values_list("pk", flat=True)]
        else:
            objects = list(objects)
            if not objects:
                return True
            ct = self._label(objects[0])
            pks = pks_of(objects)
        assert self.subject is not None
        self._cache.fetch(self.subject.kwargs(), ct, pks)
        self._fast.clear()  # the fetch may have replaced the type's masks
        return True


_NOTHING, _SUPERUSER, _ASK = 0, 1, 2
