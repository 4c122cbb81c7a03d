"""What guardian's checker, backend and user/group methods have beside the basics, and the
``GUARDIAN_GET_CONTENT_TYPE`` hook, against a live server."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.test import override_settings
from drivers.models import Car, Truck

from warden_client.django import shortcuts as ws
from warden_client.django.backends import WardenBackend
from warden_client.django.core import ObjectPermissionChecker
from warden_client.django.exceptions import NotUserNorGroup
from warden_client.django.identity import content_type_label, content_type_of
from warden_client.django.models import WardenGroupMixin, WardenUserMixin, group_add_obj_perm, group_del_obj_perm

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def car() -> Car:
    return Car.objects.create(name="car")


@pytest.fixture
def staff(joe: User) -> Group:
    group = Group.objects.create(name="staff")
    joe.groups.add(group)
    return group


# -- ObjectPermissionChecker -----------------------------------------------------------------


def test_checker_without_a_user_or_group() -> None:
    with pytest.raises(NotUserNorGroup):
        ObjectPermissionChecker()
    with pytest.raises(NotUserNorGroup):
        ObjectPermissionChecker(user_or_group=ContentType())


def test_checker_user_and_group_perms(joe: User, staff: Group, car: Car) -> None:
    ws.assign_perm("drivers.change_car", joe, car)
    ws.assign_perm("drivers.drive", staff, car)
    checker = ObjectPermissionChecker(joe)
    own, through_groups = checker.get_user_perms(car), checker.get_group_perms(car)
    assert isinstance(own, QuerySet) and isinstance(through_groups, QuerySet)  # guardian's type
    assert set(own) == {"change_car"} and set(through_groups) == {"drive"}
    assert set(through_groups) == set(ws.get_group_perms(joe, car))
    assert checker.get_local_cache_key(car) == ("drivers.car", str(car.pk))

    group_checker = ObjectPermissionChecker(staff)
    assert set(group_checker.get_user_perms(car)) == set()
    assert set(group_checker.get_group_perms(car)) == {"drive"}

    joe.is_active = False  # read at each call, as guardian's checker reads it
    assert set(checker.get_user_perms(car)) == set() and set(checker.get_group_perms(car)) == set()


def test_backend_declares_guardian_support() -> None:
    backend = WardenBackend()
    assert backend.supports_object_permissions and backend.supports_anonymous_user and backend.supports_inactive_user


# -- user and group methods ------------------------------------------------------------------


def test_user_and_group_methods_write_to_warden(joe: User, staff: Group, car: Car, warden) -> None:
    def allowed(perm: str, **subject) -> bool:
        return warden.check(perm, content_type="drivers.car", pk=car.pk, **subject).allowed

    WardenUserMixin.add_obj_perm(joe, "change_car", car)
    assert allowed("drivers.change_car", user=joe.pk)
    WardenUserMixin.del_obj_perm(joe, "drivers.change_car", car)
    assert not allowed("drivers.change_car", user=joe.pk)

    group_add_obj_perm(staff, "drive", car)
    assert allowed("drivers.drive", group="staff") and allowed("drivers.drive", user=joe.pk)
    group_del_obj_perm(staff, "drive", car)
    assert not allowed("drivers.drive", group="staff")
    WardenGroupMixin.add_obj_perm(staff, "view_car", car)
    assert allowed("drivers.view_car", group="staff")
    with pytest.raises(ValueError, match="need an object"):
        WardenUserMixin.add_obj_perm(joe, "drivers.change_car", None)


# -- GUARDIAN_GET_CONTENT_TYPE ---------------------------------------------------------------


def truck_as_car(obj):
    """A polymorphic-style content type function: trucks are checked as cars."""
    model = obj if isinstance(obj, type) else type(obj)
    return ContentType.objects.get_for_model(Car if model is Truck else model)


def not_a_content_type(obj):
    return "x"


HOOK = "test_checker_extras.truck_as_car"


def test_content_type_hook(joe: User, warden) -> None:
    truck = Truck.objects.create(name="truck")
    assert content_type_label(Truck) == "drivers.truck"
    with override_settings(GUARDIAN_GET_CONTENT_TYPE=HOOK):
        assert content_type_label(truck) == content_type_label(Truck) == "drivers.car"
        assert content_type_of(Truck) == ContentType.objects.get_for_model(Car)
        ws.assign_perm("drivers.change_car", joe, truck)
        assert warden.check("drivers.change_car", user=joe.pk, content_type="drivers.car", pk=truck.pk).allowed
        assert User.objects.get(pk=joe.pk).has_perm("drivers.change_car", truck)
        assert ObjectPermissionChecker(joe).get_perms(truck) == ["change_car"]
        assert list(ws.get_objects_for_user(joe, "drivers.change_car", Truck)) == [truck]
        assert set(ws.get_perms_for_model(Truck).values_list("codename", flat=True)) >= {"change_car", "publish_car"}
    assert content_type_label(truck) == "drivers.truck"  # the setting's change is seen at once
    with override_settings(WARDEN_GET_CONTENT_TYPE=HOOK):  # the alias
        assert content_type_label(Truck) == "drivers.car"


def test_content_type_hook_errors() -> None:
    with override_settings(WARDEN_GET_CONTENT_TYPE=HOOK, GUARDIAN_GET_CONTENT_TYPE="test_checker_extras.not_a_content_type"):
        with pytest.raises(ImproperlyConfigured, match="WARDEN_GET_CONTENT_TYPE .* and GUARDIAN_GET_CONTENT_TYPE .* differ"):
            content_type_label(Car)
    with override_settings(GUARDIAN_GET_CONTENT_TYPE="test_checker_extras.no_such_function"):
        with pytest.raises(ImproperlyConfigured, match="GUARDIAN_GET_CONTENT_TYPE: cannot import"):
            content_type_label(Car)
    with override_settings(GUARDIAN_GET_CONTENT_TYPE="test_checker_extras.not_a_content_type"):
        with pytest.raises(TypeError, match="not a ContentType"):
            content_type_label(Car)
    with override_settings(GUARDIAN_GET_CONTENT_TYPE="guardian.ctypes.get_default_content_type"):
        assert content_type_label(Truck) == "drivers.truck"


@override_settings(WARDEN_GUARDIAN_COMPAT=True)
def test_content_type_hook_under_compat_reads_guardian_conf() -> None:
    with mock.patch("guardian.conf.settings.GET_CONTENT_TYPE", HOOK):
        assert content_type_label(Truck) == "drivers.car"
    assert content_type_label(Truck) == "drivers.truck"


def test_content_type_label_cost() -> None:
    """Figures for docs/django.md ("Settings guardian shares") (printed, not judged)."""
    n = 200_000
    start = time.perf_counter()
    for _ in range(n):
        content_type_label(Car)
    plain = (time.perf_counter() - start) / n * 1e9
    with override_settings(GUARDIAN_GET_CONTENT_TYPE=HOOK):
        content_type_label(Car)
        start = time.perf_counter()
        for _ in range(n):
            content_type_label(Car)
        hooked = (time.perf_counter() - start) / n * 1e9
    print(f"\ncontent_type_label: {plain:.0f} ns without a hook, {hooked:.0f} ns with one (cached per class)")
