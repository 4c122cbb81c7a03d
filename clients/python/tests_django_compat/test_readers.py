"""The switch's readers: code written against django-guardian — its shortcuts, checker,
backend, template tag, mixin and decorator, and names a module imported from guardian before
the switch — answers from Warden. Every grant here exists only in Warden (written by Warden's
own ``assign_perm``; guardian's tables stay empty), so guardian's original code would answer no."""

from __future__ import annotations

import guardian.backends
import guardian.core
import guardian.shortcuts
import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpResponse
from django.template import Context, Template
from django.test import RequestFactory
from django.views.generic import View
from guardian.decorators import permission_required_or_403
from guardian.mixins import PermissionRequiredMixin
from guardian.models import UserObjectPermission
from library import early
from library.models import Book

from answers import warden_allows
from warden_client.django import core as warden_core
from warden_client.django import shortcuts as warden_shortcuts

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reader() -> User:
    return User.objects.create_user("reader")


@pytest.fixture
def granted(reader: User) -> Book:
    """A book on which ``reader`` holds library.change_book and library.view_book in Warden only."""
    book = Book.objects.create(title="granted")
    Book.objects.create(title="other")
    warden_shortcuts.assign_perm("library.change_book", reader, book)
    warden_shortcuts.assign_perm("library.view_book", reader, book)
    assert warden_allows(reader, "library.change_book", book)
    assert not UserObjectPermission.objects.exists(), "Warden's shortcuts write no guardian row"
    return book


def test_guardian_names_are_wardens() -> None:
    assert guardian.shortcuts.get_perms is warden_shortcuts.get_perms
    assert guardian.shortcuts.get_objects_for_user is warden_shortcuts.get_objects_for_user
    assert guardian.core.ObjectPermissionChecker is warden_core.ObjectPermissionChecker
    # guardian's backend imported the checker by name: rebound too.
    assert guardian.backends.ObjectPermissionChecker is warden_core.ObjectPermissionChecker


def test_name_imported_before_the_switch_is_rebound(reader: User, granted: Book) -> None:
    # library.early did `from guardian.shortcuts import get_objects_for_user` at models-import time.
    assert early.get_objects_for_user is warden_shortcuts.get_objects_for_user
    assert list(early.visible_books(reader)) == [granted]


def test_get_perms_sees_warden_only_grant(reader: User, granted: Book) -> None:
    assert sorted(guardian.shortcuts.get_perms(reader, granted)) == ["change_book", "view_book"]
    other = Book.objects.exclude(pk=granted.pk).get()
    assert guardian.shortcuts.get_perms(reader, other) == []


def test_has_perm_through_guardians_backend(reader: User, granted: Book) -> None:
    reader = User.objects.get(pk=reader.pk)  # no cached permissions
    assert reader.has_perm("library.change_book", granted)
    assert reader.has_perm("change_book", granted)
    assert not reader.has_perm("library.delete_book", granted)
    assert not reader.has_perm("library.change_book", Book.objects.exclude(pk=granted.pk).get())
    # Model-wide, ModelBackend answers from Django's tables: nothing was granted model-wide.
    assert not reader.has_perm("library.change_book")


def test_get_objects_for_user(reader: User, granted: Book) -> None:
    found = guardian.shortcuts.get_objects_for_user(reader, "library.change_book")
    assert list(found) == [granted]
    found = guardian.shortcuts.get_objects_for_user(reader, ["change_book", "view_book"], klass=Book)
    assert list(found) == [granted]
    assert not guardian.shortcuts.get_objects_for_user(reader, "library.delete_book").exists()


def test_template_tag(reader: User, granted: Book) -> None:
    template = Template(
        '{% load guardian_tags %}{% get_obj_perms user for book as "perms" %}'
        "{% for p in perms %}{{ p }};{% endfor %}|{% if 'change_book' in perms %}may change{% endif %}"
    )
    assert template.render(Context({"user": reader, "book": granted})) == "change_book;view_book;|may change"
    other = Book.objects.exclude(pk=granted.pk).get()
    assert template.render(Context({"user": reader, "book": other})) == "|"


class ChangeBook(PermissionRequiredMixin, View):
    """A view written against guardian's mixin (imported after the switch: Warden's)."""

    permission_required = "library.change_book"
    return_403 = True

    def get_object(self) -> Book:
        return Book.objects.get(pk=self.kwargs["pk"])

    def get(self, request: object, pk: int) -> HttpResponse:
        return HttpResponse("changed")


@permission_required_or_403("library.change_book", (Book, "pk", "pk"))
def change_book(request: object, pk: int) -> HttpResponse:
    """A view written against guardian's decorator."""
    return HttpResponse("changed")


@pytest.mark.parametrize("view", [ChangeBook.as_view(), change_book], ids=["mixin", "decorator"])
def test_views(view: object, reader: User, granted: Book) -> None:
    other = Book.objects.exclude(pk=granted.pk).get()

    def status(user: object, book: Book) -> int:
        request = RequestFactory().get(f"/books/{book.pk}/")
        request.user = user
        return view(request, pk=book.pk).status_code

    assert status(reader, granted) == 200
    assert status(reader, other) == 403
    assert status(User.objects.create_user("stranger"), granted) == 403
    assert status(AnonymousUser(), granted) == 403
