"""The open requests of one connection, shared by the sync and the async client: request ids
and the table that hands each response frame to the request its id names (``Demux``), and where
the frames go (``Slot``: a call a thread waits on; ``QueueSink``: a server stream's frames).
Frames come in whatever order the server answers (docs/protocol.md §10).
"""

from __future__ import annotations

import itertools
import queue
import threading
from typing import Protocol

from ._call_types import error
from ._frames import END_STREAM, Frame
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

    def refuse(self, error: ConnectionClosed) -> None:
        """No new request: ``open`` raises ``error`` from now on. The open ones stay open (their
        answers may still be read)."""
        if self.closed is None:
            self.closed = error

    def forget(self, request_id: int) -> None:
        """Drops a request that will get no answer (its frame could not be sent)."""
        self._pending.pop(request_id, None)

    def fail_all(self, error: ConnectionClosed) -> None:
        """Ends the connection: every open request fails with ``error``, and so do later ones."""
        if self.closed is None:
            self.closed = error
        pending, self._pending = self._pending, {}
        for sink, _ in list(pending.values()):  # a copy: a reader may still be dispatching from it
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
        raise no_answer(seconds or 0.0)


def no_answer(seconds: float) -> DeadlineExceeded:
    """The error of a call given up locally after ``seconds``."""
    return DeadlineExceeded(
        f"no answer from Warden within {seconds:.3f} s; a write may still commit (its outcome is unknown)"
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


__all__ = ["GRACE", "Demux", "QueueSink", "Sink", "Slot", "no_answer"]
