"""Warden's status codes and the exceptions they map to.

Every failed request raises a :class:`WardenError` subclass chosen by the status code of the
response frame (gRPC's codes, ``docs/protocol.md`` §5). ``message`` is the server's message,
which names the field and the rule it broke (``object.pk: must be 1..255 bytes of UTF-8``).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "StatusCode",
    "WardenError",
    "Cancelled",
    "UnknownError",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "InternalError",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
    "ConnectionClosed",
]


class StatusCode(IntEnum):
    """gRPC's status codes, as the status byte of a response frame carries them."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class WardenError(Exception):
    """A request that did not succeed: the server's status (or the client's own, when the
    connection failed), its message, and for ``OUT_OF_RANGE`` from Watch the oldest revision the
    server's changelog still holds."""

    #: The status code this class stands for (the base class: whatever the server sent).
    default_code = StatusCode.UNKNOWN

    def __init__(
        self, message: str, *, code: StatusCode | int | None = None, oldest_retained_revision: int | None = None
    ) -> None:
        super().__init__(message)
        self.code: StatusCode = _status_code(self.default_code if code is None else code)
        self.message: str = message
        self.oldest_retained_revision: int | None = oldest_retained_revision

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WardenError):
            return NotImplemented
        return (self.code, self.message, self.oldest_retained_revision) == (
            other.code,
            other.message,
            other.oldest_retained_revision,
        )

    def __hash__(self) -> int:
        return hash((self.code, self.message))

    @staticmethod
    def from_status(code: int, message: str, oldest_retained_revision: int = 0) -> WardenError:
        """The exception for a status code: the subclass that stands for it (``WardenError``
        itself, with ``code`` set, for a code this client does not know)."""
        cls = _BY_CODE.get(code, WardenError)
        return cls(message, code=code, oldest_retained_revision=oldest_retained_revision or None)


def _status_code(code: int) -> StatusCode:
    try:
        return StatusCode(code)
    except ValueError:
        return StatusCode.UNKNOWN


class Cancelled(WardenError):
    """``CANCELLED`` (1): the client cancelled a Watch or an unfinished client stream."""

    default_code = StatusCode.CANCELLED


class UnknownError(WardenError):
    """``UNKNOWN`` (2): never sent by Warden; a status byte this client does not know."""

    default_code = StatusCode.UNKNOWN


class InvalidArgument(WardenError):
    """``INVALID_ARGUMENT`` (3): a field breaks its rule; the message names the field."""

    default_code = StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(WardenError):
    """``DEADLINE_EXCEEDED`` (4): the deadline passed before the answer (a write's outcome is
    then unknown) or before the request started (nothing was done)."""

    default_code = StatusCode.DEADLINE_EXCEEDED


class NotFound(WardenError):
    """``NOT_FOUND`` (5): a subject, permission or content type that must be registered is not."""

    default_code = StatusCode.NOT_FOUND


class AlreadyExists(WardenError):
    """``ALREADY_EXISTS`` (6): ``put_user`` with a username another user holds."""

    default_code = StatusCode.ALREADY_EXISTS


class PermissionDenied(WardenError):
    """``PERMISSION_DENIED`` (7): this process's uid/gid may not call the method, or a write was
    refused for its actor (no self-escalation)."""

    default_code = StatusCode.PERMISSION_DENIED


class ResourceExhausted(WardenError):
    """``RESOURCE_EXHAUSTED`` (8): an in-flight, stream-size or watch-buffer limit."""

    default_code = StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(WardenError):
    """``FAILED_PRECONDITION`` (9): the server's database cannot be used."""

    default_code = StatusCode.FAILED_PRECONDITION


class Aborted(WardenError):
    """``ABORTED`` (10): never sent by Warden."""

    default_code = StatusCode.ABORTED


class OutOfRange(WardenError):
    """``OUT_OF_RANGE`` (11): a Watch's ``after_revision`` is pruned (``oldest_retained_revision``
    is then the oldest one still held) or ahead of the latest revision (it is then ``None``)."""

    default_code = StatusCode.OUT_OF_RANGE


class Unimplemented(WardenError):
    """``UNIMPLEMENTED`` (12): the server does not know the method."""

    default_code = StatusCode.UNIMPLEMENTED


class InternalError(WardenError):
    """``INTERNAL`` (13): an unexpected failure; the cause is in the server's log."""

    default_code = StatusCode.INTERNAL


class Unavailable(WardenError):
    """``UNAVAILABLE`` (14): ``min_revision`` not reached in time, the database stayed locked, or
    a Watch ended by an index reload. Safe to retry."""

    default_code = StatusCode.UNAVAILABLE


class DataLoss(WardenError):
    """``DATA_LOSS`` (15): never sent by Warden."""

    default_code = StatusCode.DATA_LOSS


class Unauthenticated(WardenError):
    """``UNAUTHENTICATED`` (16): never sent by Warden."""

    default_code = StatusCode.UNAUTHENTICATED


class ConnectionClosed(Unavailable):
    """The connection to Warden could not be opened, or was lost or closed (EOF, a
    connection-level status on request id 0, ``close()``). Every call in flight on it fails with
    this; the outcome of writes among them is unknown. The next call opens a new connection."""


_BY_CODE: dict[int, type[WardenError]] = {
    cls.default_code.value: cls
    for cls in (
        Cancelled, UnknownError, InvalidArgument, DeadlineExceeded, NotFound, AlreadyExists, PermissionDenied,
        ResourceExhausted, FailedPrecondition, Aborted, OutOfRange, Unimplemented, InternalError, Unavailable,
        DataLoss, Unauthenticated,
    )
}
