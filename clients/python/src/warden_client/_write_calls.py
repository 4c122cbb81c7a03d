"""Warden's write RPCs, once for both clients (the reads, the service calls and the shared
helpers are in ``_calls``): each function has the signature and the docstring of the client
method of the same name, builds the request, and says how to read the reply."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable

from . import _chunks
from ._call_types import ClientStream, Unary
from ._calls import (
    _actor,
    _object,
    _same_as,
    _set_optional,
    _strings,
    _write_batch_result,
    _write_result,
)
from ._chunks import text
from ._proto import common_pb2, service_pb2, writes_pb2
from .records import from_grant, grant_message
from .types import Grant, WriteBatchResult, WriteResult


def _grant_request(
    permission: str | Grant | common_pb2.Grant,
    user: str | int | None,
    group: str | None,
    content_type: str | None,
    pk: str | int | None,
    actor: str | int | None,
) -> writes_pb2.GrantRequest:
    if isinstance(permission, str):
        grant = grant_message(Grant(permission, user, group, content_type, pk))
    elif (user, group, content_type, pk) != (None, None, None, None):
        raise ValueError("grant: give a Grant, or a permission string with user=/group=/content_type=/pk=, not both")
    elif isinstance(permission, Grant):
        grant = grant_message(permission)
    elif isinstance(permission, common_pb2.Grant):
        grant = permission
    else:
        raise TypeError(f"permission: expected str, Grant or warden.v1.Grant, got {type(permission).__name__}")
    return writes_pb2.GrantRequest(grant=grant, actor=_actor(actor))


def grant(
    permission: str | Grant | common_pb2.Grant,
    *,
    user: str | int | None = None,
    group: str | None = None,
    content_type: str | None = None,
    pk: str | int | None = None,
    actor: str | int | None = None,
    timeout: float | None = None,
) -> Unary[WriteResult]:
    """Grant: gives ``permission`` to ``user`` or ``group``, on the object ``(content_type, pk)``
    or model-wide without ``pk``. Idempotent: ``changed`` says whether it was new. Also takes a
    :class:`Grant` (or a ``warden.v1.Grant``) as the only positional argument. ``actor``: the app
    user the write is made for (no self-escalation, docs/protocol.md §8). Returns a
    :class:`WriteResult`."""
    request = _grant_request(permission, user, group, content_type, pk, actor)
    return Unary(service_pb2.GRANT, request, _write_result, timeout)


revoke = _same_as(
    grant,
    service_pb2.REVOKE,
    "revoke",
    """Revoke: takes a grant away (the arguments of ``grant``). Revoking what is not held changes
    nothing and is not an error. Returns a :class:`WriteResult`.""",
)


def bulk_grant(
    grants: Iterable[Grant | common_pb2.Grant] | AsyncIterable[Grant | common_pb2.Grant],
    *,
    actor: str | int | None = None,
    chunk_size: int = 10_000,
    timeout: float | None = None,
) -> ClientStream:
    """BulkGrant: every grant of ``grants`` in one transaction, sent as a client stream of chunks
    (at most ``chunk_size`` grants and about 1 MiB each) while ``grants`` is iterated, so a
    generator of millions is never held in memory. One ``BULK_GRANTED`` event, no per-row
    events; a check after the reply sees every row. ``timeout`` (``None``: the client's
    ``bulk_timeout``) covers the upload and the commit. Returns a :class:`BulkResult`."""
    return ClientStream(service_pb2.BULK_GRANT, _chunks.grant_chunker(_actor(actor), chunk_size), grants, timeout)


bulk_revoke = _same_as(
    bulk_grant,
    service_pb2.BULK_REVOKE,
    "bulk_revoke",
    """BulkRevoke: as ``bulk_grant``, revoking, with one ``BULK_REVOKED`` event. Returns a
    :class:`BulkResult`.""",
)


def prune_orphans(
    content_type: str,
    live_pks: Iterable[str | int] | AsyncIterable[str | int],
    *,
    actor: str | int | None = None,
    chunk_size: int = 50_000,
    timeout: float | None = None,
) -> ClientStream:
    """PruneOrphans: removes the grants on every object of ``content_type`` whose pk is not in
    ``live_pks`` (guardian's ``clean_orphan_obj_perms``), streamed in chunks like
    ``bulk_grant``. Returns a :class:`BulkResult` (``count``: grants removed)."""
    chunker = _chunks.prune_chunker(content_type, _actor(actor), chunk_size)
    return ClientStream(service_pb2.PRUNE_ORPHANS, chunker, live_pks, timeout)


def put_user(
    id: str | int,
    *,
    username: str | None = None,
    is_active: bool = True,
    is_superuser: bool = False,
    actor: str | int | None = None,
    timeout: float | None = None,
) -> Unary[WriteResult]:
    """PutUser: creates or replaces the user ``id`` (its flags and username). A username another
    user holds raises :class:`AlreadyExists`. Returns a :class:`WriteResult`."""
    user = common_pb2.User(id=text(id, "user.id"), is_active=is_active, is_superuser=is_superuser)
    _set_optional(user, username=username)
    return Unary(service_pb2.PUT_USER, writes_pb2.PutUserRequest(user=user, actor=_actor(actor)), _write_result, timeout)


def delete_user(id: str | int, *, actor: str | int | None = None, timeout: float | None = None) -> Unary[WriteResult]:
    """DeleteUser: deletes the user with its memberships and every grant it holds. Returns a
    :class:`WriteResult`."""
    request = writes_pb2.DeleteUserRequest(id=text(id, "id"), actor=_actor(actor))
    return Unary(service_pb2.DELETE_USER, request, _write_result, timeout)


def put_group(name: str, *, actor: str | int | None = None, timeout: float | None = None) -> Unary[WriteResult]:
    """PutGroup: creates the group (role) ``name`` if it does not exist. Returns a
    :class:`WriteResult`."""
    return Unary(service_pb2.PUT_GROUP, writes_pb2.GroupRequest(name=name, actor=_actor(actor)), _write_result, timeout)


delete_group = _same_as(
    put_group,
    service_pb2.DELETE_GROUP,
    "delete_group",
    """DeleteGroup: deletes the group with its memberships and grants. Returns a
    :class:`WriteResult`.""",
)


def add_member(
    user: str | int, group: str, *, actor: str | int | None = None, timeout: float | None = None
) -> Unary[WriteResult]:
    """AddMember: puts ``user`` in ``group`` (both must be registered). Returns a
    :class:`WriteResult`."""
    request = writes_pb2.MemberRequest(user=text(user, "user"), group=group, actor=_actor(actor))
    return Unary(service_pb2.ADD_MEMBER, request, _write_result, timeout)


remove_member = _same_as(
    add_member,
    service_pb2.REMOVE_MEMBER,
    "remove_member",
    """RemoveMember: takes ``user`` out of ``group`` (unknown names change nothing). Returns a
    :class:`WriteResult`.""",
)


def register_content_type(
    content_type: str,
    *,
    custom: Iterable[str] = (),
    defaults: bool = True,
    actor: str | int | None = None,
    timeout: float | None = None,
) -> Unary[WriteResult]:
    """RegisterContentType: registers ``app_label.model`` with its four default permissions
    (``add_``, ``change_``, ``delete_``, ``view_<model>``) unless ``defaults`` is false, plus the
    ``custom`` codenames; additive and idempotent, like Django's ``post_migrate``. Returns a
    :class:`WriteResult`."""
    request = writes_pb2.RegisterContentTypeRequest(
        content_type=content_type, defaults=defaults, custom=_strings(custom), actor=_actor(actor)
    )
    return Unary(service_pb2.REGISTER_CONTENT_TYPE, request, _write_result, timeout)


def delete_object(
    content_type: str, pk: str | int, *, actor: str | int | None = None, timeout: float | None = None
) -> Unary[WriteResult]:
    """DeleteObject: removes every grant on the object (the ``pre_delete`` pattern), so a
    re-created object with the same pk starts clean. Returns a :class:`WriteResult`."""
    request = writes_pb2.DeleteObjectRequest(object=_object(content_type, pk), actor=_actor(actor))
    return Unary(service_pb2.DELETE_OBJECT, request, _write_result, timeout)


def _record(record: writes_pb2.Record | Grant) -> writes_pb2.Record:
    if isinstance(record, writes_pb2.Record):
        return record
    if isinstance(record, Grant):
        return from_grant(record)
    raise TypeError(f"records: expected warden.v1.Record or Grant items, got {type(record).__name__}")


def write_batch(
    records: Iterable[writes_pb2.Record | Grant], *, actor: str | int | None = None, timeout: float | None = None
) -> Unary[WriteBatchResult]:
    """WriteBatch: ``records`` (see :mod:`warden_client.records`) in one transaction, each
    committed at its own revision with its own event; one failing record refuses the whole batch.
    At most the server's 10,000 records. Returns a :class:`WriteBatchResult`."""
    request = writes_pb2.WriteBatchRequest(records=[_record(record) for record in records], actor=_actor(actor))
    return Unary(service_pb2.WRITE_BATCH, request, _write_batch_result, timeout)
