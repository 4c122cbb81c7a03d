"""Running one mirrored write: at once, or when the transaction commits
(``WARDEN_MIRROR_ON_COMMIT``), never when ``WARDEN_MIRROR`` is off; sending records in
WriteBatch calls; reading Warden's grants back through Export. Shared by the signal handlers
of :mod:`warden_client.django.signals`, :mod:`.m2m_signals` and :mod:`.runtime_perms`, and by
:mod:`.sync` and :mod:`.utils`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import transaction

from warden_client import Grant

from . import conf

log = logging.getLogger("warden_client.django")

#: Records per WriteBatch call (the server's default limit is 10,000).
BATCH = 5000


def run_mirrored(action: Callable[[], None], using: str | None, what: str) -> None:
    """Run ``action`` now or when the transaction on ``using`` commits (``WARDEN_MIRROR_ON_COMMIT``);
    nothing when ``WARDEN_MIRROR`` is off."""
    if not conf.mirror_enabled():
        return

    def guarded() -> None:
        try:
            action()
        except Exception:
            log.error("Warden mirror failed (%s); run `manage.py warden_sync` to repair", what)
            raise

    if conf.setting("WARDEN_MIRROR_ON_COMMIT"):
        transaction.on_commit(guarded, using=using)
    else:
        guarded()


def write_records(records: Iterable[Any]) -> None:
    """Send records to Warden in WriteBatch calls of at most :data:`BATCH` records."""
    client = conf.get_client()
    chunk: list[Any] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= BATCH:
            client.write_batch(chunk)
            chunk = []
    if chunk:
        client.write_batch(chunk)


def grant_of(message: Any) -> Grant:
    """An exported grant message as a :class:`~warden_client.Grant` whose permission is
    ``app_label.codename`` (Export may name it by its bare codename)."""
    kind = message.subject.WhichOneof("kind")
    perm = message.permission
    if "." not in perm:
        perm = f"{message.content_type.split('.')[0]}.{perm}"
    return Grant(
        perm,
        content_type=message.content_type or None,
        pk=message.pk if message.HasField("pk") else None,
        **{kind: getattr(message.subject, kind)},
    )


def exported_grants() -> Iterator[Grant]:
    """Every grant Warden holds, model-level and object, through one Export."""
    with conf.get_client().export() as stream:
        for record in stream:
            if record.WhichOneof("record") == "grant":
                yield grant_of(record.grant)
