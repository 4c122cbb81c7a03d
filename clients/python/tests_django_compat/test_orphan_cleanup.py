"""guardian's ``clean_orphan_obj_perms`` under the switch (compat.py): guardian's rows on deleted
objects and Warden's own grants on deleted objects (no row) both go, and the count is both;
batched (``batch_size=``), only guardian's rows are scanned. ``library.Book`` is not in
``WARDEN_OBJECT_MODELS`` and its guardian rows are generic, so deleting a book leaves orphans in
both places."""

from __future__ import annotations

import io

import guardian.utils
import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import transaction
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm
from library.models import Book

from answers import object_grants
from warden_client.django import compat
from warden_client.django import shortcuts as warden_shortcuts

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def orphaned() -> tuple[str, str]:
    """A deleted book with two guardian rows and one Warden-only grant, and a kept book with one
    of each. Returns the pks (deleted, kept)."""
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    editors = Group.objects.create(name="editors")
    gone, kept = Book.objects.create(title="gone"), Book.objects.create(title="kept")
    assign_perm("library.change_book", alice, gone)
    assign_perm("library.view_book", editors, gone)
    warden_shortcuts.assign_perm("library.change_book", bob, gone)
    assign_perm("library.change_book", alice, kept)
    warden_shortcuts.assign_perm("library.view_book", bob, kept)
    gone_pk = str(gone.pk)
    gone.delete()
    assert on_book(gone_pk) == {
        (f"user:{alice.pk}", "library.change_book"),
        ("group:editors", "library.view_book"),
        (f"user:{bob.pk}", "library.change_book"),
    }
    return gone_pk, str(kept.pk)


def on_book(pk: str) -> set[tuple[str, str]]:
    return {(subject, perm) for subject, perm, ct, grant_pk in object_grants() if (ct, grant_pk) == ("library.book", pk)}


def test_guardians_function_is_the_switchs() -> None:
    assert guardian.utils.clean_orphan_obj_perms is compat.clean_orphan_obj_perms


def test_whole_cleanup_removes_rows_and_warden_only_grants(orphaned: tuple[str, str]) -> None:
    gone, kept = orphaned
    assert guardian.utils.clean_orphan_obj_perms() == 3
    assert on_book(gone) == set()
    assert len(on_book(kept)) == 2
    assert list(UserObjectPermission.objects.values_list("object_pk", flat=True)) == [kept]
    assert not GroupObjectPermission.objects.exists()
    assert guardian.utils.clean_orphan_obj_perms() == 0


def test_guardians_management_command(orphaned: tuple[str, str]) -> None:
    gone, kept = orphaned
    out = io.StringIO()
    call_command("clean_orphan_obj_perms", stdout=out)
    assert "Removed 3 object permission entries with no targets" in out.getvalue()
    assert on_book(gone) == set()
    assert len(on_book(kept)) == 2


def test_inside_a_transaction_each_grant_counts_once(orphaned: tuple[str, str]) -> None:
    # The rows' revocations wait for the commit: the grants they stand for are still in Warden
    # when Warden's own cleanup runs, and are not counted twice.
    gone, kept = orphaned
    with transaction.atomic():
        assert guardian.utils.clean_orphan_obj_perms() == 3
    assert on_book(gone) == set()
    assert len(on_book(kept)) == 2


def test_rolled_back_cleanup_keeps_the_rows_grants() -> None:
    # The object's deletion and the cleanup in one transaction that rolls back: guardian's rows
    # come back, and so must the Warden grants they stand for (their revocation waits for the
    # commit). Warden's own grants with no row are revoked at once (Warden is another process).
    alice = User.objects.create_user("alice")
    book = Book.objects.create(title="book")
    assign_perm("library.change_book", alice, book)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            Book.objects.filter(pk=book.pk).delete()
            assert guardian.utils.clean_orphan_obj_perms() == 1
            raise RuntimeError("rolled back")
    assert UserObjectPermission.objects.filter(user=alice, object_pk=str(book.pk)).exists()
    assert on_book(str(book.pk)) == {(f"user:{alice.pk}", "library.change_book")}


def test_batched_cleanup_scans_guardians_rows_only(orphaned: tuple[str, str]) -> None:
    gone, kept = orphaned
    bob = User.objects.get(username="bob")
    assert guardian.utils.clean_orphan_obj_perms(batch_size=1) == 2
    assert on_book(gone) == {(f"user:{bob.pk}", "library.change_book")}
    assert len(on_book(kept)) == 2
    assert UserObjectPermission.objects.count() == 1 and not GroupObjectPermission.objects.exists()
