"""One connection to Warden: request ids, the table of open requests, and (for the synchronous
client) the socket with its reader thread.

Requests are pipelined: any number of threads write frames (under a send lock) without waiting
for answers, and one reader thread cuts the incoming bytes into frames and hands each to the
request its id names, in whatever order they come (docs/protocol.md §10).
"""

from __future__ import annotations

import itertools
import os
import queue
import socket
import threading
import time
from collections import deque
from typing import Protocol

from ._call_types import error
from ._frames import CANCEL, END_STREAM, HEADER, Frame, FrameBuffer, cancel_frame
from .errors import ConnectionClosed, DeadlineExceeded, WardenError

#: How much longer than a call's deadline the client waits for the server's own answer (which
#: for a deadline the server enforces is DEADLINE_EXCEEDED with the server's message).
GRACE = 0.25


class Sink(Protocol):
    """Where the frames of one request go."""

    def deliver(self, frame: Frame) -> None: ...

    def fail(self, error: WardenError) -> None: ...


class Demux:
    """Request ids and the open requests of one connection, shared by the sync and the async
    connection. Ids count from 1, skip 0 (the server's connection-level errors) and any id still
    open, as the protocol asks."""

    __slots__ = ("_pending", "_ids", "closed")

    def __init__(self) -> None:
        self._pending: dict[int, tuple[Sink, bool]] = {}
        self._ids = itertools.count(1)
        #: Why the connection ended; ``None`` while it is open.
        self.closed: ConnectionClosed | None = None

    def open(self, sink: Sink, *, stream: bool = False) -> int:
        """Registers a request and returns its id. ``stream``: it receives frames until one has
        END_STREAM or a status; else its first frame ends it."""
        pending = self._pending
        while True:
            request_id = next(self._ids) & 0xFFFF_FFFF
            if request_id and request_id not in pending:
                break
        pending[request_id] = (sink, stream)
        if self.closed is not None:
            # The reader failed everything before this request was registered.
            pending.pop(request_id, None)
            raise self.closed
        return request_id

    def dispatch(self, frames: list[Frame]) -> None:
        """Hands response frames to their requests; frames for ids no longer open are dropped.
        A status on request id 0 ends the connection."""
        pending = self._pending
        for frame in frames:
            request_id = frame.request_id
            if request_id == 0:
                if frame.status:
                    cause = error(frame)
                    raise ConnectionClosed(f"Warden ended the connection: {cause}", code=cause.code)
                continue
            entry = pending.get(request_id)
            if entry is None:
                continue
            sink, stream = entry
            if not stream or frame.status or frame.flags & END_STREAM:
                del pending[request_id]
            sink.deliver(frame)

    def forget(self, request_id: int) -> None:
        """Drops a request that will get no answer (its frame could not be sent)."""
        self._pending.pop(request_id, None)

    def fail_all(self, error: ConnectionClosed) -> None:
        """Ends the connection: every open request fails with ``error``, and so do later ones."""
        if self.closed is None:
            self.closed = error
        pending, self._pending = self._pending, {}
        for sink, _ in pending.values():
            sink.fail(self.closed)

    @property
    def in_flight(self) -> int:
        """Open requests."""
        return len(self._pending)


class Slot:
    """The answer to one unary call or client stream, waited for by the calling thread: a lock
    acquired at birth and released when the answer (or a failure) is in."""

    __slots__ = ("lock", "frame", "error")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.frame: Frame | None = None
        self.error: WardenError | None = None

    def deliver(self, frame: Frame) -> None:
        self.frame = frame
        self.lock.release()

    def fail(self, error: WardenError) -> None:
        if self.frame is None and self.error is None:
            self.error = error
            self.lock.release()

    @property
    def done(self) -> bool:
        return self.frame is not None or self.error is not None

    def wait(self, seconds: float | None) -> Frame:
        """The answer; ``DeadlineExceeded`` when it does not come within ``seconds``."""
        if not self.lock.acquire(timeout=-1 if seconds is None else max(0.0, seconds)):
            raise DeadlineExceeded(
                f"no answer from Warden within {seconds:.3f} s; a write may still commit (its outcome is unknown)"
            )
        if self.error is not None:
            raise self.error
        assert self.frame is not None
        return self.frame


class QueueSink:
    """Frames of a server stream, queued for the thread that iterates it."""

    __slots__ = ("queue",)

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[Frame | WardenError] = queue.SimpleQueue()

    def deliver(self, frame: Frame) -> None:
        self.queue.put(frame)

    def fail(self, error: WardenError) -> None:
        self.queue.put(error)


class Connection:
    """A synchronous connection: a Unix socket, a send lock, and a reader thread."""

    def __init__(self, path: str, *, connect_timeout: float, max_frame_size: int) -> None:
        self.path = path
        self.demux = Demux()
        self._pid = os.getpid()
        self._send_lock = threading.Lock()
        self._outgoing: deque[bytes] = deque()
        self._close_reason: str | None = None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(connect_timeout)
            sock.connect(path)
            sock.settimeout(None)
        except OSError as failure:
            sock.close()
            raise ConnectionClosed(f"cannot connect to Warden at {path}: {failure}") from None
        self._sock = sock
        self._buffer = FrameBuffer(max_frame_size)
        self._reader = threading.Thread(target=self._read, name=f"warden-reader {path}", daemon=True)
        self._reader.start()

    @property
    def usable(self) -> bool:
        """Open, and owned by this process (not inherited through ``fork``)."""
        return self.demux.closed is None and self._pid == os.getpid()

    def _read(self) -> None:
        sock, buffer, demux = self._sock, self._buffer, self.demux
        try:
            while True:
                data = sock.recv(1 << 18)
                if not data:
                    raise ConnectionClosed(self._close_reason or "Warden closed the connection")
                demux.dispatch(buffer.feed(data))
        except ConnectionClosed as failure:
            error = failure
        except OSError as failure:
            error = ConnectionClosed(self._close_reason or f"the connection to Warden failed: {failure}")
        demux.fail_all(error)
        try:
            sock.close()
        except OSError:
            pass

    def send(self, data: bytes, request_id: int | None = None) -> None:
        """Writes frames, returning once they are written; a failure ends the connection (and
        the request ``request_id``). Threads that send at the same time share system calls: the
        one holding the send lock writes every frame queued by then."""
        outgoing = self._outgoing
        outgoing.append(data)
        try:
            with self._send_lock:
                if not outgoing:
                    return  # another thread wrote ours
                batch = []
                try:
                    while True:
                        batch.append(outgoing.popleft())
                except IndexError:
                    pass
                self._sock.sendall(batch[0] if len(batch) == 1 else b"".join(batch))
        except OSError as failure:
            if request_id is not None:
                self.demux.forget(request_id)
            error = self.demux.closed or ConnectionClosed(f"cannot send to Warden: {failure}")
            self.close(str(error.message))
            raise error from None

    def call(self, method: int, body: bytes, timeout: float | None) -> Frame:
        """One unary call: sends the frame, waits for its answer (at most ``timeout`` plus a
        grace for the server's own DEADLINE_EXCEEDED)."""
        slot = Slot()
        request_id = self.demux.open(slot)
        timeout_ms = 0 if timeout is None else min(0xFFFF_FFFF, max(1, int(timeout * 1000)))
        self.send(HEADER.pack(12 + len(body), request_id, method, END_STREAM, 0, timeout_ms) + body, request_id)
        return slot.wait(None if timeout is None else timeout + GRACE)

    def open_stream(self, method: int, body: bytes) -> tuple[int, QueueSink]:
        """Starts a server stream; its frames arrive in the returned sink's queue."""
        sink = QueueSink()
        request_id = self.demux.open(sink, stream=True)
        self.send(HEADER.pack(12 + len(body), request_id, method, END_STREAM, 0, 0) + body, request_id)
        return request_id, sink

    def cancel(self, request_id: int, method: int) -> None:
        """Asks the server to abandon a stream (best effort: a closed connection ends it too)."""
        try:
            self.send(cancel_frame(request_id, method))
        except ConnectionClosed:
            pass

    def close(self, reason: str = "the client closed the connection") -> None:
        """Closes the connection; calls in flight fail with ``ConnectionClosed(reason)``. In a
        forked child the inherited socket is only released, never shut down (it is the parent's
        connection too)."""
        if self._pid != os.getpid():
            self.demux.closed = self.demux.closed or ConnectionClosed(reason)
            self._sock.close()
            return
        if self._close_reason is None:
            self._close_reason = reason
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if threading.current_thread() is not self._reader:
            self._reader.join(timeout=5)
        self.demux.fail_all(ConnectionClosed(reason))


def deadline_left(deadline: float | None) -> float | None:
    """Seconds left until a ``time.monotonic()`` deadline (``None``: none)."""
    return None if deadline is None else deadline - time.monotonic()


__all__ = ["CANCEL", "GRACE", "Connection", "Demux", "QueueSink", "Sink", "Slot", "deadline_left"]
