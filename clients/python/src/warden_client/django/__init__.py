"""Warden's Django integration: an authentication backend answered by the sidecar, signal
handlers that mirror Django's auth state into it, django-guardian's shortcuts, and the
``warden_sync`` and ``warden_import_guardian`` management commands (``docs/django.md``).

Setup::

    INSTALLED_APPS = [..., "django.contrib.auth", "django.contrib.contenttypes", "warden_client.django"]
    AUTHENTICATION_BACKENDS = ["warden_client.django.backends.WardenBackend"]
    WARDEN_SOCKET = "/run/warden/warden.sock"
"""
