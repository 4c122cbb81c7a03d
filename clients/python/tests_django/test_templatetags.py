"""``{% get_obj_perms %}`` (``warden_client.django.templatetags.warden_tags``) against a live
server: guardian's format and errors, Warden's answers, one request per tag, and a prefetched
checker's answers used without a request."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.contrib.contenttypes.models import ContentType
from django.template import Context, Template, TemplateSyntaxError
from django.test import override_settings
from drivers.models import Car

from warden_client.django import shortcuts as ws
from warden_client.django.core import ObjectPermissionChecker
from warden_client.django.exceptions import NotUserNorGroup

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("templates"),
]


@pytest.fixture
def templates(settings) -> None:
    settings.TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]


def render(body: str, **context) -> str:
    return Template("{% load warden_tags %}" + body).render(Context(context))


TAG = '{% get_obj_perms who for car as "car_perms" %}{{ car_perms|join:" " }}'


@pytest.fixture
def cars() -> list[Car]:
    return [Car.objects.create(name=f"car {i}") for i in range(3)]


def test_wrong_formats(joe: User, cars: list[Car]) -> None:
    wrong = (
        "{% get_obj_perms who for car as car_perms %}",
        "{% get_obj_perms who for car as 'car_perms\" %}",
        '{% get_obj_perms who for car as car_perms" %}',
        "{% get_obj_perms who for car as %}",
        '{% get_obj_perms for car as "car_perms" %}',
        '{% get_obj_perms who car as "car_perms" %}',
        '{% get_obj_perms who for car "car_perms" %}',
        '{% get_obj_perms who for as "car_perms" %}',
        '{% get_obj_perms who for car as "car_perms" checker extra %}',
    )
    for body in wrong:
        with pytest.raises(TemplateSyntaxError):
            render(body, who=joe, car=cars[0])


def test_user_and_group(joe: User, cars: list[Car]) -> None:
    staff = Group.objects.create(name="staff")
    joe.groups.add(staff)
    ws.assign_perm("drivers.change_car", joe, cars[0])
    ws.assign_perm("drivers.drive", staff, cars[0])
    assert render(TAG, who=joe, car=cars[0]) == "change_car drive"
    assert render(TAG, who=staff, car=cars[0]) == "drive"
    assert render(TAG, who=joe, car=cars[1]) == ""


def test_none_object_anonymous_and_superuser(joe: User, cars: list[Car]) -> None:
    assert render(TAG, who=joe, car=None) == ""
    assert render(TAG, who=AnonymousUser(), car=cars[0]) == ""
    boss = User.objects.create_superuser("boss")
    codenames = sorted(ws.get_perms_for_model(Car).values_list("codename", flat=True))
    # Every codename Django has (Warden may know more: a codename registered at run time by
    # another test stays registered after its transaction rolled back; docs/django.md).
    rendered = render(TAG, who=boss, car=cars[0]).split(" ")
    assert rendered == sorted(rendered) and set(codenames) <= set(rendered)


@override_settings(TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "OPTIONS": {"debug": False}}])
def test_not_user_nor_group(cars: list[Car]) -> None:
    with pytest.raises(NotUserNorGroup, match="User or Group instance required"):
        render(TAG, who=ContentType(), car=cars[0])
    with pytest.raises(NotUserNorGroup):
        render(TAG, who=ContentType(), car=None)  # the subject is checked first, as guardian's


def test_one_request_and_a_prefetched_checker(joe: User, cars: list[Car], warden) -> None:
    ws.assign_perm("drivers.view_car", joe, cars[0])
    ws.assign_perm("drivers.change_car", joe, cars[1])
    with mock.patch.object(warden, "get_permissions", wraps=warden.get_permissions) as single, mock.patch.object(
        warden, "batch_get_permissions", wraps=warden.batch_get_permissions
    ) as batch:
        assert render(TAG, who=joe, car=cars[0]) == "view_car"
    assert single.call_count + batch.call_count == 1

    checker = ObjectPermissionChecker(joe)
    checker.prefetch_perms(Car.objects.all())
    # Revoked after the prefetch: the tag answers from the checker's cache (no request), as
    # guardian's tag does with a checker.
    ws.remove_perm("drivers.change_car", joe, cars[1])
    body = "".join(
        '{% get_obj_perms who for car as "p" checker %}[{{ p|join:" " }}]'.replace("car", f"car{i}") for i in range(3)
    )
    context = {"who": joe, "checker": checker, **{f"car{i}": car for i, car in enumerate(cars)}}
    with mock.patch.object(warden, "get_permissions", wraps=warden.get_permissions) as single, mock.patch.object(
        warden, "batch_get_permissions", wraps=warden.batch_get_permissions
    ) as batch:
        assert render(body, **context) == "[view_car][change_car][]"
    assert single.call_count == 0 and batch.call_count == 0
