"""Figures of the Python client against a Warden server: a Check's round trip with one request in
flight (p50, p99), pipelined Checks per second from threads on one Client and from asyncio tasks
on one AsyncClient, BatchCheck decisions per second, and BulkGrant grants per second.

    python clients/python/bench/client_bench.py                       # starts .build/release/warden
    python clients/python/bench/client_bench.py --warden /tmp/warden  # another binary
    python clients/python/bench/client_bench.py --socket var/warden.sock   # a running server

A server of its own runs on a socket and a SQLite file in a temporary folder, and is stopped at
the end. Correctness is the tests' business; this only prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from warden_client import CheckItem, Client, ConnectionClosed, Grant, records
from warden_client.aio import AsyncClient

REPO = Path(__file__).resolve().parents[3]
USERS = 1_000
OBJECTS = 10_000
TYPE = "bench.car"


def start_server(binary: Path, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    socket_path = str(folder / "warden.sock")
    command = [str(binary), "serve", "--socket", socket_path, "--database", str(folder / "warden.db")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            with Client(socket_path, connect_timeout=1.0) as client:
                client.health()
                return process, socket_path
        except ConnectionClosed:
            if process.poll() is not None:
                sys.exit(f"{binary} serve exited with {process.returncode}")
            time.sleep(0.05)
    sys.exit("the server did not answer Health")


def load(client: Client) -> None:
    """1,000 users; user u holds view_car on the cars n with n % 1000 == u (10 each)."""
    client.register_content_type(TYPE)
    client.write_batch([records.user(str(u)) for u in range(USERS)])
    client.bulk_grant(Grant("bench.view_car", user=str(n % USERS), content_type=TYPE, pk=n) for n in range(OBJECTS))


class ClientCPU:
    """The client process's CPU time over a measurement, per operation (µs): what the Python
    side costs, whatever else the machine runs."""

    def __init__(self) -> None:
        self.started = time.process_time()

    def per(self, count: int) -> float:
        return (time.process_time() - self.started) / count * 1e6


def one_in_flight(client: Client, count: int) -> tuple[float, float]:
    timings = []
    for n in range(count):
        started = time.perf_counter_ns()
        client.check("bench.view_car", user=str(n % USERS), content_type=TYPE, pk=n % OBJECTS)
        timings.append(time.perf_counter_ns() - started)
    timings.sort()
    return timings[len(timings) // 2] / 1000, timings[int(len(timings) * 0.99)] / 1000


def threads_pipelined(socket_path: str, threads: int, per_thread: int, pool_size: int) -> float:
    with Client(socket_path, pool_size=pool_size) as client:
        client.health()
        barrier = threading.Barrier(threads + 1)

        def work(t: int) -> None:
            barrier.wait()
            for n in range(per_thread):
                client.check("bench.view_car", user=str((t + n) % USERS), content_type=TYPE, pk=n % OBJECTS)

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for worker in workers:
            worker.start()
        barrier.wait()
        started = time.perf_counter()
        for worker in workers:
            worker.join()
        return threads * per_thread / (time.perf_counter() - started)


def asyncio_pipelined(socket_path: str, in_flight: int, total: int) -> float:
    async def main() -> float:
        async with AsyncClient(socket_path) as client:
            await client.health()

            async def worker(w: int) -> None:
                for n in range(w, total, in_flight):
                    await client.check("bench.view_car", user=str(n % USERS), content_type=TYPE, pk=n % OBJECTS)

            started = time.perf_counter()
            await asyncio.gather(*(worker(w) for w in range(in_flight)))
            return total / (time.perf_counter() - started)

    return asyncio.run(main())


def batch_decisions(client: Client, batches: int, size: int) -> float:
    items = [CheckItem("bench.view_car", user=str(n % USERS), content_type=TYPE, pk=n % OBJECTS) for n in range(size)]
    started = time.perf_counter()
    for _ in range(batches):
        result = client.batch_check(items)
    elapsed = time.perf_counter() - started
    assert len(result) == size
    return batches * size / elapsed


def bulk_rate(client: Client, count: int) -> float:
    client.put_group("bulk")
    started = time.perf_counter()
    result = client.bulk_grant(Grant("bench.change_car", group="bulk", content_type=TYPE, pk=n) for n in range(count))
    elapsed = time.perf_counter() - started
    assert result.count == count
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", help="a running server's socket (its data is added to)")
    parser.add_argument("--warden", type=Path, default=REPO / ".build" / "release" / "warden",
                        help="the binary to start a server of its own with (default: .build/release/warden)")
    parser.add_argument("--checks", type=int, default=20_000, help="checks per measurement")
    parser.add_argument("--bulk", type=int, default=200_000, help="grants in the BulkGrant measurement")
    arguments = parser.parse_args()

    process = None
    with tempfile.TemporaryDirectory(prefix="warden-bench-") as folder:
        if arguments.socket:
            socket_path = arguments.socket
        else:
            process, socket_path = start_server(arguments.warden, Path(folder))
        try:
            with Client(socket_path, timeout=30) as client:
                load(client)
                print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus; "
                      f"server {'at ' + socket_path if arguments.socket else arguments.warden}")
                for _ in range(2_000):  # warm up
                    client.check("bench.view_car", user="1", content_type=TYPE, pk=1)
                cpu = ClientCPU()
                p50, p99 = one_in_flight(client, arguments.checks)
                print(f"check, one in flight (sync):        p50 {p50:7.1f} us  p99 {p99:7.1f} us"
                      f"   client cpu {cpu.per(arguments.checks):5.1f} us/check")
                for threads, pool in ((8, 1), (16, 2)):
                    cpu, count = ClientCPU(), arguments.checks // threads * 2 * threads
                    rate = threads_pipelined(socket_path, threads, count // threads, pool)
                    print(f"check, {threads:2} threads, {pool} connection(s):   {rate:9,.0f} checks/s"
                          f"      client cpu {cpu.per(count):5.1f} us/check")
                for in_flight in (64, 256):
                    cpu, count = ClientCPU(), arguments.checks * 2
                    rate = asyncio_pipelined(socket_path, in_flight, count)
                    print(f"check, asyncio, {in_flight:3} in flight:       {rate:9,.0f} checks/s"
                          f"      client cpu {cpu.per(count):5.1f} us/check")
                batches = max(10, arguments.checks // 1000)
                cpu = ClientCPU()
                rate = batch_decisions(client, batches, 1000)
                print(f"batch_check, batches of 1000:       {rate:9,.0f} decisions/s"
                      f"   client cpu {cpu.per(batches * 1000):5.2f} us/decision")
                cpu = ClientCPU()
                rate = bulk_rate(client, arguments.bulk)
                print(f"bulk_grant, {arguments.bulk:,} grants:      {rate:9,.0f} grants/s"
                      f"      client cpu {cpu.per(arguments.bulk):5.2f} us/grant")
                load_average = os.getloadavg()[0]
                print(f"load average during the run: {load_average:.1f} on {os.cpu_count()} cpus")
        finally:
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
