"""The system checks of the switch (checks.py): ``warden.W004`` names a project class that
subclassed one of guardian's originals before the switch (``library.early.EarlyDocumentAdmin``,
imported by ``library.models``), not one defined after it (``library.admin.BookAdmin``); with the
switch off, guardian's backend and app give ``warden.W001`` and ``warden.W002``."""

from __future__ import annotations

import pytest
from django.core.checks import Warning, run_checks
from django.test.utils import override_settings
from library.admin import BookAdmin
from library.early import EarlyDocumentAdmin

from warden_client.django.checks import guardian_checks

pytestmark = pytest.mark.django_db  # some of the project's checks read the database


def warden_warnings(messages: list[object]) -> list[Warning]:
    return [m for m in messages if isinstance(m, Warning) and str(m.id).startswith("warden.")]


def test_w004_names_the_class_defined_before_the_switch() -> None:
    found = warden_warnings(run_checks())
    assert [m.id for m in found] == ["warden.W004"], [str(m) for m in found]
    (warning,) = found
    assert warning.obj is EarlyDocumentAdmin
    assert warning.msg.startswith(
        "library.early.EarlyDocumentAdmin subclasses guardian's guardian.admin.GuardedModelAdmin,"
    )
    assert "BookAdmin" not in warning.msg
    assert not issubclass(BookAdmin, EarlyDocumentAdmin.__mro__[1])  # BookAdmin is on Warden's class


def test_without_the_switch_w001_and_w002() -> None:
    with override_settings(WARDEN_GUARDIAN_COMPAT=False):
        found = guardian_checks()
    assert [m.id for m in found] == ["warden.W001", "warden.W002"]
    assert "guardian's ObjectPermissionBackend" in found[0].msg
    assert "django-guardian is installed" in found[1].msg
    assert all("WARDEN_GUARDIAN_COMPAT = True" in m.hint for m in found)
    # Back on: no W001/W002 (the backend and the app stay, answered by Warden).
    assert [m.id for m in guardian_checks()] == ["warden.W004"]
