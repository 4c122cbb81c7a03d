"""Permissions created, renamed and deleted at run time (``Permission.objects.create`` outside a
migration) reach Warden: grants of a new permission work right after its creation, even in the
same transaction; a rename moves its grants; a deletion revokes them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from drivers.models import Car
from guardian.shortcuts import assign_perm as guardian_assign_perm

from warden_client import Client, Reason
from warden_client.django import shortcuts as ws

pytestmark = pytest.mark.django_db(transaction=True)


def car_type() -> ContentType:
    return ContentType.objects.get_for_model(Car)


def reason(warden: Client, user: User, perm: str, car: Car | None = None) -> Reason:
    if car is not None:
        return warden.check(perm, user=str(user.pk), content_type="drivers.car", pk=car.pk).reason
    return warden.check(perm, user=str(user.pk), content_type="drivers.car").reason


def test_a_created_permission_can_be_granted(warden: Client) -> None:
    joe, ann = User.objects.create_user("joe"), User.objects.create_user("ann")
    staff = Group.objects.create(name="staff")
    car = Car.objects.create(name="c")
    perm = Permission.objects.create(codename="approve_car", name="Can approve", content_type=car_type())
    assert reason(warden, joe, "drivers.approve_car", car) == Reason.NO_GRANT  # registered, not held
    ws.assign_perm("approve_car", joe, car)
    ws.assign_perm("drivers.approve_car", staff, car)
    ws.assign_perm(perm, ann)  # model-level, through user_permissions
    assert reason(warden, joe, "drivers.approve_car", car) == Reason.OBJECT_GRANT_USER
    assert warden.check("drivers.approve_car", group="staff", content_type="drivers.car", pk=car.pk).reason == (
        Reason.OBJECT_GRANT_GROUP
    )
    assert reason(warden, ann, "drivers.approve_car") == Reason.MODEL_GRANT_USER
    assert joe.has_perm("drivers.approve_car", car)
    assert ws.get_perms(joe, car) == ["approve_car"]
    codenames = {ct.content_type: set(ct.custom) for ct in _types(warden)}["drivers.car"]
    assert {"approve_car", "drive", "view_car"} <= codenames


def test_a_grant_in_the_creating_transaction_works(warden: Client) -> None:
    joe = User.objects.create_user("joe")
    car = Car.objects.create(name="c")
    with transaction.atomic():
        Permission.objects.create(codename="inspect_car", name="Can inspect", content_type=car_type())
        ws.assign_perm("drivers.inspect_car", joe, car)  # an object grant goes to Warden at once
    assert reason(warden, joe, "drivers.inspect_car", car) == Reason.OBJECT_GRANT_USER
    with override_settings(WARDEN_MIRROR_ON_COMMIT=False):
        Permission.objects.create(codename="wash_car", name="Can wash", content_type=car_type())
        ws.assign_perm("wash_car", joe, car)
    assert reason(warden, joe, "drivers.wash_car", car) == Reason.OBJECT_GRANT_USER


def test_a_rolled_back_creation_stays_registered_holding_nothing(warden: Client) -> None:
    joe = User.objects.create_user("joe")
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            Permission.objects.create(codename="tow_car", name="Can tow", content_type=car_type())
            raise RuntimeError("rolled back")
    assert not Permission.objects.filter(codename="tow_car").exists()
    assert reason(warden, joe, "drivers.tow_car") == Reason.NO_GRANT


def test_a_new_content_type_and_its_permission(warden: Client) -> None:
    joe = User.objects.create_user("joe")
    ct = ContentType.objects.create(app_label="reports", model="quarterly")
    perm = Permission.objects.create(codename="read_quarterly", name="Can read", content_type=ct)
    joe.user_permissions.add(perm)
    assert warden.check("reports.read_quarterly", user=str(joe.pk), content_type="reports.quarterly").reason == (
        Reason.MODEL_GRANT_USER
    )


def test_a_rename_moves_the_grants(warden: Client) -> None:
    joe, ann = User.objects.create_user("joe"), User.objects.create_user("ann")
    staff = Group.objects.create(name="staff")
    ann.groups.add(staff)
    cars = [Car.objects.create(name=f"c{i}") for i in range(2)]
    perm = Permission.objects.create(codename="polish_car", name="Can polish", content_type=car_type())
    ws.assign_perm(perm, joe, cars[0])
    ws.assign_perm(perm, staff, cars[1])
    joe.user_permissions.add(perm)
    perm.codename = "shine_car"
    perm.save()
    assert reason(warden, joe, "drivers.shine_car", cars[0]) == Reason.OBJECT_GRANT_USER
    assert reason(warden, ann, "drivers.shine_car", cars[1]) == Reason.OBJECT_GRANT_GROUP
    assert reason(warden, joe, "drivers.shine_car") == Reason.MODEL_GRANT_USER
    assert reason(warden, joe, "drivers.polish_car") == Reason.NO_GRANT  # registered, held by none
    assert reason(warden, ann, "drivers.polish_car", cars[1]) == Reason.NO_GRANT
    assert joe.has_perm("drivers.shine_car")


def test_a_deletion_revokes_the_grants(warden: Client) -> None:
    joe = User.objects.create_user("joe")
    staff = Group.objects.create(name="staff")
    car = Car.objects.create(name="c")
    perm = Permission.objects.create(codename="paint_car", name="Can paint", content_type=car_type())
    ws.assign_perm(perm, joe, car)
    ws.assign_perm(perm, staff, car)
    joe.user_permissions.add(perm)
    staff.permissions.add(perm)
    kept = Permission.objects.get(codename="drive", content_type=car_type())
    joe.user_permissions.add(kept)
    perm.delete()  # Django's cascade removes the rows without m2m_changed
    assert reason(warden, joe, "drivers.paint_car", car) == Reason.NO_GRANT
    assert reason(warden, joe, "drivers.paint_car") == Reason.NO_GRANT
    assert warden.check("drivers.paint_car", group="staff", content_type="drivers.car").reason == Reason.NO_GRANT
    assert reason(warden, joe, "drivers.drive") == Reason.MODEL_GRANT_USER


def test_unmirrored_creation_is_repaired_by_warden_sync(warden: Client) -> None:
    joe = User.objects.create_user("joe")
    car = Car.objects.create(name="c")
    with override_settings(WARDEN_MIRROR=False):
        Permission.objects.create(codename="park_car", name="Can park", content_type=car_type())
    assert reason(warden, joe, "drivers.park_car", car) == Reason.UNKNOWN_PERMISSION
    call_command("warden_sync", stdout=StringIO())
    guardian_assign_perm("park_car", joe, car)
    call_command("warden_import_guardian", stdout=StringIO())
    assert reason(warden, joe, "drivers.park_car", car) == Reason.OBJECT_GRANT_USER


def _types(warden: Client) -> list:
    with warden.export() as stream:
        return [r.content_type for r in stream if r.WhichOneof("record") == "content_type"]
