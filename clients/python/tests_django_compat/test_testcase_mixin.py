"""``WardenTestCaseMixin`` with a ``django.test.TestCase`` (unittest style, collected by pytest):
inside the class nothing commits, so the mixin mirrors at once — ``setUpTestData``'s users, group,
membership and guardian row reach Warden while it runs — and resets Warden before each test, so
what ``test_a`` granted is gone in ``test_b`` while ``setUpTestData``'s state stays. (conftest.py
leaves these classes to the mixin: no other reset runs between their tests.)"""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.test import TestCase
from guardian.shortcuts import assign_perm
from library.models import Book

from answers import warden_allows, warden_subjects
from warden_client.django import conf
from warden_client.django import shortcuts as warden_shortcuts
from warden_client.django.testing import WardenTestCaseMixin


class MixinTests(WardenTestCaseMixin, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.user = User.objects.create_user("mixin-user")
        cls.group = Group.objects.create(name="mixin-group")
        cls.user.groups.add(cls.group)
        cls.book = Book.objects.create(title="mixin-book")
        assign_perm("library.view_book", cls.group, cls.book)  # a guardian row
        # Read while setUpTestData runs: no commit has happened, nor will.
        cls.mirrored_at_once = warden_allows(cls.user, "library.view_book", cls.book)
        cls.subjects_at_setup = warden_subjects()

    def test_a_grants(self) -> None:
        self.assertIs(conf.setting("WARDEN_MIRROR_ON_COMMIT"), False)
        self.assertTrue(self.mirrored_at_once)
        self.assertLessEqual({f"user:{self.user.pk}", "group:mixin-group"}, self.subjects_at_setup)
        warden_shortcuts.assign_perm("library.delete_book", self.user, self.book)  # Warden only
        assign_perm("library.change_book", self.user, self.book)  # a row, rolled back after the test
        self.assertTrue(warden_allows(self.user, "library.delete_book", self.book))
        self.assertTrue(warden_allows(self.user, "library.change_book", self.book))

    def test_b_starts_from_the_database(self) -> None:
        self.assertFalse(warden_allows(self.user, "library.delete_book", self.book))
        self.assertFalse(warden_allows(self.user, "library.change_book", self.book))
        # setUpTestData's users, group, membership and row are still there.
        self.assertLessEqual({f"user:{self.user.pk}", "group:mixin-group"}, warden_subjects())
        self.assertTrue(warden_allows(self.user, "library.view_book", self.book))
        self.assertTrue(self.user.has_perm("library.view_book", self.book))
