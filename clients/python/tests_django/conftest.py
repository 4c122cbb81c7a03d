"""Fixtures: a real Warden server process for the whole session (binary from ``WARDEN_BIN``,
default ``<repo>/.build/debug/warden``), started before Django creates the test database (so
``post_migrate`` registers the content types in it), and a clean Warden for every test: the
users and groups a previous test left are deleted (their grants go with them) and Django's
state is pushed again with ``warden_sync``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from pathlib import Path

import pytest
from django.conf import settings

from warden_client import Client
from warden_client.django.testing import WardenServer, wipe_warden

REPO = Path(__file__).resolve().parents[3]


def warden_binary() -> str:
    """The server executable the tests run."""
    path = os.environ.get("WARDEN_BIN") or str(REPO / ".build" / "debug" / "warden")
    if not os.access(path, os.X_OK):
        pytest.exit(f"WARDEN_BIN: {path} is not an executable warden binary (build it: swift build)", returncode=2)
    return path


@pytest.fixture(scope="session")
def warden_server() -> Iterator[WardenServer]:
    """The session's Warden server, on ``settings.WARDEN_SOCKET`` (the integration's own test
    server, :class:`warden_client.django.testing.WardenServer`)."""
    server = WardenServer(binary=warden_binary(), directory=settings.TEST_DIR, socket=settings.WARDEN_SOCKET)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def django_db_setup(warden_server: WardenServer, django_db_setup: None) -> None:
    """pytest-django's database setup, after the Warden server is up."""


@pytest.fixture
def joe() -> Any:
    """A user named joe, with no grants (the tests' usual subject)."""
    from django.contrib.auth.models import User

    return User.objects.create_user("joe")


@pytest.fixture
def warden() -> Client:
    """The integration's shared client (as the app code uses it)."""
    from warden_client.django.conf import get_client

    return get_client()


@pytest.fixture(autouse=True)
def clean_warden(transactional_db: None, warden_server: WardenServer) -> None:
    """Every test starts from Django's state as Warden's whole state."""
    from warden_client.django.catalog import clear_caches
    from warden_client.django.conf import get_client
    from warden_client.django.sync import sync

    clear_caches()
    client = get_client()
    wipe_warden(client)
    sync()
