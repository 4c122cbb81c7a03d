"""The integration's functions against a live Warden server: the backend, the shortcuts, the
checker, bulk writes and the settings."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.test import override_settings
from drivers.models import Car, Truck
from shop.models import Order

from warden_client import Reason
from warden_client.django import shortcuts as ws
from warden_client.django.backends import WardenBackend
from warden_client.django.core import ObjectPermissionChecker
from warden_client.django.exceptions import MixedContentTypeError, MultipleIdentityAndObjectError, WrongAppError
from warden_client.errors import InvalidArgument, NotFound

pytestmark = pytest.mark.django_db(transaction=True)


def fresh(user: User) -> User:
    """A new instance of the user (Django caches permissions on instances)."""
    return User.objects.get(pk=user.pk)


@pytest.fixture
def cars() -> list[Car]:
    return [Car.objects.create(name=f"car {i}") for i in range(5)]


# -- backend ---------------------------------------------------------------------------------


def test_object_permission_through_has_perm(joe: User, cars: list[Car], warden) -> None:
    car = cars[0]
    assert not joe.has_perm("drivers.change_car", car)
    ws.assign_perm("drivers.change_car", joe, car)
    assert fresh(joe).has_perm("drivers.change_car", car)
    assert fresh(joe).has_perm("change_car", car)
    assert not fresh(joe).has_perm("drivers.change_car", cars[1])
    assert not fresh(joe).has_perm("drivers.change_car")  # an object grant is no model grant
    decision = warden.check("drivers.change_car", user=joe.pk, content_type="drivers.car", pk=car.pk)
    assert decision.reason == Reason.OBJECT_GRANT_USER
    ws.remove_perm("change_car", joe, car)
    assert not fresh(joe).has_perm("drivers.change_car", car)


def test_group_object_permission(joe: User, cars: list[Car]) -> None:
    staff = Group.objects.create(name="staff")
    joe.groups.add(staff)
    ws.assign_perm("drivers.view_car", staff, cars[1])
    assert fresh(joe).has_perm("drivers.view_car", cars[1])
    assert fresh(joe).get_all_permissions(cars[1]) == {"view_car"}
    assert fresh(joe).get_group_permissions(cars[1]) == {"view_car"}
    assert fresh(joe).get_user_permissions(cars[1]) == set()
    joe.groups.remove(staff)
    assert not fresh(joe).has_perm("drivers.view_car", cars[1])


def test_model_permissions_as_model_backend(joe: User, cars: list[Car]) -> None:
    staff = Group.objects.create(name="staff")
    joe.groups.add(staff)
    view = Permission.objects.get(codename="view_car")
    change = Permission.objects.get(codename="change_car")
    staff.permissions.add(view)
    joe.user_permissions.add(change)
    user = fresh(joe)
    assert user.has_perm("drivers.view_car")
    assert user.has_perm("drivers.change_car")
    assert not user.has_perm("drivers.delete_car")
    assert not user.has_perm("view_car")  # a bare codename needs an object
    assert user.has_perms(["drivers.view_car", "drivers.change_car"])
    assert not user.has_perms(["drivers.view_car", "drivers.delete_car"])
    assert user.get_user_permissions() == {"drivers.change_car"}
    assert user.get_group_permissions() == {"drivers.view_car"}
    assert user.get_all_permissions() == {"drivers.view_car", "drivers.change_car"}
    assert user.has_module_perms("drivers")
    assert not user.has_module_perms("shop")
    # Model grants imply object access by default (the server's setting) ...
    assert user.has_perm("drivers.change_car", cars[0])
    assert fresh(joe).get_all_permissions(cars[0]) == {"view_car", "change_car"}
    # ... and not with WARDEN_ACCEPT_GLOBAL_PERMS = False: guardian's answer.
    with override_settings(WARDEN_ACCEPT_GLOBAL_PERMS=False):
        assert not fresh(joe).has_perm("drivers.change_car", cars[0])
        assert fresh(joe).get_all_permissions(cars[0]) == set()
    joe.user_permissions.clear()
    assert not fresh(joe).has_perm("drivers.change_car")
    staff.permissions.remove(view)
    assert fresh(joe).get_all_permissions() == set()


def test_shared_codename_model_permission(joe: User) -> None:
    """``drivers.drive`` names a permission of Car and of Truck: ModelBackend allows either."""
    joe.user_permissions.add(Permission.objects.get(codename="drive", content_type__model="truck"))
    assert fresh(joe).has_perm("drivers.drive")
    assert "drivers.drive" in fresh(joe).get_all_permissions()
    assert fresh(joe).has_perm("drivers.drive", Truck.objects.create(name="t"))
    with override_settings(WARDEN_ACCEPT_GLOBAL_PERMS=True):
        assert not fresh(joe).has_perm("drivers.drive", Car.objects.create(name="c"))


def test_superuser_and_inactive(cars: list[Car]) -> None:
    boss = User.objects.create_superuser("boss")
    assert boss.has_perm("drivers.change_car", cars[0])
    assert boss.has_perm("drivers.no_such_perm")
    assert ws.get_perms(boss, cars[0]) == ["add_car", "change_car", "delete_car", "drive", "publish_car", "view_car"]
    assert set(ws.get_objects_for_user(boss, "drivers.change_car")) == set(cars)
    assert "drivers.view_car" in fresh(boss).get_all_permissions()
    sleepy = User.objects.create_user("sleepy", is_active=False)
    ws.assign_perm("drivers.change_car", sleepy, cars[0])
    assert not sleepy.has_perm("drivers.change_car", cars[0])
    assert ws.get_perms(sleepy, cars[0]) == []
    assert ws.get_objects_for_user(sleepy, "drivers.change_car").count() == 0
    boss.is_active = False
    boss.save()
    assert not fresh(boss).has_perm("drivers.change_car", cars[0])
    assert ws.get_objects_for_user(fresh(boss), "drivers.change_car").count() == 0


def test_anonymous_user(cars: list[Car]) -> None:
    anonymous = AnonymousUser()
    guardian_anon = User.objects.get(username="AnonymousUser")
    ws.assign_perm("drivers.view_car", guardian_anon, cars[2])
    assert not anonymous.has_perm("drivers.view_car", cars[2])
    assert ws.get_objects_for_user(anonymous, "drivers.view_car").count() == 0
    with override_settings(WARDEN_ANONYMOUS_USER_ID=str(guardian_anon.pk)):
        assert anonymous.has_perm("drivers.view_car", cars[2])
        assert list(ws.get_objects_for_user(anonymous, "drivers.view_car")) == [cars[2]]
        assert ws.get_perms(anonymous, cars[2]) == ["view_car"]


def test_wrong_content_type(joe: User, cars: list[Car]) -> None:
    with pytest.raises(InvalidArgument) as error:
        joe.has_perm("drivers.change_truck", cars[0])
    assert "drivers.truck" in str(error.value) and "drivers.car" in str(error.value)
    assert not joe.has_perm("shop.change_car", cars[0])  # no such permission: UNKNOWN_PERMISSION
    assert not joe.has_perm("change_car", "not a model")


def test_backend_with_perm(joe: User, cars: list[Car]) -> None:
    ann = User.objects.create_user("ann")
    ws.assign_perm("drivers.change_car", joe, cars[0])
    backend = WardenBackend()
    assert list(backend.with_perm("drivers.change_car", obj=cars[0], include_superusers=False)) == [joe]
    assert list(backend.with_perm("drivers.change_car", obj=cars[1], include_superusers=False)) == []
    assert ann not in backend.with_perm("drivers.change_car", obj=cars[0])


def test_login_still_works(joe: User) -> None:
    joe.set_password("secret")
    joe.save()
    from django.contrib.auth import authenticate

    assert authenticate(username="joe", password="secret") == joe


# -- shortcuts -------------------------------------------------------------------------------


def test_get_objects_for_user(joe: User, cars: list[Car]) -> None:
    ws.assign_perm("drivers.change_car", joe, cars[0])
    ws.assign_perm("drivers.view_car", joe, cars[0])
    ws.assign_perm("drivers.view_car", joe, cars[1])
    assert set(ws.get_objects_for_user(joe, "drivers.view_car")) == {cars[0], cars[1]}
    assert set(ws.get_objects_for_user(joe, ["drivers.view_car", "drivers.change_car"])) == {cars[0]}
    assert set(ws.get_objects_for_user(joe, ["view_car", "change_car"], Car, any_perm=True)) == {cars[0], cars[1]}
    assert set(ws.get_objects_for_user(joe, "view_car", Car.objects.filter(name="car 1"))) == {cars[1]}
    assert set(ws.get_objects_for_user(joe, "view_car", Car.objects)) == {cars[0], cars[1]}
    # the result is a QuerySet the app can keep filtering
    assert list(ws.get_objects_for_user(joe, "drivers.view_car").order_by("-pk").values_list("pk", flat=True)) == [
        cars[1].pk,
        cars[0].pk,
    ]
    # a model grant answers with the whole queryset
    joe.user_permissions.add(Permission.objects.get(codename="delete_car"))
    qs = ws.get_objects_for_user(joe, "drivers.delete_car")
    assert "IN" not in str(qs.query) and qs.count() == 5
    assert ws.get_objects_for_user(joe, "drivers.delete_car", accept_global_perms=False).count() == 0
    with pytest.raises(MixedContentTypeError):
        ws.get_objects_for_user(joe, ["drivers.view_car", "shop.view_order"])
    with pytest.raises(WrongAppError):
        ws.get_objects_for_user(joe, "view_car")
    with pytest.raises(NotFound):
        ws.get_objects_for_user(joe, "drivers.no_such", Car)
    with pytest.raises(InvalidArgument):
        ws.get_objects_for_user(joe, "drivers.view_truck", Car)


def test_get_objects_for_user_with_many_objects(joe: User) -> None:
    Car.objects.bulk_create(Car(name=f"bulk {i}") for i in range(3000))
    chosen = Car.objects.filter(pk__gt=1000)
    result = ws.bulk_assign_perm("drivers.view_car", joe, chosen)
    assert result.count == chosen.count()
    qs = ws.get_objects_for_user(joe, "drivers.view_car")
    assert qs.count() == chosen.count()
    assert set(qs.values_list("pk", flat=True)) == set(chosen.values_list("pk", flat=True))
    assert qs.filter(name__endswith="7").count() == chosen.filter(name__endswith="7").count()


def test_get_objects_for_user_skips_pks_an_integer_pk_cannot_have(joe: User, cars: list[Car], warden) -> None:
    # Warden lists canonical integers first; a pk after them that is not one cannot name a car.
    for pk in [str(cars[2].pk), "0" + str(cars[3].pk), "abc", "-1", str(cars[4].pk)]:
        warden.grant("drivers.view_car", user=str(joe.pk), content_type="drivers.car", pk=pk)
    assert set(ws.get_objects_for_user(joe, "drivers.view_car")) == {cars[2], cars[4]}
    for pk in range(1000, 1200):  # the json_each form
        warden.grant("drivers.view_car", user=str(joe.pk), content_type="drivers.car", pk=pk)
    assert set(ws.get_objects_for_user(joe, "drivers.view_car")) == {cars[2], cars[4]}
    warden.revoke("drivers.view_car", user=str(joe.pk), content_type="drivers.car", pk="abc")
    warden.revoke("drivers.view_car", user=str(joe.pk), content_type="drivers.car", pk="-1")
    warden.revoke("drivers.view_car", user=str(joe.pk), content_type="drivers.car", pk="0" + str(cars[3].pk))
    assert set(ws.get_objects_for_user(joe, "drivers.view_car")) == {cars[2], cars[4]}


def test_string_pks() -> None:
    joe = User.objects.create_user("joe2")
    orders = [Order.objects.create(code=code) for code in ["/home/www/joe.config", "a b", "7", "é"]]
    ws.assign_perm("shop.change_order", joe, orders[0])
    ws.assign_perm("change_order", joe, orders[3])
    assert fresh(joe).has_perm("shop.change_order", orders[0])
    assert not fresh(joe).has_perm("shop.change_order", orders[1])
    assert set(ws.get_objects_for_user(joe, "shop.change_order")) == {orders[0], orders[3]}
    many = [Order(code=f"o/{i}") for i in range(1200)]
    Order.objects.bulk_create(many)
    ws.assign_perm("shop.view_order", joe, Order.objects.filter(code__startswith="o/"))
    assert ws.get_objects_for_user(joe, "shop.view_order").count() == 1200


def test_get_objects_for_group(cars: list[Car]) -> None:
    staff = Group.objects.create(name="staff")
    ws.assign_perm("drivers.view_car", staff, cars[3])
    assert list(ws.get_objects_for_group(staff, "drivers.view_car")) == [cars[3]]
    staff.permissions.add(Permission.objects.get(codename="view_car"))
    assert ws.get_objects_for_group(staff, "drivers.view_car").count() == 5
    assert list(ws.get_objects_for_group(staff, "drivers.view_car", accept_global_perms=False)) == [cars[3]]


def test_get_perms_family(joe: User, cars: list[Car]) -> None:
    staff = Group.objects.create(name="staff")
    crew = Group.objects.create(name="crew")
    joe.groups.add(staff, crew)
    ws.assign_perm("change_car", joe, cars[0])
    ws.assign_perm("view_car", staff, cars[0])
    ws.assign_perm("view_car", crew, cars[0])
    assert ws.get_perms(joe, cars[0]) == ["change_car", "view_car"]
    assert list(ws.get_user_perms(joe, cars[0])) == ["change_car"]
    assert list(ws.get_group_perms(joe, cars[0])) == ["view_car"]  # once, not once per group
    assert list(ws.get_group_perms(staff, cars[0])) == ["view_car"]
    assert ws.get_perms(staff, cars[1]) == []


def test_get_users_and_groups_with_perms(joe: User, cars: list[Car]) -> None:
    ann = User.objects.create_user("ann")
    boss = User.objects.create_superuser("boss")
    gone = User.objects.create_user("gone", is_active=False)
    staff = Group.objects.create(name="staff")
    ann.groups.add(staff)
    ws.assign_perm("change_car", joe, cars[0])
    ws.assign_perm("view_car", staff, cars[0])
    ws.assign_perm("view_car", gone, cars[0])
    assert set(ws.get_users_with_perms(cars[0])) == {joe, ann}
    assert set(ws.get_users_with_perms(cars[0], with_group_users=False)) == {joe}
    assert set(ws.get_users_with_perms(cars[0], with_superusers=True)) == {joe, ann, boss}
    assert ws.get_users_with_perms(cars[0], attach_perms=True) == {joe: ["change_car"], ann: ["view_car"]}
    assert set(ws.get_users_with_perms(cars[0], only_with_perms_in=["view_car"])) == {ann}
    assert set(ws.get_groups_with_perms(cars[0])) == {staff}
    assert ws.get_groups_with_perms(cars[0], attach_perms=True) == {staff: ["view_car"]}
    assert list(ws.get_groups_with_perms(cars[1])) == []


def test_bulk_assign_and_remove(cars: list[Car]) -> None:
    users = [User.objects.create_user(f"u{i}") for i in range(4)]
    result = ws.assign_perm("drivers.view_car", User.objects.filter(username__startswith="u"), cars[0])
    assert result.count == 4
    assert set(ws.get_users_with_perms(cars[0])) == set(users)
    result = ws.assign_perm("drivers.change_car", users[0], Car.objects.all())
    assert result.count == 5
    assert ws.get_objects_for_user(users[0], "drivers.change_car").count() == 5
    assert ws.bulk_assign_perm("drivers.change_car", users[0], cars).count == 0  # idempotent
    assert ws.remove_perm("drivers.change_car", users[0], cars[:2]).count == 2
    assert ws.get_objects_for_user(users[0], "drivers.change_car").count() == 3
    assert ws.bulk_remove_perm("drivers.view_car", users, cars[0]).count == 4
    assert list(ws.get_users_with_perms(cars[0])) == []
    with pytest.raises(MultipleIdentityAndObjectError):
        ws.assign_perm("drivers.view_car", users, cars)


def test_model_level_assign_perm(joe: User) -> None:
    permission = ws.assign_perm("drivers.publish_car", joe)
    assert isinstance(permission, Permission)
    assert fresh(joe).has_perm("drivers.publish_car")
    ws.remove_perm("drivers.publish_car", joe)
    assert not fresh(joe).has_perm("drivers.publish_car")
    with pytest.raises(ValueError):
        ws.assign_perm("publish_car", joe)


def test_checker_prefetch(joe: User, cars: list[Car]) -> None:
    ws.assign_perm("view_car", joe, cars[0])
    ws.assign_perm("change_car", joe, cars[2])
    checker = ObjectPermissionChecker(joe)
    assert checker.prefetch_perms(Car.objects.all())
    assert checker.has_perm("view_car", cars[0])
    assert checker.has_perm("drivers.change_car", cars[2])
    assert not checker.has_perm("change_car", cars[0])
    assert checker.get_perms(cars[2]) == ["change_car"]
    ws.assign_perm("delete_car", joe, cars[1])
    assert not checker.has_perm("delete_car", cars[1])  # cached, as guardian's checker
    assert ObjectPermissionChecker(joe).has_perm("delete_car", cars[1])


def test_unknown_permission_on_object(joe: User, cars: list[Car]) -> None:
    with pytest.raises(NotFound):
        ws.assign_perm("drivers.no_such_perm", joe, cars[0])
    assert not joe.has_perm("drivers.no_such_perm", cars[0])


def test_check_perms_in_one_batch(joe: User, cars: list[Car]) -> None:
    ws.assign_perm("view_car", joe, cars[1])
    ws.assign_perm("change_car", joe, cars[3])
    checks = [("view_car", car) for car in cars] + [("drivers.change_car", cars[3])]
    assert ws.check_perms(joe, checks) == [False, True, False, False, False, True]
    assert ws.check_perms(User.objects.create_superuser("root"), checks) == [True] * 6
    with pytest.raises(InvalidArgument):
        ws.check_perms(joe, [("drivers.view_truck", cars[0])])
