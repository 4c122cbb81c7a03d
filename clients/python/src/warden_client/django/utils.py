"""django-guardian's ``guardian.utils`` helpers that a migrated project still calls, with
guardian's names, signatures and return values: :func:`clean_orphan_obj_perms` (Warden's
object grants whose object is gone from the app's database) and :func:`get_anonymous_user`.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import closing
from itertools import islice
from math import ceil
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db.models import Model

from warden_client import Grant

from . import conf
from .mirror import exported_grants
from .querysets import python_pks

logger = logging.getLogger(__name__)

#: Object grants checked and revoked at a time when no ``batch_size`` is given.
SCAN = 10_000
#: Pks in one ``pk__in`` query (below SQLite's oldest bound on query parameters, 999).
QUERY_PKS = 900


# -- the anonymous user ----------------------------------------------------------------------


def anonymous_user_name() -> str | None:
    """guardian's ``ANONYMOUS_USER_NAME`` (``settings.ANONYMOUS_USER_NAME``, else the deprecated
    ``ANONYMOUS_DEFAULT_USERNAME_VALUE``, else ``"AnonymousUser"``), read at each call."""
    if hasattr(settings, "ANONYMOUS_USER_NAME"):
        return settings.ANONYMOUS_USER_NAME
    return getattr(settings, "ANONYMOUS_DEFAULT_USERNAME_VALUE", "AnonymousUser")


def get_anonymous_user() -> Any:
    """guardian's anonymous user: the user model's instance whose ``USERNAME_FIELD`` is
    ``ANONYMOUS_USER_NAME`` (guardian creates it at ``migrate``). Raises the model's
    ``DoesNotExist`` when there is none. With ``GUARDIAN_ANONYMOUS_USER_CACHE_TTL`` positive
    (seconds) or ``-1`` (forever) it is kept in Django's cache, as guardian does."""
    ttl = getattr(settings, "GUARDIAN_ANONYMOUS_USER_CACHE_TTL", 0)
    if ttl > 0 or ttl == -1:
        key = f"warden:anonymous_user:{anonymous_user_name()}"
        user = cache.get(key)
        if user is None:
            user = _anonymous_user()
            cache.set(key, user, None if ttl == -1 else ttl)
        return user
    return _anonymous_user()


def _anonymous_user() -> Any:
    user_model = get_user_model()
    return user_model._default_manager.get(**{user_model.USERNAME_FIELD: anonymous_user_name()})


# -- orphan object grants --------------------------------------------------------------------


def clean_orphan_obj_perms(
    batch_size: int | None = None,
    max_batches: int | None = None,
    max_duration_secs: int | None = None,
    skip_batches: int = 0,
) -> int:
    """Revoke Warden's object grants whose object no longer exists in the app's database
    (guardian's function, its arguments and its return value: how many grants were removed).

    An object exists when its content type's model has a row with that pk (through the
    model's ``_base_manager``, as guardian's ``content_object``); a grant whose type Django
    no longer has (no ``ContentType`` row, or no model class) is an orphan too.

    Without ``batch_size`` every object grant is checked. With it, the grants are scanned as
    guardian scans its tables: the users' grants in batches of ``batch_size``, then the
    groups' (a partial last user batch is not filled with group grants); ``skip_batches``
    skips batches at the start, ``max_batches`` bounds the batches checked, and
    ``max_duration_secs`` stops before a batch once that long has passed. When batching, the
    ``skip_batches`` that resumes the cleanup is logged (INFO), as guardian does.

    Only the grants found are revoked (by ``BulkRevoke``), so an object created while the
    cleanup runs keeps its grants."""
    started = time.monotonic()

    def out_of_time() -> bool:
        if max_duration_secs is not None and time.monotonic() - started >= max_duration_secs:
            logger.info("Time limit of %ss reached.", max_duration_secs)
            return True
        return False

    if batch_size is None:
        removed = revoke_orphans(out_of_time=out_of_time)
        logger.info("Finished orphan object permissions cleanup. Removed: %d", removed)
        return removed
    if batch_size < 1:
        raise ValueError(f"batch_size: must be a positive number of grants (got {batch_size})")
    return _BatchedClean(batch_size, max_batches, skip_batches, out_of_time).run()


def revoke_orphans(keep: Collection[Grant] = (), out_of_time: Callable[[], bool] | None = None) -> int:
    """Revoke every object grant whose object is gone, except those in ``keep``, in chunks of
    :data:`SCAN`, stopping before a chunk once ``out_of_time()``; how many were revoked."""
    removed = 0
    with closing(_object_grants(None)) as grants:
        for chunk in _chunks(grants, SCAN):
            if out_of_time is not None and out_of_time():
                break
            removed += _revoke([grant for grant in orphans(chunk) if grant not in keep])
    return removed


class _BatchedClean:
    """guardian's batched scan: the users' object grants, then the groups', in batches."""

    def __init__(self, size: int, max_batches: int | None, skip: int, out_of_time: Any) -> None:
        self.size, self.max_batches, self.skip, self.out_of_time = size, max_batches, skip, out_of_time
        self.budget = max_batches if max_batches is not None else float("inf")
        self.batches = 0
        self.removed = 0

    def scan(self, kind: str, skip: int) -> tuple[int, int, int, bool]:
        """One subject kind: ``(rows seen, rows processed, rows removed, stopped early)``; a
        stop (the batch or time budget spent with rows left) ends the scan."""
        total = processed = removed = 0
        stopped = False
        with closing(_object_grants(kind, ordered=True)) as grants:
            for index, batch in enumerate(_chunks(grants, self.size)):
                total += len(batch)
                if index < skip:
                    continue
                if self.budget <= 0 or self.out_of_time():
                    stopped = True
                    break
                gone = _revoke(orphans(batch))
                processed += len(batch)
                removed += gone
                self.budget -= 1
                self.batches += 1
                logger.info("Processed %s batch %d, %d orphans removed.", kind, self.batches, gone)
        self.removed += removed
        return total, processed, removed, stopped

    def run(self) -> int:
        """Scan the users' grants, then (unless stopped) the groups'; the number removed."""
        user_total, user_processed, user_removed, stopped = self.scan("user", self.skip)
        if stopped:
            resume = (self.skip * self.size + user_processed - user_removed) // self.size
        else:
            group_skip = max(0, self.skip - ceil(user_total / self.size))
            group_total, group_processed, group_removed, _ = self.scan("group", group_skip)
            group_skipped = min(group_skip * self.size, group_total)
            resume = ceil((user_total - user_removed) / self.size) + (
                group_skipped + group_processed - group_removed
            ) // self.size
        hint = f"clean_orphan_obj_perms(batch_size={self.size}, skip_batches={resume}"
        if self.max_batches is not None:
            hint += f", max_batches={self.max_batches - self.batches}"
        logger.info(
            "Finished orphan object permissions cleanup. Removed: %d | Batches processed: %d\n"
            "To resume cleanup, call:\n%s)", self.removed, self.batches, hint,
        )
        return self.removed


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _object_grants(kind: str | None, ordered: bool = False) -> Iterator[Grant]:
    """Warden's object grants of users (``kind="user"``), groups, or both (``None``), by content
    type in Export's order. With ``ordered``, each type's grants are sorted by pk (numerically
    when numeric: creation order for auto-increment pks, as guardian's rows), subject and
    permission, so that batches are the same from one call to the next; one type's grants are
    held in memory at a time."""
    held: list[Grant] = []
    with closing(exported_grants()) as grants:
        for grant in grants:
            if grant.pk is None or (kind is not None and getattr(grant, kind) is None):
                continue
            if not ordered:
                yield grant
                continue
            if held and held[0].content_type != grant.content_type:
                yield from sorted(held, key=_order)
                held = []
            held.append(grant)
    yield from sorted(held, key=_order)


def _order(grant: Grant) -> tuple[Any, ...]:
    pk = str(grant.pk)
    key = (0, int(pk), "") if pk.isascii() and pk.isdigit() else (1, 0, pk)
    return key, str(grant.user or grant.group), grant.permission


def orphans(grants: list[Grant]) -> list[Grant]:
    """The grants of ``grants`` whose object is not in the app's database."""
    by_type: dict[str, list[Grant]] = defaultdict(list)
    for grant in grants:
        by_type[grant.content_type or ""].append(grant)
    found = []
    for label, held in by_type.items():
        live = _live_pks(_model_of(label), {str(g.pk) for g in held})
        found.extend(g for g in held if str(g.pk) not in live)
    return found


def _model_of(label: str) -> type[Model] | None:
    app_label, _, model = label.partition(".")
    ct = ContentType.objects.filter(app_label=app_label, model=model).first()
    return ct.model_class() if ct is not None else None


def _live_pks(model: type[Model] | None, pks: set[str]) -> set[str]:
    """Which of ``pks`` (Warden's ``str(pk)``) are rows of ``model``."""
    if model is None:
        return set()
    values = python_pks(model, pks)  # a pk the field rejects names no row
    live: set[str] = set()
    for chunk in _chunks(values, QUERY_PKS):
        live.update(str(pk) for pk in model._base_manager.filter(pk__in=chunk).values_list("pk", flat=True))
    return live


def _revoke(grants: list[Grant]) -> int:
    if not grants:
        return 0
    return conf.get_client().bulk_revoke(grants).count
