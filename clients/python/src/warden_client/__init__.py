"""Warden's Python client.

``Client`` (synchronous, thread-safe) and ``warden_client.aio.AsyncClient`` (asyncio) speak the
framed protobuf protocol of Warden's ``docs/protocol.md`` over its Unix socket, pipelining
requests on each connection. See ``clients/python/README.md`` for the whole API.
"""

from __future__ import annotations

from . import pb, records
from .client import Client, ExportStream, Watch
from .errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    ConnectionClosed,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    InternalError,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    StatusCode,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    UnknownError,
    WardenError,
)
from .types import (
    BatchCheckResult,
    BulkResult,
    CheckItem,
    CheckResult,
    Decision,
    EventKind,
    Grant,
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

__version__ = "0.1.0"

__all__ = [
    "Aborted", "AlreadyExists", "BatchCheckResult", "BulkResult", "Cancelled", "CheckItem", "CheckResult", "Client",
    "ConnectionClosed", "DataLoss", "DeadlineExceeded", "Decision", "EventKind", "ExportStream", "FailedPrecondition",
    "Grant", "HealthResult", "InternalError", "InvalidArgument", "NotFound", "ObjectList", "ObjectPage", "OutOfRange",
    "PermissionDenied", "PermissionList", "PermissionMode", "PermissionSets", "Reason", "ResourceExhausted",
    "StatusCode", "SubjectList", "Unauthenticated", "Unavailable", "Unimplemented", "UnknownError", "Watch",
    "WardenError", "WriteBatchResult", "WriteResult", "pb", "records",
]
