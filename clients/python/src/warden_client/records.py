"""Builders of ``warden.v1.Record`` for :meth:`~warden_client.Client.write_batch` (the same
records ``export`` yields and ``warden import`` reads)::

    from warden_client import records
    client.write_batch([records.content_type("drivers.car"), records.user(42, username="joe"),
                        records.group("staff"), records.member(42, "staff"),
                        records.grant("drivers.change_car", group="staff")])
"""

from __future__ import annotations

from collections.abc import Iterable

from ._chunks import text
from ._proto import common_pb2, writes_pb2
from .types import Grant

__all__ = ["content_type", "user", "group", "member", "grant", "from_grant"]


def content_type(name: str, custom: Iterable[str] = (), defaults: bool = True) -> writes_pb2.Record:
    """A content type (``app_label.model``) with the four default permissions unless
    ``defaults`` is false, plus ``custom`` codenames."""
    return writes_pb2.Record(
        content_type=writes_pb2.RegisterContentTypeRequest(content_type=name, defaults=defaults, custom=list(custom))
    )


def user(
    id: str | int, username: str | None = None, is_active: bool = True, is_superuser: bool = False
) -> writes_pb2.Record:
    """A user, created or replaced."""
    message = common_pb2.User(id=text(id, "user.id"), is_active=is_active, is_superuser=is_superuser)
    if username is not None:
        message.username = username
    return writes_pb2.Record(user=message)


def group(name: str) -> writes_pb2.Record:
    """A group (role)."""
    return writes_pb2.Record(group=name)


def member(user: str | int, group: str) -> writes_pb2.Record:
    """A membership of ``user`` in ``group``."""
    return writes_pb2.Record(member=writes_pb2.MemberRequest(user=text(user, "member.user"), group=group))


def grant(
    permission: str,
    user: str | int | None = None,
    group: str | None = None,
    content_type: str | None = None,
    pk: str | int | None = None,
) -> writes_pb2.Record:
    """A grant to a user or a group: model-level without ``pk``, else on that object."""
    return from_grant(Grant(permission, user, group, content_type, pk))


def from_grant(value: Grant | common_pb2.Grant) -> writes_pb2.Record:
    """A :class:`~warden_client.Grant` (or a ``warden.v1.Grant``) as a record."""
    return writes_pb2.Record(grant=value if isinstance(value, common_pb2.Grant) else grant_message(value))


def grant_message(value: Grant) -> common_pb2.Grant:
    """A :class:`~warden_client.Grant` as a ``warden.v1.Grant`` message."""
    if value.user is not None:
        subject = common_pb2.Subject(user=text(value.user, "grant.subject.user"))
    else:
        subject = common_pb2.Subject(group=value.group)
    message = common_pb2.Grant(subject=subject, permission=value.permission, content_type=value.content_type or "")
    if value.pk is not None:
        message.pk = text(value.pk, "grant.pk")
    return message
