"""The Django app: add ``"warden_client.django"`` to ``INSTALLED_APPS`` after
``django.contrib.auth`` and ``django.contrib.contenttypes``."""

from __future__ import annotations

from django.apps import AppConfig


class WardenConfig(AppConfig):
    """Connects the signal handlers that mirror Django's auth state into Warden, and applies the
    guardian compatibility switch when ``WARDEN_GUARDIAN_COMPAT`` is set."""

    name = "warden_client.django"
    label = "warden"
    verbose_name = "Warden authorization sidecar"

    def ready(self) -> None:
        """Connect the mirroring signal handlers (:mod:`warden_client.django.signals`), then
        :func:`warden_client.django.compat.install` when the switch is on."""
        from . import checks, compat, signals  # noqa: F401 - importing checks registers them

        signals.connect()
        if compat.enabled():
            compat.install()
