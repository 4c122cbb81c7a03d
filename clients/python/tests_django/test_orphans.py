"""``utils.clean_orphan_obj_perms`` and ``manage.py warden_clean_orphans`` (guardian's function
and command: Warden's object grants whose object is gone are revoked, the number removed is
returned), and ``utils.get_anonymous_user``."""

from __future__ import annotations

import logging
import re
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import override_settings
from drivers.models import Car
from guardian.utils import get_anonymous_user as guardian_get_anonymous_user
from shop.models import Order

from warden_client import Client, Reason
from warden_client.django import shortcuts as ws
from warden_client.django.utils import clean_orphan_obj_perms, get_anonymous_user

pytestmark = pytest.mark.django_db(transaction=True)


def car_reason(warden: Client, subject: User | Group, pk: object, perm: str = "drivers.view_car") -> Reason:
    who = {"group": subject.name} if isinstance(subject, Group) else {"user": str(subject.pk)}
    return warden.check(perm, content_type="drivers.car", pk=pk, **who).reason


def unmirrored_delete(*objs: object) -> None:
    """Delete objects without their grants (as raw SQL or a model outside WARDEN_OBJECT_MODELS)."""
    with override_settings(WARDEN_OBJECT_MODELS=[]):
        for obj in objs:
            obj.delete()


def orphan_cars(subject: User | Group, count: int, orphan_indexes: list[int]) -> list[Car]:
    cars = [Car.objects.create(name=f"{subject}-{i}") for i in range(count)]
    for car in cars:
        ws.assign_perm("view_car", subject, car)
    unmirrored_delete(*(cars[i] for i in orphan_indexes))
    return cars


def test_clean_orphan_obj_perms(warden: Client) -> None:
    joe = User.objects.create_user("joe")
    staff = Group.objects.create(name="staff")
    target_group = Group.objects.create(name="target")
    cars = [Car.objects.create(name=f"c{i}") for i in range(4)]
    order = Order.objects.create(code="a/b")
    for car in cars:
        ws.assign_perm("view_car", joe, car)
    ws.assign_perm("change_car", staff, cars[0])
    ws.assign_perm("change_car", staff, cars[3])
    ws.assign_perm("view_order", joe, order)
    ws.assign_perm("auth.change_group", joe, target_group)
    ws.assign_perm("drivers.view_car", joe)  # model-level: never an orphan
    warden.grant("drivers.view_car", user=str(joe.pk), content_type="drivers.car", pk="999")  # never existed
    ContentType.objects.create(app_label="gone", model="thing")
    warden.register_content_type("gone.thing")
    warden.grant("gone.view_thing", user=str(joe.pk), content_type="gone.thing", pk="1")  # type has no model
    old = [cars[0].pk, cars[1].pk]
    unmirrored_delete(cars[0], cars[1], order, target_group)

    assert clean_orphan_obj_perms() == 7  # 2+1 on cars, 1 order, 1 group, 1 never existed, 1 of no model
    assert clean_orphan_obj_perms() == 0
    for pk in old:
        Car.objects.create(pk=pk, name="again")
        assert car_reason(warden, joe, pk) == Reason.MODEL_GRANT_USER  # the object grant is gone
    assert car_reason(warden, staff, old[0], "drivers.change_car") == Reason.NO_GRANT
    assert car_reason(warden, staff, cars[3].pk, "drivers.change_car") == Reason.OBJECT_GRANT_GROUP
    assert warden.list_all_objects("drivers.view_car", user=joe.pk, accept_global_perms=False).pks == sorted(
        [str(cars[2].pk), str(cars[3].pk)]
    )
    assert Order.objects.create(code="a/b") and not joe.has_perm("shop.view_order", Order(code="a/b"))


def test_batches_as_guardian(warden: Client) -> None:
    joe = User.objects.create_user("joe")
    staff = Group.objects.create(name="staff")
    orphan_cars(joe, 4, [0, 1, 2, 3])
    orphan_cars(staff, 3, [0, 1, 2])
    orphan_cars(joe, 2, [])
    assert clean_orphan_obj_perms(batch_size=2, skip_batches=10) == 0  # past the 3 + 2 batches
    removed = []
    while True:  # guardian's test_clean_perms_return_value_consistency
        removed.append(clean_orphan_obj_perms(batch_size=3, max_batches=1))
        if removed[-1] == 0:
            break
    assert removed == [3, 1, 0]  # the third call's first user batch holds no orphan (2 live)
    assert clean_orphan_obj_perms(batch_size=3, skip_batches=1) == 3  # the group batch
    assert clean_orphan_obj_perms() == 0


def test_resume_hint(warden: Client, caplog: pytest.LogCaptureFixture) -> None:
    """guardian's resume scenario: 3 user grants (orphan 1), 4 group grants (orphans 0, 2)."""
    joe = User.objects.create_user("joe")
    staff = Group.objects.create(name="staff")
    orphan_cars(joe, 3, [1])
    orphan_cars(staff, 4, [0, 2])
    with caplog.at_level(logging.INFO, logger="warden_client.django.utils"):
        removed = clean_orphan_obj_perms(batch_size=2, max_batches=3)  # 2 user batches, 1 group batch
    assert removed == 2
    resume = int(re.search(r"skip_batches=(\d+)", caplog.records[-1].getMessage()).group(1))
    assert clean_orphan_obj_perms(batch_size=2, skip_batches=resume) == 1
    assert clean_orphan_obj_perms() == 0


def test_partial_user_batch_then_group_batches(warden: Client) -> None:
    joe = User.objects.create_user("joe")
    staff = Group.objects.create(name="staff")
    orphan_cars(joe, 1, [])
    orphan_cars(staff, 3, [2])
    assert clean_orphan_obj_perms(batch_size=2, max_batches=2) == 0  # 1 user batch + the first group batch
    assert clean_orphan_obj_perms(batch_size=2) == 1


def test_warden_clean_orphans_command(warden: Client) -> None:
    joe = User.objects.create_user("joe")
    staff = Group.objects.create(name="staff")
    orphan_cars(joe, 4, [0, 1, 2])
    orphan_cars(staff, 2, [1])
    out = StringIO()
    call_command("warden_clean_orphans", "--batch-size", "2", "--max-batches", "1", stdout=out)
    assert out.getvalue() == "Removed 2 object permission entries with no targets\n"
    out = StringIO()
    call_command("warden_clean_orphans", verbosity=0, stdout=out)
    assert out.getvalue() == ""
    out = StringIO()
    call_command("warden_clean_orphans", stdout=out)
    assert "Removed 0 object permission entries with no targets" in out.getvalue()
    assert warden.list_all_objects("drivers.view_car", user=joe.pk).pks != []
    assert car_reason(warden, staff, Car.objects.filter(name="staff-0").get().pk) == Reason.OBJECT_GRANT_GROUP


def test_get_anonymous_user(warden: Client) -> None:
    anonymous = get_anonymous_user()
    assert isinstance(anonymous, User) and anonymous.username == "AnonymousUser"
    assert anonymous.pk == guardian_get_anonymous_user().pk
    assert warden.check("drivers.view_car", user=str(anonymous.pk)).reason == Reason.NO_GRANT  # mirrored
    with override_settings(ANONYMOUS_USER_NAME="nobody"):
        with pytest.raises(User.DoesNotExist):
            get_anonymous_user()
        nobody = User.objects.create_user("nobody")
        assert get_anonymous_user() == nobody
        with override_settings(GUARDIAN_ANONYMOUS_USER_CACHE_TTL=-1):
            assert get_anonymous_user() == nobody
            User.objects.filter(pk=nobody.pk).update(username="renamed")
            assert get_anonymous_user() == nobody  # cached, as guardian
        with pytest.raises(User.DoesNotExist):
            get_anonymous_user()  # no cache with the default TTL 0
