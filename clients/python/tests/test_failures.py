"""Lost servers and closed clients: calls in flight fail with ConnectionClosed, nothing hangs,
and the next call after the server is back reconnects."""

from __future__ import annotations

import asyncio
import functools
import signal
import socket
import threading
from pathlib import Path

import pytest

from warden_client import Client, ConnectionClosed, DeadlineExceeded, Grant, Unavailable
from warden_client._frames import FrameBuffer
from warden_client.aio import AsyncClient


def _stopped_server_with_calls_in_flight(server, client: Client) -> tuple[list[threading.Thread], list[object]]:
    """Freezes the server, then starts checks and a bulk stream that cannot be answered."""
    outcomes: list[object] = []
    server.pause()

    def call(index: int) -> None:
        try:
            if index == 0:
                grants = (Grant("a.view_car", user="u", content_type="a.car", pk=pk) for pk in range(200_000))
                outcomes.append(client.bulk_grant(grants, timeout=None))
            else:
                outcomes.append(client.check("a.view_car", user="u", content_type="a.car", pk=index))
        except BaseException as failure:  # noqa: BLE001 - the test inspects it
            outcomes.append(failure)

    threads = [threading.Thread(target=call, args=(index,)) for index in range(9)]
    for thread in threads:
        thread.start()
    return threads, outcomes


def test_a_server_killed_mid_call_fails_every_call_in_flight(start_server) -> None:
    server = start_server()
    with Client(server.socket, timeout=None, pool_size=2) as client:
        client.register_content_type("a.car")
        client.put_user("u")
        threads, outcomes = _stopped_server_with_calls_in_flight(server, client)
        for _ in range(200):  # until the checks are sent and waiting
            if sum(c.demux.in_flight for c in client._pool if c is not None) >= 8:
                break
            threading.Event().wait(0.01)
        server.kill()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "a call hung after the server died"
        assert len(outcomes) == 9 and all(isinstance(outcome, ConnectionClosed) for outcome in outcomes), outcomes
        assert all(isinstance(outcome, Unavailable) for outcome in outcomes)

        with pytest.raises(ConnectionClosed, match="cannot connect"):
            client.health()
        server.start()  # the same socket and database: the client reconnects on its next call
        assert client.health().status == "SERVING"
        assert client.check("a.view_car", user="u", content_type="a.car", pk=1).reason is not None


def test_async_calls_in_flight_fail_when_the_server_dies(start_server) -> None:
    server = start_server()

    async def main() -> list[object]:
        async with AsyncClient(server.socket, timeout=None) as client:
            await client.register_content_type("a.car")
            server.pause()
            calls = [asyncio.ensure_future(client.check("a.view_car", user=str(n))) for n in range(50)]
            grants = (Grant("a.view_car", user="u", content_type="a.car", pk=pk) for pk in range(200_000))
            calls.append(asyncio.ensure_future(client.bulk_grant(grants, timeout=None)))
            await asyncio.sleep(0.2)
            server.kill()
            outcomes = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 60)
            with pytest.raises(ConnectionClosed, match="cannot connect"):
                await client.health()
            server.start()
            assert (await client.health()).status == "SERVING"
            return outcomes

    outcomes = asyncio.run(main())
    assert len(outcomes) == 51 and all(isinstance(outcome, ConnectionClosed) for outcome in outcomes), outcomes


def test_closing_the_client_fails_calls_in_flight(start_server) -> None:
    server = start_server()
    client = Client(server.socket, timeout=None)
    client.health()
    server.pause()
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.health()
        except BaseException as failure:  # noqa: BLE001
            outcome.append(failure)

    thread = threading.Thread(target=call)
    thread.start()
    threading.Event().wait(0.1)
    client.close()
    thread.join(timeout=30)
    server.signal(signal.SIGCONT)
    assert not thread.is_alive() and isinstance(outcome[0], ConnectionClosed)
    with pytest.raises(ConnectionClosed, match="client was closed"):
        client.health()
    client.close()


def test_no_server_at_the_socket(tmp_path: Path) -> None:
    with Client(tmp_path / "none.sock") as client:
        with pytest.raises(ConnectionClosed, match="cannot connect to Warden at"):
            client.health()
        with pytest.raises(ConnectionClosed):
            client.watch()

    async def main() -> None:
        async with AsyncClient(tmp_path / "none.sock") as client:
            with pytest.raises(ConnectionClosed, match="cannot connect to Warden at"):
                await client.health()

    asyncio.run(main())


def test_a_watch_ends_with_connection_closed_when_the_server_dies(start_server) -> None:
    server = start_server()
    with Client(server.socket) as client:
        watch = client.watch(after_revision=0)
        client.put_group("g")
        assert next(watch).group == "g"
        server.kill()
        with pytest.raises(ConnectionClosed):
            next(watch)
        assert list(watch) == []


def test_the_first_call_after_a_restart_goes_through(start_server) -> None:
    # Nothing was in flight when the server went away, so no call saw it go. The next call finds
    # each old connection closed before a byte of it is written, and goes out on a new one.
    server = start_server()
    with Client(server.socket, pool_size=2) as client:
        client.put_user("u")
        assert client.health().status == "SERVING" and client.health().status == "SERVING"  # both pooled
        server.kill()
        server.start()
        for _ in range(4):  # every pooled connection, in turn
            assert client.health().status == "SERVING"
        assert client.check("a.view_car", user="u", content_type="a.car", pk=1).allowed is False


def test_when_the_reading_caller_gives_up_another_reads_in_turn(start_server) -> None:
    # One connection: the first caller reads the socket for everyone. It gives up at its
    # deadline while the server is stopped; the callers still waiting must get their answers
    # once the server goes on, so one of them has to take over the reading.
    server = start_server()
    with Client(server.socket, pool_size=1) as client:
        client.health()
        connection = client._pool[0]
        assert connection is not None
        server.pause()
        outcomes: dict[str, object] = {}

        def call(name: str, timeout: float) -> None:
            try:
                outcomes[name] = client.health(timeout=timeout).status
            except BaseException as failure:  # noqa: BLE001 - the test inspects it
                outcomes[name] = failure

        first = threading.Thread(target=call, args=("first", 0.3))
        first.start()
        for _ in range(500):  # until it is sent and reading
            if connection._leader is not None:
                break
            threading.Event().wait(0.002)
        assert connection._leader is not None
        others = [threading.Thread(target=call, args=(f"other{n}", 20.0)) for n in range(4)]
        for thread in others:
            thread.start()
        first.join(timeout=10)
        assert isinstance(outcomes["first"], DeadlineExceeded)
        server.signal(signal.SIGCONT)
        for thread in others:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in others)
        assert {name: outcomes[name] for name in outcomes if name != "first"} == {
            f"other{n}": "SERVING" for n in range(4)
        }


def _frames_waiting(connection) -> int:
    """The whole frames a connection has received and nobody has handed out yet: those its
    frame buffer holds a part of, and those in the socket's receive queue (peeked, not taken)."""
    try:
        queued = connection._sock._sock.recv(1 << 20, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        queued = b""
    return len(FrameBuffer(1 << 20).feed(bytes(connection._buffer._buffer) + queued))


class _HookedSocket:
    """A socket whose ``send`` and ``recv`` call hooks first (to hold a thread at one point)."""

    def __init__(self, sock, before, after, before_recv) -> None:
        self._sock, self._before, self._after, self._before_recv = sock, before, after, before_recv

    def send(self, data, *flags):
        self._before()
        sent = self._sock.send(data, *flags)
        self._after()
        return sent

    def recv(self, size, *flags):
        self._before_recv()
        return self._sock.recv(size, *flags)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def test_a_frame_another_thread_wrote_is_not_sent_again(start_server) -> None:
    # Two grants queued together are written by one thread in one system call. The server runs
    # them, then restarts. The other grant's thread, finding its frame written, must wait for its
    # answer: sending it again on a new connection would run it twice. A health queued after the
    # restart, of which no byte went out, is sent again on a new connection; its failed write
    # must not fail the grants, whose answers came before the restart and are still to be read
    # (the grants' reader is held until the health is answered).
    server = start_server()
    with Client(server.socket, pool_size=1, timeout=10) as client:
        client.register_content_type("a.car")
        client.put_user("u")
        connection = client._pool[0]
        assert connection is not None
        sends, first_held, batch_written, release = [0], threading.Event(), threading.Event(), threading.Event()

        def before() -> None:
            sends[0] += 1
            if sends[0] == 1:
                first_held.wait(10)  # the first send holds the send lock until both grants queue

        def after() -> None:
            if sends[0] == 2:  # the two grants' batch is written: hold the lock until the restart
                batch_written.set()
                release.wait(10)

        after_done = threading.Event()

        def before_recv() -> None:
            if release.is_set():
                after_done.wait(10)

        connection._sock = _HookedSocket(connection._sock, before, after, before_recv)
        results: dict[str, object] = {}

        def run(name: str, call) -> None:
            try:
                results[name] = call()
            except BaseException as failure:  # noqa: BLE001 - the test inspects it
                results[name] = failure
            if name == "after":
                after_done.set()

        threads = [threading.Thread(target=run, args=("health", client.health))]
        threads[0].start()
        while sends[0] < 1:
            threading.Event().wait(0.001)
        for pk in (1, 2):
            grant = functools.partial(client.grant, "a.view_car", user="u", content_type="a.car", pk=pk)
            threads.append(threading.Thread(target=run, args=(f"grant {pk}", grant)))
            threads[-1].start()
        while len(connection._outgoing) < 2:
            threading.Event().wait(0.001)
        first_held.set()
        assert batch_written.wait(10)
        threads[0].join(timeout=30)  # the first health's thread has read its answer: nobody reads now
        assert getattr(results["health"], "status", results["health"]) == "SERVING"
        # Until both grants' answers are in this connection's receive queue (or were already
        # handed out): a grant the server committed but had not answered yet when killed fails
        # with ConnectionClosed, rightly, so the kill must come after the answers.
        waited = 0
        while _frames_waiting(connection) < connection.demux.in_flight:
            assert waited < 6000, "the server did not answer the two grants"
            threading.Event().wait(0.005)
            waited += 1
        server.kill()
        server.start()
        threads.append(threading.Thread(target=run, args=("after", client.health)))
        threads[-1].start()
        while len(connection._outgoing) < 1:
            threading.Event().wait(0.001)
        release.set()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads)
        assert [getattr(results[f"grant {pk}"], "changed", results[f"grant {pk}"]) for pk in (1, 2)] == [True, True]
        assert getattr(results["after"], "status", results["after"]) == "SERVING"


def test_answers_nobody_waits_for_do_not_stall_a_large_write(start_server) -> None:
    # Callers give up on big answers; the answers arrive later and nobody waits on the
    # connection to read them. The server stops reading a connection whose answers are not taken
    # (docs/protocol.md §10), so a bulk stream's megabyte chunks could wait forever for a read
    # that no caller does: the writing thread must take the answers itself.
    server = start_server()
    with Client(server.socket, pool_size=1, timeout=5.0) as client:
        client.register_content_type("a.car")
        client.put_user("u")
        client.bulk_grant(Grant("a.view_car", user="u", content_type="a.car", pk=pk) for pk in range(100_000, 200_000))
        server.pause()
        gave_up: list[object] = []

        def list_page() -> None:
            try:
                client.list_objects("a.view_car", user="u", content_type="a.car", page_size=100_000, timeout=0.5)
            except DeadlineExceeded as failure:
                gave_up.append(failure)

        listers = [threading.Thread(target=list_page) for _ in range(4)]
        for thread in listers:
            thread.start()
        for thread in listers:
            thread.join(timeout=30)
        assert len(gave_up) == 4
        server.signal(signal.SIGCONT)
        threading.Event().wait(1.0)  # the four late pages (about 3 MB) arrive; nobody reads them
        outcome: list[object] = []

        def bulk() -> None:
            grants = (Grant("a.view_car", user="u", content_type="a.car", pk=pk) for pk in range(300_000, 500_000))
            try:
                outcome.append(client.bulk_grant(grants, chunk_size=10_000, timeout=60).count)
            except BaseException as failure:  # noqa: BLE001 - the test inspects it
                outcome.append(failure)

        writer = threading.Thread(target=bulk, daemon=True)  # daemon: a stuck one must not hang pytest
        writer.start()
        writer.join(timeout=60)
        assert not writer.is_alive(), "the bulk stream's write stalled"
        assert outcome == [200_000]
        assert client.health(timeout=5).status == "SERVING"
