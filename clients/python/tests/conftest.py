"""Real Warden servers for the tests: ``warden serve`` processes on sockets and SQLite files in
temporary folders. The binary is ``$WARDEN_BIN``, else ``<repo>/.build/debug/warden``."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from warden_client import Client
from warden_client.testing import stop_process, wait_serving

REPO = Path(__file__).resolve().parents[3]


def warden_binary() -> Path:
    path = Path(os.environ.get("WARDEN_BIN") or REPO / ".build" / "debug" / "warden")
    if not path.is_file():
        pytest.exit(f"no warden binary at {path}: build it (swift build) or set WARDEN_BIN", returncode=2)
    return path


class Server:
    """A ``warden serve`` process, started and waited for until Health answers."""

    def __init__(self, folder: Path, *flags: str, database: Path | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.socket = str(folder / "warden.sock")
        self.database = database or folder / "warden.db"
        self.log = folder / "warden.log"
        self.flags = flags
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        command = [str(warden_binary()), "serve", "--socket", self.socket, "--database", str(self.database)]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([*command, *self.flags], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_serving(self.process, self.socket, str(self.log))
        except RuntimeError as error:
            raise RuntimeError(f"{error}: {self.log.read_text()}") from None

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def pause(self) -> None:
        """SIGSTOP, and wait until the process is stopped (signals are delivered asynchronously)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        stat = Path(f"/proc/{self.process.pid}/stat")
        for _ in range(1000):
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "T":
                return
            time.sleep(0.005)
        raise RuntimeError("warden serve did not stop on SIGSTOP")

    def stop(self) -> None:
        """SIGTERM, then wait (SIGKILL if it does not exit)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)  # a paused server must run to exit
        stop_process(self.process)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server shared by the tests that only add state (each under names of its own)."""
    running = Server(tmp_path_factory.mktemp("shared"))
    yield running
    running.stop()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Starts servers of the test's own (extra flags as arguments); stops them after the test."""
    started: list[Server] = []
    counter = itertools.count()

    def start(*flags: str, database: Path | None = None) -> Server:
        running = Server(tmp_path / f"server{next(counter)}", *flags, database=database)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    with Client(server.socket) as connected:
        yield connected


_apps = itertools.count()


@pytest.fixture
def app(client: Client) -> str:
    """A fresh app label, with a registered ``<app>.car`` (defaults plus ``publish_car``) and a
    ``<app>.page``: each test's names are its own on the shared server."""
    label = f"app{next(_apps)}"
    client.register_content_type(f"{label}.car", custom=["publish_car"])
    client.register_content_type(f"{label}.page")
    return label
