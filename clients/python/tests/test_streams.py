"""Client streams (bulk grants, revokes, orphan pruning) and server streams (watch, export)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from warden_client import Cancelled, Client, EventKind, Grant, InvalidArgument, NotFound, OutOfRange, Reason, pb


def test_bulk_grant_of_50k_is_visible_right_after(client: Client, app: str) -> None:
    car = f"{app}.car"
    client.put_user(f"{app}-u")
    client.put_group(f"{app}-g")
    grants = (Grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=pk) for pk in range(50_000))
    result = client.bulk_grant(grants, chunk_size=4_000)
    assert (result.count, result.requested) == (50_000, 50_000)
    assert client.check(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=49_999).allowed
    assert len(client.list_all_objects(f"{app}.view_car", user=f"{app}-u", page_size=100_000).pks) == 50_000

    again = client.bulk_grant([Grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=1),
                               pb.Grant(subject=pb.Subject(group=f"{app}-g"), permission=f"{app}.view_car",
                                        content_type=car, pk="1")])
    assert (again.count, again.requested) == (1, 2)  # the user's grant was there already

    revoked = client.bulk_revoke(Grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=pk)
                                 for pk in range(0, 50_000, 2))
    assert revoked.count == 25_000 and revoked.revision > result.revision
    assert not client.check(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=0, accept_global_perms=False)
    assert client.check(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=1).allowed


def test_bulk_chunks_close_by_bytes_below_the_server_frame_limit(client: Client, app: str) -> None:
    # 17,000 grants of ~280 bytes are ~4.7 MB: one chunk by count, which only the ~1 MiB byte
    # limit keeps under the server's 4 MiB frame limit (or the server would close the connection).
    car = f"{app}.car"
    client.put_user(f"{app}-u")
    long_pk = "p" * 240
    grants = (Grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=f"{long_pk}{n}") for n in range(17_000))
    assert client.bulk_grant(grants, chunk_size=1_000_000).count == 17_000
    assert len(client.list_all_objects(f"{app}.view_car", user=f"{app}-u", page_size=100_000).pks) == 17_000


def test_an_empty_bulk_stream_is_valid(client: Client, app: str) -> None:
    result = client.bulk_grant([])
    assert (result.count, result.requested) == (0, 0)


def test_a_failing_iterable_abandons_the_stream_and_writes_nothing(client: Client, app: str) -> None:
    car = f"{app}.car"
    client.put_user(f"{app}-u")

    def grants() -> Iterator[Grant]:
        for pk in range(25_000):
            yield Grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=pk)
        raise RuntimeError("the app's query failed")

    with pytest.raises(RuntimeError, match="query failed"):
        client.bulk_grant(grants(), chunk_size=10_000)  # two chunks went out before the failure
    assert client.list_all_objects(f"{app}.view_car", user=f"{app}-u").pks == []
    assert client.health().status == "SERVING"  # the connection is still usable


def test_bulk_errors_name_the_row(client: Client, app: str) -> None:
    car = f"{app}.car"
    client.put_user(f"{app}-u")
    rows = [Grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=n) for n in range(5)]
    rows.append(Grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=""))
    with pytest.raises(InvalidArgument, match=r"grants\[5\]"):
        client.bulk_grant(rows, chunk_size=2)
    with pytest.raises(NotFound):
        client.bulk_grant([Grant(f"{app}.view_car", user=f"{app}-nobody", content_type=car, pk=1)])
    assert client.list_all_objects(f"{app}.view_car", user=f"{app}-u").pks == []


def test_prune_orphans_removes_grants_on_objects_not_sent(client: Client, app: str) -> None:
    car, page = f"{app}.car", f"{app}.page"
    client.put_user(f"{app}-u")
    client.bulk_grant(Grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=pk) for pk in range(100))
    client.grant(f"{app}.view_page", user=f"{app}-u", content_type=page, pk=500)
    result = client.prune_orphans(car, (pk for pk in range(0, 100, 2)), chunk_size=7)
    assert result.count == 50
    assert client.list_all_objects(f"{app}.view_car", user=f"{app}-u").pks == [str(pk) for pk in range(0, 100, 2)]
    assert client.check(f"{app}.view_page", user=f"{app}-u", content_type=page, pk=500).allowed  # another type
    assert client.prune_orphans(car, []).count == 50  # no live objects: every grant of the type goes
    assert client.list_all_objects(f"{app}.view_car", user=f"{app}-u").pks == []


def test_watch_replays_history_then_follows_live_events_until_closed(client: Client, server, app: str) -> None:
    car = f"{app}.car"
    start = client.put_user(f"{app}-u").revision
    client.grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=1)
    with client.watch(after_revision=start - 1, content_types=[car]) as watch:
        first, second = next(watch), next(watch)
        assert (first.kind, first.revision, first.user.id) == (EventKind.USER_PUT, start, f"{app}-u")
        assert second.kind == EventKind.GRANT_ADDED and second.grant.pk == "1" and second.revision == start + 1

        def write() -> None:
            with Client(server.socket) as other:
                other.grant(f"{app}.change_car", user=f"{app}-u", content_type=car, pk=2)
                other.bulk_grant([Grant(f"{app}.view_car", user=f"{app}-u", content_type=car, pk=3)])

        writer = threading.Thread(target=write)
        writer.start()
        live = [next(watch), next(watch)]
        writer.join()
        assert [event.kind for event in live] == [EventKind.GRANT_ADDED, EventKind.BULK_GRANTED]
        assert live[0].grant.permission.endswith("change_car") and live[1].count == 1
        assert watch.poll(0.05) is None  # nothing more, for now
    assert watch.closed
    assert list(watch) == []


def test_watch_filters_by_kind(client: Client, app: str) -> None:
    start = client.health().revision
    client.put_group(f"{app}-g")
    client.put_user(f"{app}-u")
    client.add_member(f"{app}-u", f"{app}-g")
    with client.watch(start, kinds=[EventKind.MEMBER_ADDED]) as watch:
        event = next(watch)
    assert event.kind == EventKind.MEMBER_ADDED and (event.user_id, event.group) == (f"{app}-u", f"{app}-g")


def test_watch_audits_checks(client: Client, app: str) -> None:
    client.put_user(f"{app}-u")
    with client.watch(audit_checks=True, kinds=[EventKind.PERMISSION_CHECKED]) as watch:
        for _ in range(50):  # the watch is live once the server has it: check until an audit shows up
            client.check(f"{app}.view_car", user=f"{app}-u")
            event = watch.poll(0.1)
            if event is not None:
                break
        assert event is not None and event.kind == EventKind.PERMISSION_CHECKED
        assert event.check.reason == Reason.NO_GRANT and event.check.subject.user == f"{app}-u"


def test_a_watch_ahead_of_the_latest_revision_is_out_of_range(client: Client) -> None:
    with client.watch(after_revision=client.health().revision + 1000) as watch:
        with pytest.raises(OutOfRange) as raised:
            next(watch)
    assert raised.value.oldest_retained_revision is None
    with pytest.raises(InvalidArgument, match=r"kinds\[0\]"):
        next(client.watch(kinds=[99]))


def test_closing_a_watch_cancels_it_on_the_server(client: Client) -> None:
    watch = client.watch()
    assert watch.poll(0.05) is None
    assert client.stats().watchers >= 1
    watch.close()
    watch.close()
    assert watch.closed and list(watch) == []
    for _ in range(200):  # the server drops the watcher when it reads the cancel
        if client.stats().watchers == 0:
            break
        threading.Event().wait(0.01)
    assert client.stats().watchers == 0


def test_export_yields_the_whole_state_at_one_revision(start_server) -> None:
    server = start_server()
    with Client(server.socket) as client:
        client.register_content_type("shop.order", custom=["ship_order"])
        client.put_user("1", username="ann")
        client.put_group("clerks")
        client.add_member("1", "clerks")
        client.bulk_grant(Grant("shop.view_order", group="clerks", content_type="shop.order", pk=pk) for pk in range(2500))
        revision = client.health().revision
        with client.export(chunk_size=100) as export:
            records = list(export)
        assert export.revision == revision
        kinds = [record.WhichOneof("record") for record in records]
        assert kinds == ["content_type", "user", "group", "member"] + ["grant"] * 2500
        assert records[0].content_type.content_type == "shop.order" and records[1].user.username == "ann"
        assert {record.grant.pk for record in records[4:]} == {str(pk) for pk in range(2500)}


def test_a_cancelled_client_stream_answers_cancelled(client: Client, app: str) -> None:
    # The low-level path: a chunk without END_STREAM, then CANCEL; the server ends the stream.
    from warden_client._requests import Slot
    from warden_client._frames import HEADER
    from warden_client._call_types import reply
    from warden_client._calls import bulk_result

    connection = client._connection()
    slot = Slot()
    request_id = connection.demux.open(slot)
    body = pb.BulkGrantRequest(grants=[pb.Grant(subject=pb.Subject(user="x"), permission="a.b")]).SerializeToString()
    connection.send(HEADER.pack(12 + len(body), request_id, pb.Method.BULK_GRANT, 0, 0, 0) + body)
    connection.cancel(request_id, pb.Method.BULK_GRANT)
    with pytest.raises(Cancelled):
        reply(connection.wait(slot, 10), bulk_result)
