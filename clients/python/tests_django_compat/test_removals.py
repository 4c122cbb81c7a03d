"""Removals through django-guardian also revoke what Warden's own shortcuts granted (a grant with
no guardian row): its ``remove_perm`` shortcut, the managers' ``remove_perm``,
``bulk_remove_perm`` and ``remove_perm_from_many``, and ``del_obj_perm``."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import remove_perm
from library.models import Book, Document, DocumentUserObjectPermission

from answers import warden_allows
from warden_client.django import shortcuts as warden_shortcuts

pytestmark = pytest.mark.django_db(transaction=True)


def grant_in_warden(perm: str, subject: object, obj: object) -> None:
    warden_shortcuts.assign_perm(perm, subject, obj)
    assert warden_allows(subject, perm, obj)


def test_remove_perm_shortcut(alice: User, editors: Group, book: Book, doc: Document) -> None:
    grant_in_warden("library.change_book", alice, book)
    grant_in_warden("library.change_book", editors, book)
    grant_in_warden("library.change_document", alice, doc)
    remove_perm("library.change_book", alice, book)
    remove_perm("change_book", editors, book)
    remove_perm("library.change_document", alice, doc)
    assert not warden_allows(alice, "library.change_book", book)
    assert not warden_allows(editors, "library.change_book", book)
    assert not warden_allows(alice, "library.change_document", doc)


def test_manager_remove_perm(alice: User, book: Book, doc: Document) -> None:
    grant_in_warden("library.change_book", alice, book)
    grant_in_warden("library.change_document", alice, doc)
    assert UserObjectPermission.objects.remove_perm("change_book", alice, book) == (0, {})
    DocumentUserObjectPermission.objects.remove_perm("change_document", alice, doc)
    assert not warden_allows(alice, "library.change_book", book)
    assert not warden_allows(alice, "library.change_document", doc)


def test_bulk_remove_perm(alice: User) -> None:
    books = [Book.objects.create(title=f"b{i}") for i in range(3)]
    docs = [Document.objects.create(title=f"d{i}") for i in range(2)]
    for b in books:
        grant_in_warden("library.view_book", alice, b)
    for d in docs:
        grant_in_warden("library.view_document", alice, d)
    remove_perm("library.view_book", alice, Book.objects.filter(pk__in=[books[0].pk, books[1].pk]))
    UserObjectPermission.objects.bulk_remove_perm("view_book", alice, [books[2]])
    DocumentUserObjectPermission.objects.bulk_remove_perm("view_document", alice, Document.objects.all())
    assert not any(warden_allows(alice, "library.view_book", b) for b in books)
    assert not any(warden_allows(alice, "library.view_document", d) for d in docs)


def test_remove_perm_from_many(alice: User, bob: User, editors: Group, book: Book) -> None:
    carol = User.objects.create_user("carol")
    for user in (alice, bob, carol):
        grant_in_warden("library.view_book", user, book)
    grant_in_warden("library.view_book", editors, book)
    remove_perm("library.view_book", [alice, bob], book)
    GroupObjectPermission.objects.remove_perm_from_many("view_book", Group.objects.all(), book)
    assert not warden_allows(alice, "library.view_book", book)
    assert not warden_allows(bob, "library.view_book", book)
    assert not warden_allows(editors, "library.view_book", book)
    assert warden_allows(carol, "library.view_book", book)


def test_del_obj_perm(alice: User, book: Book) -> None:
    grant_in_warden("library.change_book", alice, book)
    alice.del_obj_perm("change_book", book)
    assert not warden_allows(alice, "library.change_book", book)
