"""CheckRequest, CheckResponse, BatchCheckRequest and BatchCheckResponse by hand: the hot path,
as the C client's ``check_codec.c``. The bytes are protobuf's own (``tests/test_wire.py``
compares them), and a reply this decoder does not expect (a field it does not know) goes to
protobuf instead. A ``CheckItem`` has ``CheckRequest``'s fields 1-5, so it is encoded alike."""

from __future__ import annotations

from ._chunks import string_field, text, varint
from collections.abc import Iterable

from ._proto import common_pb2, reads_pb2
from .errors import WardenError
from .types import BatchCheckResult, CheckItem, CheckResult, Decision, Reason

_REASONS = {reason.value: reason for reason in Reason}
_FALSE_TRUE = (b"\x28\x00", b"\x28\x01")


def check_request(
    permission: str,
    user: str | int | None,
    group: str | None,
    content_type: str | None,
    pk: str | int | None,
    accept_global_perms: bool | None,
    min_revision: int,
) -> bytes:
    """A ``CheckRequest``'s bytes (the arguments are those of ``Client.check``)."""
    parts = []
    if user is not None:
        if group is not None:
            raise ValueError("subject: give user= or group=, not both")
        subject = string_field(0x0A, user if user.__class__ is str else text(user, "user"))
        parts.append(string_field_bytes(0x0A, subject))
    elif group is not None:
        parts.append(string_field_bytes(0x0A, string_field(0x12, group)))
    if permission:
        parts.append(string_field(0x12, permission))
    if pk is not None:
        reference = string_field(0x0A, content_type) if content_type else b""
        reference += string_field(0x12, pk if pk.__class__ is str else text(pk, "pk"))
        parts.append(string_field_bytes(0x1A, reference))
    elif content_type:
        parts.append(string_field(0x22, content_type))
    if accept_global_perms is not None:
        parts.append(_FALSE_TRUE[bool(accept_global_perms)])
    if min_revision:
        parts.append(b"\x30" + varint(min_revision))
    return b"".join(parts)


def string_field_bytes(tag: int, data: bytes) -> bytes:
    """A length-delimited field holding ``data`` (an embedded message)."""
    length = len(data)
    return (bytes((tag, length)) if length < 0x80 else bytes((tag,)) + varint(length)) + data


def _varint_at(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def check_response(body: bytes) -> CheckResult:
    """A ``CheckResponse`` as a :class:`CheckResult`."""
    allowed, reason, group, revision = False, 0, None, 0
    try:
        position, size = 0, len(body)
        while position < size:
            tag = body[position]
            if tag == 0x0A:  # decision
                length, position = _varint_at(body, position + 1)
                allowed, reason, group = _decision_at(body, position, position + length)
                position += length
            elif tag == 0x10:
                revision, position = _varint_at(body, position + 1)
            else:
                raise LookupError(tag)
    except (LookupError, UnicodeDecodeError):
        response = reads_pb2.CheckResponse.FromString(body)  # raises DecodeError when it is not one
        decision = response.decision
        allowed, reason, group, revision = decision.allowed, decision.reason, decision.group or None, response.revision
    return CheckResult(allowed, _REASONS.get(reason, Reason.REASON_UNSPECIFIED), group, revision)


def _decision_at(body: bytes, position: int, end: int) -> tuple[bool, int, str | None]:
    """The fields of a ``Decision`` message that spans ``body[position:end]``."""
    allowed, reason, group = False, 0, None
    while position < end:
        tag = body[position]
        if tag == 0x08:
            value, position = _varint_at(body, position + 1)
            allowed = value != 0
        elif tag == 0x10:
            reason, position = _varint_at(body, position + 1)
        elif tag == 0x1A:
            length, position = _varint_at(body, position + 1)
            group = body[position : position + length].decode() or None
            position += length
        else:
            raise LookupError(tag)
    return allowed, reason, group


#: Decisions are values: the few that recur are made once.
_DECISIONS: dict[tuple[bool, int, str | None], Decision] = {}


def _decision(allowed: bool, reason: int, group: str | None) -> Decision:
    key = (allowed, reason, group)
    decision = _DECISIONS.get(key)
    if decision is None:
        decision = Decision(allowed, _REASONS.get(reason, Reason.REASON_UNSPECIFIED), group)
        if len(_DECISIONS) < 4096:
            _DECISIONS[key] = decision
    return decision


def batch_check_request(items: Iterable[CheckItem | reads_pb2.CheckItem], min_revision: int) -> bytes:
    """A ``BatchCheckRequest``'s bytes."""
    parts = []
    for item in items:
        if item.__class__ is CheckItem or isinstance(item, CheckItem):
            encoded = check_request(
                item.permission, item.user, item.group, item.content_type, item.pk,
                item.accept_global_perms, 0,
            )
        elif isinstance(item, reads_pb2.CheckItem):
            encoded = item.SerializeToString()
        else:
            raise TypeError(f"items: expected CheckItem or warden.v1.CheckItem, got {type(item).__name__}")
        parts.append(string_field_bytes(0x0A, encoded))
    if min_revision:
        parts.append(b"\x10" + varint(min_revision))
    return b"".join(parts)


def batch_check_response(body: bytes) -> BatchCheckResult:
    """A ``BatchCheckResponse`` as a :class:`BatchCheckResult`."""
    results: list[Decision | WardenError] = []
    revision = 0
    try:
        position, size = 0, len(body)
        while position < size:
            tag = body[position]
            if tag == 0x0A:  # one CheckResult
                length, position = _varint_at(body, position + 1)
                end = position + length
                if position == end:
                    results.append(_decision(False, 0, None))
                    continue
                tag = body[position]
                length, position = _varint_at(body, position + 1)
                if tag == 0x0A and position + length == end:
                    results.append(_decision(*_decision_at(body, position, end)))
                elif tag == 0x12 and position + length == end:
                    error = common_pb2.Status.FromString(body[position:end])
                    results.append(WardenError.from_status(error.code, error.message))
                else:
                    raise LookupError(tag)
                position = end
            elif tag == 0x10:
                revision, position = _varint_at(body, position + 1)
            else:
                raise LookupError(tag)
    except (LookupError, UnicodeDecodeError):
        response = reads_pb2.BatchCheckResponse.FromString(body)  # raises DecodeError when it is not one
        results = []
        for result in response.results:
            if result.WhichOneof("result") == "error":
                results.append(WardenError.from_status(result.error.code, result.error.message))
            else:
                decision = result.decision
                results.append(_decision(decision.allowed, decision.reason, decision.group or None))
        revision = response.revision
    return BatchCheckResult(results, revision)
