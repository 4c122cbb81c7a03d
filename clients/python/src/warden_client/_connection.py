"""One connection to Warden: request ids, the table of open requests, and (for the synchronous
client) the socket and how it is read.

Requests are pipelined: any number of threads write frames (under a send lock) without waiting
for answers, and whoever reads (one of the waiting threads, or a server stream's reader thread)
cuts the incoming bytes into frames and hands each to the request its id names, in whatever
order they come (docs/protocol.md §10).
"""

from __future__ import annotations

import itertools
import os
import queue
import socket
import struct
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
    """The answer to one unary call or client stream. Its lock is a one-place signal, taken at
    birth and released when something happens that its thread should look at: the answer or a
    failure came in, or (on a connection read by its callers) the reader left and this thread may
    read in turn."""

    __slots__ = ("lock", "frame", "error")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.frame: Frame | None = None
        self.error: WardenError | None = None

    def wake(self) -> None:
        """Signals the waiting thread (a second signal before it looked is the same signal)."""
        try:
            self.lock.release()
        except RuntimeError:
            pass

    def deliver(self, frame: Frame) -> None:
        self.frame = frame
        self.wake()

    def fail(self, error: WardenError) -> None:
        if self.frame is None and self.error is None:
            self.error = error
            self.wake()

    @property
    def done(self) -> bool:
        return self.frame is not None or self.error is not None

    def result(self, seconds: float | None) -> Frame:
        """The answer, or its failure; ``DeadlineExceeded`` when neither came (within
        ``seconds``)."""
        if self.frame is not None:
            return self.frame
        if self.error is not None:
            raise self.error
        raise DeadlineExceeded(
            f"no answer from Warden within {seconds or 0:.3f} s; a write may still commit (its outcome is unknown)"
        )


class QueueSink:
    """Frames of a server stream, queued for the thread that iterates it."""

    __slots__ = ("queue",)

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[Frame | WardenError] = queue.SimpleQueue()

    def deliver(self, frame: Frame) -> None:
        self.queue.put(frame)

    def fail(self, error: WardenError) -> None:
        self.queue.put(error)


class NotSent(ConnectionClosed):
    """A request could not be written, and nothing of it reached the server: the connection
    was found closed (the server restarted, or closed it while idle). Retrying it on a new
    connection cannot run it twice."""


#: How long one blocking read of a connection read by its callers lasts before the reader looks
#: at its deadline again (the kernel's ``SO_RCVTIMEO``; a read nearer its deadline is shorter).
READ_TICK = 0.05


class Connection:
    """A synchronous connection: a Unix socket, a send lock, and the reading of the answers.

    A connection for unary calls and client streams is read by the threads waiting on it
    (leader and followers): a waiting thread that finds the read lock free reads the socket
    itself, handing every frame to the request it names, until its own answer is in; a thread
    that finds the lock taken sleeps until the reader hands it its answer, or until the reader
    leaves and wakes it to read in turn. One call in flight thus costs one thread wake-up (the
    caller's) instead of two (a reader thread's, then the caller's); docs/benchmarks.md has the
    figures. A connection for a server stream (``reader=True``) has a reader thread instead, so
    that a watch's events are taken off the socket while the application is busy elsewhere.
    """

    def __init__(self, path: str, *, connect_timeout: float, max_frame_size: int, reader: bool = False) -> None:
        self.path = path
        self.demux = Demux()
        self._pid = os.getpid()
        self._send_lock = threading.Lock()
        self._outgoing: deque[bytes] = deque()
        self._close_reason: str | None = None
        self._read_lock = threading.Lock()
        self._waiting: dict[Slot, None] = {}
        self._waiting_lock = threading.Lock()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(connect_timeout)
            sock.connect(path)
            sock.settimeout(None)
            if not reader:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(READ_TICK))
        except OSError as failure:
            sock.close()
            raise ConnectionClosed(f"cannot connect to Warden at {path}: {failure}") from None
        self._sock = sock
        self._tick = READ_TICK
        self._buffer = FrameBuffer(max_frame_size)
        self._reader: threading.Thread | None = None
        if reader:
            self._reader = threading.Thread(target=self._read, name=f"warden-reader {path}", daemon=True)
            self._reader.start()

    @property
    def usable(self) -> bool:
        """Open, and owned by this process (not inherited through ``fork``)."""
        return self.demux.closed is None and self._pid == os.getpid()

    def _read(self) -> None:
        """The reader thread of a server stream's connection."""
        while self.demux.closed is None:
            self._receive(0)

    def _receive(self, flags: int) -> None:
        """Reads the socket once and hands the frames to their requests. ``flags=0`` waits for
        bytes (on a caller-read connection, at most ``self._tick``); ``MSG_DONTWAIT`` takes only
        what is there. A closed or broken connection, or bytes that are not frames, fail every
        open request."""
        try:
            data = self._sock.recv(1 << 18, flags)
        except BlockingIOError:
            return  # nothing within the tick, or nothing there
        except OSError as failure:
            self._end(ConnectionClosed(self._close_reason or f"the connection to Warden failed: {failure}"))
            return
        if not data:
            self._end(ConnectionClosed(self._close_reason or "Warden closed the connection"))
            return
        try:
            self.demux.dispatch(self._buffer.feed(data))
        except ConnectionClosed as failure:
            self._end(failure)

    def _end(self, error: ConnectionClosed) -> None:
        """The connection is over: every open request (and every later one) fails with
        ``error``; sends fail from now on. The descriptor is released by ``close()``."""
        self.demux.fail_all(error)
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def wait(self, slot: Slot, seconds: float | None) -> Frame:
        """The answer to the request ``slot`` was opened for; ``DeadlineExceeded`` when it does not
        come within ``seconds`` (``None``: no limit)."""
        if not slot.done:
            if self._reader is not None:
                slot.lock.acquire(timeout=-1 if seconds is None else max(0.0, seconds))
            else:
                self._lead_or_follow(slot, None if seconds is None else time.monotonic() + seconds)
        return slot.result(seconds)

    def _lead_or_follow(self, slot: Slot, deadline: float | None) -> None:
        waiting, read_lock = self._waiting, self._read_lock
        with self._waiting_lock:
            waiting[slot] = None  # before trying the read lock: a reader leaving sees this thread
        try:
            while not slot.done:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return
                if read_lock.acquire(blocking=False):
                    try:
                        self._read_for(slot, deadline)
                    finally:
                        read_lock.release()
                else:
                    slot.lock.acquire(timeout=-1 if left is None else left)
                if self.demux.closed is not None:
                    slot.fail(self.demux.closed)
        finally:
            with self._waiting_lock:
                del waiting[slot]
                if waiting and not read_lock.locked():
                    self._wake_a_reader()

    def _wake_a_reader(self) -> None:
        """Nobody reads: wakes one thread still waiting for its answer, to read in turn. Called
        holding ``_waiting_lock``, after the read lock was released."""
        for other in self._waiting:
            if not other.done:
                other.wake()
                return

    def _read_for(self, slot: Slot, deadline: float | None) -> None:
        """Reads as the leader until ``slot`` is answered, the deadline passes or the connection
        ends."""
        demux = self.demux
        while not slot.done and demux.closed is None:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                if left < self._tick or self._tick < READ_TICK:
                    self._set_tick(min(READ_TICK, max(left, 0.001)))
            elif self._tick < READ_TICK:
                self._set_tick(READ_TICK)
            self._receive(0)

    def _set_tick(self, seconds: float) -> None:
        """How long one blocking read may last (``SO_RCVTIMEO``). On a socket closed meanwhile it
        does nothing: the read that follows fails and ends the connection."""
        self._tick = seconds
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(seconds))
        except OSError:
            pass

    def pump(self) -> None:
        """Takes what answers are already there, without waiting (a client stream looks for an
        early refusal between chunks). Does nothing while another thread reads."""
        if self._reader is not None or not self._read_lock.acquire(blocking=False):
            return
        try:
            self._receive(socket.MSG_DONTWAIT)
        finally:
            self._read_lock.release()
        with self._waiting_lock:
            self._wake_a_reader()

    def send(self, data: bytes, request_id: int | None = None) -> None:
        """Writes frames, returning once they are written; a failure ends the connection (and
        the request ``request_id``), raising :class:`NotSent` when no byte was written. Threads
        that send at the same time share system calls: the one holding the send lock writes every
        frame queued by then."""
        outgoing = self._outgoing
        outgoing.append(data)
        written = True
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
                joined = batch[0] if len(batch) == 1 else b"".join(batch)
                written = False
                sent = self._sock.send(joined)
                written = True
                if sent < len(joined):
                    self._sock.sendall(memoryview(joined)[sent:])
        except OSError as failure:
            if request_id is not None:
                self.demux.forget(request_id)
            message = f"cannot send to Warden: {failure}"
            if self.demux.closed is None:
                self.close(message)
            if not written:
                raise NotSent(message) from None
            raise self.demux.closed or ConnectionClosed(message) from None

    def call(self, method: int, body: bytes, timeout: float | None) -> Frame:
        """One unary call: sends the frame, waits for its answer (at most ``timeout`` plus a
        grace for the server's own DEADLINE_EXCEEDED)."""
        slot = Slot()
        request_id = self.demux.open(slot)
        timeout_ms = 0 if timeout is None else min(0xFFFF_FFFF, max(1, int(timeout * 1000)))
        self.send(HEADER.pack(12 + len(body), request_id, method, END_STREAM, 0, timeout_ms) + body, request_id)
        return self.wait(slot, None if timeout is None else timeout + GRACE)

    def open_stream(self, method: int, body: bytes) -> tuple[int, QueueSink]:
        """Starts a server stream; its frames arrive in the returned sink's queue (a connection
        opened with ``reader=True``)."""
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
        if self._reader is not None and threading.current_thread() is not self._reader:
            self._reader.join(timeout=5)
        self.demux.fail_all(ConnectionClosed(reason))
        if self._reader is None or not self._reader.is_alive():
            self._sock.close()


def _timeval(seconds: float) -> bytes:
    """``struct timeval`` for ``SO_RCVTIMEO``."""
    whole = int(seconds)
    return struct.pack("@ll", whole, int((seconds - whole) * 1_000_000))


def deadline_left(deadline: float | None) -> float | None:
    """Seconds left until a ``time.monotonic()`` deadline (``None``: none)."""
    return None if deadline is None else deadline - time.monotonic()


__all__ = ["CANCEL", "GRACE", "Connection", "Demux", "NotSent", "QueueSink", "Sink", "Slot", "deadline_left"]
