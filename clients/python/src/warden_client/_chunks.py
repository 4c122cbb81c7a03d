"""Client streams (BulkGrant, BulkRevoke, PruneOrphans) cut into chunk bodies.

A chunk is closed at ``chunk_size`` items or about 1 MiB of encoded bytes, whichever comes
first, as the Swift and C clients do, so every frame stays far below the server's 4 MiB limit.
Items are encoded here, by hand, straight into the bytes of the repeated field (a
``BulkGrantRequest`` is ``grants`` entries back to back): a million grants never become a
million message objects, and the size of a chunk is exact rather than estimated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from ._proto import common_pb2
from .types import Grant

T = TypeVar("T")

#: A chunk is closed once its body reaches this many bytes.
CHUNK_BYTES = 1 << 20


def varint(value: int) -> bytes:
    """A protobuf base-128 varint."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def string_field(tag: int, text: str) -> bytes:
    """A length-delimited string field: the tag byte (field number << 3 | 2), length, UTF-8."""
    data = text.encode()
    length = len(data)
    return bytes((tag, length)) + data if length < 0x80 else bytes((tag,)) + varint(length) + data


def text(value: str | int, name: str) -> str:
    """An id or pk as the wire's string: an ``int`` becomes its decimal form."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"{name}: expected a str or an int, got {type(value).__name__}")


#: The encoded ``permission`` and ``content_type`` fields of recent grants: a bulk stream repeats
#: a few permissions over and over.
_PERMISSION_FIELDS: dict[tuple[str, str | None], bytes] = {}


def _permission_fields(permission: str, content_type: str | None) -> bytes:
    key = (permission, content_type)
    fields = _PERMISSION_FIELDS.get(key)
    if fields is None:
        fields = (string_field(0x12, permission) if permission else b"") + (
            string_field(0x1A, content_type) if content_type else b""
        )
        if len(_PERMISSION_FIELDS) >= 4096:
            _PERMISSION_FIELDS.clear()
        _PERMISSION_FIELDS[key] = fields
    return fields


def grant_message(grant: Grant) -> bytes:
    """A ``warden.v1.Grant``'s encoded bytes, as protobuf would write them."""
    user = grant.user
    if user is not None:
        subject = string_field(0x0A, user if user.__class__ is str else text(user, "user"))
    else:
        subject = string_field(0x12, grant.group or "")
    length = len(subject)
    head = bytes((0x0A, length)) if length < 0x80 else b"\x0a" + varint(length)
    pk = grant.pk
    fields = _permission_fields(grant.permission, grant.content_type)
    if pk is None:
        return head + subject + fields
    return head + subject + fields + string_field(0x22, pk if pk.__class__ is str else text(pk, "pk"))


def grant_entry(grant: Grant | common_pb2.Grant) -> bytes:
    """One ``grants`` entry (field 1) of a ``BulkGrantRequest``."""
    if grant.__class__ is Grant or isinstance(grant, Grant):
        payload = grant_message(grant)
    elif isinstance(grant, common_pb2.Grant):
        payload = grant.SerializeToString()
    else:
        raise TypeError(f"grants: expected Grant or warden.v1.Grant items, got {type(grant).__name__}")
    length = len(payload)
    return (bytes((0x0A, length)) if length < 0x80 else b"\x0a" + varint(length)) + payload


def live_pk_entry(pk: str | int) -> bytes:
    """One ``live_pks`` entry (field 2) of a ``PruneOrphansRequest``."""
    return string_field(0x12, text(pk, "live_pks"))


class Chunker(Generic[T]):
    """Collects encoded items into chunk bodies; ``head`` (the first-chunk-only fields: actor,
    content type) opens the first chunk."""

    __slots__ = ("_encode", "_chunk_size", "_parts", "_bytes", "_count", "items")

    def __init__(self, head: bytes, encode: Callable[[T], bytes], chunk_size: int) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size: must be at least 1 (got {chunk_size})")
        self._encode = encode
        self._chunk_size = chunk_size
        self._parts: list[bytes] = [head] if head else []
        self._bytes = len(head)
        self._count = 0
        #: Items added so far, over all chunks.
        self.items = 0

    def add(self, item: T) -> bytes | None:
        """Adds an item; returns a finished chunk body when this one filled it."""
        entry = self._encode(item)
        self._parts.append(entry)
        self._bytes += len(entry)
        self._count += 1
        self.items += 1
        if self._count >= self._chunk_size or self._bytes >= CHUNK_BYTES:
            return self._take()
        return None

    def finish(self) -> bytes:
        """The last chunk body: what is left, possibly nothing (an empty chunk is valid, and is
        the whole stream when there were no items)."""
        return self._take()

    def _take(self) -> bytes:
        body = b"".join(self._parts)
        self._parts, self._bytes, self._count = [], 0, 0
        return body


def grant_chunker(actor: str, chunk_size: int) -> Chunker[Grant | common_pb2.Grant]:
    """Chunks of a ``BulkGrantRequest`` stream (``actor`` in the first)."""
    return Chunker(string_field(0x12, actor) if actor else b"", grant_entry, chunk_size)


def prune_chunker(content_type: str, actor: str, chunk_size: int) -> Chunker[str | int]:
    """Chunks of a ``PruneOrphansRequest`` stream (``content_type`` and ``actor`` in the first)."""
    head = string_field(0x0A, content_type) + (string_field(0x1A, actor) if actor else b"")
    return Chunker(head, live_pk_entry, chunk_size)
