"""A ListObjects answer reaches the app's query without a Python string per pk: the packed text
of many integer pks becomes one JSON array for SQLite (querysets.filter_listed), and pages join
into one answer. The objects the queryset yields must be exactly Warden's."""

from __future__ import annotations

from django.contrib.auth.models import User
from drivers.models import Car

from warden_client.django import shortcuts as ws
from warden_client.django.querysets import INLINE_PKS


def test_many_listed_integer_pks_filter_the_queryset_exactly(warden) -> None:
    joe = User.objects.create_user("joe")
    cars = Car.objects.bulk_create(Car(name=f"car {i}") for i in range(3 * INLINE_PKS))
    held = cars[::2] + cars[1:40:2]  # more than INLINE_PKS, not a contiguous range
    ws.bulk_assign_perm("drivers.change_car", joe, held)

    listed = ws.get_objects_for_user(joe, "drivers.change_car", Car)
    assert "json_each" in str(listed.query)  # one JSON parameter, not a placeholder per pk
    assert sorted(c.pk for c in listed) == sorted(c.pk for c in held)

    answer = warden.list_all_objects("drivers.change_car", user=str(joe.pk), page_size=100_000)
    assert answer.pks == sorted((str(c.pk) for c in held), key=int)
    assert answer.packed == "\0".join(answer.pks)


def test_pages_join_into_one_answer(warden) -> None:
    joe = User.objects.create_user("joe")
    cars = Car.objects.bulk_create(Car(name=f"car {i}") for i in range(130))
    ws.bulk_assign_perm("drivers.view_car", joe, cars)
    whole = warden.list_all_objects("drivers.view_car", user=str(joe.pk), page_size=100_000)
    paged = warden.list_all_objects("drivers.view_car", user=str(joe.pk), page_size=7)
    assert paged.pks == whole.pks and paged.packed == whole.packed and len(paged.pks) == 130
    pages = list(warden.iter_object_pages("drivers.view_car", user=str(joe.pk), page_size=7))
    assert len(pages) == 19 and [pk for page in pages for pk in page.pks] == whole.pks


def test_an_empty_answer_has_no_pks(warden) -> None:
    joe = User.objects.create_user("joe")
    Car.objects.create(name="c")
    answer = warden.list_all_objects("drivers.view_car", user=str(joe.pk))
    assert answer.pks == [] and answer.packed == "" and not answer.unrestricted
    assert list(ws.get_objects_for_user(joe, "drivers.view_car", Car)) == []
