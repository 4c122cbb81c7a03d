"""The guardian compatibility switch (``WARDEN_GUARDIAN_COMPAT = True``): code that still
imports django-guardian gets Warden's answers.

At start-up (:func:`install`, from ``WardenConfig.ready``) it

1. points guardian's public functions and classes at Warden's implementations: the module
   attribute (``guardian.shortcuts.get_perms``) and every other reference to the original that
   a module already imported by name (``from guardian.shortcuts import get_perms`` in
   ``guardian.admin``, in the project's modules, in third-party packages): :data:`PATCHES`;
2. replaces, in place, the methods guardian puts on users and groups (``GuardianUserMixin``,
   ``GuardianGroupMixin``, and those ``GUARDIAN_MONKEY_PATCH_USER`` / ``..._GROUP`` set on the
   user model and ``Group``), so instances of classes defined before start-up write to Warden;
3. mirrors rows that code still writes into guardian's permission tables (``UserObjectPermission``,
   ``GroupObjectPermission`` and their direct foreign-key subclasses, through their managers or
   ``objects.create``) into Warden, through ``post_save`` / ``post_delete`` handlers and the
   managers' bulk methods (:mod:`warden_client.django.guardian_rows`).

Classes that the project subclassed before start-up (a ``GuardedModelAdmin`` subclass in a
module imported by ``models.py``) keep guardian's code; their data calls still reach Warden
through (1). The system check ``warden.W004`` names them.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

from django.conf import settings

log = logging.getLogger("warden_client.django")

#: guardian module -> {attribute: "warden_client.django.module:attribute"}.
PATCHES: dict[str, dict[str, str]] = {
    "guardian.shortcuts": {
        "assign_perm": "shortcuts:assign_perm",
        "remove_perm": "shortcuts:remove_perm",
        "get_perms": "shortcuts:get_perms",
        "get_user_perms": "shortcuts:get_user_perms",
        "get_group_perms": "shortcuts:get_group_perms",
        "get_users_with_perms": "shortcuts:get_users_with_perms",
        "get_groups_with_perms": "shortcuts:get_groups_with_perms",
        "get_objects_for_user": "shortcuts:get_objects_for_user",
        "get_objects_for_group": "shortcuts:get_objects_for_group",
    },
    "guardian.core": {
        "ObjectPermissionChecker": "core:ObjectPermissionChecker",
    },
}

#: (guardian module, class, method) -> Warden's function for it (the user and group methods).
METHODS: dict[tuple[str, str, str], str] = {
    ("guardian.mixins", "GuardianUserMixin", "add_obj_perm"): "shortcuts:assign_perm",
    ("guardian.mixins", "GuardianUserMixin", "del_obj_perm"): "shortcuts:remove_perm",
    ("guardian.mixins", "GuardianGroupMixin", "add_obj_perm"): "shortcuts:assign_perm",
    ("guardian.mixins", "GuardianGroupMixin", "del_obj_perm"): "shortcuts:remove_perm",
}

#: id(original) -> (original, replacement) of everything :func:`install` replaced.
_replaced: dict[int, tuple[Any, Any]] = {}
_installed = False


def enabled() -> bool:
    """Whether ``WARDEN_GUARDIAN_COMPAT`` is set."""
    return bool(getattr(settings, "WARDEN_GUARDIAN_COMPAT", False))


def guardian_available() -> bool:
    """Whether django-guardian can be imported."""
    try:
        import guardian  # noqa: F401
    except ImportError:
        return False
    return True


def warden_object(target: str) -> Any:
    """``"module:attribute"`` of ``warden_client.django``."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(f"warden_client.django.{module}"), name)


def _method(function: Any) -> Any:
    """``function(perm, user_or_group, obj)`` as a method ``self.m(perm, obj)``."""

    def method(self: Any, perm: Any, obj: Any) -> Any:
        return function(perm, self, obj)

    method.__name__ = function.__name__
    method.__doc__ = f"Warden's ``{function.__name__}(perm, self, obj)`` (guardian compatibility)."
    method.__warden__ = True  # type: ignore[attr-defined]
    return method


def install() -> None:
    """Apply the switch (idempotent). Needs django-guardian importable."""
    global _installed
    if _installed:
        return
    if not guardian_available():
        log.warning("WARDEN_GUARDIAN_COMPAT: django-guardian is not installed; nothing patched")
        return
    for module_name, names in PATCHES.items():
        module = importlib.import_module(module_name)
        for name, target in names.items():
            original = getattr(module, name, None)
            if original is None:
                continue
            replacement = warden_object(target)
            _replaced[id(original)] = (original, replacement)
    _rebind_everywhere()
    _patch_methods()
    from . import guardian_rows

    guardian_rows.connect()
    _installed = True
    log.info("WARDEN_GUARDIAN_COMPAT: guardian's functions, classes and tables now reach Warden")


def _rebind_everywhere() -> None:
    """Replace every module-level reference to a patched original, in every loaded module."""
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict) or getattr(module, "__name__", "").startswith("warden_client"):
            continue
        for name, value in list(namespace.items()):
            try:
                found = _replaced.get(id(value))
            except TypeError:  # pragma: no cover - ids are always ints
                continue
            if found is not None and found[0] is value:
                namespace[name] = found[1]


def _patch_methods() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    for (module_name, class_name, method), target in METHODS.items():
        cls = getattr(importlib.import_module(module_name), class_name, None)
        if cls is not None:
            setattr(cls, method, _method(warden_object(target)))
    # guardian's monkey_patch_user / monkey_patch_group (GUARDIAN_MONKEY_PATCH_*) put lambdas on
    # the user model and Group: replace the ones it put there.
    for model in (get_user_model(), Group):
        for method, target in (("add_obj_perm", "shortcuts:assign_perm"), ("del_obj_perm", "shortcuts:remove_perm")):
            current = getattr(model, method, None)
            if current is not None and not getattr(current, "__warden__", False):
                setattr(model, method, _method(warden_object(target)))


def replaced_original(value: Any) -> Any | None:
    """The Warden replacement of ``value`` when ``value`` is a guardian original the switch
    replaced (``None`` otherwise)."""
    found = _replaced.get(id(value))
    return found[1] if found is not None and found[0] is value else None


def replaced_classes() -> list[type]:
    """guardian's original classes the switch replaced."""
    return [original for original, _ in _replaced.values() if isinstance(original, type)]
