"""Running one mirrored write: at once, or when the transaction commits
(``WARDEN_MIRROR_ON_COMMIT``), never when ``WARDEN_MIRROR`` is off; and sending records in
WriteBatch calls. Shared by the signal handlers of :mod:`warden_client.django.signals`,
:mod:`.m2m_signals` and :mod:`.runtime_perms`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction

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
