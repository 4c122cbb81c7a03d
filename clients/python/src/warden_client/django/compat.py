"""The guardian compatibility switch (``WARDEN_GUARDIAN_COMPAT = True``): code that still
imports django-guardian gets Warden's answers.

At start-up (:func:`install`, from ``WardenConfig.ready``) it

1. points guardian's readers at Warden's implementations (:data:`PATCHES`): the module
   attribute (``guardian.shortcuts.get_perms``) and every other reference to the original that
   a module already imported by name (``from guardian.shortcuts import get_perms`` in
   ``guardian.admin``, in the project's modules, in third-party packages). Every answer —
   shortcuts, checker, backend, mixins, decorators, template tag, admin — is then Warden's;
2. keeps guardian's writers (``assign_perm``, ``remove_perm``, the managers, ``add_obj_perm`` /
   ``del_obj_perm`` of users and groups, the admin's forms) and mirrors every row they write
   or delete in guardian's permission tables (``UserObjectPermission``, ``GroupObjectPermission``
   and their direct foreign-key subclasses, ``objects.create`` and ``save()`` included) into
   Warden when the transaction commits (:mod:`warden_client.django.guardian_rows`). guardian's
   tables stay a faithful copy during the migration (a rollback of the migration loses
   nothing), a rolled-back transaction reaches neither, and removals through guardian also
   revoke what Warden's own shortcuts granted (which has no row). guardian's managers keep
   guardian's checker (:data:`WRITERS`): ``bulk_assign_perm`` skips the objects that already
   have a row, this transaction's included, which Warden learns of only at the commit.

Classes that the project subclassed before start-up (a ``GuardedModelAdmin`` subclass in a
module imported by ``models.py``) keep guardian's code; their data calls still reach Warden
through (1). The system check ``warden.W004`` names them.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

from . import conf

log = logging.getLogger("warden_client.django")

#: guardian module -> {attribute: "warden_client.django.module:attribute"}.
PATCHES: dict[str, dict[str, str]] = {
    "guardian.shortcuts": {
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
    "guardian.utils": {
        "get_40x_or_None": "views_support:get_40x_or_None",
        "clean_orphan_obj_perms": "compat:clean_orphan_obj_perms",
    },
    "guardian.mixins": {
        "LoginRequiredMixin": "mixins:LoginRequiredMixin",
        "PermissionRequiredMixin": "mixins:PermissionRequiredMixin",
        "PermissionListMixin": "mixins:PermissionListMixin",
    },
    "guardian.forms": {
        "BaseObjectPermissionsForm": "forms:BaseObjectPermissionsForm",
        "UserObjectPermissionsForm": "forms:UserObjectPermissionsForm",
        "GroupObjectPermissionsForm": "forms:GroupObjectPermissionsForm",
    },
    "guardian.admin": {
        "GuardedInlineAdminMixin": "admin:GuardedInlineAdminMixin",
        "GuardedModelAdminMixin": "admin:GuardedModelAdminMixin",
        "GuardedModelAdmin": "admin:GuardedModelAdmin",
        "ReinforcedGuardedModelAdminMixin": "admin:ReinforcedGuardedModelAdminMixin",
        "ReinforcedGuardedModelAdmin": "admin:ReinforcedGuardedModelAdmin",
        "AdminUserObjectPermissionsForm": "admin:AdminUserObjectPermissionsForm",
        "AdminGroupObjectPermissionsForm": "admin:AdminGroupObjectPermissionsForm",
        "UserManage": "admin:UserManage",
        "GroupManage": "admin:GroupManage",
    },
    "guardian.decorators": {
        "permission_required": "decorators:permission_required",
        "permission_required_or_403": "decorators:permission_required_or_403",
        "permission_required_or_404": "decorators:permission_required_or_404",
    },
}

#: guardian's template tags -> Warden's (``{% load guardian_tags %}`` answers from Warden).
TEMPLATE_TAGS: dict[tuple[str, str], str] = {
    ("guardian.templatetags.guardian_tags", "get_obj_perms"): "templatetags.warden_tags:get_obj_perms",
}

#: guardian's modules whose references :func:`install` leaves alone: writers that decide from
#: guardian's own tables which rows to write.
WRITERS: frozenset[str] = frozenset({"guardian.managers"})

#: id(original) -> (original, replacement) of everything :func:`install` replaced.
_replaced: dict[int, tuple[Any, Any]] = {}
#: (guardian module, name) -> guardian's original.
_originals: dict[tuple[str, str], Any] = {}
_installed = False


def enabled() -> bool:
    """Whether ``WARDEN_GUARDIAN_COMPAT`` is set."""
    return conf.guardian_compat()


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


def install() -> None:
    """Apply the switch (idempotent). Needs django-guardian importable."""
    global _installed
    if _installed:
        return
    if not guardian_available():
        log.warning("WARDEN_GUARDIAN_COMPAT: django-guardian is not installed; nothing patched")
        return
    for module_name, names in PATCHES.items():
        try:
            module = importlib.import_module(module_name)
        except (ImportError, RuntimeError) as error:
            # guardian.admin needs django.contrib.admin in INSTALLED_APPS (its LogEntry model):
            # a project without the admin has nothing there to patch.
            log.debug("WARDEN_GUARDIAN_COMPAT: %s not patched (%s)", module_name, error)
            continue
        for name, target in names.items():
            original = getattr(module, name, None)
            if original is None:
                continue
            replacement = warden_object(target)
            _replaced[id(original)] = (original, replacement)
            _originals[(module_name, name)] = original
    _rebind_everywhere()
    for (module_name, tag), target in TEMPLATE_TAGS.items():
        library = getattr(importlib.import_module(module_name), "register", None)
        if library is not None and tag in library.tags:
            library.tags[tag] = warden_object(target)
    from . import guardian_rows

    guardian_rows.connect()
    _installed = True
    log.info("WARDEN_GUARDIAN_COMPAT: guardian's functions, classes and tables now reach Warden")


def _rebind_everywhere() -> None:
    """Replace every module-level reference to a patched original, in every loaded module but
    Warden's and :data:`WRITERS`."""
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        module_name = getattr(module, "__name__", "")
        if not isinstance(namespace, dict) or module_name.startswith("warden_client") or module_name in WRITERS:
            continue
        for name, value in list(namespace.items()):
            try:
                found = _replaced.get(id(value))
            except TypeError:  # pragma: no cover - ids are always ints
                continue
            if found is not None and found[0] is value:
                namespace[name] = found[1]


def replaced_classes() -> list[type]:
    """guardian's original classes the switch replaced."""
    return [original for original, _ in _replaced.values() if isinstance(original, type)]


def clean_orphan_obj_perms(*args: Any, **kwargs: Any) -> int:
    """guardian's ``clean_orphan_obj_perms`` under the switch: guardian's own cleanup of its rows
    (whose deletions reach Warden, at commit); then, for a whole cleanup (no batch arguments),
    Warden's for the grants that have no row (written by Warden's shortcuts or admin): those are
    revoked at once, as Warden's shortcuts grant at once. The grants of the rows guardian just
    deleted are left to the rows' revocations, so inside a transaction each removal counts once
    and a rollback keeps the rows' grants. A batched call keeps guardian's batches over guardian's
    rows only: ``manage.py warden_clean_orphans`` batches over Warden's grants. Returns how many
    were removed in all."""
    from . import guardian_rows, utils

    original = _originals[("guardian.utils", "clean_orphan_obj_perms")]
    if args or any(value not in (None, 0) for value in kwargs.values()):
        return int(original(*args, **kwargs) or 0)
    with guardian_rows.recording_deletions() as by_rows:
        removed = int(original(*args, **kwargs) or 0)
    return removed + utils.revoke_orphans(keep=by_rows)
