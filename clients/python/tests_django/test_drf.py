"""djangorestframework-guardian's filter and serializer mixin, answered by Warden
(``warden_client.django.rest_framework``), driven through DRF's request factory against a
live server."""

from __future__ import annotations

import importlib
import sys
from unittest import mock

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.db import transaction
from drivers.models import Car
from rest_framework import serializers, viewsets
from rest_framework.test import APIRequestFactory, force_authenticate

from warden_client.django import shortcuts as ws
from warden_client.django.rest_framework import ObjectPermissionsAssignmentMixin, ObjectPermissionsFilter

pytestmark = pytest.mark.django_db(transaction=True)


class CarSerializer(serializers.ModelSerializer):
    class Meta:
        model = Car
        fields = ["id", "name"]


class CarViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Car.objects.order_by("pk")
    serializer_class = CarSerializer
    filter_backends = [ObjectPermissionsFilter]
    pagination_class = None


class OwnedCarSerializer(ObjectPermissionsAssignmentMixin, CarSerializer):
    def get_permissions_map(self, created):
        user = self.context["request"].user
        return {
            "view_car": [user, Group.objects.get(name="staff")],
            "drivers.change_car": [user, "not a user nor a group"],
        }


@pytest.fixture
def staff(joe: User) -> Group:
    group = Group.objects.create(name="staff")
    joe.groups.add(group)
    return group


@pytest.fixture
def cars() -> list[Car]:
    return [Car.objects.create(name=f"car {i}") for i in range(5)]


def listed(user, viewset=CarViewSet) -> list[str]:
    request = APIRequestFactory().get("/cars/")
    if isinstance(user, AnonymousUser):
        request.user = user
    else:
        force_authenticate(request, user=User.objects.get(pk=user.pk))
    response = viewset.as_view({"get": "list"})(request)
    assert response.status_code == 200
    return [str(item["id"]) for item in response.data]


def test_filter_lists_exactly_wardens_answer(joe: User, staff: Group, cars: list[Car], warden) -> None:
    ws.assign_perm("drivers.view_car", joe, cars[0])
    ws.assign_perm("drivers.view_car", staff, cars[3])
    ws.assign_perm("drivers.change_car", joe, cars[1])
    joe.user_permissions.add(Permission.objects.get(codename="view_car"))  # a model grant: not counted
    answer = warden.list_all_objects(
        ["drivers.view_car"], user=joe.pk, content_type="drivers.car", accept_global_perms=False
    ).pks
    assert listed(joe) == answer == [str(cars[0].pk), str(cars[3].pk)]
    assert listed(AnonymousUser()) == []


def test_filter_perm_format_and_shortcut_kwargs(joe: User, cars: list[Car]) -> None:
    ws.assign_perm("drivers.change_car", joe, cars[1])
    joe.user_permissions.add(Permission.objects.get(codename="view_car"))

    class ChangeFilter(ObjectPermissionsFilter):
        perm_format = "%(app_label)s.change_%(model_name)s"

    class GlobalFilter(ObjectPermissionsFilter):
        shortcut_kwargs = {"accept_global_perms": True}

    class ChangeViewSet(CarViewSet):
        filter_backends = [ChangeFilter]

    class GlobalViewSet(CarViewSet):
        filter_backends = [GlobalFilter]

    assert listed(joe, ChangeViewSet) == [str(cars[1].pk)]
    assert listed(joe, GlobalViewSet) == [str(car.pk) for car in cars]


def create_car(user: User, name: str = "new car") -> Car:
    request = APIRequestFactory().post("/cars/")
    request.user = user
    serializer = OwnedCarSerializer(data={"name": name}, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.save()


def test_assignment_mixin_grants_on_save(joe: User, staff: Group, warden) -> None:
    other = User.objects.create_user("other")
    car = create_car(joe)

    def allowed(perm: str, user: User) -> bool:
        return warden.check(perm, user=user.pk, content_type="drivers.car", pk=car.pk).allowed

    assert allowed("drivers.view_car", joe) and allowed("drivers.change_car", joe)
    assert warden.check("drivers.view_car", group="staff", content_type="drivers.car", pk=car.pk).allowed
    assert not allowed("drivers.delete_car", joe)
    assert not allowed("drivers.view_car", other)


def test_assignment_mixin_rolled_back_create_leaves_no_grants(joe: User, staff: Group, warden) -> None:
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            car = create_car(joe)
            raise RuntimeError("the request failed after the save")
    assert not Car.objects.filter(pk=car.pk).exists()
    # SQLite hands the rolled-back pk out again: the next car must not come with joe's grants.
    reused = Car.objects.create(name="someone else's car")
    assert reused.pk == car.pk
    assert not warden.check("drivers.change_car", user=joe.pk, content_type="drivers.car", pk=reused.pk).allowed


def test_assignment_mixin_checks_the_map(joe: User) -> None:
    class ListMap(OwnedCarSerializer):
        def get_permissions_map(self, created):
            return []

    request = APIRequestFactory().post("/cars/")
    request.user = joe
    serializer = ListMap(data={"name": "x"}, context={"request": request})
    serializer.is_valid(raise_exception=True)
    with pytest.raises(AssertionError, match="Expected ListMap.get_permissions_map to return a dict, got list instead."):
        serializer.save()


def test_import_without_drf_names_the_package() -> None:
    name = "warden_client.django.rest_framework"
    saved = sys.modules.pop(name)
    try:
        with mock.patch.dict(sys.modules, {"rest_framework": None, "rest_framework.filters": None}):
            with pytest.raises(ImportError, match="pip install djangorestframework"):
                importlib.import_module(name)
    finally:
        sys.modules[name] = saved
