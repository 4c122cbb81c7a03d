"""The synchronous client: :class:`Client`, and the :class:`Watch` and :class:`ExportStream`
iterators it opens."""

from __future__ import annotations

import itertools
import os
import queue
import threading
import time
import weakref
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from . import _calls, _write_calls
from ._call_types import ClientStream, ServerStream, StreamState, Unary, describe_methods, reply
from ._call_types import body as request_body
from ._connection import Connection, NotSent
from ._frames import END_STREAM, HEADER, timeout_ms
from ._proto import events_pb2, service_pb2, writes_pb2
from ._requests import GRACE, Slot
from .errors import ConnectionClosed, WardenError
from .types import BulkResult, ObjectList, ObjectPage

__all__ = ["Client", "Watch", "ExportStream", "DEFAULT_SOCKET"]

P = ParamSpec("P")
T = TypeVar("T")
E = TypeVar("E")
M = TypeVar("M")
W = TypeVar("W")

#: Where ``warden serve`` listens by default; ``$WARDEN_SOCKET`` overrides it for the clients.
DEFAULT_SOCKET = "./var/warden.sock"


def socket_path_or_default(socket_path: str | os.PathLike[str] | None) -> str:
    """The socket to use: the argument, else ``$WARDEN_SOCKET``, else ``./var/warden.sock``."""
    if socket_path is None:
        return os.environ.get("WARDEN_SOCKET") or DEFAULT_SOCKET
    return os.fspath(socket_path)


def _unary_method(build: Callable[P, Unary[T]]) -> Callable[Concatenate[Client, P], T]:
    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._call(build(*args, **kwargs))

    method._warden_build = build  # type: ignore[attr-defined]
    return method


def _stream_method(build: Callable[P, ClientStream]) -> Callable[Concatenate[Client, P], BulkResult]:
    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> BulkResult:
        return self._client_stream(build(*args, **kwargs))

    method._warden_build = build  # type: ignore[attr-defined]
    return method


class _StreamIterator(Generic[M, E]):
    """A server stream on a connection of its own: an iterator of its elements and a context
    manager; ``close()`` cancels it on the server."""

    def __init__(self, client: Client, call: ServerStream[Any]) -> None:
        self._state: StreamState[Any, E] = StreamState(call, self._elements)
        self._connection = client._stream_connection(self)
        try:
            self._id, self._sink = self._connection.open_stream(call.method, request_body(call))
        except WardenError:
            self._connection.close()
            raise

    def _elements(self, message: M) -> Iterable[E]:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """Whether the stream has ended (closed, cancelled, finished or failed) and every
        element it delivered was taken."""
        return self._state.ended and not self._state.buffer

    def __iter__(self) -> Iterator[E]:
        return self

    def __next__(self) -> E:
        element = self._next(None)
        if element is _NOTHING:
            raise StopIteration
        return element  # type: ignore[return-value]

    def _next(self, timeout: float | None) -> E | object:
        """The next element; ``_NOTHING`` when the stream has ended, or when nothing came within
        ``timeout`` seconds. Raises the error the stream ended with, once."""
        state = self._state
        deadline = None if timeout is None else time.monotonic() + timeout
        while not state.buffer:
            if state.ended:
                return _NOTHING
            try:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                item = self._sink.queue.get(timeout=wait)
            except queue.Empty:
                return _NOTHING
            try:
                state.absorb(item)
            finally:
                if state.ended:
                    self._connection.close("the stream ended")
        return state.buffer.popleft()

    def close(self) -> None:
        """Cancels the stream on the server and closes its connection; iteration then stops.
        Idempotent."""
        state = self._state
        state.buffer.clear()
        if not state.ended:
            state.closing = state.ended = True
            self._connection.cancel(self._id, state.call.method)
            self._connection.close("the stream was closed")

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state is not None and getattr(self, "_sink", None) is not None and not state.ended:
            self.close()


_S = TypeVar("_S", bound=_StreamIterator[Any, Any])
_NOTHING = object()


class Watch(_StreamIterator[events_pb2.WatchResponse, events_pb2.Event]):
    """A Watch: iterating yields ``warden.v1.Event`` messages, history first, then live events as
    they commit; it blocks while none come. The error the server ends the watch with is raised
    from the iteration (:class:`OutOfRange` for a pruned ``after_revision``). ``close()`` (or
    leaving its ``with`` block) cancels it."""

    def _elements(self, message: events_pb2.WatchResponse) -> Iterable[events_pb2.Event]:
        return message.events

    def poll(self, timeout: float | None) -> events_pb2.Event | None:
        """The next event, or ``None`` when none came within ``timeout`` seconds or the watch has
        ended (``closed`` tells which)."""
        event = self._next(timeout)
        return None if event is _NOTHING else event  # type: ignore[return-value]


class ExportStream(_StreamIterator[service_pb2.ExportResponse, writes_pb2.Record]):
    """An Export: iterating yields ``warden.v1.Record`` messages (content types, users, groups,
    memberships, then grants), all at one revision, ``revision``, known once the first chunk
    arrived."""

    #: The revision the export was taken at; ``None`` until the first chunk arrived.
    revision: int | None = None

    def _elements(self, message: service_pb2.ExportResponse) -> Iterable[writes_pb2.Record]:
        self.revision = message.revision
        return message.records


def _server_stream_method(
    build: Callable[P, ServerStream[Any]], stream: Callable[[Client, ServerStream[Any]], W]
) -> Callable[Concatenate[Client, P], W]:
    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> W:
        return stream(self, build(*args, **kwargs))

    method._warden_build = build  # type: ignore[attr-defined]
    return method


class Client:
    """A synchronous, thread-safe Warden client.

    Calls from any number of threads are pipelined on a small pool of connections (each call
    takes the next connection in turn; a connection carries many requests in flight, answered in
    any order). Connections open on first use and reopen on the call after one was lost; calls
    in flight on a lost connection raise :class:`ConnectionClosed`. Watches and exports get a
    connection of their own. Safe across ``fork``: a child opens its own connections.

    ``socket_path``: ``None`` means ``$WARDEN_SOCKET``, else ``./var/warden.sock``.
    ``timeout``: each call's deadline in seconds unless the call gives one (``None``: none).
    ``bulk_timeout``: the same for ``bulk_grant``, ``bulk_revoke`` and ``prune_orphans``.
    """

    def __init__(
        self,
        socket_path: str | os.PathLike[str] | None = None,
        *,
        timeout: float | None = 5.0,
        bulk_timeout: float | None = 600.0,
        pool_size: int = 2,
        connect_timeout: float = 5.0,
        max_frame_size: int = 64 << 20,
    ) -> None:
        if pool_size < 1:
            raise ValueError(f"pool_size: must be at least 1 (got {pool_size})")
        self.socket_path = socket_path_or_default(socket_path)
        self.timeout = timeout
        self.bulk_timeout = bulk_timeout
        self.connect_timeout = connect_timeout
        self.max_frame_size = max_frame_size
        self._pool: list[Connection | None] = [None] * pool_size
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False
        self._streams: weakref.WeakSet[_StreamIterator[Any, Any]] = weakref.WeakSet()

    def __repr__(self) -> str:
        return f"Client({self.socket_path!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Closes every connection, watches and exports included; calls in flight raise
        :class:`ConnectionClosed`, and so do later calls. Idempotent."""
        with self._lock:
            self._closed = True
            connections = [connection for connection in self._pool if connection is not None]
            self._pool = [None] * len(self._pool)
        for stream in list(self._streams):
            stream.close()
        for connection in connections:
            connection.close("the client was closed")

    # Connections ---------------------------------------------------------------------------------

    def _connection(self) -> Connection:
        if self._pid != os.getpid():
            self._forget_parent_connections()
        index = next(self._turn) % len(self._pool)
        connection = self._pool[index]
        if connection is not None and connection.demux.closed is None:
            return connection
        with self._lock:
            if self._closed:
                raise ConnectionClosed("the client was closed")
            connection = self._pool[index]
            if connection is None or connection.demux.closed is not None:
                # One that ended is dropped, not closed: a thread may still hold it, and its
                # descriptor is released when it is collected.
                connection = self._open()
                self._pool[index] = connection
            return connection

    def _open(self, *, reader: bool = False) -> Connection:
        return Connection(
            self.socket_path, connect_timeout=self.connect_timeout, max_frame_size=self.max_frame_size, reader=reader
        )

    def _forget_parent_connections(self) -> None:
        # In a forked child: the parent's connections (and their reader threads) are not ours.
        inherited = [connection for connection in self._pool if connection is not None]
        self._lock = threading.Lock()
        self._pool = [None] * len(self._pool)
        self._streams = weakref.WeakSet()
        self._pid = os.getpid()
        for connection in inherited:
            connection.close("the connection belongs to the parent process")

    def _call(self, call: Unary[T]) -> T:
        timeout = self.timeout if call.timeout is None else call.timeout
        body = request_body(call)
        for _ in range(len(self._pool)):
            try:
                return reply(self._connection().call(call.method, body, timeout), call.decode)
            except NotSent:
                # The connection was found closed before a byte of the request was written (the
                # server restarted, or closed it while idle): the next one is opened anew.
                pass
        return reply(self._connection().call(call.method, body, timeout), call.decode)  # the last try

    def _client_stream(self, call: ClientStream) -> BulkResult:
        if not isinstance(call.items, Iterable):
            kind = "an async iterable" if isinstance(call.items, AsyncIterable) else type(call.items).__name__
            raise TypeError(f"expected an iterable of items, got {kind} (AsyncClient takes async iterables)")
        timeout = self.bulk_timeout if call.timeout is None else call.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        connection = self._connection()
        slot = Slot()
        request_id = connection.demux.open(slot)
        wire_timeout = timeout_ms(timeout)

        def send(body: bytes, flags: int) -> None:
            frame = HEADER.pack(12 + len(body), request_id, call.method, flags, 0, wire_timeout) + body
            try:
                connection.send(frame, request_id)
            except NotSent as failure:  # a stream is not sent again: the items are consumed
                raise ConnectionClosed(failure.message) from None

        try:
            for item in call.items:
                body = call.chunker.add(item)
                if body is not None:
                    send(body, 0)
                    connection.pump()
                    if slot.done:
                        break  # the server refused the stream early: stop sending
            else:
                send(call.chunker.finish(), END_STREAM)
        except BaseException:
            if not slot.done:
                connection.cancel(request_id, call.method)
            raise
        wait = None if deadline is None else max(0.0, deadline - time.monotonic()) + GRACE
        return reply(connection.wait(slot, wait), _calls.bulk_result)

    # Reads -----------------------------------------------------------------------------------------

    check = _unary_method(_calls.check)
    batch_check = _unary_method(_calls.batch_check)
    list_objects = _unary_method(_calls.list_objects)
    list_subjects = _unary_method(_calls.list_subjects)
    get_permissions = _unary_method(_calls.get_permissions)
    batch_get_permissions = _unary_method(_calls.batch_get_permissions)

    def iter_object_pages(
        self, permissions: str | Iterable[str] = (), **arguments: Any
    ) -> Iterator[ObjectPage]:
        call: Unary[ObjectPage] | None = _calls.list_objects(permissions, **arguments)
        while call is not None:
            page = self._call(call)
            yield page
            call = _calls.next_page(call, page)

    iter_object_pages.__doc__ = _calls.ITER_OBJECT_PAGES_DOC

    def list_all_objects(self, permissions: str | Iterable[str] = (), **arguments: Any) -> ObjectList:
        return _calls.object_list(list(self.iter_object_pages(permissions, **arguments)))

    list_all_objects.__doc__ = _calls.LIST_ALL_OBJECTS_DOC

    # Writes ----------------------------------------------------------------------------------------

    grant = _unary_method(_write_calls.grant)
    revoke = _unary_method(_write_calls.revoke)
    bulk_grant = _stream_method(_write_calls.bulk_grant)
    bulk_revoke = _stream_method(_write_calls.bulk_revoke)
    put_user = _unary_method(_write_calls.put_user)
    delete_user = _unary_method(_write_calls.delete_user)
    put_group = _unary_method(_write_calls.put_group)
    delete_group = _unary_method(_write_calls.delete_group)
    add_member = _unary_method(_write_calls.add_member)
    remove_member = _unary_method(_write_calls.remove_member)
    register_content_type = _unary_method(_write_calls.register_content_type)
    delete_object = _unary_method(_write_calls.delete_object)
    prune_orphans = _stream_method(_write_calls.prune_orphans)
    write_batch = _unary_method(_write_calls.write_batch)

    # Streams and service ---------------------------------------------------------------------------

    health = _unary_method(_calls.health)
    stats = _unary_method(_calls.stats)

    watch = _server_stream_method(_calls.watch, lambda client, call: Watch(client, call))
    export = _server_stream_method(_calls.export, lambda client, call: ExportStream(client, call))

    def _stream_connection(self, stream: _StreamIterator[Any, Any]) -> Connection:
        with self._lock:
            if self._closed:
                raise ConnectionClosed("the client was closed")
        connection = self._open(reader=True)
        self._streams.add(stream)
        return connection


describe_methods(Client)
