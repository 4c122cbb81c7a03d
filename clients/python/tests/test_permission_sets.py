"""BatchGetPermissions (``batch_get_permissions``) and packed ListObjects pages."""

from __future__ import annotations

import asyncio

import pytest

from warden_client import Client, Grant, InvalidArgument, NotFound, PermissionMode, PermissionSets
from warden_client import _calls
from warden_client._proto import reads_pb2
from warden_client.aio import AsyncClient


def _lab(client: Client, app: str) -> str:
    car = f"{app}.car"
    client.put_user(f"{app}-a")
    client.put_user(f"{app}-b")
    client.put_user(f"{app}-root", is_superuser=True)
    client.put_user(f"{app}-off", is_active=False)
    client.put_group(f"{app}-g")
    client.add_member(f"{app}-b", f"{app}-g")
    client.add_member(f"{app}-off", f"{app}-g")
    client.grant(f"{app}.view_car", user=f"{app}-a", content_type=car, pk=1)
    client.grant(f"{app}.change_car", user=f"{app}-a", content_type=car, pk=1)
    client.grant(f"{app}.publish_car", group=f"{app}-g", content_type=car, pk=1)
    client.grant(f"{app}.delete_car", group=f"{app}-g", content_type=car, pk="/home/www/joe.config")
    client.grant(f"{app}.view_car", user=f"{app}-b", content_type=car, pk=3)
    client.grant(f"{app}.add_car", group=f"{app}-g")  # model-wide
    return car


def test_each_object_equals_get_permissions(client: Client, app: str) -> None:
    car = _lab(client, app)
    pks: list[str | int] = [1, "2", 3, "/home/www/joe.config", 1]
    subjects = [{"user": f"{app}-{name}"} for name in ("a", "b", "root", "off", "nobody")] + [{"group": f"{app}-g"}]
    for subject in subjects:
        for mode in PermissionMode:
            for agp in (None, False):
                sets = client.batch_get_permissions(car, pks, mode=mode, accept_global_perms=agp, **subject)
                assert sets.codenames == ["add_car", "change_car", "delete_car", "publish_car", "view_car"]
                assert sets.pks == ["1", "2", "3", "/home/www/joe.config", "1"] and len(sets) == 5
                for position, pk in enumerate(pks):
                    alone = client.get_permissions(car, pk, mode=mode, accept_global_perms=agp, **subject)
                    assert sets[position] == alone.codenames, (subject, mode, agp, pk)
                    assert sets.revision == alone.revision


def test_the_answer_reads_as_lists_dicts_and_bits(client: Client, app: str) -> None:
    car = _lab(client, app)
    sets = client.batch_get_permissions(car, [1, 3, 9], user=f"{app}-b", accept_global_perms=False)
    assert isinstance(sets, PermissionSets)
    assert sets.as_dict() == {"1": ["publish_car"], "3": ["view_car"], "9": []}
    assert sets[0:2] == [["publish_car"], ["view_car"]]
    bits = sets.bits()
    assert [mask >> bits["view_car"] & 1 for mask in sets.masks] == [0, 1, 0]
    assert client.batch_get_permissions(car, [], user=f"{app}-b").masks == []


def test_a_type_of_more_than_eight_codenames(client: Client, app: str) -> None:
    boat = f"{app}.boat"
    custom = [f"c{n:02}_boat" for n in range(12)]
    client.register_content_type(boat, custom=custom)
    client.put_user(f"{app}-u")
    client.put_user(f"{app}-root", is_superuser=True)
    client.grant(f"{app}.c11_boat", user=f"{app}-u", content_type=boat, pk=5)
    client.grant(f"{app}.view_boat", user=f"{app}-u", content_type=boat, pk=5)
    client.grant(f"{app}.c00_boat", user=f"{app}-u", content_type=boat, pk=6)
    sets = client.batch_get_permissions(boat, [5, 6, 7], user=f"{app}-u")
    assert len(sets.codenames) == 16
    assert sets.as_dict() == {"5": ["c11_boat", "view_boat"], "6": ["c00_boat"], "7": []}
    assert client.batch_get_permissions(boat, [5], user=f"{app}-root")[0] == sorted(custom + [
        f"{verb}_boat" for verb in ("add", "change", "delete", "view")
    ])


def test_bad_input(client: Client, app: str) -> None:
    car = _lab(client, app)
    with pytest.raises(InvalidArgument, match=r"pks\[1\]: must be 1..255 bytes"):
        client.batch_get_permissions(car, [1, ""], user=f"{app}-a")
    with pytest.raises(InvalidArgument, match=r"pks\[0\]"):
        client.batch_get_permissions(car, ["x" * 256], user=f"{app}-a")
    with pytest.raises(NotFound, match=f"content_type: content type {app}.ship is not registered"):
        client.batch_get_permissions(f"{app}.ship", [1], user=f"{app}-a")
    with pytest.raises(InvalidArgument, match=r"pks: at most 10000 pks in one BatchGetPermissions \(got 10001\)"):
        client.batch_get_permissions(car, range(10_001), user=f"{app}-a")
    assert len(client.batch_get_permissions(car, range(10_000), user=f"{app}-a")) == 10_000
    with pytest.raises(TypeError, match="pks"):
        client.batch_get_permissions(car, [1.5], user=f"{app}-a")  # type: ignore[list-item]


def test_the_async_client(server, app: str) -> None:  # type: ignore[no-untyped-def]
    with Client(server.socket) as client:
        car = _lab(client, app)

    async def main() -> None:
        async with AsyncClient(server.socket) as client:
            sets = await client.batch_get_permissions(car, [1, 3], user=f"{app}-a")
            assert sets.as_dict() == {"1": ["change_car", "view_car"], "3": []}
            held = await client.batch_get_permissions(car, [1], group=f"{app}-g", mode=PermissionMode.BOTH)
            assert held[0] == ["add_car", "publish_car"]  # the group's model grant counts (server default)

    asyncio.run(main())


def test_list_objects_reads_packed_and_plain_pages(client: Client, app: str) -> None:
    car = f"{app}.car"
    client.put_user(f"{app}-u")
    pks = [str(n) for n in range(12)] + ["/home/www/joe.config", "caf\u00e9"]
    client.bulk_grant(Grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=pk) for pk in pks)
    assert client.list_all_objects(f"{app}.view_car", user=f"{app}-u", page_size=5).pks == pks
    # A server that predates packed_pks answers `pks`; the client reads either.
    old = reads_pb2.ListObjectsResponse(pks=pks, revision=7).SerializeToString()
    new = reads_pb2.ListObjectsResponse(packed_pks="\0".join(pks).encode(), revision=7).SerializeToString()
    assert _calls._object_page(old) == _calls._object_page(new)
    assert _calls._object_page(reads_pb2.ListObjectsResponse(revision=7).SerializeToString()).pks == []
    assert _calls.list_objects(f"{app}.view_car", user=f"{app}-u").message.packed_pks  # type: ignore[union-attr]
