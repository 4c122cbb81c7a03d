"""The suite's fixtures. The Warden server and ``warden_reset`` come from the package's pytest
plugin (``-p warden_client.django.pytest_plugin`` in pytest.ini), as an app's suite uses them;
this file makes the reset autouse and gives the users, group and objects most tests use
(answers.py reads Warden's answers directly)."""

from __future__ import annotations

import unittest

import pytest
from django.contrib.auth.models import Group, User
from library.models import Book, Document


@pytest.fixture(autouse=True)
def _warden(request: pytest.FixtureRequest) -> None:
    """Every test starts from the database's state as Warden's whole state. Django ``TestCase``
    classes get it from ``WardenTestCaseMixin`` instead (which test_testcase_mixin.py tests)."""
    if isinstance(request.instance, unittest.TestCase):
        return
    request.getfixturevalue("warden_reset")


# -- the subjects and objects most tests use (created in the test's database, mirrored to Warden)


@pytest.fixture
def alice() -> User:
    """A user."""
    return User.objects.create_user("alice")


@pytest.fixture
def bob() -> User:
    """Another user."""
    return User.objects.create_user("bob")


@pytest.fixture
def editors() -> Group:
    """A group."""
    return Group.objects.create(name="editors")


@pytest.fixture
def book() -> Book:
    """An object guarded through guardian's generic rows."""
    return Book.objects.create(title="book")


@pytest.fixture
def doc() -> Document:
    """An object guarded through its direct foreign-key rows."""
    return Document.objects.create(title="doc")
