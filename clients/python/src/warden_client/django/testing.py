"""Testing an app that uses Warden: a throwaway server for the test run, and Warden reset to
Django's state before each test.

Django's test runner rolls the database back after every test; Warden is another process and
keeps what the test wrote. So each test must start from a Warden that holds exactly what the
test database holds: :func:`reset_warden` deletes every user and group in Warden (their
memberships and grants go with them) and pushes Django's state again (``sync``, and
django-guardian's rows when the project still has them). It costs a few milliseconds for a
test-sized database.

Inside a ``TestCase`` nothing commits, so ``transaction.on_commit`` never runs: mirrored
changes must be sent at once. :class:`WardenTestCaseMixin` turns ``WARDEN_MIRROR_ON_COMMIT``
off for its class (including ``setUpTestData``) and resets Warden before each test::

    from django.test import TestCase
    from warden_client.django.testing import WardenTestCaseMixin

    class CarTests(WardenTestCaseMixin, TestCase):
        ...

With pytest, use the fixtures of :mod:`warden_client.django.pytest_plugin` (``-p
warden_client.django.pytest_plugin``, or ``pytest_plugins = [...]`` in ``conftest.py``).

:class:`WardenServer` starts ``warden serve`` on a socket and database in a temporary folder
(the binary from ``WARDEN_BIN``, else ``warden`` on ``PATH``) for a test session that has no
sidecar of its own; point ``WARDEN_SOCKET`` at its ``socket``.
"""

from __future__ import annotations

from django.test.utils import override_settings

from warden_client import Client
from warden_client.testing import WardenServer

from . import conf

__all__ = ["WardenServer", "WardenTestCaseMixin", "reset_warden", "wipe_warden"]

def wipe_warden(client: Client | None = None) -> None:
    """Delete every user and group Warden holds (with their memberships and grants). Content
    types stay: they are the schema, registered at ``migrate``."""
    client = client or conf.get_client()
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


def _guardian_installed() -> bool:
    from django.apps import apps

    return apps.is_installed("guardian")


def reset_warden() -> None:
    """Make Warden hold exactly Django's state: wipe it, push users, groups, memberships and
    model grants again, and django-guardian's object-permission rows when guardian is installed."""
    from .catalog import clear_caches
    from .sync import import_guardian, sync

    clear_caches()
    wipe_warden()
    sync()
    if _guardian_installed():
        import_guardian()


class WardenTestCaseMixin:
    """For ``django.test.TestCase`` (and ``TransactionTestCase``) subclasses: mirrored changes
    are sent at once for the whole class (``WARDEN_MIRROR_ON_COMMIT = False``, which
    ``setUpTestData`` needs too), and Warden is reset to the database's state before each test."""

    @classmethod
    def setUpClass(cls) -> None:
        cls._warden_settings = override_settings(WARDEN_MIRROR_ON_COMMIT=False)
        cls._warden_settings.enable()
        try:
            super().setUpClass()  # type: ignore[misc]
        except Exception:
            cls._warden_settings.disable()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        try:
            super().tearDownClass()  # type: ignore[misc]
        finally:
            cls._warden_settings.disable()

    def setUp(self) -> None:
        reset_warden()
        super().setUp()  # type: ignore[misc]
