"""The asyncio client: :class:`AsyncClient`, and the :class:`AsyncWatch` and
:class:`AsyncExportStream` async iterators it opens.

Every call is a coroutine with the arguments of the same method of
:class:`~warden_client.Client`. Any number of tasks may call at once: their requests are
pipelined on one connection and each awaits its own answer, matched by request id.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine, Iterable
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from . import _calls, _write_calls
from ._call_types import ClientStream, ServerStream, StreamState, Unary, describe_methods, reply
from ._call_types import body as request_body
from ._requests import GRACE, Demux, no_answer
from ._frames import END_STREAM, HEADER, Frame, FrameBuffer, cancel_frame, timeout_ms
from ._proto import events_pb2, service_pb2, writes_pb2
from .client import socket_path_or_default
from .errors import ConnectionClosed, WardenError
from .types import BulkResult, ObjectList, ObjectPage

__all__ = ["AsyncClient", "AsyncWatch", "AsyncExportStream"]

P = ParamSpec("P")
T = TypeVar("T")
E = TypeVar("E")
M = TypeVar("M")
W = TypeVar("W")


#: Deadlines are checked on ticks of this many seconds.
_TICK = 0.05


class _FutureSink:
    """The answer to one call, as a future its task awaits."""

    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[Frame]) -> None:
        self.future = future

    def deliver(self, frame: Frame) -> None:
        if not self.future.done():
            self.future.set_result(frame)

    def fail(self, error: WardenError) -> None:
        if not self.future.done():
            self.future.set_exception(error)

    def expire(self, seconds: float) -> None:
        self.fail(no_answer(seconds))


class _QueueSink:
    """Frames of a server stream, queued for the task that iterates it."""

    __slots__ = ("queue",)

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Frame | WardenError] = asyncio.Queue()

    def deliver(self, frame: Frame) -> None:
        self.queue.put_nowait(frame)

    def fail(self, error: WardenError) -> None:
        self.queue.put_nowait(error)


class _Connection(asyncio.Protocol):
    """One connection: frames in through ``data_received``, handed to the requests by id."""

    def __init__(self, max_frame_size: int) -> None:
        self.demux = Demux()
        self._buffer = FrameBuffer(max_frame_size)
        self._transport: asyncio.Transport | None = None
        self._close_reason: str | None = None
        self._writable: asyncio.Future[None] | None = None
        self._outgoing: list[bytes] = []
        self._flush_scheduled = False
        self.loop = asyncio.get_running_loop()
        self._deadlines: dict[int, list[tuple[_FutureSink, float]]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.demux.dispatch(self._buffer.feed(data))
        except ConnectionClosed as failure:
            self._close_reason = self._close_reason or failure.message
            self.demux.fail_all(failure)
            if self._transport is not None:
                self._transport.abort()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._close_reason is not None:
            reason = self._close_reason
        elif exc is None:
            reason = "Warden closed the connection"
        else:
            reason = f"the connection to Warden failed: {exc}"
        self.demux.fail_all(ConnectionClosed(reason))
        self.resume_writing()

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def drain(self) -> None:
        """Waits while the transport's buffer is over its high-water mark."""
        if self._writable is not None:
            await asyncio.shield(self._writable)
        if self.demux.closed is not None:
            raise self.demux.closed

    def send(self, data: bytes, *, now: bool = False) -> None:
        """Queues a frame; the frames queued during one turn of the event loop go out in one write
        (one system call for many pipelined requests). ``now``: write at once (stream chunks,
        which then wait for ``drain``)."""
        if self.demux.closed is not None:
            raise self.demux.closed
        self._outgoing.append(data)
        if now:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def expire_later(self, sink: _FutureSink, seconds: float) -> None:
        """Fails ``sink`` with DEADLINE_EXCEEDED unless answered within ``seconds`` plus the grace.
        Deadlines share one timer per 50 ms of the loop's clock: no timer to create and cancel
        for each of thousands of calls a second."""
        tick = math.ceil((self.loop.time() + seconds + GRACE) / _TICK)
        expiring = self._deadlines.get(tick)
        if expiring is None:
            expiring = self._deadlines[tick] = []
            self.loop.call_at(tick * _TICK, self._expire, tick)
        expiring.append((sink, seconds))

    def _expire(self, tick: int) -> None:
        for sink, seconds in self._deadlines.pop(tick, ()):
            if not sink.future.done():
                sink.expire(seconds)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._outgoing and self._transport is not None and self.demux.closed is None:
            data = b"".join(self._outgoing) if len(self._outgoing) > 1 else self._outgoing[0]
            self._outgoing.clear()
            self._transport.write(data)

    def cancel(self, request_id: int, method: int) -> None:
        if self.demux.closed is None and self._transport is not None:
            self.send(cancel_frame(request_id, method), now=True)

    def close(self, reason: str) -> None:
        if self._close_reason is None:
            self._close_reason = reason
        self.demux.fail_all(ConnectionClosed(reason))
        if self._transport is not None:
            self._transport.close()


def _unary_method(build: Callable[P, Unary[T]]) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]]:
    async def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._call(build(*args, **kwargs))

    method._warden_build = build  # type: ignore[attr-defined]
    return method


def _stream_method(
    build: Callable[P, ClientStream],
) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, BulkResult]]:
    async def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> BulkResult:
        return await self._client_stream(build(*args, **kwargs))

    method._warden_build = build  # type: ignore[attr-defined]
    return method


def _server_stream_method(
    build: Callable[P, ServerStream[Any]], stream: Callable[[AsyncClient, ServerStream[Any]], W]
) -> Callable[Concatenate[AsyncClient, P], W]:
    def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> W:
        return stream(self, build(*args, **kwargs))

    method._warden_build = build  # type: ignore[attr-defined]
    return method


async def _items(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


class AsyncClient:
    """An asyncio Warden client: the methods of :class:`~warden_client.Client` as coroutines,
    every request pipelined on one connection (opened on first use, reopened on the call after
    it was lost). Watches and exports get a connection of their own. Use it from one event loop.

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
        connect_timeout: float = 5.0,
        max_frame_size: int = 64 << 20,
    ) -> None:
        self.socket_path = socket_path_or_default(socket_path)
        self.timeout = timeout
        self.bulk_timeout = bulk_timeout
        self.connect_timeout = connect_timeout
        self.max_frame_size = max_frame_size
        self._connection: _Connection | None = None
        self._connecting: asyncio.Lock | None = None
        self._closed = False
        self._streams: weakref.WeakSet[_AsyncStreamIterator[Any, Any]] = weakref.WeakSet()

    def __repr__(self) -> str:
        return f"AsyncClient({self.socket_path!r})"

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the connection, watches and exports included; calls in flight raise
        :class:`ConnectionClosed`, and so do later calls. Idempotent."""
        self._closed = True
        for stream in list(self._streams):
            await stream.aclose()
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close("the client was closed")

    async def _connect(self) -> _Connection:
        if self._closed:
            raise ConnectionClosed("the client was closed")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, connection = await loop.create_unix_connection(
                    lambda: _Connection(self.max_frame_size), self.socket_path
                )
        except (OSError, TimeoutError) as failure:
            raise ConnectionClosed(f"cannot connect to Warden at {self.socket_path}: {failure!r}") from None
        return connection

    async def _shared_connection(self) -> _Connection:
        connection = self._connection
        if connection is not None and connection.demux.closed is None:
            return connection
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            connection = self._connection
            if connection is None or connection.demux.closed is not None:
                connection = self._connection = await self._connect()
            return connection

    async def _call(self, call: Unary[T]) -> T:
        connection = await self._shared_connection()
        timeout = self.timeout if call.timeout is None else call.timeout
        future: asyncio.Future[Frame] = connection.loop.create_future()
        sink = _FutureSink(future)
        request_id = connection.demux.open(sink)
        body = request_body(call)
        connection.send(HEADER.pack(12 + len(body), request_id, call.method, END_STREAM, 0, timeout_ms(timeout)) + body)
        if timeout is not None:
            connection.expire_later(sink, timeout)
        return reply(await future, call.decode)

    async def _client_stream(self, call: ClientStream) -> BulkResult:
        connection = await self._shared_connection()
        timeout = self.bulk_timeout if call.timeout is None else call.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        sink = _FutureSink(future)
        request_id = connection.demux.open(sink)
        wire_timeout = timeout_ms(timeout)

        async def send(body: bytes, flags: int) -> None:
            connection.send(HEADER.pack(12 + len(body), request_id, call.method, flags, 0, wire_timeout) + body, now=True)
            await connection.drain()
            await asyncio.sleep(0)  # let other tasks run between chunks

        try:
            async for item in _items(call.items):
                body = call.chunker.add(item)
                if body is not None:
                    await send(body, 0)
                    if future.done():
                        break  # the server refused the stream early: stop sending
            else:
                await send(call.chunker.finish(), END_STREAM)
        except BaseException:
            if not future.done():
                connection.cancel(request_id, call.method)
                sink.fail(ConnectionClosed("the stream was abandoned"))
            if not future.cancelled():
                future.exception()  # retrieved: nobody awaits it now
            raise
        if deadline is not None:
            connection.expire_later(sink, max(0.0, deadline - time.monotonic()))
        return reply(await future, _calls.bulk_result)

    # Reads -----------------------------------------------------------------------------------------

    check = _unary_method(_calls.check)
    batch_check = _unary_method(_calls.batch_check)
    list_objects = _unary_method(_calls.list_objects)
    list_subjects = _unary_method(_calls.list_subjects)
    get_permissions = _unary_method(_calls.get_permissions)
    batch_get_permissions = _unary_method(_calls.batch_get_permissions)

    async def iter_object_pages(
        self, permissions: str | Iterable[str] = (), **arguments: Any
    ) -> AsyncIterator[ObjectPage]:
        call: Unary[ObjectPage] | None = _calls.list_objects(permissions, **arguments)
        while call is not None:
            page = await self._call(call)
            yield page
            call = _calls.next_page(call, page)

    iter_object_pages.__doc__ = _calls.ITER_OBJECT_PAGES_DOC

    async def list_all_objects(self, permissions: str | Iterable[str] = (), **arguments: Any) -> ObjectList:
        return _calls.object_list([page async for page in self.iter_object_pages(permissions, **arguments)])

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

    watch = _server_stream_method(_calls.watch, lambda client, call: AsyncWatch(client, call))
    export = _server_stream_method(_calls.export, lambda client, call: AsyncExportStream(client, call))


describe_methods(AsyncClient, awaitable=True)


class _AsyncStreamIterator(Generic[M, E]):
    """A server stream on a connection of its own, opened on first use: an async iterator of
    its elements and an async context manager; ``aclose()`` cancels it on the server."""

    def __init__(self, client: AsyncClient, call: ServerStream[Any]) -> None:
        self._client = client
        self._state: StreamState[Any, E] = StreamState(call, self._elements)
        self._connection: _Connection | None = None
        self._sink: _QueueSink | None = None
        self._id = 0
        client._streams.add(self)

    def _elements(self, message: M) -> Iterable[E]:
        raise NotImplementedError

    async def _start(self) -> _Connection:
        if self._connection is None:
            connection = await self._client._connect()
            self._sink = _QueueSink()
            call = self._state.call
            try:
                self._id = connection.demux.open(self._sink, stream=True)
                body = request_body(call)
                connection.send(HEADER.pack(12 + len(body), self._id, call.method, END_STREAM, 0, 0) + body)
            except WardenError:
                connection.close("the stream could not start")
                raise
            self._connection = connection
        return self._connection

    @property
    def closed(self) -> bool:
        """Whether the stream has ended (closed, cancelled, finished or failed) and every
        element it delivered was taken."""
        return self._state.ended and not self._state.buffer

    def __aiter__(self) -> AsyncIterator[E]:
        return self

    async def __anext__(self) -> E:
        state = self._state
        if not state.buffer and not state.ended:
            connection = await self._start()
            assert self._sink is not None
            while not state.buffer and not state.ended:
                item = await self._sink.queue.get()
                try:
                    state.absorb(item)
                finally:
                    if state.ended:
                        connection.close("the stream ended")
        if not state.buffer:
            raise StopAsyncIteration
        return state.buffer.popleft()

    async def aclose(self) -> None:
        """Cancels the stream on the server and closes its connection; iteration then stops.
        Idempotent."""
        state = self._state
        state.buffer.clear()
        if not state.ended:
            state.closing = state.ended = True
            if self._connection is not None:
                self._connection.cancel(self._id, state.call.method)
                self._connection.close("the stream was closed")

    async def __aenter__(self: _S) -> _S:
        await self._start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()


_S = TypeVar("_S", bound=_AsyncStreamIterator[Any, Any])


class AsyncWatch(_AsyncStreamIterator[events_pb2.WatchResponse, events_pb2.Event]):
    """A Watch: ``async for`` yields ``warden.v1.Event`` messages, history first, then live
    events as they commit. The error the server ends the watch with is raised from the iteration
    (:class:`OutOfRange` for a pruned ``after_revision``). ``aclose()`` (or leaving its
    ``async with`` block) cancels it. Entering the ``async with`` block sends the request, so
    events committed after that are seen."""

    def _elements(self, message: events_pb2.WatchResponse) -> Iterable[events_pb2.Event]:
        return message.events


class AsyncExportStream(_AsyncStreamIterator[service_pb2.ExportResponse, writes_pb2.Record]):
    """An Export: ``async for`` yields ``warden.v1.Record`` messages, all at one revision,
    ``revision``, known once the first chunk arrived."""

    #: The revision the export was taken at; ``None`` until the first chunk arrived.
    revision: int | None = None

    def _elements(self, message: service_pb2.ExportResponse) -> Iterable[writes_pb2.Record]:
        self.revision = message.revision
        return message.records
