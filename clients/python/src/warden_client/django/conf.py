"""The integration's settings and the process-wide Warden client.

Every setting is read from ``django.conf.settings`` when it is used, so ``override_settings``
works; the shared :class:`~warden_client.Client` is rebuilt when a connection setting changes.

| setting | default | what |
|---|---|---|
| ``WARDEN_SOCKET`` | ``$WARDEN_SOCKET``, else ``"./var/warden.sock"`` | the sidecar's Unix socket |
| ``WARDEN_TIMEOUT`` | ``5.0`` | seconds a read or single write may take (``None``: no deadline) |
| ``WARDEN_BULK_TIMEOUT`` | ``600.0`` | seconds a bulk stream (``bulk_grant``, sync, import) may take |
| ``WARDEN_POOL_SIZE`` | ``2`` | pipelined connections the shared client keeps |
| ``WARDEN_ACCEPT_GLOBAL_PERMS`` | ``None`` | whether model grants imply object access in object checks, |
|  |  | ``get_perms`` and ``get_users_with_perms``; ``None``: the server's setting (default true); |
|  |  | ``False``: guardian's answers |
| ``WARDEN_ANONYMOUS_USER_ID`` | ``None`` | the Warden user id that Django's ``AnonymousUser`` is checked as; |
|  |  | ``None``: anonymous users hold nothing (Django's ``ModelBackend``) |
| ``WARDEN_OBJECT_MODELS`` | ``[]`` | ``"app_label.Model"`` labels whose deletions remove their grants |
| ``WARDEN_MIRROR`` | ``True`` | whether the signal handlers mirror auth changes into Warden |
| ``WARDEN_MIRROR_ON_COMMIT`` | ``True`` | mirror after the transaction commits (``False``: at once) |
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from warden_client import Client

#: The defaults of every setting the integration reads.
DEFAULTS: dict[str, Any] = {
    "WARDEN_SOCKET": None,
    "WARDEN_TIMEOUT": 5.0,
    "WARDEN_BULK_TIMEOUT": 600.0,
    "WARDEN_POOL_SIZE": 2,
    "WARDEN_ACCEPT_GLOBAL_PERMS": None,
    "WARDEN_ANONYMOUS_USER_ID": None,
    "WARDEN_OBJECT_MODELS": [],
    "WARDEN_MIRROR": True,
    "WARDEN_MIRROR_ON_COMMIT": True,
}

_CONNECTION_SETTINGS = {"WARDEN_SOCKET", "WARDEN_TIMEOUT", "WARDEN_BULK_TIMEOUT", "WARDEN_POOL_SIZE"}

_lock = threading.Lock()
_client: Client | None = None


def setting(name: str) -> Any:
    """The value of the integration setting ``name`` (its default when the project sets none)."""
    if name not in DEFAULTS:
        raise KeyError(f"{name}: not a Warden setting")
    return getattr(settings, name, DEFAULTS[name])


def socket_path() -> str:
    """``WARDEN_SOCKET``, else the ``WARDEN_SOCKET`` environment variable, else ``./var/warden.sock``."""
    value = setting("WARDEN_SOCKET")
    if value is None:
        value = os.environ.get("WARDEN_SOCKET", "./var/warden.sock")
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise ImproperlyConfigured(f"WARDEN_SOCKET: must be a non-empty path (got {value!r})")
    return str(value)


def _seconds(name: str) -> float | None:
    value = setting(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ImproperlyConfigured(f"{name}: must be a positive number of seconds or None (got {value!r})")
    return float(value)


def accept_global_perms() -> bool | None:
    """``WARDEN_ACCEPT_GLOBAL_PERMS``: ``True``, ``False`` or ``None`` (the server decides)."""
    value = setting("WARDEN_ACCEPT_GLOBAL_PERMS")
    if value is not None and not isinstance(value, bool):
        raise ImproperlyConfigured(f"WARDEN_ACCEPT_GLOBAL_PERMS: must be True, False or None (got {value!r})")
    return value


def anonymous_user_id() -> str | None:
    """``WARDEN_ANONYMOUS_USER_ID`` as a string, or ``None`` when anonymous users hold nothing."""
    value = setting("WARDEN_ANONYMOUS_USER_ID")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise ImproperlyConfigured(f"WARDEN_ANONYMOUS_USER_ID: must be a user id (str or int) or None (got {value!r})")
    return str(value)


def object_models() -> list[str]:
    """``WARDEN_OBJECT_MODELS``: the ``app_label.Model`` labels whose deletions are mirrored."""
    value = setting("WARDEN_OBJECT_MODELS")
    if isinstance(value, str) or not all(isinstance(item, str) and "." in item for item in value):
        raise ImproperlyConfigured(
            f"WARDEN_OBJECT_MODELS: must be a list of 'app_label.Model' strings (got {value!r})"
        )
    return list(value)


def mirror_enabled() -> bool:
    """``WARDEN_MIRROR``: whether the signal handlers write to Warden."""
    return bool(setting("WARDEN_MIRROR"))


def get_client() -> Client:
    """The process-wide Warden client (thread-safe, connects lazily, rebuilt on setting changes)."""
    global _client
    client = _client
    if client is not None:
        return client
    with _lock:
        if _client is None:
            pool_size = setting("WARDEN_POOL_SIZE")
            if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
                raise ImproperlyConfigured(f"WARDEN_POOL_SIZE: must be a positive integer (got {pool_size!r})")
            _client = Client(
                socket_path(),
                timeout=_seconds("WARDEN_TIMEOUT"),
                bulk_timeout=_seconds("WARDEN_BULK_TIMEOUT"),
                pool_size=pool_size,
            )
        return _client


def reset_client() -> None:
    """Close the shared client; the next :func:`get_client` opens a new one."""
    global _client
    with _lock:
        client, _client = _client, None
    if client is not None:
        client.close()


@receiver(setting_changed)
def _on_setting_changed(**kwargs: Any) -> None:
    if kwargs.get("setting") in _CONNECTION_SETTINGS:
        reset_client()
