"""Each exception class raised for the status the server answers."""

from __future__ import annotations

import time

import pytest

from warden_client import (
    AlreadyExists,
    Client,
    DeadlineExceeded,
    EventKind,
    Grant,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
    Unimplemented,
    WardenError,
)
from warden_client._call_types import reply


def test_invalid_argument_names_the_field(client: Client, app: str) -> None:
    with pytest.raises(InvalidArgument, match=r"object\.pk: must be 1\.\.255 bytes") as raised:
        client.check(f"{app}.view_car", user="1", content_type=f"{app}.car", pk="")
    assert raised.value.code == 3 and raised.value.message.startswith("object.pk: ")
    assert str(raised.value).startswith("INVALID_ARGUMENT: object.pk")
    with pytest.raises(InvalidArgument, match="user.id"):
        client.put_user("")
    with pytest.raises(InvalidArgument, match="content_type"):
        client.register_content_type("Not A Type")
    with pytest.raises(InvalidArgument, match="page_size"):
        client.list_objects(f"{app}.view_car", user="1", page_size=0)
    client.put_user(f"{app}-u")
    with pytest.raises(InvalidArgument, match=f"{app}.page"):  # a permission of another type (WrongAppError)
        client.check(f"{app}.view_page", user=f"{app}-u", content_type=f"{app}.car", pk=1)


def test_not_found_for_unregistered_names(client: Client, app: str) -> None:
    with pytest.raises(NotFound):
        client.grant(f"{app}.view_car", user=f"{app}-nobody", content_type=f"{app}.car", pk=1)
    with pytest.raises(NotFound, match=f"{app}.ship"):
        client.list_subjects(f"{app}.ship", 1)
    client.put_user(f"{app}-u")
    with pytest.raises(NotFound):
        client.add_member(f"{app}-u", f"{app}-no-such-group")


def test_revoke_of_an_unregistered_permission(client: Client, app: str) -> None:
    # docs/semantics.md "Writes to the index": with content_type, revoking what cannot be held is
    # a no-op; without it, an unregistered app_label.codename cannot name the pk's type.
    client.put_user(f"{app}-u")
    client.revoke(f"{app}.fly_car", user=f"{app}-u", content_type=f"{app}.car", pk=1)
    with pytest.raises(NotFound, match=f"{app}.fly_car"):
        client.revoke(f"{app}.fly_car", user=f"{app}-u", pk=1)


def test_already_exists_for_a_username_another_user_holds(client: Client, app: str) -> None:
    client.put_user(f"{app}-1", username=f"{app}-ann")
    with pytest.raises(AlreadyExists, match="username"):
        client.put_user(f"{app}-2", username=f"{app}-ann")


def test_permission_denied_for_an_actor_who_would_escalate(client: Client, app: str) -> None:
    car = f"{app}.car"
    client.put_user(f"{app}-staff")
    client.put_user(f"{app}-root", is_superuser=True)
    before = client.health().revision
    with pytest.raises(PermissionDenied, match="superuser"):
        client.put_user(f"{app}-x", is_superuser=True, actor=f"{app}-staff")
    with pytest.raises(PermissionDenied):
        client.grant(f"{app}.view_car", user=f"{app}-staff", content_type=car, pk=1, actor=f"{app}-staff")
    with pytest.raises(PermissionDenied, match=r"grants\[0\]"):
        client.bulk_grant([Grant(f"{app}.view_car", user=f"{app}-staff", content_type=car, pk=1)], actor=f"{app}-staff")
    assert client.put_user(f"{app}-x", is_superuser=True, actor=f"{app}-root").changed
    with client.watch(before, kinds=[EventKind.WRITE_REFUSED]) as watch:
        refused = [next(watch) for _ in range(3)]
    assert {event.actor for event in refused} == {f"{app}-staff"}


def test_resource_exhausted_for_a_stream_over_the_byte_limit(start_server) -> None:
    server = start_server("--max-stream-bytes", "2000")
    with Client(server.socket) as client:
        client.register_content_type("a.car")
        client.put_user("u")
        grants = [Grant("a.view_car", user="u", content_type="a.car", pk=pk) for pk in range(1000)]
        with pytest.raises(ResourceExhausted):
            client.bulk_grant(grants, chunk_size=50)
        assert client.list_all_objects("a.view_car", user="u").pks == []
        assert client.bulk_grant(grants[:10]).count == 10  # the connection is still usable


def test_a_refused_stream_stops_taking_items(start_server) -> None:
    # The server refuses the stream after its first 2,000 bytes; the client sees the answer
    # between chunks and stops pulling from the iterator instead of sending all of it.
    server = start_server("--max-stream-bytes", "2000")
    pulled = 0

    def grants():
        nonlocal pulled
        for pk in range(1_000_000):
            pulled += 1
            yield Grant("a.view_car", user="u", content_type="a.car", pk=pk)

    with Client(server.socket) as client:
        client.register_content_type("a.car")
        client.put_user("u")
        with pytest.raises(ResourceExhausted):
            client.bulk_grant(grants(), chunk_size=50)
        assert pulled < 100_000, pulled
        assert client.health().status == "SERVING"


def test_out_of_range_names_the_oldest_retained_revision(start_server) -> None:
    server = start_server()
    with Client(server.socket) as client:
        client.register_content_type("a.car")
        for n in range(10):
            client.put_user(str(n))
    server.stop()
    server.flags = ("--retention-events", "3")
    server.start()
    with Client(server.socket) as client:
        for _ in range(300):  # the server prunes its changelog right after it starts
            try:
                with client.watch(after_revision=1) as watch:
                    watch.poll(0.01)
            except OutOfRange as pruned:
                oldest = pruned.oldest_retained_revision
                assert pruned.code == 11
                break
        else:
            pytest.fail("Watch from a pruned revision never answered OUT_OF_RANGE")
        assert oldest is not None and oldest > 2
        with client.watch(after_revision=oldest - 1) as watch:
            assert next(watch).revision == oldest


def test_unimplemented_for_an_unknown_method(client: Client) -> None:
    frame = client._connection().call(99, b"", 5.0)
    with pytest.raises(Unimplemented, match="99"):
        reply(frame, bytes)
    assert client.health().status == "SERVING"


def test_a_min_revision_not_reached_in_time_fails_and_never_answers_stale(client: Client, app: str) -> None:
    ahead = client.health().revision + 1000
    with pytest.raises((Unavailable, DeadlineExceeded)) as raised:
        client.check(f"{app}.view_car", user="1", min_revision=ahead, timeout=0.2)
    assert "no answer from Warden" not in raised.value.message  # the server's own answer, not the client's
    assert client.check(f"{app}.view_car", user="1", min_revision=ahead - 1000).reason is not None


def test_a_server_that_does_not_answer_raises_deadline_exceeded_locally(start_server) -> None:
    import signal

    server = start_server()
    with Client(server.socket, timeout=0.2, pool_size=1) as client:
        client.put_group("g")
        server.pause()
        try:
            with pytest.raises(DeadlineExceeded, match="no answer from Warden"):
                client.health()
            with pytest.raises(DeadlineExceeded):
                client.put_group("h")
        finally:
            server.signal(signal.SIGCONT)
        # The late answers are dropped; the connection is the same and still usable.
        for _ in range(100):
            try:
                assert client.health(timeout=5).status == "SERVING"
                break
            except DeadlineExceeded:
                time.sleep(0.01)
        assert client.put_group("h").changed is False  # the timed-out write had committed
        assert isinstance(DeadlineExceeded("x"), WardenError)
