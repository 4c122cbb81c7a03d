"""The shapes of a call, shared by both clients: a unary call, a client stream, a server
stream; how a reply frame becomes a result or an exception; and a server stream's state.
``_calls`` builds one of these per RPC; ``Client`` and ``AsyncClient`` carry them."""

from __future__ import annotations

import functools
import inspect
import re
from collections import deque
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

from google.protobuf.message import DecodeError, Message

from . import _chunks
from ._frames import END_STREAM, Frame
from ._proto import common_pb2
from .errors import InternalError, StatusCode, WardenError

T = TypeVar("T")
E = TypeVar("E")
P = ParamSpec("P")
M = TypeVar("M", bound=Message)


@dataclass(slots=True)
class Unary(Generic[T]):
    """A unary call: one request frame, one response frame."""

    method: int
    #: The request, or its bytes when encoded by hand (Check).
    message: Message | bytes
    decode: Callable[[bytes], T]
    #: Seconds; ``None``: the client's ``timeout``.
    timeout: float | None


@dataclass(slots=True)
class ClientStream:
    """A client stream: chunk frames on one request id, one ``BulkResponse``."""

    method: int
    chunker: _chunks.Chunker[Any]
    items: Iterable[Any] | AsyncIterable[Any]
    #: Seconds; ``None``: the client's ``bulk_timeout``.
    timeout: float | None


@dataclass(slots=True)
class ServerStream(Generic[M]):
    """A server stream (Watch, Export): one request frame, response frames until END_STREAM."""

    method: int
    message: Message
    response: type[M]
    #: Whether the END_STREAM frame of a successful stream carries data (Export) or the stream
    #: only ever ends with a status (Watch).
    ends_with_data: bool


def describe_methods(owner: type, awaitable: bool = False) -> None:
    """Gives each method of ``owner`` built from a function here (marked ``_warden_build``) that
    function's name, docstring and signature, with ``self`` and the client's own return type
    (``Unary[CheckResult]`` becomes ``CheckResult``; ``awaitable``: the async client's), so
    ``help(Client.check)`` reads as if the method were written out."""
    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    for method in vars(owner).values():
        build = getattr(method, "_warden_build", None)
        if build is None:
            continue
        functools.update_wrapper(method, build)
        del method.__wrapped__
        signature = inspect.signature(build)
        returns = re.sub(r"^(Unary|ClientStream)\[(.*)\]$", r"\2", str(signature.return_annotation))
        returns = "BulkResult" if returns == "ClientStream" else returns
        if returns.startswith("ServerStream["):
            returns = ("Async" if awaitable else "") + {"watch": "Watch", "export": "ExportStream"}[build.__name__]
        method.__signature__ = signature.replace(
            parameters=[self_parameter, *signature.parameters.values()], return_annotation=returns
        )
        method.__module__ = owner.__module__
        method.__qualname__ = f"{owner.__name__}.{build.__name__}"


def body(call: Unary[Any] | ServerStream[Any]) -> bytes:
    """The request body of a call."""
    message = call.message
    return message if message.__class__ is bytes else message.SerializeToString()  # type: ignore[union-attr]


# Reading replies ---------------------------------------------------------------------------------


def error(frame: Frame) -> WardenError:
    """The exception a non-OK frame stands for."""
    try:
        status = common_pb2.Status.FromString(frame.body)
    except DecodeError:
        status = common_pb2.Status(message="the server's Status body could not be decoded")
    return WardenError.from_status(frame.status, status.message, status.oldest_retained_revision)


def reply(frame: Frame, decode: Callable[[bytes], T]) -> T:
    """The result of a response frame, or the exception its status says."""
    if frame.status:
        raise error(frame)
    try:
        return decode(frame.body)
    except DecodeError as failure:
        raise InternalError(f"the server's reply could not be decoded: {failure}") from None


class StreamState(Generic[M, E]):
    """What a server stream has delivered and whether it has ended, for both clients: each
    queued frame (or connection failure) goes through ``absorb``; elements wait in ``buffer``."""

    __slots__ = ("call", "elements", "buffer", "ended", "closing")

    def __init__(self, call: ServerStream[M], elements: Callable[[M], Iterable[E]]) -> None:
        self.call = call
        self.elements = elements
        self.buffer: deque[E] = deque()
        #: The server (or the connection) ended the stream, or it was closed.
        self.ended = False
        #: ``close()`` was called: the CANCELLED (or lost connection) that follows is no error.
        self.closing = False

    def absorb(self, item: Frame | WardenError) -> None:
        """Takes one frame of the stream, or the failure of its connection. Raises the error the
        stream ended with, unless the client closed it."""
        if isinstance(item, WardenError):
            self.ended = True
            if not self.closing:
                raise item
            return
        if item.status:
            self.ended = True
            failure = error(item)
            if not (self.closing and failure.code == StatusCode.CANCELLED):
                raise failure
            return
        end = bool(item.flags & END_STREAM)
        if end:
            self.ended = True
            if not self.call.ends_with_data:
                return
        try:
            self.buffer.extend(self.elements(self.call.response.FromString(item.body)))
        except DecodeError as failure:
            self.ended = True
            raise InternalError(f"a frame of the stream could not be decoded: {failure}") from None
