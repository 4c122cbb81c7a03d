"""Every unary RPC of the synchronous client against a real server."""

from __future__ import annotations

import pytest

from warden_client import (
    CheckItem,
    Client,
    Decision,
    Grant,
    InvalidArgument,
    NotFound,
    PermissionMode,
    Reason,
    WardenError,
    records,
)


def test_health_and_stats(client: Client, app: str) -> None:
    health = client.health()
    assert health.status == "SERVING" and health.revision >= 2
    stats = client.stats()
    assert stats.content_types >= 2 and stats.connections >= 1 and stats.revision >= health.revision
    assert any(method.method for method in stats.methods)


def test_check_follows_grants_memberships_and_revokes(client: Client, app: str) -> None:
    car, page = f"{app}.car", f"{app}.page"
    client.put_user(f"{app}-joe", username=f"{app}-joe")
    client.put_group(f"{app}-staff")
    written = client.grant(f"{app}.change_car", user=f"{app}-joe", content_type=car, pk=7)
    assert written.changed and written.revision > 0
    assert client.grant(f"{app}.change_car", user=f"{app}-joe", content_type=car, pk="7").changed is False

    answer = client.check(f"{app}.change_car", user=f"{app}-joe", content_type=car, pk=7)
    assert answer and answer.reason == Reason.OBJECT_GRANT_USER and answer.group is None
    assert answer.revision >= written.revision
    assert answer.decision == Decision(True, Reason.OBJECT_GRANT_USER)
    denied = client.check(f"{app}.change_car", user=f"{app}-joe", content_type=car, pk=8)
    assert not denied and denied.reason == Reason.NO_GRANT
    assert client.check("change_car", user=f"{app}-joe", content_type=car, pk=7).allowed  # bare codename
    assert client.check(f"{app}.change_car", user="nobody", content_type=car, pk=7).reason == Reason.UNKNOWN_USER
    assert client.check(f"{app}.fly_car", user=f"{app}-joe", content_type=car, pk=7).reason == Reason.UNKNOWN_PERMISSION

    client.grant(f"{app}.view_page", group=f"{app}-staff")  # a model grant to a group (a role)
    assert client.check(f"{app}.view_page", user=f"{app}-joe").reason == Reason.NO_GRANT
    client.add_member(f"{app}-joe", f"{app}-staff")
    via_group = client.check(f"{app}.view_page", user=f"{app}-joe", content_type=page, pk="x")
    assert via_group.reason == Reason.MODEL_GRANT_GROUP and via_group.group == f"{app}-staff"
    strict = client.check(f"{app}.view_page", user=f"{app}-joe", content_type=page, pk="x", accept_global_perms=False)
    assert strict.reason == Reason.NO_GRANT
    assert client.check(f"{app}.view_page", group=f"{app}-staff").reason == Reason.MODEL_GRANT_GROUP
    assert client.remove_member(f"{app}-joe", f"{app}-staff").changed
    assert not client.check(f"{app}.view_page", user=f"{app}-joe")

    assert client.revoke(f"{app}.change_car", user=f"{app}-joe", content_type=car, pk=7).changed
    assert client.revoke(Grant(f"{app}.change_car", user=f"{app}-joe", content_type=car, pk=7)).changed is False
    assert not client.check(f"{app}.change_car", user=f"{app}-joe", content_type=car, pk=7)


def test_superusers_inactive_users_and_integer_ids(client: Client, app: str) -> None:
    base = 10_000 + int(app.removeprefix("app")) * 10
    client.put_user(base, is_superuser=True)
    client.put_user(base + 1, is_active=False, is_superuser=True)
    assert client.check(f"{app}.anything", user=base).reason == Reason.SUPERUSER
    assert client.check(f"{app}.change_car", user=str(base + 1)).reason == Reason.INACTIVE_USER
    assert client.put_user(base, is_superuser=False).changed
    assert client.check(f"{app}.change_car", user=base).reason == Reason.NO_GRANT


def test_batch_check_answers_in_order_with_per_item_errors(client: Client, app: str) -> None:
    car = f"{app}.car"
    client.put_user(f"{app}-u")
    client.grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=1)
    items = [
        CheckItem(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=1),
        CheckItem(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=2),
        CheckItem(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=""),  # broken: its own error
        CheckItem("view_car", user=f"{app}-u"),  # a bare codename without a type
    ]
    result = client.batch_check(items)
    assert len(result) == 4 and result.allowed == [True, False, False, False]
    assert isinstance(result[0], Decision) and result[0].reason == Reason.OBJECT_GRANT_USER
    assert isinstance(result[2], InvalidArgument) and "object.pk" in result[2].message
    assert isinstance(result[3], InvalidArgument)
    assert result.revision >= 1
    from warden_client import pb

    raw = pb.CheckItem(subject=pb.Subject(user=f"{app}-u"), permission=f"{app}.view_car",
                       object=pb.ObjectRef(content_type=car, pk="1"))
    assert client.batch_check([raw]).allowed == [True]


def test_list_objects_pages_and_unrestricted(client: Client, app: str) -> None:
    car = f"{app}.car"
    client.put_user(f"{app}-u")
    client.put_user(f"{app}-root", is_superuser=True)
    client.bulk_grant(Grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=pk) for pk in range(25))
    first = client.list_objects(f"{app}.view_car", user=f"{app}-u", page_size=10)
    assert first.pks == [str(n) for n in range(10)] and first.next_page_token and not first.unrestricted
    second = client.list_objects([f"{app}.view_car"], user=f"{app}-u", page_size=10, page_token=first.next_page_token)
    assert second.pks == [str(n) for n in range(10, 20)]
    pages = list(client.iter_object_pages(f"{app}.view_car", user=f"{app}-u", page_size=10))
    assert [len(page.pks) for page in pages] == [10, 10, 5] and pages[-1].next_page_token == ""
    everything = client.list_all_objects(f"{app}.view_car", user=f"{app}-u", page_size=7)
    assert everything.pks == [str(n) for n in range(25)] and not everything.unrestricted
    assert client.list_all_objects([], user=f"{app}-u", content_type=car).pks == everything.pks  # any permission

    both = client.list_all_objects([f"{app}.view_car", f"{app}.change_car"], user=f"{app}-u")
    assert both.pks == []
    either = client.list_all_objects([f"{app}.view_car", f"{app}.change_car"], user=f"{app}-u", any_perm=True)
    assert len(either.pks) == 25

    root = client.list_all_objects(f"{app}.view_car", user=f"{app}-root")
    assert root.unrestricted and root.reason is not None and root.reason.reason == Reason.SUPERUSER and root.pks == []
    assert client.list_all_objects(f"{app}.view_car", user=f"{app}-root", with_superuser=False).pks == []
    with pytest.raises(NotFound, match=f"{app}.fly_car"):
        client.list_objects(f"{app}.fly_car", user=f"{app}-u")


def test_list_objects_names_the_content_type(client: Client, app: str) -> None:
    # <app>.car and <app>.page share the app: the type comes from the permission, not the app.
    car, page = f"{app}.car", f"{app}.page"
    client.put_user(f"{app}-u")
    client.put_user(f"{app}-root", is_superuser=True)
    client.bulk_grant(Grant(f"{app}.view_page", user=f"{app}-u", content_type=page, pk=pk) for pk in range(12))
    client.put_group(f"{app}-g")
    client.add_member(f"{app}-u", f"{app}-g")
    client.grant(f"{app}.change_car", group=f"{app}-g")  # a model grant: unrestricted, through the group
    pages = list(client.iter_object_pages(f"{app}.view_page", user=f"{app}-u", page_size=5))
    assert [p.content_type for p in pages] == [page, page, page] and len(pages[-1].pks) == 2
    assert client.list_all_objects(f"{app}.view_page", user=f"{app}-u", page_size=5).content_type == page
    given = client.list_objects([], user=f"{app}-u", content_type=car)
    assert given.content_type == car and given.pks == []
    root = client.list_objects(f"{app}.view_car", user=f"{app}-root")
    assert root.unrestricted and root.content_type == car
    model = client.list_all_objects(f"{app}.change_car", user=f"{app}-u")
    assert model.unrestricted and model.reason is not None and model.reason.reason == Reason.MODEL_GRANT_GROUP
    assert model.content_type == car
    assert client.list_all_objects(f"{app}.view_page", user=f"{app}-root").content_type == page


def test_list_subjects_and_get_permissions(client: Client, app: str) -> None:
    car = f"{app}.car"
    client.put_user(f"{app}-a")
    client.put_user(f"{app}-b")
    client.put_group(f"{app}-g")
    client.add_member(f"{app}-b", f"{app}-g")
    client.grant(f"{app}.view_car", user=f"{app}-a", content_type=car, pk=1)
    client.grant(f"{app}.change_car", user=f"{app}-a", content_type=car, pk=1)
    client.grant(f"{app}.publish_car", group=f"{app}-g", content_type=car, pk=1)

    subjects = client.list_subjects(car, 1, attach_perms=True)
    assert subjects.users == {f"{app}-a": ["change_car", "view_car"], f"{app}-b": ["publish_car"]}
    assert subjects.groups == {f"{app}-g": ["publish_car"]}
    assert list(client.list_subjects(car, 1, with_group_users=False).users) == [f"{app}-a"]
    assert client.list_subjects(car, "1", permissions=f"{app}.publish_car").users == {f"{app}-b": []}

    assert list(client.get_permissions(car, 1, user=f"{app}-a")) == ["change_car", "view_car"]
    assert "publish_car" in client.get_permissions(car, 1, user=f"{app}-b")
    assert list(client.get_permissions(car, 1, user=f"{app}-b", mode=PermissionMode.USER_ONLY)) == []
    assert list(client.get_permissions(car, 1, user=f"{app}-b", mode=PermissionMode.GROUPS_ONLY)) == ["publish_car"]
    assert list(client.get_permissions(car, 1, group=f"{app}-g")) == ["publish_car"]


def test_deletes_cascade(client: Client, app: str) -> None:
    car = f"{app}.car"
    client.put_user(f"{app}-u")
    client.put_group(f"{app}-g")
    client.add_member(f"{app}-u", f"{app}-g")
    client.grant(f"{app}.view_car", group=f"{app}-g", content_type=car, pk=3)
    client.grant(f"{app}.change_car", user=f"{app}-u", content_type=car, pk=3)
    assert client.check(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=3).reason == Reason.OBJECT_GRANT_GROUP

    assert client.delete_object(car, 3).changed
    assert client.list_subjects(car, 3).users == {}
    client.grant(f"{app}.view_car", group=f"{app}-g", content_type=car, pk=3)
    assert client.delete_group(f"{app}-g").changed
    assert not client.check(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=3)
    client.grant(f"{app}.change_car", user=f"{app}-u", content_type=car, pk=3)
    assert client.delete_user(f"{app}-u").changed
    client.put_user(f"{app}-u")
    assert list(client.get_permissions(car, 3, user=f"{app}-u")) == []  # a re-created user starts clean


def test_register_content_type_is_additive(client: Client, app: str) -> None:
    written = client.register_content_type(f"{app}.boat", custom=["sail_boat"], defaults=False)
    assert written.changed
    client.put_user(f"{app}-root", is_superuser=True)
    assert list(client.get_permissions(f"{app}.boat", 1, user=f"{app}-root")) == ["sail_boat"]
    client.register_content_type(f"{app}.boat")
    assert len(client.get_permissions(f"{app}.boat", 1, user=f"{app}-root")) == 5
    assert client.register_content_type(f"{app}.boat").changed is False


def test_write_batch_commits_all_or_nothing(client: Client, app: str) -> None:
    car = f"{app}.car"
    batch = [
        records.user(f"{app}-u", username=f"{app}-user"),
        records.group(f"{app}-g"),
        records.member(f"{app}-u", f"{app}-g"),
        records.grant(f"{app}.view_car", group=f"{app}-g", content_type=car, pk=9),
        Grant(f"{app}.change_car", user=f"{app}-u", content_type=car, pk=9),
        records.content_type(f"{app}.bike", custom=["ride_bike"]),
    ]
    result = client.write_batch(batch)
    assert result.changed == 6
    assert list(client.get_permissions(car, 9, user=f"{app}-u")) == ["change_car", "view_car"]

    before = client.health().revision
    with pytest.raises(NotFound):
        client.write_batch([records.group(f"{app}-h"), records.member(f"{app}-u", f"{app}-nope")])
    assert client.health().revision == before
    assert list(client.list_subjects(car, 9).groups) == [f"{app}-g"]


def test_arguments_the_client_cannot_send(client: Client) -> None:
    with pytest.raises(ValueError, match="user= or group=, not both"):
        client.check("a.b", user="1", group="g")
    with pytest.raises(ValueError, match="not both"):
        client.grant(Grant("a.b", user="1"), user="2")
    with pytest.raises(TypeError, match="pk"):
        client.check("a.b", user="1", content_type="a.c", pk=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="records"):
        client.write_batch(["nope"])  # type: ignore[list-item]
    assert issubclass(InvalidArgument, WardenError)
