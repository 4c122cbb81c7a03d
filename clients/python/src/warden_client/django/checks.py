"""Django system checks of the integration (``manage.py check``; run at every ``runserver``
and ``migrate``): they warn where django-guardian would still answer from, or write to, its
own tables instead of Warden.

- ``warden.W001``: guardian's ``ObjectPermissionBackend`` is in ``AUTHENTICATION_BACKENDS``
  without ``WARDEN_GUARDIAN_COMPAT``: object checks answer from guardian's tables.
- ``warden.W002``: guardian is in ``INSTALLED_APPS`` without ``WARDEN_GUARDIAN_COMPAT``: its
  shortcuts, checker, mixins, decorators, template tag, admin and user/group methods read and
  write guardian's tables, which Warden never sees.
- ``warden.W003``: ``WARDEN_GUARDIAN_COMPAT`` is set but guardian cannot be imported.
- ``warden.W004``: with the switch on, a class of the project subclasses one of guardian's
  original classes (defined before the switch was applied): it keeps guardian's code.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

from . import compat

_GUARDIAN_BACKEND = "guardian.backends.ObjectPermissionBackend"
_HINT = (
    "Set WARDEN_GUARDIAN_COMPAT = True (docs/django.md, 'Migrating from django-guardian'), "
    "or remove django-guardian and its calls."
)


def _subclasses(cls: type) -> list[type]:
    found, todo = [], list(cls.__subclasses__())
    while todo:
        sub = todo.pop()
        found.append(sub)
        todo.extend(sub.__subclasses__())
    return found


@register(Tags.compatibility)
def guardian_checks(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """The warnings above, for the project's settings and loaded classes."""
    from django.apps import apps

    warnings: list[Warning] = []
    backends = list(getattr(settings, "AUTHENTICATION_BACKENDS", []))
    if not compat.enabled():
        if _GUARDIAN_BACKEND in backends:
            warnings.append(Warning(
                "guardian's ObjectPermissionBackend answers object checks from guardian's tables, not Warden",
                hint="Replace it with warden_client.django.backends.WardenBackend, or " + _HINT,
                id="warden.W001",
            ))
        if apps.is_installed("guardian"):
            warnings.append(Warning(
                "django-guardian is installed: its shortcuts, checker, mixins, decorators, template tag, admin "
                "and user/group methods read and write guardian's tables, which Warden never sees",
                hint=_HINT,
                id="warden.W002",
            ))
        return warnings
    if not compat.guardian_available():
        warnings.append(Warning(
            "WARDEN_GUARDIAN_COMPAT is set but django-guardian cannot be imported: nothing was patched",
            hint="Remove the setting once guardian's imports are gone.",
            id="warden.W003",
        ))
        return warnings
    # One warning per class, naming the nearest originals it subclasses (GuardedModelAdmin,
    # not also the GuardedModelAdminMixin that GuardedModelAdmin subclasses).
    originals_of: dict[type, list[type]] = {}
    for original in compat.replaced_classes():
        for sub in _subclasses(original):
            if not sub.__module__.startswith(("guardian.", "warden_client.")):
                originals_of.setdefault(sub, []).append(original)
    for sub, originals in originals_of.items():
        nearest = [o for o in originals if not any(other is not o and issubclass(other, o) for other in originals)]
        names = " and ".join(sorted(f"{o.__module__}.{o.__qualname__}" for o in nearest))
        warnings.append(Warning(
            f"{sub.__module__}.{sub.__qualname__} subclasses guardian's {names}, defined before "
            "WARDEN_GUARDIAN_COMPAT was applied: it keeps guardian's code (its data calls reach Warden, but not "
            "through Warden's implementation)",
            hint="Import it from warden_client.django instead, or list 'warden_client.django' in INSTALLED_APPS "
            "before the app that defines it.",
            obj=sub,
            id="warden.W004",
        ))
    return warnings
