"""Many threads on one Client, many asyncio tasks on one AsyncClient: each gets its own answer."""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from warden_client import Client, Grant, Reason
from warden_client.aio import AsyncClient

THREADS = 16
OBJECTS = 300


def _load(client: Client, app: str) -> None:
    """User ``{app}-u{t}`` holds view_car on the cars ``n`` with ``n % 16 == t``, and through its
    group ``{app}-g{t % 4}`` change_car on the cars ``n`` with ``n % 4 == t % 4``."""
    car = f"{app}.car"
    for t in range(4):
        client.put_group(f"{app}-g{t}")
    for t in range(THREADS):
        client.put_user(f"{app}-u{t}")
        client.add_member(f"{app}-u{t}", f"{app}-g{t % 4}")
    grants = [Grant(f"{app}.view_car", user=f"{app}-u{n % THREADS}", content_type=car, pk=n) for n in range(OBJECTS)]
    grants += [Grant(f"{app}.change_car", group=f"{app}-g{n % 4}", content_type=car, pk=n) for n in range(OBJECTS)]
    client.bulk_grant(grants)


def _expected(app: str, t: int, n: int, codename: str) -> tuple[bool, Reason, str | None]:
    if codename == "view_car":
        return (True, Reason.OBJECT_GRANT_USER, None) if n % THREADS == t else (False, Reason.NO_GRANT, None)
    if n % 4 == t % 4:
        return True, Reason.OBJECT_GRANT_GROUP, f"{app}-g{t % 4}"
    return False, Reason.NO_GRANT, None


def test_threads_share_one_pipelined_connection(server, app: str) -> None:
    with Client(server.socket, pool_size=1) as client:
        _load(client, app)
        start = threading.Barrier(THREADS)

        def work(t: int) -> list[str]:
            start.wait()
            wrong = []
            for n in range(OBJECTS):
                for codename in ("view_car", "change_car"):
                    answer = client.check(f"{app}.{codename}", user=f"{app}-u{t}", content_type=f"{app}.car", pk=n)
                    if (answer.allowed, answer.reason, answer.group) != _expected(app, t, n, codename):
                        wrong.append(f"u{t} {codename} {n}: {answer}")
            return wrong

        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(work, range(THREADS)))
        assert [w for wrong in results for w in wrong] == []
        assert len([c for c in client._pool if c is not None]) == 1


def test_writes_and_a_bulk_stream_interleave_with_checks(server, app: str) -> None:
    car = f"{app}.car"
    with Client(server.socket, pool_size=1) as client:
        client.put_user(f"{app}-bulk")
        client.put_user(f"{app}-w")
        done = threading.Event()

        def bulk() -> int:
            try:
                grants = (Grant(f"{app}.view_car", user=f"{app}-bulk", content_type=car, pk=n) for n in range(30_000))
                return client.bulk_grant(grants, chunk_size=2_000).count
            finally:
                done.set()

        def writes() -> list[bool]:
            changed = []
            for n in range(200):
                changed.append(client.grant(f"{app}.change_car", user=f"{app}-w", content_type=car, pk=n).changed)
                assert client.check(f"{app}.change_car", user=f"{app}-w", content_type=car, pk=n).allowed
            return changed

        with ThreadPoolExecutor(3) as pool:
            counted = pool.submit(bulk)
            written = [pool.submit(writes)]
            assert counted.result() == 30_000
            assert all(written[0].result())
        assert len(client.list_all_objects(f"{app}.view_car", user=f"{app}-bulk", page_size=100_000).pks) == 30_000


def test_asyncio_tasks_share_one_pipelined_connection(server, app: str) -> None:
    with Client(server.socket) as setup:
        _load(setup, app)

    async def main() -> list[str]:
        async with AsyncClient(server.socket) as client:
            async def one(t: int, n: int, codename: str) -> str | None:
                answer = await client.check(f"{app}.{codename}", user=f"{app}-u{t}", content_type=f"{app}.car", pk=n)
                if (answer.allowed, answer.reason, answer.group) != _expected(app, t, n, codename):
                    return f"u{t} {codename} {n}: {answer}"
                return None

            jobs = [one(t, n, c) for t in range(THREADS) for n in range(OBJECTS) for c in ("view_car", "change_car")]
            results = await asyncio.gather(*jobs)
            assert client._connection is not None and client._connection.demux.in_flight == 0
            return [r for r in results if r is not None]

    assert asyncio.run(main()) == []


def test_a_client_keeps_working_in_a_forked_child(server, app: str) -> None:
    with Client(server.socket) as client:
        client.put_user(f"{app}-u")
        client.grant(f"{app}.view_car", user=f"{app}-u", content_type=f"{app}.car", pk=1)
        assert client.check(f"{app}.view_car", user=f"{app}-u", content_type=f"{app}.car", pk=1)
        child = os.fork()
        if child == 0:  # the child: its own connections; the parent's are left alone
            try:
                ok = client.check(f"{app}.view_car", user=f"{app}-u", content_type=f"{app}.car", pk=1).allowed
                client.close()
                os._exit(0 if ok else 1)
            except BaseException:
                os._exit(2)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert client.check(f"{app}.view_car", user=f"{app}-u", content_type=f"{app}.car", pk=1).allowed
