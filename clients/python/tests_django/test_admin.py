"""Warden's ``GuardedModelAdmin`` through Django's test client against a live Warden server: the
object's page lists who holds what (one ListSubjects call), the user and group pages grant and
revoke as ``actor=request.user``, and Warden's refusals (granting what the staff user does not
hold, changing their own grants) come back as the page's error with Warden's reason, not a 500.
The inline mixin answers guardian's ``False`` for a permission of another model."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from drivers.models import Car, Truck

from warden_client.django import shortcuts as ws
from warden_client.django.admin import GuardedInlineAdminMixin, GuardedModelAdmin, holders
from warden_client.django.conf import get_client
from warden_client.django.forms import GroupObjectPermissionsForm, UserObjectPermissionsForm
from warden_client.django.exceptions import WrongAppError
from warden_client.errors import InvalidArgument, PermissionDenied

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("testproject.admin_urls")]


def perm(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="drivers", codename=codename)


@pytest.fixture
def car() -> Car:
    return Car.objects.create(name="Volvo V70 (fleet 12)")


@pytest.fixture
def staff() -> User:
    """A staff member of "fleet-managers", which holds view_car and change_car model-wide."""
    managers = Group.objects.create(name="fleet-managers")
    managers.permissions.add(perm("view_car"), perm("change_car"))
    user = User.objects.create_user("mia", password="mia-secret", is_staff=True)
    user.groups.add(managers)
    return user


def logged_in(user: User, password: str) -> Client:
    client = Client()
    assert client.login(username=user.username, password=password)
    return client


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:drivers_car_{name}", args=args)


def test_page_lists_who_holds_what(car: Car, staff: User) -> None:
    joe = User.objects.create_user("joe")
    ann = User.objects.create_user("ann")
    drivers = Group.objects.create(name="drivers")
    ws.assign_perm("drivers.drive", joe, car)
    ws.assign_perm("drivers.view_car", joe, car)
    ws.assign_perm("drivers.change_car", ann, car)
    ws.assign_perm("drivers.drive", drivers, car)
    response = logged_in(staff, "mia-secret").get(url("permissions", car.pk))
    assert response.status_code == 200
    users = {u.username: perms for u, perms in response.context["users_perms"].items()}
    groups = {g.name: perms for g, perms in response.context["groups_perms"].items()}
    # Own object grants only (mia's model grants through her group are not object grants).
    assert users == {"ann": ["change_car"], "joe": ["drive", "view_car"]}
    assert list(users) == ["ann", "joe"]  # sorted by username, as guardian
    assert groups == {"drivers": ["drive"]}
    html = response.content.decode()
    assert 'data-user="joe" data-perms="drive view_car"' in html
    assert 'data-group="drivers" data-perms="drive"' in html
    assert url("permissions_manage_user", car.pk, joe.pk) in html


def test_holders_is_one_list_subjects_call(car: Car, monkeypatch: pytest.MonkeyPatch) -> None:
    users = [User.objects.create_user(f"u{i:03}") for i in range(30)]
    groups = [Group.objects.create(name=f"g{i:03}") for i in range(10)]
    ws.assign_perm("drivers.drive", users, car)
    ws.assign_perm("drivers.view_car", groups, car)
    client = get_client()
    calls: list[str] = []
    original = client.list_subjects

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(client, "list_subjects", counted)
    found_users, found_groups = holders(car)
    assert calls == ["drivers.car"]
    assert [u.username for u in found_users] == [u.username for u in users]
    assert all(p == ["drive"] for p in found_users.values())
    assert [g.name for g in found_groups] == [g.name for g in groups]


def test_staff_grants_and_revokes_a_group(car: Car, staff: User) -> None:
    drivers = Group.objects.create(name="drivers")
    client = logged_in(staff, "mia-secret")
    page = url("permissions_manage_group", car.pk, drivers.pk)
    response = client.post(page, {"permissions": ["view_car", "change_car"]})
    assert response.status_code == 302 and response["Location"] == page
    assert ws.get_perms(drivers, car, accept_global_perms=False) == ["change_car", "view_car"]
    response = client.post(page, {"permissions": ["view_car"]})
    assert response.status_code == 302
    assert ws.get_perms(drivers, car, accept_global_perms=False) == ["view_car"]
    response = client.get(page)
    assert list(response.context["group_perms"]) == ["view_car"]
    assert list(response.context["form"].initial) == [] and 'value="view_car" selected' in response.content.decode()


def test_granting_what_the_staff_user_does_not_hold_is_refused(car: Car, staff: User) -> None:
    drivers = Group.objects.create(name="drivers")
    ws.assign_perm("drivers.view_car", drivers, car)
    client = logged_in(staff, "mia-secret")
    response = client.post(url("permissions_manage_group", car.pk, drivers.pk), {"permissions": ["view_car", "delete_car"]})
    assert response.status_code == 403
    refusal = response.context["form"].non_field_errors()
    assert len(refusal) == 1 and "Warden refused the change" in refusal[0]
    assert f"actor {staff.pk} does not hold drivers.delete_car" in refusal[0], refusal[0]
    assert 'id="warden-refusal"' in response.content.decode()
    assert ws.get_perms(drivers, car, accept_global_perms=False) == ["view_car"]  # nothing changed


def test_editing_ones_own_grants_is_refused(car: Car, staff: User) -> None:
    ws.assign_perm("drivers.view_car", staff, car)
    client = logged_in(staff, "mia-secret")
    page = url("permissions_manage_user", car.pk, staff.pk)
    for selection in (["view_car", "change_car"], []):  # a grant, then a revoke
        response = client.post(page, {"permissions": selection})
        assert response.status_code == 403
        reason = response.context["form"].non_field_errors()[0]
        assert f"actor {staff.pk} may not change its own grants" in reason, reason
    assert ws.get_perms(staff, car, accept_global_perms=False) == ["view_car"]


def test_superuser_may_change_any_grant(car: Car) -> None:
    root = User.objects.create_superuser("root", password="root-secret")
    joe = User.objects.create_user("joe")
    client = logged_in(root, "root-secret")
    response = client.post(url("permissions_manage_user", car.pk, joe.pk), {"permissions": ["delete_car", "drive"]})
    assert response.status_code == 302
    assert ws.get_perms(joe, car) == ["delete_car", "drive"]
    # the user form of the object's page redirects to the user's page
    response = client.post(url("permissions", car.pk), {"user": "joe", "submit_manage_user": "1"})
    assert response.status_code == 302 and response["Location"] == url("permissions_manage_user", car.pk, joe.pk)


def test_staff_without_change_permission_is_sent_to_the_index(car: Car) -> None:
    clerk = User.objects.create_user("clerk", password="clerk-secret", is_staff=True)
    response = logged_in(clerk, "clerk-secret").get(url("permissions", car.pk))
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_forms_name_their_actor(car: Car, staff: User) -> None:
    drivers = Group.objects.create(name="drivers")
    form = GroupObjectPermissionsForm(drivers, car, {"permissions": ["delete_car"]}, actor=staff)
    assert form.is_valid()
    with pytest.raises(PermissionDenied):
        form.save_obj_perms()
    form = GroupObjectPermissionsForm(drivers, car, {"permissions": ["view_car"]}, actor=staff)
    assert form.is_valid()
    form.save_obj_perms()
    assert ws.get_perms(drivers, car) == ["view_car"]
    # without an actor (guardian's call), no actor rules apply
    form = UserObjectPermissionsForm(staff, car, {"permissions": ["delete_car"]})
    assert form.is_valid()
    form.save_obj_perms()
    assert ws.get_perms(staff, car, accept_global_perms=False) == ["delete_car"]


def test_change_form_links_to_the_object_permissions(car: Car, staff: User) -> None:
    response = logged_in(staff, "mia-secret").get(url("change", car.pk))
    assert response.status_code == 200
    assert url("permissions", car.pk) in response.content.decode()


# -- inlines ----------------------------------------------------------------------------------


class TruckInline(GuardedInlineAdminMixin, admin.TabularInline):
    model = Truck


def test_inline_answers_false_for_a_permission_of_another_model(car: Car, staff: User) -> None:
    """Django asks an inline about its own model's permissions on the *parent* object; Warden
    answers such a question InvalidArgument, the mixin guardian's False (True for a superuser)."""
    inline = TruckInline(Car, admin.site)
    request = RequestFactory().get("/")
    request.user = User.objects.get(pk=staff.pk)
    for check in (inline.has_add_permission, inline.has_view_permission, inline.has_change_permission):
        assert check(request, car) is False
    truck = Truck.objects.create(name="MAN TGX")
    ws.assign_perm("drivers.view_truck", staff, truck)
    request.user = User.objects.get(pk=staff.pk)
    assert inline.has_view_permission(request, truck) is True
    assert inline.has_change_permission(request, truck) is False
    request.user = User.objects.create_superuser("root")
    assert inline.has_add_permission(request, car) is True


def test_guarded_admin_is_a_model_admin() -> None:
    assert issubclass(GuardedModelAdmin, admin.ModelAdmin)
    assert GuardedModelAdmin.change_form_template == "warden/admin/change_form.html"


def test_backend_answers_guardian_false_for_another_models_permission_under_compat(car: Car, staff: User) -> None:
    """guardian's own GuardedInlineAdminMixin (code that subclassed it before the switch) asks
    the backend itself; guardian answers False for a permission of another model of the same app
    (and raises WrongAppError for another app's)."""
    with override_settings(WARDEN_GUARDIAN_COMPAT=True):
        assert User.objects.get(pk=staff.pk).has_perm("drivers.add_truck", car) is False
        with pytest.raises(WrongAppError):
            User.objects.get(pk=staff.pk).has_perm("auth.add_group", car)
    with pytest.raises(InvalidArgument):  # without the switch: Warden's answer, naming both types
        User.objects.get(pk=staff.pk).has_perm("drivers.add_truck", car)
