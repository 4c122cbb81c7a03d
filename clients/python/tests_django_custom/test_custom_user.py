"""``warden_sync`` (and ``--prune``), ``warden_import_guardian --sync`` and the mirroring signals
with a custom user model: run once with ``customproject.settings`` (``people.CustomUser``:
``PermissionsMixin``, pk ``custom_id``) and once with ``customproject.settings_team``
(``teams.Member``: groups are ``teams.Team``, a ``Group`` subclass, through
``teams.Membership``). Every step asserts Warden's answers."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import override_settings
from guardian.shortcuts import assign_perm as guardian_assign_perm
from people.models import Doc

from warden_client import Client, Reason

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()
#: The group model of the user model's ``groups`` (``Group``, or the ``Team`` subclass).
Groups = User.groups.field.related_model
#: ``group.<members>``: the reverse accessor of ``user.groups`` (``user_set`` or ``members``).
MEMBERS = User.groups.field.remote_field.get_accessor_name()
#: ``permission.<holders>``: the reverse accessor of ``user.user_permissions``.
HOLDERS = User.user_permissions.field.remote_field.get_accessor_name()


def make_user(name: str) -> Any:
    return User._default_manager.create_user(name)


def make_group(name: str) -> Any:
    return Groups.objects.create(name=name)


def perm(codename: str) -> Permission:
    return Permission.objects.get(codename=codename, content_type__app_label="people")


def reason(warden: Client, user: Any, permission: str = "people.view_doc", doc: Doc | None = None) -> Reason:
    uid = user if isinstance(user, str) else str(user.pk)
    if doc is not None:
        return warden.check(permission, user=uid, content_type="people.doc", pk=doc.pk).reason
    return warden.check(permission, user=uid, content_type="people.doc").reason


def group_reason(warden: Client, name: str, permission: str = "people.view_doc") -> Reason:
    return warden.check(permission, group=name, content_type="people.doc").reason


def warden_users(warden: Client) -> dict[str, str]:
    with warden.export() as stream:
        return {r.user.id: r.user.username for r in stream if r.WhichOneof("record") == "user"}


def test_the_custom_model_is_in_use() -> None:
    assert User._meta.pk.name in ("custom_id", "member_no")
    assert User.groups.through._meta.get_field(User.groups.field.m2m_field_name()).column != "user_id"


def test_warden_sync_and_prune(warden: Client) -> None:
    doc = Doc.objects.create(title="d")
    with override_settings(WARDEN_MIRROR=False):
        joe, ann = make_user("joe"), make_user("ann")
        staff = make_group("staff")
        joe.groups.add(staff)
        staff.permissions.add(perm("publish_doc"))
        joe.user_permissions.add(perm("view_doc"))
    warden.put_group("staff")
    warden.grant("people.change_doc", group="staff", content_type="people.doc", pk=doc.pk)
    assert reason(warden, joe) == Reason.UNKNOWN_USER
    out = StringIO()
    call_command("warden_sync", stdout=out)
    assert "memberships:" in out.getvalue() and "model grants:" in out.getvalue()
    assert warden_users(warden)[str(joe.pk)] == "joe"
    assert reason(warden, joe) == Reason.MODEL_GRANT_USER
    assert reason(warden, joe, "people.publish_doc") == Reason.MODEL_GRANT_GROUP
    assert reason(warden, joe, "people.change_doc", doc) == Reason.OBJECT_GRANT_GROUP
    assert reason(warden, ann, "people.change_doc", doc) == Reason.NO_GRANT
    out = StringIO()
    call_command("warden_sync", stdout=out)
    assert "done, 0 changes" in out.getvalue()

    with override_settings(WARDEN_MIRROR=False):
        joe.groups.remove(staff)
        joe.user_permissions.clear()
        ann_id = str(ann.pk)
        ann.delete()
    warden.put_user("999", username="stale")
    out = StringIO()
    call_command("warden_sync", "--prune", stdout=out)
    assert "pruned: 2 users, 0 groups, 1 memberships, 1 model grants" in out.getvalue()
    assert reason(warden, ann_id) == Reason.UNKNOWN_USER
    assert reason(warden, "999") == Reason.UNKNOWN_USER
    assert reason(warden, joe) == Reason.NO_GRANT
    assert reason(warden, joe, "people.change_doc", doc) == Reason.NO_GRANT
    assert group_reason(warden, "staff", "people.publish_doc") == Reason.MODEL_GRANT_GROUP


def test_warden_import_guardian_sync(warden: Client) -> None:
    docs = [Doc.objects.create(title=f"d{i}") for i in range(3)]
    with override_settings(WARDEN_MIRROR=False):
        joe = make_user("joe")
        staff = make_group("staff")
        joe.groups.add(staff)
    guardian_assign_perm("view_doc", joe, docs[0])
    guardian_assign_perm("change_doc", staff, docs[1])
    guardian_assign_perm("people.publish_doc", joe, docs[2])
    assert reason(warden, joe, doc=docs[0]) == Reason.UNKNOWN_USER
    out = StringIO()
    call_command("warden_import_guardian", "--sync", stdout=out)
    assert "3 rows sent, 3 new, 0 skipped" in out.getvalue()
    assert reason(warden, joe, doc=docs[0]) == Reason.OBJECT_GRANT_USER
    assert reason(warden, joe, "people.change_doc", docs[1]) == Reason.OBJECT_GRANT_GROUP
    assert reason(warden, joe, "people.publish_doc", docs[2]) == Reason.OBJECT_GRANT_USER
    assert reason(warden, joe, doc=docs[1]) == Reason.NO_GRANT
    out = StringIO()
    call_command("warden_import_guardian", "--sync", stdout=out)
    assert "3 rows sent, 0 new" in out.getvalue()


def test_memberships_follow_from_both_sides(warden: Client) -> None:
    doc = Doc.objects.create(title="d")
    joe, ann, bob = (make_user(n) for n in ("joe", "ann", "bob"))
    staff = make_group("staff")
    assert group_reason(warden, "staff") == Reason.NO_GRANT  # the group (subclass) was mirrored
    warden.grant("people.view_doc", group="staff", content_type="people.doc", pk=doc.pk)
    joe.groups.add(staff)  # forward
    getattr(staff, MEMBERS).add(ann)  # reverse
    assert reason(warden, joe, doc=doc) == Reason.OBJECT_GRANT_GROUP
    assert reason(warden, ann, doc=doc) == Reason.OBJECT_GRANT_GROUP
    assert reason(warden, bob, doc=doc) == Reason.NO_GRANT
    getattr(staff, MEMBERS).remove(ann)
    assert reason(warden, ann, doc=doc) == Reason.NO_GRANT
    bob.groups.set([staff])
    assert reason(warden, bob, doc=doc) == Reason.OBJECT_GRANT_GROUP
    joe.groups.remove(staff)
    assert reason(warden, joe, doc=doc) == Reason.NO_GRANT
    joe.groups.add(staff)
    joe.groups.clear()  # forward clear
    assert reason(warden, joe, doc=doc) == Reason.NO_GRANT
    getattr(staff, MEMBERS).add(joe)
    getattr(staff, MEMBERS).clear()  # reverse clear
    assert reason(warden, joe, doc=doc) == Reason.NO_GRANT
    assert reason(warden, bob, doc=doc) == Reason.NO_GRANT

    getattr(staff, MEMBERS).add(joe)
    staff.name = "crew"  # a rename keeps the members and grants
    staff.save()
    decision = warden.check("people.view_doc", user=str(joe.pk), content_type="people.doc", pk=doc.pk)
    assert (decision.reason, decision.group) == (Reason.OBJECT_GRANT_GROUP, "crew")
    staff.delete()
    assert group_reason(warden, "crew") == Reason.UNKNOWN_USER
    assert reason(warden, joe, doc=doc) == Reason.NO_GRANT


def test_model_permissions_follow_from_both_sides(warden: Client) -> None:
    joe, ann = make_user("joe"), make_user("ann")
    view, change, publish = perm("view_doc"), perm("change_doc"), perm("publish_doc")
    joe.user_permissions.add(view, change)
    assert reason(warden, joe) == Reason.MODEL_GRANT_USER
    joe.user_permissions.remove(view)
    assert reason(warden, joe) == Reason.NO_GRANT
    assert reason(warden, joe, "people.change_doc") == Reason.MODEL_GRANT_USER
    joe.user_permissions.clear()
    assert reason(warden, joe, "people.change_doc") == Reason.NO_GRANT
    getattr(publish, HOLDERS).add(ann, joe)  # reverse side
    assert reason(warden, ann, "people.publish_doc") == Reason.MODEL_GRANT_USER
    getattr(publish, HOLDERS).remove(joe)
    assert reason(warden, joe, "people.publish_doc") == Reason.NO_GRANT
    getattr(publish, HOLDERS).clear()
    assert reason(warden, ann, "people.publish_doc") == Reason.NO_GRANT


def test_users_follow(warden: Client) -> None:
    doc = Doc.objects.create(title="d")
    joe = make_user("joe")
    assert warden_users(warden)[str(joe.pk)] == "joe"
    joe.is_active = False
    joe.save()
    assert reason(warden, joe) == Reason.INACTIVE_USER
    joe.is_active = True
    joe.save()
    warden.grant("people.view_doc", user=str(joe.pk), content_type="people.doc", pk=doc.pk)
    assert reason(warden, joe, doc=doc) == Reason.OBJECT_GRANT_USER
    joe_id = str(joe.pk)
    joe.delete()
    assert reason(warden, joe_id, doc=doc) == Reason.UNKNOWN_USER


@pytest.mark.skipif(User.groups.through._meta.auto_created, reason="the groups' through model is Django's")
def test_custom_membership_rows_follow(warden: Client) -> None:
    """Rows of a custom through model written directly (no ``m2m_changed``) are mirrored too."""
    through = User.groups.through
    doc = Doc.objects.create(title="d")
    joe = make_user("joe")
    staff = make_group("staff")
    warden.grant("people.view_doc", group="staff", content_type="people.doc", pk=doc.pk)
    row = through.objects.create(member=joe, team=staff)
    assert reason(warden, joe, doc=doc) == Reason.OBJECT_GRANT_GROUP
    row.delete()
    assert reason(warden, joe, doc=doc) == Reason.NO_GRANT
    through.objects.create(member=joe, team=staff)
    staff.delete()
    assert reason(warden, joe, doc=doc) == Reason.NO_GRANT
