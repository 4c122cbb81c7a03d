"""The switch's writers: code that still writes django-guardian's rows — its shortcuts, managers,
``objects.create``, ``add_obj_perm``, a row's or a queryset's ``delete()``, cascades — keeps
guardian's tables right and reaches Warden when the transaction commits (the tests run in
autocommit: ``transactional_db``), and a rolled-back transaction reaches neither. Each test reads
Warden's answer directly (answers.py), so a row that did not reach Warden fails it."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm, remove_perm
from library.models import Book, Document, DocumentGroupObjectPermission, DocumentUserObjectPermission

from answers import object_grants, warden_allows
from warden_client.django import shortcuts as warden_shortcuts

pytestmark = pytest.mark.django_db(transaction=True)


def permission(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="library", codename=codename)


def test_assign_perm_shortcut(alice: User, editors: Group, book: Book, doc: Document) -> None:
    assign_perm("library.change_book", alice, book)
    assign_perm("change_book", editors, book)
    assign_perm("library.change_document", alice, doc)
    assert UserObjectPermission.objects.filter(user=alice, object_pk=str(book.pk)).count() == 1
    assert GroupObjectPermission.objects.filter(group=editors).count() == 1
    assert DocumentUserObjectPermission.objects.filter(user=alice, content_object=doc).count() == 1
    assert warden_allows(alice, "library.change_book", book)
    assert warden_allows(editors, "library.change_book", book)
    assert warden_allows(alice, "library.change_document", doc)
    assert not warden_allows(alice, "library.delete_book", book)


def test_objects_create_and_save(alice: User, editors: Group, book: Book, doc: Document) -> None:
    book_ct = ContentType.objects.get_for_model(Book)
    row = UserObjectPermission.objects.create(
        user=alice, permission=permission("change_book"), content_type=book_ct, object_pk=str(book.pk)
    )
    GroupObjectPermission.objects.create(
        group=editors, permission=permission("view_book"), content_type=book_ct, object_pk=str(book.pk)
    )
    assert warden_allows(alice, "library.change_book", book)
    assert warden_allows(editors, "library.view_book", book)
    # An edited row: Warden moves the grant with it.
    row.permission = permission("delete_book")
    row.save()
    assert not warden_allows(alice, "library.change_book", book)
    assert warden_allows(alice, "library.delete_book", book)


def test_direct_foreign_key_managers(alice: User, editors: Group, doc: Document) -> None:
    DocumentUserObjectPermission.objects.assign_perm("change_document", alice, doc)
    DocumentGroupObjectPermission.objects.create(group=editors, permission=permission("view_document"), content_object=doc)
    assert warden_allows(alice, "library.change_document", doc)
    assert warden_allows(editors, "library.view_document", doc)


def test_bulk_assign_perm(alice: User, editors: Group) -> None:
    books = [Book.objects.create(title=f"b{i}") for i in range(3)]
    docs = [Document.objects.create(title=f"d{i}") for i in range(3)]
    # guardian's shortcut on a queryset / list of objects: the managers' bulk_assign_perm
    # (bulk_create, which sends no signal).
    assign_perm("library.view_book", alice, Book.objects.all())
    assign_perm("library.view_document", editors, docs)
    DocumentUserObjectPermission.objects.bulk_assign_perm("change_document", alice, Document.objects.all())
    assert UserObjectPermission.objects.filter(user=alice).count() == 3
    assert DocumentGroupObjectPermission.objects.filter(group=editors).count() == 3
    assert DocumentUserObjectPermission.objects.filter(user=alice).count() == 3
    assert all(warden_allows(alice, "library.view_book", b) for b in books)
    assert all(warden_allows(editors, "library.view_document", d) for d in docs)
    assert all(warden_allows(alice, "library.change_document", d) for d in docs)


def test_bulk_assign_after_assign_in_one_transaction(alice: User, book: Book, doc: Document) -> None:
    # guardian's bulk_assign_perm skips the objects that have a row, this transaction's rows
    # included (which Warden has not received yet): no duplicate row, no IntegrityError.
    other = Book.objects.create(title="other")
    with transaction.atomic():
        assign_perm("library.view_book", alice, book)
        assign_perm("library.view_book", alice, Book.objects.all())
        assign_perm("library.view_document", alice, doc)
        assign_perm("library.view_document", alice, [doc, Document.objects.create(title="new")])
    assert UserObjectPermission.objects.filter(user=alice).count() == 2
    assert DocumentUserObjectPermission.objects.filter(user=alice).count() == 2
    assert warden_allows(alice, "library.view_book", other)
    assert all(warden_allows(alice, "library.view_document", d) for d in Document.objects.all())


def test_bulk_assign_perm_writes_rows_for_warden_only_grants(alice: User, book: Book) -> None:
    # guardian's tables stay a faithful copy: a row even where Warden's own shortcut granted.
    warden_shortcuts.assign_perm("library.view_book", alice, book)
    assign_perm("library.view_book", alice, Book.objects.all())
    assert UserObjectPermission.objects.filter(user=alice, object_pk=str(book.pk)).exists()
    assert warden_allows(alice, "library.view_book", book)


def test_assign_perm_to_many(alice: User, bob: User, editors: Group, book: Book, doc: Document) -> None:
    readers = Group.objects.create(name="readers")
    # guardian's shortcut on a list / queryset of subjects: assign_perm_to_many (bulk_create).
    assign_perm("library.view_book", [alice, bob], book)
    assign_perm("library.view_book", Group.objects.filter(name__in=["editors", "readers"]), book)
    DocumentUserObjectPermission.objects.assign_perm_to_many("view_document", User.objects.filter(pk=bob.pk), doc)
    assert UserObjectPermission.objects.count() == 2
    assert GroupObjectPermission.objects.count() == 2
    for subject in (alice, bob, editors, readers):
        assert warden_allows(subject, "library.view_book", book)
    assert warden_allows(bob, "library.view_document", doc)
    assert not warden_allows(alice, "library.view_document", doc)


def test_add_obj_perm_and_del_obj_perm(alice: User, editors: Group, book: Book) -> None:
    # guardian's monkey-patched User.add_obj_perm / Group.add_obj_perm (its managers' assign_perm).
    alice.add_obj_perm("change_book", book)
    editors.add_obj_perm("view_book", book)
    assert warden_allows(alice, "library.change_book", book)
    assert warden_allows(editors, "library.view_book", book)
    alice.del_obj_perm("change_book", book)
    editors.del_obj_perm("view_book", book)
    assert not warden_allows(alice, "library.change_book", book)
    assert not warden_allows(editors, "library.view_book", book)
    assert not UserObjectPermission.objects.exists() and not GroupObjectPermission.objects.exists()


def test_row_delete_and_queryset_delete(alice: User, editors: Group, book: Book, doc: Document) -> None:
    row = assign_perm("library.change_book", alice, book)
    assign_perm("library.view_book", alice, book)
    assign_perm("library.view_book", editors, book)
    assign_perm("library.view_document", alice, doc)
    row.delete()
    assert not warden_allows(alice, "library.change_book", book)
    assert warden_allows(alice, "library.view_book", book)
    UserObjectPermission.objects.filter(user=alice).delete()
    GroupObjectPermission.objects.all().delete()
    DocumentUserObjectPermission.objects.all().delete()
    assert not warden_allows(alice, "library.view_book", book)
    assert not warden_allows(editors, "library.view_book", book)
    assert not warden_allows(alice, "library.view_document", doc)


def test_remove_perm_shortcut(alice: User, editors: Group, book: Book, doc: Document) -> None:
    assign_perm("library.change_book", alice, book)
    assign_perm("library.change_book", editors, book)
    assign_perm("library.change_document", alice, doc)
    remove_perm("library.change_book", alice, book)
    remove_perm("change_book", editors, book)
    remove_perm("library.change_document", alice, doc)
    assert not UserObjectPermission.objects.exists() and not DocumentUserObjectPermission.objects.exists()
    assert not warden_allows(alice, "library.change_book", book)
    assert not warden_allows(editors, "library.change_book", book)
    assert not warden_allows(alice, "library.change_document", doc)


def test_user_delete_cascades_its_rows(
    alice: User, bob: User, book: Book, doc: Document, caplog: pytest.LogCaptureFixture
) -> None:
    assign_perm("library.change_book", alice, book)
    assign_perm("library.change_document", alice, doc)
    assign_perm("library.change_book", bob, book)
    alice_id = alice.pk
    with caplog.at_level(logging.WARNING, logger="warden_client.django"):
        alice.delete()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not UserObjectPermission.objects.filter(user_id=alice_id).exists()
    assert not DocumentUserObjectPermission.objects.exists()
    assert {g for g in object_grants() if g[0] == f"user:{alice_id}"} == set()
    assert warden_allows(bob, "library.change_book", book)


def test_group_delete_cascades_its_rows(editors: Group, book: Book, caplog: pytest.LogCaptureFixture) -> None:
    assign_perm("library.change_book", editors, book)
    assert warden_allows(editors, "library.change_book", book)
    with caplog.at_level(logging.WARNING, logger="warden_client.django"):
        editors.delete()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not GroupObjectPermission.objects.exists()
    assert {g for g in object_grants() if g[0] == "group:editors"} == set()


def test_direct_foreign_key_object_delete_cascades_its_rows(alice: User, editors: Group, doc: Document) -> None:
    # library.Document is not in WARDEN_OBJECT_MODELS: only its rows' deletions reach Warden.
    kept = Document.objects.create(title="kept")
    assign_perm("library.change_document", alice, doc)
    assign_perm("library.view_document", editors, doc)
    assign_perm("library.change_document", alice, kept)
    doc_pk = str(doc.pk)
    doc.delete()
    assert DocumentUserObjectPermission.objects.count() == 1
    assert not DocumentGroupObjectPermission.objects.exists()
    assert {g for g in object_grants() if g[2:] == ("library.document", doc_pk)} == set()
    assert warden_allows(alice, "library.change_document", kept)


class Boom(Exception):
    pass


def test_rolled_back_transaction_reaches_neither(alice: User, editors: Group, book: Book, doc: Document) -> None:
    kept = assign_perm("library.view_book", alice, book)
    with pytest.raises(Boom):
        with transaction.atomic():
            assign_perm("library.change_book", alice, book)
            assign_perm("library.change_book", editors, book)
            assign_perm("library.change_document", alice, Document.objects.all())
            kept.delete()
            raise Boom
    assert set(UserObjectPermission.objects.values_list("permission__codename", flat=True)) == {"view_book"}
    assert not GroupObjectPermission.objects.exists() and not DocumentUserObjectPermission.objects.exists()
    assert not warden_allows(alice, "library.change_book", book)
    assert not warden_allows(editors, "library.change_book", book)
    assert not warden_allows(alice, "library.change_document", doc)
    assert warden_allows(alice, "library.view_book", book)


def test_committed_transaction_reaches_warden_at_commit(alice: User, book: Book) -> None:
    with transaction.atomic():
        assign_perm("library.change_book", alice, book)
        assert not warden_allows(alice, "library.change_book", book), "sent at commit, not before"
    assert warden_allows(alice, "library.change_book", book)
