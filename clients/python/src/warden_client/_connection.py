"""One synchronous connection to Warden: a Unix socket, how its frames are written (several
threads' frames in one system call, each told what became of it) and how its answers are read
(by the threads waiting for them, or by a server stream's reader thread). The open requests are
kept by a ``Demux`` (``_requests``).
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
import weakref
from collections import deque

from ._frames import END_STREAM, HEADER, Frame, FrameBuffer, cancel_frame
from ._requests import GRACE, Demux, QueueSink, Slot
from .errors import ConnectionClosed

class NotSent(ConnectionClosed):
    """A request could not be written, and no byte of it reached the server: the connection
    was found closed (the server restarted, or closed it while idle). Retrying it on a new
    connection cannot run it twice."""


#: How long one blocking read or write of a pooled connection lasts before its thread looks
#: around (the kernel's ``SO_RCVTIMEO``/``SO_SNDTIMEO``): a reader at its deadline, a writer at
#: the answers the server waits for us to take (a read nearer its deadline is shorter).
TICK = 0.05

#: What became of a queued frame.
_QUEUED, _WRITTEN, _UNSENT, _BROKEN = 0, 1, 2, 3


class _Outgoing:
    """A frame waiting for the send lock, and what became of it."""

    __slots__ = ("data", "state")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.state = _QUEUED


#: Who holds the reading of a connection when it is not a waiting call: a drain.
_DRAIN = object()


class Connection:
    """A synchronous connection: a Unix socket, a send lock, and the reading of the answers.

    A pooled connection (unary calls and client streams) is read by the threads waiting on it
    (leader and followers): a waiting thread that finds nobody reading becomes the reader and
    hands every frame to the request it names, until its own answer is in; a thread that finds a
    reader sleeps until the reader hands it its answer, or until the reader leaves and wakes it
    to read in turn. One call in flight thus costs one thread wake-up (the caller's) instead of
    two (a reader thread's, then the caller's); docs/benchmarks.md has the figures. A thread
    whose write does not go through within a tick takes the answers already there (the server
    stops reading a connection whose answers are not taken, docs/protocol.md §10), so a write
    never waits on a read nobody does. A connection for a server stream (``reader=True``) has a
    reader thread instead, so that a watch's events are taken off the socket while the
    application is busy elsewhere.
    """

    def __init__(self, path: str, *, connect_timeout: float, max_frame_size: int, reader: bool = False) -> None:
        self.path = path
        self.demux = Demux()
        self._pid = os.getpid()
        self._send_lock = threading.Lock()
        self._outgoing: deque[_Outgoing] = deque()
        self._close_reason: str | None = None
        #: Set when every open request has failed: nothing is read any more.
        self._ended = False
        #: The slot whose thread reads the socket (or ``_DRAIN``); ``None``: nobody. Taken and
        #: given back under ``_waiting_lock``, as ``_waiting`` (the slots whose threads wait) is.
        self._leader: object | None = None
        self._waiting: dict[Slot, None] = {}
        self._waiting_lock = threading.Lock()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(connect_timeout)
            sock.connect(path)
            sock.settimeout(None)
            if not reader:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(TICK))
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(TICK))
        except OSError as failure:
            sock.close()
            raise ConnectionClosed(f"cannot connect to Warden at {path}: {failure}") from None
        self._sock = sock
        # The descriptor is released by close(), or when the connection is collected (or at
        # exit): never while another thread may still be about to use its number.
        self._release = weakref.finalize(self, sock.close)
        self._tick = TICK
        self._buffer = FrameBuffer(max_frame_size)
        self._reader: threading.Thread | None = None
        if reader:
            self._reader = threading.Thread(target=self._read, name=f"warden-reader {path}", daemon=True)
            self._reader.start()

    # Reading -------------------------------------------------------------------------------------

    def _read(self) -> None:
        """The reader thread of a server stream's connection."""
        while not self._ended:
            self._receive(0)

    def _receive(self, flags: int) -> bool:
        """Reads the socket once and hands the frames to their requests; whether bytes came.
        ``flags=0`` waits for bytes (on a pooled connection at most ``self._tick``);
        ``MSG_DONTWAIT`` takes only what is there. A closed or broken connection, or bytes that
        are not frames, fail every open request. So does an exception raised in the middle (a
        signal handler's, in the main thread): bytes read may be lost, and with them where the
        next frame starts."""
        try:
            data = self._sock.recv(1 << 18, flags)
            if not data:
                self._end(ConnectionClosed(self._close_reason or "Warden closed the connection"))
                return False
            self.demux.dispatch(self._buffer.feed(data))
            return True
        except BlockingIOError:
            return False  # nothing within the tick, or nothing there
        except ConnectionClosed as failure:
            self._end(failure)
            return False
        except OSError as failure:
            self._end(ConnectionClosed(self._close_reason or f"the connection to Warden failed: {failure}"))
            return False
        except BaseException as interruption:
            self._end(ConnectionClosed(f"reading the connection was interrupted ({type(interruption).__name__})"))
            raise

    def _end(self, error: ConnectionClosed) -> None:
        """The connection is over: every open request (and every later one) fails with
        ``error``; sends fail from now on. The descriptor is released by ``close()`` or when the
        connection is collected."""
        self._ended = True
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
        try:
            with self._waiting_lock:
                self._waiting[slot] = None  # before looking for a reader: one leaving sees this thread
            while not slot.done:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return
                with self._waiting_lock:
                    lead = self._leader is None
                    if lead:
                        self._leader = slot
                if lead:
                    self._read_for(slot, deadline)
                    with self._waiting_lock:
                        self._leader = None
                else:
                    slot.lock.acquire(timeout=-1 if left is None else left)
                if self._ended:
                    slot.fail(self.demux.closed or ConnectionClosed("the connection ended"))
        finally:
            # Also after an exception anywhere above (a signal handler's): the lead is given
            # back and, if nobody reads, a waiting thread is woken to.
            with self._waiting_lock:
                self._waiting.pop(slot, None)
                if self._leader is slot:
                    self._leader = None
                if self._leader is None:
                    self._wake_a_reader()

    def _wake_a_reader(self) -> None:
        """Nobody reads: wakes one thread still waiting for its answer, to read in turn. Called
        holding ``_waiting_lock``."""
        for other in self._waiting:
            if not other.done:
                other.wake()
                return

    def _read_for(self, slot: Slot, deadline: float | None) -> None:
        """Reads as the leader until ``slot`` is answered, the deadline passes or the connection
        ends."""
        while not slot.done and not self._ended:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                if left < self._tick or self._tick < TICK:
                    self._set_tick(min(TICK, max(left, 0.001)))
            elif self._tick < TICK:
                self._set_tick(TICK)
            self._receive(0)

    def _set_tick(self, seconds: float) -> None:
        """How long one blocking read may last (``SO_RCVTIMEO``). On a socket closed meanwhile it
        does nothing: the read that follows fails and ends the connection."""
        self._tick = seconds
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(seconds))
        except OSError:
            pass

    def pump(self, *, then_end: ConnectionClosed | None = None) -> None:
        """Takes every answer already there, without waiting (a client stream looks for an early
        refusal between chunks; a write that does not go through lets the server go on). With
        ``then_end``, the connection is then ended with that error: after a failed write, the
        answers the server sent before it went are handed out first. Does nothing while another
        thread reads (that reader hands them out, and then meets the end of the stream)."""
        if self._reader is not None:
            return
        with self._waiting_lock:
            if self._leader is not None:
                return
            self._leader = _DRAIN
        try:
            while self._receive(socket.MSG_DONTWAIT):
                pass
            if then_end is not None:
                self._end(then_end)
        finally:
            with self._waiting_lock:
                if self._leader is _DRAIN:
                    self._leader = None
                    self._wake_a_reader()

    # Writing -------------------------------------------------------------------------------------

    def send(self, data: bytes, request_id: int | None = None) -> None:
        """Writes a frame, returning once it is written. A failure ends the connection (and the
        request ``request_id``); it raises :class:`NotSent` when no byte of this frame was
        written, else ``ConnectionClosed``. Threads that send at the same time share system
        calls: the one holding the send lock writes every frame queued by then, and tells each
        what became of it."""
        entry = _Outgoing(data)
        self._outgoing.append(entry)
        with self._send_lock:
            if entry.state == _QUEUED:
                self._write_queued()
        if entry.state == _WRITTEN:
            return
        if request_id is not None:
            self.demux.forget(request_id)
        closed = self.demux.closed
        message = closed.message if closed is not None else "cannot send to Warden"
        if entry.state == _UNSENT:
            raise NotSent(message)
        raise closed or ConnectionClosed(message)

    def _write_queued(self) -> None:
        """Writes every queued frame in one system call (or several, for a large batch), holding
        the send lock, and marks each: written, not sent at all, or broken off."""
        outgoing, batch = self._outgoing, []
        try:
            while True:
                batch.append(outgoing.popleft())
        except IndexError:
            pass
        data = batch[0].data if len(batch) == 1 else b"".join([entry.data for entry in batch])
        view, total, sent = memoryview(data), len(data), 0
        failure: BaseException | None = None
        try:
            while sent < total:
                try:
                    sent += self._sock.send(view[sent:])
                except BlockingIOError:
                    pass  # nothing went out within the tick
                if sent < total:
                    self.pump()  # the server may be waiting for us to take its answers
        except BaseException as error:  # OSError, or an interruption (a signal handler's)
            failure = error
        offset = 0
        for entry in batch:
            end = offset + len(entry.data)
            entry.state = _WRITTEN if end <= sent else _UNSENT if offset >= sent else _BROKEN
            offset = end
        if failure is None:
            return
        if isinstance(failure, OSError):
            # The server went or closed the connection: no new request goes on it, and the
            # answers it sent before are still handed out.
            ended = ConnectionClosed(self._close_reason or f"cannot send to Warden: {failure}")
            self.demux.refuse(ended)
            self.pump(then_end=ended)
            return
        self._end(ConnectionClosed(f"writing to the connection was interrupted ({type(failure).__name__})"))
        raise failure

    def call(self, method: int, body: bytes, timeout: float | None) -> Frame:
        """One unary call: sends the frame, waits for its answer (at most ``timeout`` plus a
        grace for the server's own DEADLINE_EXCEEDED)."""
        slot = Slot()
        try:
            request_id = self.demux.open(slot)
        except ConnectionClosed as closed:
            raise NotSent(closed.message) from None  # found closed before anything was sent
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
            self._ended = True
            self._release()
            return
        if self._close_reason is None:
            self._close_reason = reason
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self._reader is not None and threading.current_thread() is not self._reader:
            self._reader.join(timeout=5)
        self._ended = True
        self.demux.fail_all(ConnectionClosed(reason))
        if self._reader is None or not self._reader.is_alive():
            self._release()


def _timeval(seconds: float) -> bytes:
    """``struct timeval`` for ``SO_RCVTIMEO``."""
    whole = int(seconds)
    return struct.pack("@ll", whole, int((seconds - whole) * 1_000_000))


__all__ = ["Connection", "NotSent"]
