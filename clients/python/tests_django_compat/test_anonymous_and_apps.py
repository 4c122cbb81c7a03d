"""Two of guardian's answers the switch keeps: Django's ``AnonymousUser`` is checked as guardian's
anonymous user (created by guardian at migrate; conf.py's fallback when
``WARDEN_ANONYMOUS_USER_ID`` is unset), and a permission of another model or app than the
object's is guardian's ``False`` / ``WrongAppError`` (``backends.object_check``)."""

from __future__ import annotations

import guardian.exceptions
import pytest
from django.contrib.auth.models import AnonymousUser, User
from guardian.shortcuts import assign_perm, get_perms
from guardian.utils import get_anonymous_user
from library.models import Book, Document

from answers import warden_allows
from warden_client.django import exceptions as warden_exceptions
from warden_client.django import shortcuts as warden_shortcuts
from warden_client.django.backends import WardenBackend
from warden_client.django.core import ObjectPermissionChecker

pytestmark = pytest.mark.django_db(transaction=True)


def test_anonymous_user_holds_what_guardians_anonymous_user_holds(book: Book) -> None:
    other = Book.objects.create(title="other")
    anonymous = get_anonymous_user()  # guardian's own: a real user row
    assign_perm("library.view_book", AnonymousUser(), book)  # guardian's shortcut: a row for that user
    assert warden_allows(anonymous, "library.view_book", book)
    # Through guardian's backend (it swaps AnonymousUser for its user), Warden's checker and
    # backend (conf.anonymous_user_id's fallback), and guardian's get_perms (Warden's).
    assert AnonymousUser().has_perm("library.view_book", book)
    assert ObjectPermissionChecker(AnonymousUser()).has_perm("library.view_book", book)
    assert WardenBackend().has_perm(AnonymousUser(), "library.view_book", book)
    assert get_perms(AnonymousUser(), book) == ["view_book"]
    assert not AnonymousUser().has_perm("library.view_book", other)
    assert not ObjectPermissionChecker(AnonymousUser()).has_perm("library.change_book", book)


def test_warden_shortcut_grants_to_anonymous_user(book: Book) -> None:
    warden_shortcuts.assign_perm("library.change_book", AnonymousUser(), book)
    assert warden_allows(get_anonymous_user(), "library.change_book", book)
    assert AnonymousUser().has_perm("library.change_book", book)


@pytest.fixture
def holder(alice: User, book: Book) -> User:
    """alice, holding library.change_book on the book and library.change_document on a document."""
    assign_perm("library.change_book", alice, book)
    assign_perm("library.change_document", alice, Document.objects.create(title="doc"))
    assert warden_allows(alice, "library.change_book", book)
    return User.objects.get(pk=alice.pk)


def test_another_models_permission_is_false(holder: User, book: Book) -> None:
    assert holder.has_perm("library.change_book", book)  # guardian's backend
    assert not holder.has_perm("library.change_document", book)
    assert not holder.has_perm("change_document", book)
    assert not ObjectPermissionChecker(holder).has_perm("library.change_document", book)
    assert not WardenBackend().has_perm(holder, "library.change_document", book)


def test_another_apps_permission_is_wrong_app_error(holder: User, book: Book) -> None:
    with pytest.raises(guardian.exceptions.WrongAppError):
        holder.has_perm("auth.change_user", book)  # guardian's backend raises it itself
    for ask in (
        lambda: WardenBackend().has_perm(holder, "auth.change_user", book),
        lambda: ObjectPermissionChecker(holder).has_perm("auth.change_user", book),
    ):
        with pytest.raises(guardian.exceptions.WrongAppError) as raised:
            ask()
        assert isinstance(raised.value, warden_exceptions.WrongAppError)
        assert "auth.change_user" in str(raised.value)
