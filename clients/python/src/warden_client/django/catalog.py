"""Django's permission catalogue, read once per process and cached: which permissions exist
(the universe that model-level ``get_all_permissions`` asks Warden about) and which content
type an ``app_label.codename`` belongs to. ``post_migrate`` clears the caches."""

from __future__ import annotations

import threading
from functools import lru_cache

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from .identity import ct_label, valid_codename, valid_content_type

_lock = threading.Lock()
_universe: list[tuple[str, str]] | None = None


def permission_universe() -> list[tuple[str, str]]:
    """Every permission Django knows that Warden can name: ``(app_label.codename, content type)``."""
    global _universe
    if _universe is None:
        rows = Permission.objects.values_list("content_type__app_label", "content_type__model", "codename")
        universe = sorted(
            (f"{app}.{codename}", f"{app}.{model}")
            for app, model, codename in rows
            if valid_codename(codename) and valid_content_type(f"{app}.{model}")
        )
        with _lock:
            _universe = universe
    return _universe


@lru_cache(maxsize=4096)
def content_types_of(app_label: str, codename: str) -> tuple[ContentType, ...]:
    """The content types of app ``app_label`` that have a permission ``codename`` (usually one;
    two models of one app may share a custom codename)."""
    return tuple(
        ContentType.objects.filter(app_label=app_label, permission__codename=codename).order_by("model").distinct()
    )


def content_type_labels_of(app_label: str, codename: str) -> list[str]:
    """``app_label.model`` of each content type :func:`content_types_of` finds."""
    return [ct_label(ct) for ct in content_types_of(app_label, codename)]


def clear_caches() -> None:
    """Forget the cached catalogue (after migrations add permissions)."""
    global _universe
    with _lock:
        _universe = None
    content_types_of.cache_clear()
