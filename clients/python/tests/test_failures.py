"""Lost servers and closed clients: calls in flight fail with ConnectionClosed, nothing hangs,
and the next call after the server is back reconnects."""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path

import pytest

from warden_client import Client, ConnectionClosed, DeadlineExceeded, Grant, Unavailable
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
            if connection._read_lock.locked():
                break
            threading.Event().wait(0.002)
        assert connection._read_lock.locked()
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
