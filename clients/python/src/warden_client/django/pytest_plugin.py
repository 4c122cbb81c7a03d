"""pytest fixtures for a Django project that uses Warden (with pytest-django).

Load it with ``-p warden_client.django.pytest_plugin`` or ``pytest_plugins =
["warden_client.django.pytest_plugin"]`` in the top ``conftest.py``. It gives:

- ``warden_server`` (session, autouse: before any database fixture): a throwaway ``warden serve`` (binary from ``WARDEN_BIN``, else
  ``warden`` on ``PATH``) on a temporary socket, which ``settings.WARDEN_SOCKET`` points at for
  the session; started before pytest-django creates the test database, so ``migrate``
  registers the content types in it. Set ``WARDEN_TEST_USE_SOCKET=1`` to use the server
  ``WARDEN_SOCKET`` already names instead (it is then wiped between tests: never a real one).
- ``warden_reset``: Warden reset to the database's state (:func:`~warden_client.django.testing.reset_warden`).
  Make it autouse in your ``conftest.py``::

      @pytest.fixture(autouse=True)
      def _warden(warden_reset):
          pass

Inside a Django ``TestCase`` nothing commits, so set ``WARDEN_MIRROR_ON_COMMIT = False`` in
the test settings (``setUpTestData`` runs before any function fixture).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from .testing import WardenServer, reset_warden


@pytest.fixture(scope="session", autouse=True)
def warden_server() -> Iterator[WardenServer | None]:
    """The session's Warden server (``None`` with ``WARDEN_TEST_USE_SOCKET=1``)."""
    from django.conf import settings

    from . import conf

    if os.environ.get("WARDEN_TEST_USE_SOCKET") == "1":
        yield None
        return
    server = WardenServer()
    previous = getattr(settings, "WARDEN_SOCKET", None)
    settings.WARDEN_SOCKET = server.socket
    conf.reset_client()
    try:
        yield server
    finally:
        settings.WARDEN_SOCKET = previous
        conf.reset_client()
        server.stop()


@pytest.fixture
def warden_reset(warden_server: Any, django_db_blocker: Any) -> None:
    """Warden holds exactly what the test database holds when the test starts."""
    with django_db_blocker.unblock():
        reset_warden()
