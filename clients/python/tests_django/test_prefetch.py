"""The checker's prefetch and ``check_perms``: one BatchGetPermissions request for N objects, and
the same answers as without it (each one Check's)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.test import override_settings
from drivers.models import Car, Truck

from warden_client import Client
from warden_client._proto import service_pb2
from warden_client.django import shortcuts as ws
from warden_client.django.core import ObjectPermissionChecker
from warden_client.errors import InvalidArgument

pytestmark = pytest.mark.django_db(transaction=True)

METHODS = {value: name for name, value in service_pb2.Method.items()}


@contextmanager
def requests() -> Iterator[Counter[str]]:
    """Counts the unary requests the process sends, by method name."""
    sent: Counter[str] = Counter()
    original = Client._call

    def call(self: Client, call: Any) -> Any:
        sent[METHODS[call.method]] += 1
        return original(self, call)

    Client._call = call  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        Client._call = original  # type: ignore[method-assign]


@pytest.fixture
def scene() -> dict[str, Any]:
    """Users in and out of groups, a superuser, an inactive user; object and model grants."""
    cars = [Car.objects.create(name=f"car {i}") for i in range(40)]
    trucks = [Truck.objects.create(name=f"truck {i}") for i in range(3)]
    joe = User.objects.create_user("joe")
    ann = User.objects.create_user("ann")
    root = User.objects.create_superuser("root")
    gone = User.objects.create_user("gone", is_active=False)
    staff = Group.objects.create(name="staff")
    ann.groups.add(staff)
    gone.groups.add(staff)
    for car in cars[::3]:
        ws.assign_perm("change_car", joe, car)
    for car in cars[::4]:
        ws.assign_perm("view_car", staff, car)
    ws.assign_perm("drive", joe, cars[5])
    ws.assign_perm("drive", joe, trucks[0])
    ws.assign_perm("view_car", gone, cars[1])
    staff.permissions.add(Permission.objects.get(codename="publish_car"))  # model-wide, mirrored at commit
    return {"cars": cars, "trucks": trucks, "subjects": [joe, ann, root, gone, staff, AnonymousUser()]}


PERMS = ["view_car", "drivers.change_car", "drive", "drivers.drive", "publish_car", "drivers.publish_car",
         "add_car", "shop.change_car", "no_such", "drivers.no_such"]


def outcome(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except InvalidArgument as error:
        return ("InvalidArgument", error.message)


@pytest.mark.parametrize("agp", [None, False])
def test_prefetched_answers_equal_the_unprefetched(scene: dict[str, Any], agp: bool | None) -> None:
    cars = scene["cars"]
    with override_settings(WARDEN_ACCEPT_GLOBAL_PERMS=agp):
        for subject in scene["subjects"]:
            prefetched = ObjectPermissionChecker(subject)
            prefetched.prefetch_perms(cars)
            for car in cars:
                alone = ObjectPermissionChecker(subject)
                assert prefetched.get_perms(car) == alone.get_perms(car) == ws.get_perms(subject, car), (subject, car)
                for perm in PERMS + ["drivers.change_truck"]:
                    assert outcome(prefetched.has_perm, perm, car) == outcome(
                        ObjectPermissionChecker(subject).has_perm, perm, car
                    ), (subject, perm, car)
            assert outcome(ws.check_perms, subject, [(p, c) for c in cars for p in PERMS]) == [
                outcome(ObjectPermissionChecker(subject).has_perm, p, c) for c in cars for p in PERMS
            ]


def test_one_codename_on_two_models_alternately(scene: dict[str, Any]) -> None:
    # "drive" is a codename of both Car and Truck: asked for a car, then a truck, then a car...,
    # each answer must be read from its own type's masks, with no request after the prefetches.
    cars, trucks, joe = scene["cars"][:6], scene["trucks"], scene["subjects"][0]
    checker = ObjectPermissionChecker(joe)
    checker.prefetch_perms(cars)
    checker.prefetch_perms(trucks)
    objects = [obj for pair in zip(cars, trucks + trucks) for obj in pair]
    with requests() as sent:
        held = [checker.has_perm("drive", obj) for obj in objects] + [checker.has_perm("drive", obj) for obj in objects]
    assert sent == Counter()
    expected = [ObjectPermissionChecker(joe).has_perm("drive", obj) for obj in objects]
    assert held == expected + expected
    assert [obj for obj, allowed in zip(objects, expected) if allowed] == [trucks[0], trucks[0], cars[5]]


def test_prefetch_is_one_request_for_n_objects(scene: dict[str, Any]) -> None:
    cars, joe = scene["cars"], scene["subjects"][0]
    checker = ObjectPermissionChecker(joe)
    with requests() as sent:
        assert checker.prefetch_perms(cars)
        held = [checker.has_perm("change_car", car) for car in cars]
        names = [checker.get_perms(car) for car in cars]
    assert sent == Counter({"BATCH_GET_PERMISSIONS": 1})
    assert held == [i % 3 == 0 for i in range(len(cars))]
    assert names[5] == ["drive"] and names[3] == ["change_car"] and names[0] == ["change_car"]
    with requests() as sent:
        assert ObjectPermissionChecker(joe).prefetch_perms(Car.objects.all())
    assert sent == Counter({"BATCH_GET_PERMISSIONS": 1})
    with requests() as sent:
        with pytest.raises(InvalidArgument):
            checker.has_perm("drivers.change_truck", cars[0])  # another type's permission: Check's error
    assert sent == Counter({"CHECK": 1})


def test_prefetch_and_check_perms_split_at_10000_objects(scene: dict[str, Any]) -> None:
    joe = scene["subjects"][0]
    Car.objects.bulk_create(Car(name=f"bulk {i}") for i in range(10_000))
    cars = list(Car.objects.order_by("pk"))
    assert len(cars) > 10_000
    with requests() as sent:
        assert ObjectPermissionChecker(joe).prefetch_perms(cars)
    assert sent == Counter({"BATCH_GET_PERMISSIONS": 2})
    with requests() as sent:
        answers = ws.check_perms(joe, [("change_car", car) for car in cars] + [("drive", scene["trucks"][0])])
    assert sent == Counter({"BATCH_GET_PERMISSIONS": 3})  # two for the cars, one for the truck
    assert sum(answers) == len(scene["cars"][::3]) + 1


def test_check_perms_sends_other_permissions_to_check(scene: dict[str, Any]) -> None:
    cars, trucks, joe = scene["cars"], scene["trucks"], scene["subjects"][0]
    checks = [("change_car", cars[0]), ("drivers.drive", trucks[0]), ("shop.change_car", cars[0]), ("no_such", cars[3])]
    with requests() as sent:
        assert ws.check_perms(joe, checks) == [True, True, False, False]
    assert sent == Counter({"BATCH_GET_PERMISSIONS": 2, "BATCH_CHECK": 1})
    with requests() as sent:
        assert ws.check_perms(scene["subjects"][2], checks) == [True] * 4  # an active superuser: no request
        assert ws.check_perms(scene["subjects"][3], checks) == [False] * 4  # inactive
    assert sent == Counter()
    with pytest.raises(InvalidArgument):
        ws.check_perms(joe, [("drivers.change_truck", cars[0])])


def test_a_type_warden_does_not_know(scene: dict[str, Any]) -> None:
    from warden_client.django.core import CodenameMasks
    from warden_client.errors import NotFound

    masks = CodenameMasks()
    masks.fetch({"user": str(scene["subjects"][0].pk)}, "drivers.ghost", ["1"])  # nothing kept: Check answers
    assert "drivers.ghost" not in masks.by_type
    with pytest.raises(NotFound):
        masks.fetch({"user": str(scene["subjects"][0].pk)}, "drivers.ghost", ["1"], quiet=False)
