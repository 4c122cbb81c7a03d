"""Warden's RPCs, once for both clients: each function here has the signature and the docstring
of the client method of the same name, builds the request, and says how to read the reply.
``Client`` and ``AsyncClient`` only carry the result over their connections. This module holds
the shared helpers, the reads and the service calls; the writes are in ``_write_calls``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar, cast

from google.protobuf.message import Message

from ._check_codec import batch_check_request, batch_check_response, check_request, check_response
from ._chunks import text
from ._proto import common_pb2, events_pb2, reads_pb2, service_pb2, writes_pb2
from .errors import InternalError
from .types import (
    BatchCheckResult,
    BulkResult,
    CheckItem,
    CheckResult,
    Decision,
    EventKind,
    HealthResult,
    ObjectList,
    ObjectPage,
    PermissionList,
    PermissionMode,
    PermissionSets,
    Reason,
    SubjectList,
    WriteBatchResult,
    WriteResult,
)

from ._call_types import ClientStream, ServerStream, Unary

T = TypeVar("T")
P = ParamSpec("P")
M = TypeVar("M", bound=Message)


_REASONS = {reason.value: reason for reason in Reason}


def _decision(message: common_pb2.Decision) -> Decision:
    return Decision(message.allowed, _REASONS.get(message.reason, Reason.REASON_UNSPECIFIED), message.group or None)


def _object_page(body: bytes) -> ObjectPage:
    response = reads_pb2.ListObjectsResponse.FromString(body)
    reason = _decision(response.unrestricted_reason) if response.unrestricted else None
    # The client asks for packed pks (split only when `pks` is read); a server that predates
    # them answers `pks`.
    packed = response.packed_pks.decode() if response.packed_pks else "\0".join(response.pks)
    return ObjectPage(
        response.unrestricted, reason, packed, response.next_page_token, response.revision, response.content_type
    )


def _subject_list(body: bytes) -> SubjectList:
    response = reads_pb2.ListSubjectsResponse.FromString(body)
    return SubjectList(
        {access.name: list(access.permissions) for access in response.users},
        {access.name: list(access.permissions) for access in response.groups},
        response.revision,
    )


def _permission_list(body: bytes) -> PermissionList:
    response = reads_pb2.GetPermissionsResponse.FromString(body)
    return PermissionList(list(response.codenames), response.revision)


def _permission_sets(pks: list[str]) -> Callable[[bytes], PermissionSets]:
    def decode(body: bytes) -> PermissionSets:
        response = reads_pb2.BatchGetPermissionsResponse.FromString(body)
        codenames = list(response.codenames)
        data = response.masks
        width = (len(codenames) + 7) // 8
        if len(data) != width * len(pks):
            raise InternalError(f"masks: {len(data)} bytes for {len(pks)} pks of {len(codenames)} codenames")
        if width == 1:
            masks = list(data)
        elif width == 0:
            masks = [0] * len(pks)
        else:
            masks = [int.from_bytes(data[start : start + width], "little") for start in range(0, len(data), width)]
        return PermissionSets(codenames, pks, masks, response.revision)

    return decode


def _write_result(body: bytes) -> WriteResult:
    response = writes_pb2.WriteResponse.FromString(body)
    return WriteResult(response.revision, response.changed)


def bulk_result(body: bytes) -> BulkResult:
    """A ``BulkResponse`` body as a :class:`BulkResult`."""
    response = writes_pb2.BulkResponse.FromString(body)
    return BulkResult(response.revision, response.count, response.requested)


def _write_batch_result(body: bytes) -> WriteBatchResult:
    response = writes_pb2.WriteBatchResponse.FromString(body)
    return WriteBatchResult(response.revision, response.changed)


def _health_result(body: bytes) -> HealthResult:
    response = service_pb2.HealthResponse.FromString(body)
    return HealthResult(response.status, response.revision)


# Building requests -------------------------------------------------------------------------------


def _subject(user: str | int | None, group: str | None) -> common_pb2.Subject | None:
    if user is not None:
        if group is not None:
            raise ValueError("subject: give user= or group=, not both")
        return common_pb2.Subject(user=text(user, "user"))
    if group is not None:
        return common_pb2.Subject(group=group)
    return None


def _set_subject(
    request: reads_pb2.ListObjectsRequest | reads_pb2.GetPermissionsRequest | reads_pb2.BatchGetPermissionsRequest,
    user: str | int | None,
    group: str | None,
) -> None:
    """Sets the request's subject; neither ``user`` nor ``group``: none (the anonymous user)."""
    subject = _subject(user, group)
    if subject is not None:
        request.subject.CopyFrom(subject)


def _object(content_type: str, pk: str | int) -> common_pb2.ObjectRef:
    return common_pb2.ObjectRef(content_type=content_type, pk=text(pk, "pk"))


def _actor(actor: str | int | None) -> str:
    return "" if actor is None else text(actor, "actor")


def _strings(values: str | Iterable[str]) -> list[str]:
    return [values] if isinstance(values, str) else list(values)


def _set_optional(message: Message, **fields: Any) -> None:
    for name, value in fields.items():
        if value is not None:
            setattr(message, name, value)


C = TypeVar("C", bound="Unary[Any] | ClientStream")


def _same_as(build: Callable[P, C], method: int, name: str, doc: str) -> Callable[P, C]:
    """Another RPC with ``build``'s arguments and request message, under another method id
    (Revoke is Grant's request on method 17)."""

    def call(*args: P.args, **kwargs: P.kwargs) -> C:
        request = build(*args, **kwargs)
        request.method = method
        return request

    functools.update_wrapper(call, build)
    del call.__wrapped__  # type: ignore[attr-defined]
    call.__signature__ = inspect.signature(build)  # type: ignore[attr-defined]
    call.__name__ = call.__qualname__ = name
    call.__doc__ = doc
    return call


def check(
    permission: str,
    *,
    user: str | int | None = None,
    group: str | None = None,
    content_type: str | None = None,
    pk: str | int | None = None,
    accept_global_perms: bool | None = None,
    min_revision: int = 0,
    timeout: float | None = None,
) -> Unary[CheckResult]:
    """Check: may ``user`` (or ``group``; neither: the server's anonymous user) use
    ``permission`` on the object ``(content_type, pk)``, or model-wide without ``pk``?

    ``permission`` is ``app_label.codename`` or a bare codename resolved by ``content_type``.
    ``accept_global_perms``: whether model grants imply object access (``None``: the server's
    setting, default true). Returns a :class:`CheckResult` (truthy when allowed)."""
    request = check_request(permission, user, group, content_type, pk, accept_global_perms, min_revision)
    return Unary(service_pb2.CHECK, request, check_response, timeout)


def batch_check(
    items: Iterable[CheckItem | reads_pb2.CheckItem], *, min_revision: int = 0, timeout: float | None = None
) -> Unary[BatchCheckResult]:
    """BatchCheck: many checks at one revision (at most the server's 10,000 items). Returns a
    :class:`BatchCheckResult`: a decision per item in order, or that item's own error (a
    :class:`WardenError` in its place, not raised)."""
    request = batch_check_request(items, min_revision)
    return Unary(service_pb2.BATCH_CHECK, request, batch_check_response, timeout)


def list_objects(
    permissions: str | Iterable[str] = (),
    *,
    user: str | int | None = None,
    group: str | None = None,
    content_type: str | None = None,
    any_perm: bool = False,
    use_groups: bool | None = None,
    with_superuser: bool | None = None,
    accept_global_perms: bool | None = None,
    page_size: int | None = None,
    page_token: str = "",
    min_revision: int = 0,
    timeout: float | None = None,
) -> Unary[ObjectPage]:
    """ListObjects, one page: the objects of ``content_type`` on which ``user`` (or ``group``)
    holds all of ``permissions`` (any one with ``any_perm``; none given: any permission of the
    type) — guardian's ``get_objects_for_user``. ``use_groups``, ``with_superuser`` and
    ``accept_global_perms`` default (``None``) to true / the server's setting. ``page_size``:
    1..100,000 (``None``: 1000). Returns an :class:`ObjectPage`: ``unrestricted`` (every object,
    with the reason) or pks, ``next_page_token`` while more remain, and ``content_type``, the
    type listed (the one the permissions name when ``content_type`` is not given)."""
    request = reads_pb2.ListObjectsRequest(
        permissions=_strings(permissions),
        content_type=content_type or "",
        any_perm=any_perm,
        page_token=page_token,
        min_revision=min_revision,
        packed_pks=True,
    )
    _set_subject(request, user, group)
    _set_optional(
        request,
        use_groups=use_groups,
        with_superuser=with_superuser,
        accept_global_perms=accept_global_perms,
        page_size=page_size,
    )
    return Unary(service_pb2.LIST_OBJECTS, request, _object_page, timeout)


def next_page(call: Unary[ObjectPage], page: ObjectPage) -> Unary[ObjectPage] | None:
    """The request for the page after ``page`` (at least at its revision), or ``None`` after the
    last one."""
    if page.unrestricted or not page.next_page_token:
        return None
    request = reads_pb2.ListObjectsRequest()
    assert isinstance(call.message, reads_pb2.ListObjectsRequest)
    request.CopyFrom(call.message)
    request.page_token = page.next_page_token
    request.min_revision = max(request.min_revision, page.revision)
    return Unary(call.method, request, call.decode, call.timeout)


def object_list(pages: list[ObjectPage]) -> ObjectList:
    """The pages of one listing as one :class:`ObjectList`."""
    first = pages[0]
    if first.unrestricted:
        return ObjectList(True, first.reason, "", first.revision, first.content_type)
    packed = first.packed if len(pages) == 1 else "\0".join(page.packed for page in pages if page.packed)
    return ObjectList(False, None, packed, first.revision, first.content_type)


LIST_ALL_OBJECTS_DOC = """Every page of ``list_objects`` (same arguments; ``page_token`` resumes
a listing), each page read at least at the revision of the page before. Returns an
:class:`ObjectList`: ``unrestricted`` with its reason, or every pk in object order."""

ITER_OBJECT_PAGES_DOC = """The pages of ``list_objects`` (same arguments), fetched one by one as
they are iterated, each read at least at the revision of the page before; stops after the last
page (or the one unrestricted page)."""


def list_subjects(
    content_type: str,
    pk: str | int,
    *,
    permissions: str | Iterable[str] = (),
    with_superusers: bool = False,
    with_group_users: bool | None = None,
    attach_perms: bool = False,
    accept_global_perms: bool | None = None,
    min_revision: int = 0,
    timeout: float | None = None,
) -> Unary[SubjectList]:
    """ListSubjects: the users and groups with access to the object — guardian's
    ``get_users_with_perms`` and ``get_groups_with_perms``. ``permissions`` keeps subjects holding
    any one of them (none given: any). ``with_group_users`` (``None``: true) counts grants users
    hold through their groups. Returns a :class:`SubjectList` (codenames filled with
    ``attach_perms``)."""
    request = reads_pb2.ListSubjectsRequest(
        object=_object(content_type, pk),
        permissions=_strings(permissions),
        with_superusers=with_superusers,
        attach_perms=attach_perms,
        min_revision=min_revision,
    )
    _set_optional(request, with_group_users=with_group_users, accept_global_perms=accept_global_perms)
    return Unary(service_pb2.LIST_SUBJECTS, request, _subject_list, timeout)


def get_permissions(
    content_type: str,
    pk: str | int,
    *,
    user: str | int | None = None,
    group: str | None = None,
    mode: PermissionMode = PermissionMode.BOTH,
    accept_global_perms: bool | None = None,
    min_revision: int = 0,
    timeout: float | None = None,
) -> Unary[PermissionList]:
    """GetPermissions: the codenames ``user`` (or ``group``) holds on the object — guardian's
    ``get_perms`` (``mode=BOTH``), ``get_user_perms`` (``USER_ONLY``), ``get_group_perms``
    (``GROUPS_ONLY``). Returns a :class:`PermissionList` (sorted, distinct)."""
    request = reads_pb2.GetPermissionsRequest(
        object=_object(content_type, pk), mode=cast(Any, int(mode)), min_revision=min_revision
    )
    _set_subject(request, user, group)
    _set_optional(request, accept_global_perms=accept_global_perms)
    return Unary(service_pb2.GET_PERMISSIONS, request, _permission_list, timeout)


def batch_get_permissions(
    content_type: str,
    pks: Iterable[str | int],
    *,
    user: str | int | None = None,
    group: str | None = None,
    mode: PermissionMode = PermissionMode.BOTH,
    accept_global_perms: bool | None = None,
    min_revision: int = 0,
    timeout: float | None = None,
) -> Unary[PermissionSets]:
    """BatchGetPermissions: ``get_permissions`` for many objects of one ``content_type`` in one
    request, at one revision — what guardian's ``ObjectPermissionChecker.prefetch_perms`` needs.
    At most the server's max batch size (10,000) pks. Returns a :class:`PermissionSets`: each
    object's codenames, as masks over the type's codenames."""
    pk_list = [pk if pk.__class__ is str else text(pk, "pks") for pk in pks]
    request = reads_pb2.BatchGetPermissionsRequest(
        content_type=content_type, pks=pk_list, mode=cast(Any, int(mode)), min_revision=min_revision
    )
    _set_subject(request, user, group)
    _set_optional(request, accept_global_perms=accept_global_perms)
    return Unary(service_pb2.BATCH_GET_PERMISSIONS, request, _permission_sets(pk_list), timeout)


def health(*, timeout: float | None = None) -> Unary[HealthResult]:
    """Health: ``"SERVING"`` and the index's revision. Returns a :class:`HealthResult`."""
    return Unary(service_pb2.HEALTH, service_pb2.HealthRequest(), _health_result, timeout)


def stats(*, timeout: float | None = None) -> Unary[service_pb2.StatsResponse]:
    """Stats: what the server holds and has served (counts, connections, watchers, per-method
    requests and errors, Prometheus text). Returns the ``warden.v1.StatsResponse`` message."""
    return Unary(service_pb2.STATS, service_pb2.StatsRequest(), service_pb2.StatsResponse.FromString, timeout)


def watch(
    after_revision: int | None = None,
    *,
    kinds: Iterable[EventKind | int] = (),
    content_types: Iterable[str] = (),
    audit_checks: bool = False,
    audit_sample_rate: float = 0.0,
) -> ServerStream[events_pb2.WatchResponse]:
    """Watch: change events after ``after_revision`` (``None``: from now), oldest first, then
    live ones as they commit, on a connection of its own. ``kinds`` and ``content_types`` filter
    (empty: all); ``audit_checks`` adds sampled ``PERMISSION_CHECKED`` events. Iterating yields
    ``warden.v1.Event`` messages; a pruned ``after_revision`` raises :class:`OutOfRange` with
    ``oldest_retained_revision``. Closing the watch cancels it on the server."""
    request = events_pb2.WatchRequest(
        kinds=cast(Any, [int(kind) for kind in kinds]),
        content_types=_strings(content_types),
        audit_checks=audit_checks,
        audit_sample_rate=audit_sample_rate,
    )
    _set_optional(request, after_revision=after_revision)
    return ServerStream(service_pb2.WATCH, request, events_pb2.WatchResponse, ends_with_data=False)


def export(*, chunk_size: int = 0) -> ServerStream[service_pb2.ExportResponse]:
    """Export: the whole state at one revision — content types, users, groups, memberships, then
    grants — as ``warden.v1.Record`` messages, ``chunk_size`` per frame (0: the server's 10,000),
    on a connection of its own. ``revision`` is known once the first chunk arrived."""
    request = service_pb2.ExportRequest(chunk_size=chunk_size)
    return ServerStream(service_pb2.EXPORT, request, service_pb2.ExportResponse, ends_with_data=True)
