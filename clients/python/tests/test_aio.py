"""The asyncio client: every RPC, async iterables for bulk streams, watch and export."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator

import pytest

from warden_client import (
    CheckItem,
    DeadlineExceeded,
    EventKind,
    Grant,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionMode,
    Reason,
    records,
)
from warden_client.aio import AsyncClient


def test_every_call_of_the_async_client(server, app: str) -> None:
    car = f"{app}.car"

    async def main() -> None:
        async with AsyncClient(server.socket) as client:
            start = (await client.health()).revision
            await client.register_content_type(f"{app}.car", custom=["publish_car"])
            await client.put_user(f"{app}-u", username=f"{app}-user")
            await client.put_group(f"{app}-g")
            assert (await client.add_member(f"{app}-u", f"{app}-g")).changed
            await client.grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=1)
            await client.grant(Grant(f"{app}.publish_car", group=f"{app}-g", content_type=car, pk=1))

            answer = await client.check(f"{app}.publish_car", user=f"{app}-u", content_type=car, pk=1)
            assert answer.reason == Reason.OBJECT_GRANT_GROUP and answer.group == f"{app}-g"
            batch = await client.batch_check([CheckItem(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=1),
                                              CheckItem(f"{app}.view_car", user=f"{app}-u", content_type=car, pk="")])
            assert batch.allowed == [True, False] and isinstance(batch[1], InvalidArgument)

            async def grants() -> AsyncIterator[Grant]:
                for pk in range(2, 12_002):
                    yield Grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=pk)

            assert (await client.bulk_grant(grants(), chunk_size=5_000)).count == 12_000
            page = await client.list_objects(f"{app}.view_car", user=f"{app}-u", page_size=10)
            assert page.pks[:3] == ["1", "2", "3"] and page.next_page_token
            pages = [p async for p in client.iter_object_pages(f"{app}.view_car", user=f"{app}-u", page_size=5_000)]
            assert [len(p.pks) for p in pages] == [5_000, 5_000, 2_001]
            assert len((await client.list_all_objects(f"{app}.view_car", user=f"{app}-u")).pks) == 12_001
            revoked = await client.bulk_revoke([Grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=2)])
            assert revoked.count == 1

            subjects = await client.list_subjects(car, 1, attach_perms=True)
            assert subjects.users == {f"{app}-u": ["publish_car", "view_car"]}
            groups_only = await client.get_permissions(car, 1, user=f"{app}-u", mode=PermissionMode.GROUPS_ONLY)
            assert list(groups_only) == ["publish_car"]
            assert (await client.prune_orphans(car, [1, 3])).count == 11_998
            assert (await client.delete_object(car, 3)).changed
            assert (await client.revoke(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=1)).changed
            assert (await client.remove_member(f"{app}-u", f"{app}-g")).changed
            assert (await client.write_batch([records.group(f"{app}-h")])).changed == 1
            assert (await client.delete_group(f"{app}-h")).changed
            assert (await client.delete_user(f"{app}-u")).changed
            assert (await client.stats()).watchers >= 0
            with pytest.raises(NotFound):
                await client.add_member(f"{app}-u", f"{app}-g")

            async with client.watch(after_revision=start, kinds=[EventKind.USER_PUT, EventKind.USER_DELETED]) as watch:
                kinds = [(await anext(watch)).kind, (await anext(watch)).kind]
                assert kinds == [EventKind.USER_PUT, EventKind.USER_DELETED]
                later = asyncio.ensure_future(anext(watch))
                await client.put_user(f"{app}-v")
                assert (await asyncio.wait_for(later, 30)).user.id == f"{app}-v"
            assert watch.closed
            assert [event async for event in watch] == []

            export = client.export(chunk_size=500)
            count = 0
            async for record in export:
                count += 1
            assert count > 0 and export.revision is not None and export.revision >= start

    asyncio.run(main())


def test_async_stream_errors_and_local_deadlines(start_server) -> None:
    server = start_server()

    async def main() -> None:
        async with AsyncClient(server.socket, timeout=0.2) as client:
            ahead = (await client.health()).revision + 100
            with pytest.raises(OutOfRange):
                async for _ in client.watch(after_revision=ahead):
                    pass
            server.pause()
            try:
                with pytest.raises(DeadlineExceeded, match="no answer from Warden"):
                    await client.health()
            finally:
                server.signal(signal.SIGCONT)
            assert (await client.health(timeout=10)).status == "SERVING"

    asyncio.run(main())
