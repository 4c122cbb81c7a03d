"""guardian's view mixins and decorators, answered by Warden (``warden_client.django.mixins``,
``decorators``, ``views_support``) against a live server: grants made in Warden only are what
the views see; refusals are answered as guardian's settings say."""

from __future__ import annotations

from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory, override_settings
from django.views.generic import ListView, View
from drivers.models import Car

from warden_client.django import shortcuts as ws
from warden_client.django.decorators import (
    PermissionLookupError,
    permission_required,
    permission_required_or_403,
    permission_required_or_404,
)
from warden_client.django.mixins import LoginRequiredMixin, PermissionListMixin, PermissionRequiredMixin

pytestmark = pytest.mark.django_db(transaction=True)

TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]


class Reached(Exception):
    """The view body ran (the permission check let the request through)."""


class CarView(PermissionRequiredMixin, View):
    permission_required = "drivers.change_car"
    object = None

    def get(self, request, *args, **kwargs):
        raise Reached


class CarList(PermissionListMixin, ListView):
    model = Car
    permission_required = "drivers.view_car"

    def get(self, request, *args, **kwargs):
        return HttpResponse(",".join(str(car.pk) for car in self.get_queryset().order_by("pk")))


class AsyncCarView(PermissionRequiredMixin, View):
    permission_required = "drivers.change_car"
    raise_exception = True

    async def get(self, request, *args, **kwargs):
        return HttpResponse("async ok")


@pytest.fixture(autouse=True)
def urlconf(settings) -> None:
    settings.ROOT_URLCONF = "testproject.views_urls"


@pytest.fixture
def cars() -> list[Car]:
    return [Car.objects.create(name=f"car {i}") for i in range(4)]


def request_as(user, path: str = "/cars/1/"):
    request = RequestFactory().get(path)
    request.user = user
    return request


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


# -- PermissionRequiredMixin -----------------------------------------------------------------


def test_mixin_sees_warden_grants_and_redirects_without(joe: User, cars: list[Car]) -> None:
    view = CarView.as_view(object=cars[0])
    response = view(request_as(joe))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/cars/1/"
    ws.assign_perm("drivers.change_car", joe, cars[0])
    with pytest.raises(Reached):
        view(request_as(fresh(joe)))
    assert CarView.as_view(object=cars[1])(request_as(fresh(joe))).status_code == 302


def test_mixin_object_sources_and_fail_hook(joe: User, cars: list[Car]) -> None:
    ws.assign_perm("drivers.change_car", joe, cars[1])
    calls = []

    class Hooked(CarView):
        def get_object(self):
            return cars[1]

        def on_permission_check_fail(self, request, response, obj=None):
            calls.append((response.status_code, obj))

    class WithPermissionObject(Hooked):
        permission_object = None

    with pytest.raises(Reached):
        Hooked.as_view()(request_as(joe))
    # permission_object wins over get_object()
    response = WithPermissionObject.as_view(permission_object=cars[2])(request_as(joe))
    assert response.status_code == 302
    assert calls == [(302, cars[2])]


def test_mixin_refusals(joe: User, cars: list[Car]) -> None:
    assert CarView.as_view(object=cars[0], return_403=True)(request_as(joe)).status_code == 403
    assert CarView.as_view(object=cars[0], return_404=True)(request_as(joe)).status_code == 404
    with pytest.raises(PermissionDenied, match="no car for you"):
        CarView.as_view(object=cars[0], raise_exception=True, object_permission_denied_message="no car for you")(
            request_as(joe)
        )
    with pytest.raises(ImproperlyConfigured):
        CarView.as_view(object=cars[0], permission_required=None)(request_as(joe))


def test_mixin_any_perm_and_global_perms(joe: User, cars: list[Car]) -> None:
    ws.assign_perm("drivers.view_car", joe, cars[0])
    both = ["drivers.change_car", "drivers.view_car"]
    with pytest.raises(Reached):
        CarView.as_view(object=cars[0], permission_required=both, any_perm=True)(request_as(joe))
    assert CarView.as_view(object=cars[0], permission_required=both)(request_as(joe)).status_code == 302
    # No object: a model-wide grant is what counts (accept_global_perms asks for it first).
    assert CarView.as_view(permission_required="drivers.add_car", accept_global_perms=True)(request_as(joe)).status_code == 302
    joe.user_permissions.add(Permission.objects.get(codename="add_car"))
    with pytest.raises(Reached):
        CarView.as_view(permission_required="drivers.add_car", accept_global_perms=True)(request_as(fresh(joe)))


def test_mixin_on_async_view(joe: User, cars: list[Car]) -> None:
    def call(user):
        request = request_as(user)
        view = AsyncCarView(permission_object=cars[0])
        view.setup(request)

        async def run():
            return await view.dispatch(request)

        return async_to_sync(run)()

    with pytest.raises(PermissionDenied):
        call(joe)
    ws.assign_perm("drivers.change_car", joe, cars[0])
    assert call(fresh(joe)).content == b"async ok"


def test_login_required_mixin(joe: User) -> None:
    class Secret(LoginRequiredMixin, View):
        login_url = "/let-me-in/"
        redirect_field_name = "then"

        def get(self, request):
            return HttpResponse("secret")

    response = Secret.as_view()(request_as(AnonymousUser(), "/secret/"))
    assert response.status_code == 302 and response["Location"] == "/let-me-in/?then=/secret/"
    assert Secret.as_view()(request_as(joe, "/secret/")).content == b"secret"


# -- PermissionListMixin ---------------------------------------------------------------------


def test_list_mixin_lists_warden_answer_where_guardian_lists_nothing(joe: User, cars: list[Car], warden) -> None:
    staff = Group.objects.create(name="staff")
    joe.groups.add(staff)
    ws.assign_perm("drivers.view_car", joe, cars[0])
    ws.assign_perm("drivers.view_car", staff, cars[2])
    response = CarList.as_view()(request_as(fresh(joe)))
    expected = warden.list_all_objects(["drivers.view_car"], user=joe.pk, content_type="drivers.car").pks
    assert response.content.decode() == ",".join(expected) == f"{cars[0].pk},{cars[2].pk}"

    # guardian's own mixin reads guardian's tables, which a Warden grant never reaches: the
    # silent divergence these classes end.
    from guardian.mixins import PermissionListMixin as GuardianListMixin

    class GuardianCarList(GuardianListMixin, CarList):
        permission_required = "drivers.view_car"

    assert GuardianCarList.as_view()(request_as(fresh(joe))).content == b""
    # use_groups=False through the extra kwargs, as guardian's
    own_only = CarList.as_view(get_objects_for_user_extra_kwargs={"use_groups": False})
    assert own_only(request_as(fresh(joe))).content.decode() == str(cars[0].pk)
    assert CarList.as_view()(request_as(AnonymousUser())).content == b""


def test_list_mixin_deprecated_kwargs_method(joe: User) -> None:
    view = CarList(request=request_as(joe))
    with pytest.warns(DeprecationWarning):
        kwargs = view.get_get_objects_for_user_kwargs(Car.objects.all())
    assert kwargs["perms"] == ["drivers.view_car"] and kwargs["user"] == joe


def test_generator_permission_required_warns(joe: User) -> None:
    view = CarView()
    view.permission_required = (p for p in ["drivers.change_car", "drivers.view_car"])
    with pytest.warns(DeprecationWarning, match="Use a list or tuple instead"):
        assert view.get_required_permissions() == ["drivers.change_car", "drivers.view_car"]


# -- guardian's refusal settings -------------------------------------------------------------


@override_settings(TEMPLATES=TEMPLATES, GUARDIAN_RENDER_403=True, GUARDIAN_TEMPLATE_403="drivers/denied.html")
def test_render_403_setting(joe: User, cars: list[Car]) -> None:
    view = CarView.as_view(object=cars[0], return_403=True, object_permission_denied_message="ask the fleet manager")
    response = view(request_as(joe))
    assert response.status_code == 403
    assert response.content == b"denied: ask the fleet manager\n"


@override_settings(GUARDIAN_RAISE_403=True)
def test_raise_403_setting(joe: User, cars: list[Car]) -> None:
    with pytest.raises(PermissionDenied):
        CarView.as_view(object=cars[0], return_403=True)(request_as(joe))


@override_settings(GUARDIAN_RAISE_403=True, GUARDIAN_RENDER_403=True)
def test_render_and_raise_403_refused(joe: User, cars: list[Car]) -> None:
    with pytest.raises(ImproperlyConfigured, match="GUARDIAN_RENDER_403 AND GUARDIAN_RAISE_403"):
        CarView.as_view(object=cars[0], return_403=True)(request_as(joe))


@override_settings(TEMPLATES=TEMPLATES, GUARDIAN_RENDER_404=True, GUARDIAN_TEMPLATE_404="drivers/missing.html")
def test_render_404_setting(joe: User, cars: list[Car]) -> None:
    response = CarView.as_view(object=cars[0], return_404=True)(request_as(joe))
    assert response.status_code == 404 and response.content == b"not here\n"
    with override_settings(GUARDIAN_RENDER_404=False, GUARDIAN_RAISE_404=True):
        with pytest.raises(ObjectDoesNotExist):
            CarView.as_view(object=cars[0], return_404=True)(request_as(joe))


@override_settings(WARDEN_GUARDIAN_COMPAT=True)
def test_compat_reads_guardian_conf_module(joe: User, cars: list[Car]) -> None:
    """Under the compatibility switch the settings are guardian's module values (guardian's
    tests change them there)."""
    with mock.patch("guardian.conf.settings.RAISE_403", True):
        with pytest.raises(PermissionDenied):
            CarView.as_view(object=cars[0], return_403=True)(request_as(joe))
    assert CarView.as_view(object=cars[0], return_403=True)(request_as(joe)).status_code == 403


# -- decorators ------------------------------------------------------------------------------


def test_decorator_lookups(joe: User, cars: list[Car]) -> None:
    ws.assign_perm("drivers.change_car", joe, cars[1])
    for model in (Car, "drivers.Car", Car.objects.filter(name__startswith="car")):

        @permission_required_or_403("drivers.change_car", (model, "pk", "car_id"))
        def edit(request, car_id):
            return HttpResponse(f"editing {car_id}")

        assert edit(request_as(joe), car_id=cars[1].pk).content == f"editing {cars[1].pk}".encode()
        assert edit(request_as(joe), car_id=cars[0].pk).status_code == 403
        with pytest.raises(Http404):
            edit(request_as(joe), car_id=10_000)


def test_decorator_refusals_and_global_perms(joe: User, cars: list[Car]) -> None:
    @permission_required("drivers.change_car", (Car, "name", "name"), login_url="/in/")
    def by_name(request, name):
        return HttpResponse("ok")

    response = by_name(request_as(joe, "/cars/car 0/"), name="car 0")
    assert response.status_code == 302 and response["Location"].startswith("/in/?next=")

    @permission_required_or_404("drivers.change_car", (Car, "name", "name"))
    def hidden(request, name):
        return HttpResponse("ok")

    assert hidden(request_as(joe), name="car 0").status_code == 404

    @permission_required_or_403("drivers.change_car", (Car, "name", "name"), accept_global_perms=True)
    def fleet(request, name):
        return HttpResponse("ok")

    assert fleet(request_as(joe), name="car 0").status_code == 403
    joe.user_permissions.add(Permission.objects.get(codename="change_car"))
    assert fleet(request_as(fresh(joe)), name="car 0").content == b"ok"


def test_decorator_bad_arguments() -> None:
    with pytest.raises(PermissionLookupError):
        permission_required(lambda request: None)  # type: ignore[arg-type]
    bad = [(2010, "pk", "car_id"), ("Car", "pk", "car_id"), (Car, "pk", "no_arg"), (Car, "pk")]
    for lookup in bad:

        @permission_required_or_403("drivers.change_car", lookup)
        def view(request, car_id):
            return HttpResponse("ok")

        with pytest.raises(PermissionLookupError):
            view(request_as(AnonymousUser()), car_id=1)


def test_decorator_on_async_view(joe: User, cars: list[Car]) -> None:
    @permission_required_or_403("drivers.change_car", (Car, "pk", "car_id"))
    async def edit(request, car_id):
        return HttpResponse("async edit")

    assert async_to_sync(edit)(request_as(joe), car_id=cars[0].pk).status_code == 403
    ws.assign_perm("drivers.change_car", joe, cars[0])
    assert async_to_sync(edit)(request_as(fresh(joe)), car_id=cars[0].pk).content == b"async edit"
