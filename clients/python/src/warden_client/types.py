"""The values a Warden call takes and returns: inputs (:class:`Grant`, :class:`CheckItem`),
results (frozen dataclasses) and the enums of the protocol (their values are the proto's)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    from .errors import WardenError

__all__ = [
    "Reason",
    "EventKind",
    "PermissionMode",
    "Grant",
    "CheckItem",
    "Decision",
    "CheckResult",
    "BatchCheckResult",
    "ObjectPage",
    "ObjectList",
    "SubjectList",
    "PermissionList",
    "PermissionSets",
    "WriteResult",
    "BulkResult",
    "WriteBatchResult",
    "HealthResult",
]


class Reason(IntEnum):
    """Why a decision came out as it did (``docs/semantics.md`` has the full order)."""

    #: Not set (never in a decision the server sends).
    REASON_UNSPECIFIED = 0
    #: The user (or group) is not registered. Deny.
    UNKNOWN_USER = 1
    #: The user has ``is_active = False``. Deny, even for a superuser.
    INACTIVE_USER = 2
    #: The user is an active superuser. Allow, even for a permission that does not exist.
    SUPERUSER = 3
    #: The permission is not registered (for the request's content type). Deny.
    UNKNOWN_PERMISSION = 4
    #: The user holds the permission on this object. Allow.
    OBJECT_GRANT_USER = 5
    #: One of the user's groups holds the permission on this object. Allow; ``group`` names it.
    OBJECT_GRANT_GROUP = 6
    #: The user holds the permission model-wide. Allow.
    MODEL_GRANT_USER = 7
    #: One of the user's groups holds the permission model-wide. Allow; ``group`` names it.
    MODEL_GRANT_GROUP = 8
    #: Nothing grants it. Deny.
    NO_GRANT = 9


class EventKind(IntEnum):
    """The kinds of change event a Watch delivers (``events.proto``)."""

    #: Not set.
    EVENT_KIND_UNSPECIFIED = 0
    #: A grant was added (to a user, or an object grant to a group).
    GRANT_ADDED = 1
    #: A grant was removed.
    GRANT_REMOVED = 2
    #: A model-level permission was given to a group (a role).
    ROLE_PERMISSION_ADDED = 3
    #: A model-level permission was taken from a group.
    ROLE_PERMISSION_REMOVED = 4
    #: A role permission change failed (``failure``: invalid_type, already_exists, not_found).
    ROLE_PERMISSION_OPERATION_FAILED = 5
    #: A user was created or changed.
    USER_PUT = 6
    #: A user was deleted, with its memberships and grants.
    USER_DELETED = 7
    #: A group was created.
    GROUP_PUT = 8
    #: A group was deleted, with its memberships and grants.
    GROUP_DELETED = 9
    #: A user joined a group.
    MEMBER_ADDED = 10
    #: A user left a group.
    MEMBER_REMOVED = 11
    #: Every grant on an object was removed.
    OBJECT_DELETED = 12
    #: PruneOrphans removed grants on objects the app no longer has (``count``).
    ORPHANS_PRUNED = 13
    #: A content type and its permissions were registered.
    CONTENT_TYPE_REGISTERED = 14
    #: A write was refused for its actor (no self-escalation).
    WRITE_REFUSED = 15
    #: A BulkGrant committed (``count`` rows); no per-row events.
    BULK_GRANTED = 16
    #: A BulkRevoke committed (``count`` rows); no per-row events.
    BULK_REVOKED = 17
    #: An audited check (opt-in with ``audit_checks``; never persisted).
    PERMISSION_CHECKED = 18


class PermissionMode(IntEnum):
    """Which grants ``get_permissions`` counts."""

    #: The subject's own and its groups' (guardian's ``get_perms``); a superuser gets every codename.
    BOTH = 0
    #: The user's own grants only (``get_user_perms``).
    USER_ONLY = 1
    #: Grants through the user's groups only (``get_group_perms``).
    GROUPS_ONLY = 2


@dataclass(frozen=True, slots=True)
class Grant:
    """A permission held by a user or a group: model-level (no ``pk``) or on one object.

    ``permission`` is ``app_label.codename``, or a bare codename resolved by ``content_type``.
    Exactly one of ``user`` and ``group`` names the subject. ``user`` and ``pk`` may be ints.
    """

    permission: str
    user: str | int | None = None
    group: str | None = None
    content_type: str | None = None
    pk: str | int | None = None

    def __post_init__(self) -> None:
        if (self.user is None) == (self.group is None):
            raise ValueError(f"Grant({self.permission!r}): give exactly one of user= and group=")


@dataclass(frozen=True, slots=True)
class CheckItem:
    """One check of a :meth:`~warden_client.Client.batch_check`: the arguments of ``check``
    without ``min_revision``. Neither ``user`` nor ``group``: the server's anonymous user."""

    permission: str
    user: str | int | None = None
    group: str | None = None
    content_type: str | None = None
    pk: str | int | None = None
    accept_global_perms: bool | None = None

    def __post_init__(self) -> None:
        if self.user is not None and self.group is not None:
            raise ValueError(f"CheckItem({self.permission!r}): give user= or group=, not both")


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one check; truthy when allowed."""

    allowed: bool
    reason: Reason
    #: The granting group, for ``OBJECT_GRANT_GROUP`` and ``MODEL_GRANT_GROUP``; else ``None``.
    group: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The answer to ``check``: the decision and the revision it was evaluated at; truthy when
    allowed."""

    allowed: bool
    reason: Reason
    group: str | None
    revision: int

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def decision(self) -> Decision:
        """The decision without the revision."""
        return Decision(self.allowed, self.reason, self.group)


@dataclass(frozen=True, slots=True)
class BatchCheckResult(Sequence["Decision | WardenError"]):
    """The answer to ``batch_check``: one result per item, in item order, all evaluated at
    ``revision``. An item's own error is a :class:`~warden_client.WardenError` in its place
    (not raised): one bad item never fails the others."""

    results: list[Decision | WardenError]
    revision: int

    @overload
    def __getitem__(self, index: int) -> Decision | WardenError: ...
    @overload
    def __getitem__(self, index: slice) -> list[Decision | WardenError]: ...
    def __getitem__(self, index: int | slice) -> Decision | WardenError | list[Decision | WardenError]:
        return self.results[index]

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[Decision | WardenError]:
        return iter(self.results)

    @property
    def allowed(self) -> list[bool]:
        """Whether each item is allowed (``False`` for an item that failed)."""
        return [isinstance(r, Decision) and r.allowed for r in self.results]


class _PackedPks:
    """``pks`` made from ``packed`` (the pks joined by NUL: Warden's packed form, decoded) when
    first read. 50,000 pks cost ~2.5 ms of Python strings; a caller that can use the text
    itself (the Django integration's SQL filter of integer pks) reads ``packed`` and never
    pays it."""

    __slots__ = ()
    packed: str
    _pks: list[str] | None

    @property
    def pks(self) -> list[str]:
        """The pks, in object order (made on first use, then kept)."""
        pks = self._pks
        if pks is None:
            pks = self.packed.split("\0") if self.packed else []
            object.__setattr__(self, "_pks", pks)
        return pks


@dataclass(frozen=True, slots=True)
class ObjectPage(_PackedPks):
    """One page of ``list_objects``. ``unrestricted``: every object of the type qualifies,
    ``reason`` says why (superuser, model grant), and ``pks`` is empty."""

    unrestricted: bool
    reason: Decision | None
    #: The page's pks joined by NUL (``""``: none); ``pks`` is the list.
    packed: str
    #: Pass it as ``page_token`` for the next page; ``""`` on the last page.
    next_page_token: str
    revision: int
    #: The content type listed, ``app_label.model``: the one asked for, or the one the
    #: permissions name; says which type an ``unrestricted`` page covers (``""`` from a server
    #: that predates the field).
    content_type: str = ""
    _pks: list[str] | None = field(default=None, init=False, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ObjectList(_PackedPks):
    """Every page of ``list_objects``: ``unrestricted`` (with ``reason``), else every pk, in
    object order. ``revision`` is the first page's; later pages were read at least at it."""

    unrestricted: bool
    reason: Decision | None
    #: Every pk joined by NUL (``""``: none); ``pks`` is the list.
    packed: str
    revision: int
    #: The content type listed, ``app_label.model`` (see :attr:`ObjectPage.content_type`).
    content_type: str = ""
    _pks: list[str] | None = field(default=None, init=False, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class SubjectList:
    """The answer to ``list_subjects``: users and groups with access to the object, each mapped
    to its sorted codenames on it (filled with ``attach_perms``, else empty lists). Users come in
    object order of their ids, groups by name in byte order."""

    users: dict[str, list[str]]
    groups: dict[str, list[str]]
    revision: int


@dataclass(frozen=True, slots=True)
class PermissionList:
    """The answer to ``get_permissions``: sorted, distinct codenames; iterable, supports ``in``."""

    codenames: list[str]
    revision: int

    def __iter__(self) -> Iterator[str]:
        return iter(self.codenames)

    def __contains__(self, codename: object) -> bool:
        return codename in self.codenames

    def __len__(self) -> int:
        return len(self.codenames)


@dataclass(frozen=True, slots=True)
class PermissionSets(Sequence[list[str]]):
    """The answer to ``batch_get_permissions``: for each requested pk, in request order, the
    codenames ``get_permissions`` answers for that object, all at ``revision``.

    ``codenames`` is every codename of the content type, sorted; ``masks[i]`` is the mask of
    ``pks[i]``: bit ``b`` is set when the subject holds ``codenames[b]`` on it. Indexing gives an
    object's sorted codenames; :meth:`as_dict` maps each pk to them; :meth:`bits` maps each
    codename to its bit, for ``mask >> bit & 1`` tests without building lists."""

    codenames: list[str]
    pks: list[str]
    masks: list[int]
    revision: int

    def _names(self, mask: int) -> list[str]:
        return [name for bit, name in enumerate(self.codenames) if mask >> bit & 1]

    @overload
    def __getitem__(self, index: int) -> list[str]: ...
    @overload
    def __getitem__(self, index: slice) -> list[list[str]]: ...
    def __getitem__(self, index: int | slice) -> list[str] | list[list[str]]:
        if isinstance(index, slice):
            return [self._names(mask) for mask in self.masks[index]]
        return self._names(self.masks[index])

    def __len__(self) -> int:
        return len(self.masks)

    def bits(self) -> dict[str, int]:
        """Each codename's bit in the masks."""
        return {name: bit for bit, name in enumerate(self.codenames)}

    def as_dict(self) -> dict[str, list[str]]:
        """Each requested pk's sorted codenames (a repeated pk once)."""
        lists: dict[int, list[str]] = {}
        out: dict[str, list[str]] = {}
        for pk, mask in zip(self.pks, self.masks):
            names = lists.get(mask)
            if names is None:
                names = lists[mask] = self._names(mask)
            out[pk] = names
        return out


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The reply of a single write: the revision it committed at (the current one when it changed
    nothing) and whether the permission state changed."""

    revision: int
    changed: bool


@dataclass(frozen=True, slots=True)
class BulkResult:
    """The reply of ``bulk_grant``, ``bulk_revoke`` and ``prune_orphans``: the revision of the
    summary event, rows changed (``count``) and rows asked for (``requested``)."""

    revision: int
    count: int
    requested: int


@dataclass(frozen=True, slots=True)
class WriteBatchResult:
    """The reply of ``write_batch``: the revision of the last committed record and how many
    records changed the state."""

    revision: int
    changed: int


@dataclass(frozen=True, slots=True)
class HealthResult:
    """The reply of ``health``: ``"SERVING"`` and the index's revision."""

    status: str
    revision: int
