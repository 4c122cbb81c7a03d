"""The client's own encoding, without a server: enums, hand-encoded grants, chunks, frames."""

from __future__ import annotations

import pytest

from warden_client import EventKind, Grant, PermissionMode, Reason, StatusCode, errors, pb
from warden_client._chunks import CHUNK_BYTES, grant_chunker, grant_message, prune_chunker, varint
from warden_client._frames import HEADER, FrameBuffer, encode, timeout_ms
from warden_client._proto import common_pb2, events_pb2, reads_pb2


@pytest.mark.parametrize(
    ("enum", "descriptor"),
    [(Reason, common_pb2.Reason), (EventKind, events_pb2.EventKind), (PermissionMode, reads_pb2.PermissionMode)],
)
def test_enums_are_the_protos(enum: type, descriptor: object) -> None:
    assert {member.name: member.value for member in enum} == dict(descriptor.items())  # type: ignore[attr-defined]


def test_every_status_code_has_its_exception_class() -> None:
    for code in StatusCode:
        if code == StatusCode.OK:
            continue
        error = errors.WardenError.from_status(code, "m")
        assert type(error) is not errors.WardenError
        assert error.code == code and error.message == "m"
    assert type(errors.WardenError.from_status(99, "x")) is errors.WardenError
    assert errors.WardenError.from_status(99, "x").code == StatusCode.UNKNOWN
    assert issubclass(errors.ConnectionClosed, errors.Unavailable)
    out_of_range = errors.WardenError.from_status(11, "pruned", 17)
    assert isinstance(out_of_range, errors.OutOfRange) and out_of_range.oldest_retained_revision == 17
    assert errors.WardenError.from_status(11, "ahead", 0).oldest_retained_revision is None


@pytest.mark.parametrize(
    "grant",
    [
        Grant("drivers.change_car", user="42", content_type="drivers.car", pk="7"),
        Grant("change_car", user=42, content_type="drivers.car", pk=7),
        Grant("drivers.change_car", group="staff"),
        Grant("drivers.change_car", group="staff", pk=""),
        Grant("x" * 300, user="é" * 100, content_type="a.b", pk="/home/www/joe.config" * 12),
    ],
)
def test_hand_encoded_grants_are_the_bytes_protobuf_writes(grant: Grant) -> None:
    message = pb.Grant(permission=grant.permission, content_type=grant.content_type or "")
    if grant.user is not None:
        message.subject.user = str(grant.user)
    else:
        message.subject.group = grant.group or ""
    if grant.pk is not None:
        message.pk = str(grant.pk)
    assert grant_message(grant) == message.SerializeToString()


def test_varint() -> None:
    for value in (1, 127, 128, 300, 16383, 16384, 2**32 - 1, 2**63):
        message = pb.WriteResponse(revision=value)
        assert message.SerializeToString() == b"\x08" + varint(value)


def test_grant_chunks_close_at_the_count_and_at_about_one_mebibyte() -> None:
    chunker = grant_chunker("17", chunk_size=3)
    grants = [Grant("a.b", user=str(n), content_type="a.c", pk=str(n)) for n in range(7)]
    chunks = [body for body in map(chunker.add, grants) if body is not None] + [chunker.finish()]
    decoded = [pb.BulkGrantRequest.FromString(body) for body in chunks]
    assert [len(chunk.grants) for chunk in decoded] == [3, 3, 1]
    assert [chunk.actor for chunk in decoded] == ["17", "", ""]
    assert [g.subject.user for chunk in decoded for g in chunk.grants] == [str(n) for n in range(7)]

    chunker = grant_chunker("", chunk_size=1_000_000)
    big = Grant("a.b", user="u", content_type="a.c", pk="p" * 250)
    chunks = [body for body in (chunker.add(big) for _ in range(10_000)) if body is not None]
    assert chunks and all(CHUNK_BYTES <= len(body) < CHUNK_BYTES + 300 for body in chunks)


def test_an_empty_stream_is_one_chunk_with_the_first_chunk_fields() -> None:
    body = prune_chunker("drivers.car", "9", chunk_size=10).finish()
    assert pb.PruneOrphansRequest.FromString(body) == pb.PruneOrphansRequest(content_type="drivers.car", actor="9")


def test_chunkers_refuse_items_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match="grants"):
        grant_chunker("", 10).add("drivers.change_car")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="live_pks"):
        prune_chunker("a.b", "", 10).add(1.5)  # type: ignore[arg-type]


def test_grant_needs_exactly_one_subject() -> None:
    with pytest.raises(ValueError, match="exactly one of user= and group="):
        Grant("a.b")
    with pytest.raises(ValueError, match="exactly one"):
        Grant("a.b", user="1", group="g")


def test_frames_are_cut_wherever_the_bytes_split() -> None:
    frames = b"".join(
        HEADER.pack(12 + len(body), request_id, 1, 1, 0, 0) + body
        for request_id, body in [(1, b""), (2, b"abc"), (3, b"x" * 5000)]
    )
    for step in (1, 7, 16, 17, 4096, len(frames)):
        buffer = FrameBuffer(1 << 20)
        cut = [frame for start in range(0, len(frames), step) for frame in buffer.feed(frames[start : start + step])]
        assert [(f.request_id, f.body) for f in cut] == [(1, b""), (2, b"abc"), (3, b"x" * 5000)]


def test_a_frame_length_outside_the_limits_ends_the_connection() -> None:
    with pytest.raises(errors.ConnectionClosed, match="length 5"):
        FrameBuffer(1 << 20).feed(HEADER.pack(5, 1, 1, 1, 0, 0))
    with pytest.raises(errors.ConnectionClosed, match="outside 12..100"):
        FrameBuffer(100).feed(HEADER.pack(1000, 1, 1, 1, 0, 0))


def test_the_worked_example_of_the_protocol_page() -> None:
    request = pb.CheckRequest(
        subject=pb.Subject(user="42"),
        permission="drivers.change_car",
        object=pb.ObjectRef(content_type="drivers.car", pk="7"),
    )
    frame = encode(1, 1, request.SerializeToString(), timeout_ms=timeout_ms(1.0))
    assert frame[:16].hex(" ") == "00 00 00 38 00 00 00 01 00 01 01 00 00 00 03 e8"
    assert timeout_ms(None) == 0 and timeout_ms(0.0001) == 1 and timeout_ms(10**9) == 2**32 - 1


@pytest.mark.parametrize(
    "arguments",
    [
        dict(permission="drivers.change_car", user="42", content_type="drivers.car", pk="7"),
        dict(permission="change_car", user=42, content_type="drivers.car", pk=7, min_revision=300),
        dict(permission="drivers.change_car", group="staff", accept_global_perms=False),
        dict(permission="change_car", content_type="drivers.car", accept_global_perms=True, min_revision=2**40),
        dict(permission="p" * 200, user="é" * 100, content_type="a.b", pk="k" * 255),
        dict(permission="", user=""),
    ],
)
def test_hand_encoded_check_requests_are_the_bytes_protobuf_writes(arguments: dict) -> None:
    from warden_client._check_codec import check_request

    message = pb.CheckRequest(permission=arguments["permission"], min_revision=arguments.get("min_revision", 0))
    if "user" in arguments:
        message.subject.user = str(arguments["user"])
    if "group" in arguments:
        message.subject.group = arguments["group"]
    if "pk" in arguments:
        message.object.content_type = arguments["content_type"]
        message.object.pk = str(arguments["pk"])
    elif "content_type" in arguments:
        message.content_type = arguments["content_type"]
    if "accept_global_perms" in arguments:
        message.accept_global_perms = arguments["accept_global_perms"]
    encoded = check_request(
        arguments["permission"], arguments.get("user"), arguments.get("group"), arguments.get("content_type"),
        arguments.get("pk"), arguments.get("accept_global_perms"), arguments.get("min_revision", 0),
    )
    assert encoded == message.SerializeToString()


@pytest.mark.parametrize(
    "response",
    [
        pb.CheckResponse(),
        pb.CheckResponse(decision=pb.Decision(allowed=True, reason=5), revision=1234),
        pb.CheckResponse(decision=pb.Decision(allowed=True, reason=8, group="g" * 150), revision=2**63),
        pb.CheckResponse(decision=pb.Decision(reason=9)),
    ],
)
def test_hand_decoded_check_responses(response: pb.CheckResponse) -> None:
    from warden_client._check_codec import check_response

    result = check_response(response.SerializeToString())
    decision = response.decision
    assert (result.allowed, int(result.reason), result.group, result.revision) == (
        decision.allowed, decision.reason, decision.group or None, response.revision
    )
    # A field the hand decoder does not know (a newer server's) goes to protobuf.
    unknown = response.SerializeToString() + b"\x18\x07"
    assert check_response(unknown) == result


def test_hand_encoded_batch_checks_are_the_bytes_protobuf_writes() -> None:
    from warden_client import CheckItem
    from warden_client._check_codec import batch_check_request

    raw = pb.CheckItem(subject=pb.Subject(group="g"), permission="a.b", accept_global_perms=False)
    items = [CheckItem("a.view_c", user=7, content_type="a.c", pk=1), raw, CheckItem("view_c", content_type="a.c")]
    expected = pb.BatchCheckRequest(
        items=[
            pb.CheckItem(subject=pb.Subject(user="7"), permission="a.view_c",
                         object=pb.ObjectRef(content_type="a.c", pk="1")),
            raw,
            pb.CheckItem(permission="view_c", content_type="a.c"),
        ],
        min_revision=99,
    )
    assert batch_check_request(items, 99) == expected.SerializeToString()
    assert batch_check_request([], 0) == b""


def test_hand_decoded_batch_check_responses() -> None:
    from warden_client import Decision, InvalidArgument
    from warden_client._check_codec import batch_check_response

    response = pb.BatchCheckResponse(
        results=[
            pb.CheckResult(decision=pb.Decision(allowed=True, reason=6, group="staff")),
            pb.CheckResult(error=pb.Status(code=3, message="object.pk: must be 1..255 bytes")),
            pb.CheckResult(decision=pb.Decision(reason=9)),
            pb.CheckResult(decision=pb.Decision()),
        ],
        revision=5,
    )
    result = batch_check_response(response.SerializeToString())
    assert result.revision == 5 and len(result) == 4
    assert result[0] == Decision(True, Reason.OBJECT_GRANT_GROUP, "staff")
    assert isinstance(result[1], InvalidArgument) and result[1].message.startswith("object.pk")
    assert result[2] == Decision(False, Reason.NO_GRANT) and result[3] == Decision(False, Reason.REASON_UNSPECIFIED)
    assert batch_check_response(response.SerializeToString() + b"\x18\x01").results == result.results
