"""Sync: users, groups, memberships, model permissions, content types and objects changed
through the ORM, and Warden's answers follow; the management commands."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from drivers.models import Car
from shop.models import Order
from guardian.shortcuts import assign_perm as guardian_assign_perm

from warden_client import Client, Reason
from warden_client.django import shortcuts as ws

pytestmark = pytest.mark.django_db(transaction=True)


def reason(warden: Client, user: User | str, perm: str = "drivers.view_car", **obj: object) -> Reason:
    uid = user if isinstance(user, str) else str(user.pk)
    if obj:
        return warden.check(perm, user=uid, content_type="drivers.car", **obj).reason
    return warden.check(perm, user=uid).reason


def group_reason(warden: Client, name: str, perm: str = "drivers.view_car") -> Reason:
    return warden.check(perm, group=name).reason


def state(warden: Client) -> dict[str, list]:
    out: dict[str, list] = {"content_type": [], "user": [], "group": [], "member": [], "grant": []}
    with warden.export() as stream:
        for record in stream:
            kind = record.WhichOneof("record")
            out[kind].append(getattr(record, kind))
    return out


def test_users_follow(warden: Client) -> None:
    joe = User.objects.create_user("joe")
    assert reason(warden, joe) == Reason.NO_GRANT
    joe.is_active = False
    joe.save()
    assert reason(warden, joe) == Reason.INACTIVE_USER
    joe.is_active = True
    joe.is_superuser = True
    joe.save()
    assert reason(warden, joe) == Reason.SUPERUSER
    joe.username = "joseph"
    joe.save()
    assert [u.username for u in state(warden)["user"] if u.id == str(joe.pk)] == ["joseph"]
    revision = warden.health().revision
    joe.save(update_fields=["last_login"])  # what every login does: nothing to mirror
    assert warden.health().revision == revision
    car = Car.objects.create(name="c")
    joe.is_superuser = False
    joe.save()
    ws.assign_perm("view_car", joe, car)
    joe_id = str(joe.pk)
    joe.delete()
    assert reason(warden, joe_id, pk=car.pk) == Reason.UNKNOWN_USER
    again = User.objects.create_user("joseph")  # the username is free again; the new id starts clean
    assert reason(warden, again, pk=car.pk) == Reason.NO_GRANT


def test_rollback_never_reaches_warden(warden: Client) -> None:
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            ghost = User.objects.create_user("ghost")
            ghost_id = str(ghost.pk)
            raise RuntimeError("rolled back")
    assert reason(warden, ghost_id) == Reason.UNKNOWN_USER
    with transaction.atomic():
        kept = User.objects.create_user("kept")
        assert reason(warden, kept) == Reason.UNKNOWN_USER  # mirrored at commit
    assert reason(warden, kept) == Reason.NO_GRANT


def test_groups_and_memberships_follow(warden: Client) -> None:
    car = Car.objects.create(name="c")
    joe, ann, bob = (User.objects.create_user(n) for n in ("joe", "ann", "bob"))
    staff = Group.objects.create(name="staff")
    assert group_reason(warden, "staff") == Reason.NO_GRANT
    ws.assign_perm("view_car", staff, car)
    joe.groups.add(staff)  # forward
    staff.user_set.add(ann)  # reverse
    assert reason(warden, joe, pk=car.pk) == Reason.OBJECT_GRANT_GROUP
    assert reason(warden, ann, pk=car.pk) == Reason.OBJECT_GRANT_GROUP
    assert reason(warden, bob, pk=car.pk) == Reason.NO_GRANT
    staff.user_set.remove(ann)
    assert reason(warden, ann, pk=car.pk) == Reason.NO_GRANT
    bob.groups.set([staff])
    assert reason(warden, bob, pk=car.pk) == Reason.OBJECT_GRANT_GROUP
    joe.groups.clear()  # forward clear
    assert reason(warden, joe, pk=car.pk) == Reason.NO_GRANT
    staff.user_set.add(joe)
    staff.user_set.clear()  # reverse clear
    assert reason(warden, joe, pk=car.pk) == Reason.NO_GRANT
    assert reason(warden, bob, pk=car.pk) == Reason.NO_GRANT

    staff.user_set.add(joe)
    staff.permissions.add(Permission.objects.get(codename="change_car"))
    staff.name = "crew"  # a rename keeps members and grants, object and model ones
    staff.save()
    assert group_reason(warden, "staff") == Reason.UNKNOWN_USER
    decision = warden.check("drivers.view_car", user=joe.pk, content_type="drivers.car", pk=car.pk)
    assert (decision.reason, decision.group) == (Reason.OBJECT_GRANT_GROUP, "crew")
    assert reason(warden, joe, "drivers.change_car") == Reason.MODEL_GRANT_GROUP
    staff.delete()
    assert group_reason(warden, "crew") == Reason.UNKNOWN_USER
    assert reason(warden, joe, pk=car.pk) == Reason.NO_GRANT
    Group.objects.create(name="crew")  # a re-created group starts with nothing
    assert group_reason(warden, "crew", "drivers.change_car") == Reason.NO_GRANT


def test_model_permissions_follow(warden: Client) -> None:
    joe = User.objects.create_user("joe")
    ann = User.objects.create_user("ann")
    staff = Group.objects.create(name="staff")
    view, change, drive = (Permission.objects.get(codename=c, content_type__model="car")
                           for c in ("view_car", "change_car", "drive"))
    joe.user_permissions.add(view, change)
    assert reason(warden, joe, "drivers.view_car") == Reason.MODEL_GRANT_USER
    joe.user_permissions.remove(view)
    assert reason(warden, joe, "drivers.view_car") == Reason.NO_GRANT
    joe.user_permissions.clear()
    assert reason(warden, joe, "drivers.change_car") == Reason.NO_GRANT
    drive.user_set.add(ann)  # reverse side
    assert warden.check("drive", user=ann.pk, content_type="drivers.car").reason == Reason.MODEL_GRANT_USER
    assert warden.check("drive", user=ann.pk, content_type="drivers.truck").reason == Reason.NO_GRANT
    drive.user_set.clear()
    assert warden.check("drive", user=ann.pk, content_type="drivers.car").reason == Reason.NO_GRANT
    staff.permissions.add(view)
    assert group_reason(warden, "staff") == Reason.MODEL_GRANT_GROUP
    change.group_set.add(staff)
    assert group_reason(warden, "staff", "drivers.change_car") == Reason.MODEL_GRANT_GROUP
    staff.permissions.clear()
    assert group_reason(warden, "staff") == Reason.NO_GRANT
    assert group_reason(warden, "staff", "drivers.change_car") == Reason.NO_GRANT


def test_content_types_registered(warden: Client) -> None:
    types = {ct.content_type: set(ct.custom) for ct in state(warden)["content_type"]}
    assert {"add_car", "change_car", "delete_car", "view_car", "drive", "publish_car"} <= types["drivers.car"]
    assert {"add_truck", "drive"} <= types["drivers.truck"]
    assert "view_order" in types["shop.order"]
    assert "change_user" in types["auth.user"]


def test_object_deletions_follow(warden: Client) -> None:
    joe = User.objects.create_user("joe")
    cars = [Car.objects.create(name=f"c{i}") for i in range(4)]
    ws.assign_perm("view_car", joe, Car.objects.all())
    pk0 = cars[0].pk
    cars[0].delete()
    assert reason(warden, joe, pk=pk0) == Reason.NO_GRANT
    assert reason(warden, joe, pk=cars[1].pk) == Reason.OBJECT_GRANT_USER
    Car.objects.create(pk=pk0, name="again")  # the same pk again starts clean
    assert reason(warden, joe, pk=pk0) == Reason.NO_GRANT
    Car.objects.filter(name__in=["c1", "c2"]).delete()
    assert ws.get_objects_for_user(joe, "drivers.view_car").count() == 1
    assert warden.list_all_objects("drivers.view_car", user=joe.pk).pks == [str(cars[3].pk)]
    order = Order.objects.create(code="a/b")
    ws.assign_perm("view_order", joe, order)
    with override_settings(WARDEN_OBJECT_MODELS=["drivers.Car"]):  # orders are no longer mirrored
        order.delete()
    assert warden.list_all_objects("shop.view_order", user=joe.pk).pks == ["a/b"]
    order = Order.objects.create(code="a/b")
    order.delete()
    assert warden.list_all_objects("shop.view_order", user=joe.pk).pks == []


def test_warden_sync_command(warden: Client) -> None:
    with override_settings(WARDEN_MIRROR=False):
        joe = User.objects.create_user("joe")
        staff = Group.objects.create(name="staff")
        joe.groups.add(staff)
        staff.permissions.add(Permission.objects.get(codename="view_car"))
        joe.user_permissions.add(Permission.objects.get(codename="publish_car"))
    assert reason(warden, joe) == Reason.UNKNOWN_USER
    out = StringIO()
    call_command("warden_sync", stdout=out)
    assert "users:" in out.getvalue() and "model grants:" in out.getvalue()
    assert reason(warden, joe) == Reason.MODEL_GRANT_GROUP
    assert reason(warden, joe, "drivers.publish_car") == Reason.MODEL_GRANT_USER
    out = StringIO()
    call_command("warden_sync", stdout=out)
    assert "done, 0 changes" in out.getvalue()
    with override_settings(WARDEN_MIRROR=False):
        joe.groups.remove(staff)
        ann = User.objects.create_user("ann")
        ann.delete()
        User.objects.filter(pk=joe.pk).update(username="joseph")
    warden.put_user("999", username="stale")
    out = StringIO()
    call_command("warden_sync", "--prune", stdout=out)
    assert "pruned: 1 users, 0 groups, 1 memberships, 0 model grants" in out.getvalue()
    assert reason(warden, "999") == Reason.UNKNOWN_USER
    assert reason(warden, joe) == Reason.NO_GRANT
    assert [u.username for u in state(warden)["user"] if u.id == str(joe.pk)] == ["joseph"]


def test_warden_sync_repairs_usernames(warden: Client) -> None:
    with override_settings(WARDEN_MIRROR=False):
        old = User.objects.create_user("old")
    warden.put_user("4242", username="old")  # a Warden user Django never had, holding the name
    call_command("warden_sync", stdout=StringIO())
    assert [u.id for u in state(warden)["user"] if u.username == "old"] == [str(old.pk)]


def test_warden_import_guardian_command(warden: Client) -> None:
    joe = User.objects.create_user("joe")
    staff = Group.objects.create(name="staff")
    cars = [Car.objects.create(name=f"c{i}") for i in range(3)]
    order = Order.objects.create(code="/home/www/joe.config")
    guardian_assign_perm("view_car", joe, cars[0])
    guardian_assign_perm("change_car", staff, cars[1])
    guardian_assign_perm("change_order", joe, order)
    joe.groups.add(staff)
    assert reason(warden, joe, pk=cars[0].pk) == Reason.NO_GRANT
    out = StringIO()
    call_command("warden_import_guardian", "--sync", stdout=out)
    assert "3 rows sent, 3 new, 0 skipped" in out.getvalue()
    assert reason(warden, joe, pk=cars[0].pk) == Reason.OBJECT_GRANT_USER
    assert reason(warden, joe, "drivers.change_car", pk=cars[1].pk) == Reason.OBJECT_GRANT_GROUP
    assert joe.has_perm("shop.change_order", order)
    out = StringIO()
    call_command("warden_import_guardian", stdout=out)
    assert "3 rows sent, 0 new" in out.getvalue()
