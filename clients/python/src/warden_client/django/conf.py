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
|  |  | ``None``: anonymous users hold nothing (Django's ``ModelBackend``), or under |
|  |  | ``WARDEN_GUARDIAN_COMPAT`` guardian's anonymous user, as guardian |
| ``WARDEN_OBJECT_MODELS`` | ``[]`` | ``"app_label.Model"`` labels whose deletions remove their grants |
| ``WARDEN_MIRROR`` | ``True`` | whether the signal handlers mirror auth changes into Warden |
| ``WARDEN_MIRROR_ON_COMMIT`` | ``True`` | mirror after the transaction commits (``False``: at once) |
| ``WARDEN_GUARDIAN_COMPAT`` | ``False`` | guardian's modules answered by Warden (``compat.py``); the guardian |
|  |  | settings below are then read from ``guardian.conf.settings``, as guardian reads them |
| ``WARDEN_GET_CONTENT_TYPE`` | ``None`` | dotted path of a function mapping a model or object to its |
|  |  | ``ContentType`` (polymorphic models); guardian's ``GUARDIAN_GET_CONTENT_TYPE`` is read too |

django-guardian's ``GUARDIAN_RENDER_403`` / ``RAISE_403`` / ``TEMPLATE_403`` (and ``_404``) keep their
meaning for the views' refusals (:mod:`.views_support`): :func:`guardian_setting` reads them.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

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
    "WARDEN_GUARDIAN_COMPAT": False,
    "WARDEN_GET_CONTENT_TYPE": None,
}

#: guardian's content type function: ``ContentType.objects.get_for_model``, the integration's own
#: mapping (no hook is called for it).
DEFAULT_GET_CONTENT_TYPE = "guardian.ctypes.get_default_content_type"

#: django-guardian's settings the integration honours (``GUARDIAN_`` + name), with guardian's defaults.
GUARDIAN_DEFAULTS: dict[str, Any] = {
    "RENDER_403": False,
    "TEMPLATE_403": "403.html",
    "RAISE_403": False,
    "RENDER_404": False,
    "TEMPLATE_404": "404.html",
    "RAISE_404": False,
    "GET_CONTENT_TYPE": DEFAULT_GET_CONTENT_TYPE,
}

_HOOK_SETTINGS = {"GUARDIAN_GET_CONTENT_TYPE", "WARDEN_GET_CONTENT_TYPE", "WARDEN_GUARDIAN_COMPAT"}

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
        return _guardian_anonymous_id() if guardian_compat() else None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise ImproperlyConfigured(f"WARDEN_ANONYMOUS_USER_ID: must be a user id (str or int) or None (got {value!r})")
    return str(value)


def _guardian_anonymous_id() -> str | None:
    """Under ``WARDEN_GUARDIAN_COMPAT`` without ``WARDEN_ANONYMOUS_USER_ID``: the pk of guardian's
    anonymous user (``ANONYMOUS_USER_NAME``), as guardian maps ``AnonymousUser`` to it; ``None``
    when guardian has none (``ANONYMOUS_USER_NAME = None``, or the user is not created yet)."""
    try:
        from guardian.utils import get_anonymous_user
    except ImportError:
        return None
    try:
        return str(get_anonymous_user().pk)
    except Exception:  # guardian raises DoesNotExist, or ImproperlyConfigured when it is off
        return None


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


def guardian_compat() -> bool:
    """``WARDEN_GUARDIAN_COMPAT``: whether guardian's modules are pointed at the integration."""
    return bool(setting("WARDEN_GUARDIAN_COMPAT"))


def _guardian_conf() -> Any:
    """guardian's settings module under ``WARDEN_GUARDIAN_COMPAT`` (when guardian is installed),
    else ``None``. guardian reads its settings there once, at import; code (and guardian's own
    tests) may change them there at run time, and under the switch both libraries must agree."""
    if not guardian_compat():
        return None
    try:
        from guardian.conf import settings as module
    except ImportError:
        return None
    return module


def guardian_setting(name: str) -> Any:
    """django-guardian's setting ``GUARDIAN_<name>`` (a key of :data:`GUARDIAN_DEFAULTS`): from
    ``guardian.conf.settings`` under ``WARDEN_GUARDIAN_COMPAT``, else from Django's settings
    (read at each call, so ``override_settings`` works)."""
    default = GUARDIAN_DEFAULTS[name]
    module = _guardian_conf()
    if module is not None:
        return getattr(module, name, default)
    return getattr(settings, "GUARDIAN_" + name, default)


#: The resolved state of the content type hook when there is none to call and nothing to watch
#: (no hook set, not under ``WARDEN_GUARDIAN_COMPAT``): the common case, tested by identity.
NO_HOOK: tuple[Any, str | None, Any] = (None, None, None)

#: (guardian's settings module or None, the hook's path, the hook) once resolved; ``None``:
#: resolve again (at a change of the settings). Read by :mod:`.identity` for its fast path.
hook_state: tuple[Any, str | None, Any] | None = None


def _resolve_hook() -> tuple[Any, str | None, Any]:
    global hook_state
    module = _guardian_conf()
    warden_path = setting("WARDEN_GET_CONTENT_TYPE")
    if module is not None:
        guardian_path, guardian_name = getattr(module, "GET_CONTENT_TYPE", None), "guardian.conf.settings.GET_CONTENT_TYPE"
    else:
        guardian_path, guardian_name = getattr(settings, "GUARDIAN_GET_CONTENT_TYPE", None), "GUARDIAN_GET_CONTENT_TYPE"
    if warden_path is not None and guardian_path not in (None, DEFAULT_GET_CONTENT_TYPE, warden_path):
        raise ImproperlyConfigured(
            f"WARDEN_GET_CONTENT_TYPE ({warden_path!r}) and {guardian_name} ({guardian_path!r}) differ: set one"
        )
    path = warden_path if warden_path is not None else guardian_path
    name = "WARDEN_GET_CONTENT_TYPE" if warden_path is not None else guardian_name
    function = None
    if path not in (None, "", DEFAULT_GET_CONTENT_TYPE):
        if not isinstance(path, str):
            raise ImproperlyConfigured(f"{name}: must be a dotted path to a function (got {path!r})")
        try:
            function = import_string(path)
        except ImportError as error:
            raise ImproperlyConfigured(f"{name}: cannot import {path!r} ({error})") from error
    state = (module, guardian_path if module is not None else path, function)
    hook_state = NO_HOOK if state == NO_HOOK else state
    return hook_state


def content_type_hook() -> Any:
    """The function that maps a model or object to its ``ContentType``
    (``WARDEN_GET_CONTENT_TYPE`` or guardian's ``GUARDIAN_GET_CONTENT_TYPE``), or ``None`` for
    Django's own mapping (the concrete model's type). Resolved once per change of these settings;
    under ``WARDEN_GUARDIAN_COMPAT`` guardian's module value is compared at each call."""
    state = hook_state or _resolve_hook()
    if state[0] is not None and getattr(state[0], "GET_CONTENT_TYPE", None) != state[1]:
        state = _resolve_hook()
    return state[2]


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
    global hook_state
    name = kwargs.get("setting")
    if name in _CONNECTION_SETTINGS:
        reset_client()
    if name in _HOOK_SETTINGS:
        hook_state = None
