"""Fixtures: a real Warden server process for the whole session (binary from ``WARDEN_BIN``,
default ``<repo>/.build/debug/warden``), started before Django creates the test database (so
``post_migrate`` registers the content types in it), and a clean Warden for every test: the
users and groups a previous test left are deleted (their grants go with them) and Django's
state is pushed again with ``warden_sync``."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from warden_client import Client
from warden_client.errors import WardenError

REPO = Path(__file__).resolve().parents[3]


def warden_binary() -> str:
    """The server executable the tests run."""
    path = os.environ.get("WARDEN_BIN") or str(REPO / ".build" / "debug" / "warden")
    if not os.access(path, os.X_OK):
        pytest.exit(f"WARDEN_BIN: {path} is not an executable warden binary (build it: swift build)", returncode=2)
    return path


class WardenProcess:
    """A ``warden serve`` child process on a socket in the test folder."""

    def __init__(self, socket: str, database: str, *extra: str) -> None:
        self.socket = socket
        self.database = database
        self.log_path = database + ".log"
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [warden_binary(), "serve", "--socket", socket, "--database", database, "--log-level", "warning", "--synchronous", "normal", *extra],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_serving()

    def _wait_serving(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"warden serve exited with {self.process.returncode}; see {self.log_path}")
            if os.path.exists(self.socket):
                try:
                    with Client(self.socket, timeout=2.0) as client:
                        if client.health().status == "SERVING":
                            return
                except (WardenError, OSError):
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"warden serve did not answer on {self.socket} within 60 s")
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def warden_server() -> Iterator[WardenProcess]:
    """The session's Warden server, on ``settings.WARDEN_SOCKET``."""
    database = os.path.join(settings.TEST_DIR, "warden.db")
    server = WardenProcess(settings.WARDEN_SOCKET, database)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def django_db_setup(warden_server: WardenProcess, django_db_setup: None) -> None:
    """pytest-django's database setup, after the Warden server is up."""


@pytest.fixture
def warden() -> Client:
    """The integration's shared client (as the app code uses it)."""
    from warden_client.django.conf import get_client

    return get_client()


def wipe_warden(client: Client) -> None:
    """Delete every user and group Warden holds (with their memberships and grants)."""
    users, groups = [], []
    with client.export() as stream:
        for record in stream:
            kind = record.WhichOneof("record")
            if kind == "user":
                users.append(record.user.id)
            elif kind == "group":
                groups.append(record.group)
    for uid in users:
        client.delete_user(uid)
    for name in groups:
        client.delete_group(name)


@pytest.fixture(autouse=True)
def clean_warden(transactional_db: None, warden_server: WardenProcess) -> None:
    """Every test starts from Django's state as Warden's whole state."""
    from warden_client.django.catalog import clear_caches
    from warden_client.django.conf import get_client
    from warden_client.django.sync import sync

    clear_caches()
    client = get_client()
    wipe_warden(client)
    sync()
