"""What the HTTP listener (``warden serve --http-address``) costs the permission socket: a Check's
round trip with one request in flight (p50, p99) while nothing else runs, while another process
scrapes ``/metrics`` back to back on a keep-alive connection, and while another process holds 200
slowloris connections on the HTTP port (a header byte a second, never finished). The phases run
in turns, twice, on one server.

    clients/python/.venv/bin/python clients/python/bench/http_listener_bench.py   # .build/release/warden
    clients/python/.venv/bin/python clients/python/bench/http_listener_bench.py --warden /tmp/warden

Only prints figures; the tests (Tests/WardenServerTests/HTTPEndpointTests.swift) check behaviour.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from client_bench import REPO, load, one_in_flight  # the same data and the same timing
from warden_client import Client, ConnectionClosed

# A separate process, so that its CPU is not the measuring client's: GET /metrics back to back
# on one keep-alive connection, until killed; prints its count of scrapes every second.
SCRAPER = r"""
import http.client, sys, time
connection = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]))
count, mark = 0, time.monotonic()
while True:
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    response.read()
    count += 1
    if time.monotonic() - mark >= 1:
        print(count, flush=True)
        mark = time.monotonic()
"""

# 200 connections sending a header a byte a second; a connection the server closes is replaced.
SLOWLORIS = r"""
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
head = b"GET /metrics HTTP/1.1\r\nHost: warden\r\nX-Slow: " + b"a" * 4096
slots = [None] * 200
while True:
    for i, slot in enumerate(slots):
        try:
            if slot is None:
                slot = [socket.create_connection((host, port)), 0]
            slot[0].send(head[slot[1] % len(head):slot[1] % len(head) + 1])
            slot[1] += 1
            slots[i] = slot
        except OSError:
            if slot is not None:
                slot[0].close()
            slots[i] = None
    time.sleep(1)
"""


def start_server(binary: Path, folder: Path) -> tuple[subprocess.Popen[bytes], str, tuple[str, int]]:
    socket_path = str(folder / "warden.sock")
    log = folder / "warden.log"
    command = [str(binary), "serve", "--socket", socket_path, "--database", str(folder / "warden.db"),
               "--http-address", "127.0.0.1:0", "--log-level", "error"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    for _ in range(600):
        found = re.search(r"^warden: http listening on (\S+):(\d+)$", log.read_text(), re.MULTILINE)
        if found:
            try:
                with Client(socket_path, connect_timeout=1.0) as client:
                    client.health()
                    return process, socket_path, (found.group(1), int(found.group(2)))
            except ConnectionClosed:
                pass
        if process.poll() is not None:
            sys.exit(f"{binary} serve exited with {process.returncode}: {log.read_text()}")
        time.sleep(0.05)
    sys.exit("the server did not answer Health")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warden", type=Path, default=REPO / ".build" / "release" / "warden")
    parser.add_argument("--checks", type=int, default=20_000, help="checks per phase")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warden-http-bench-") as scratch:
        server, socket_path, (host, port) = start_server(arguments.warden, Path(scratch))
        try:
            with Client(socket_path) as client:
                load(client)
                one_in_flight(client, 2_000)  # warm up
                for round_ in (1, 2):
                    for phase, script in (("quiet", None), ("scraper", SCRAPER), ("200 slowloris", SLOWLORIS)):
                        helper = None
                        if script:
                            helper = subprocess.Popen([sys.executable, "-c", script, host, str(port)],
                                                      stdout=subprocess.PIPE, text=True)
                            time.sleep(1)
                        p50, p99 = one_in_flight(client, arguments.checks)
                        extra = ""
                        if helper:
                            helper.kill()
                            output = helper.communicate()[0].split()
                            if script is SCRAPER and output:
                                extra = f", {int(output[-1]) / max(len(output), 1):.0f} scrapes/s"
                        print(f"round {round_}, {phase}: check p50 {p50:.1f} µs, p99 {p99:.1f} µs{extra}", flush=True)
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
