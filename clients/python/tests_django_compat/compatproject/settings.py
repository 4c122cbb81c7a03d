"""Settings of the guardian-compatibility test project: a project still written against
django-guardian (guardian's backend, admin, shortcuts, tables) with ``WARDEN_GUARDIAN_COMPAT``
on, as in the settings-only migration of docs/django.md. SQLite in one temporary folder
(``WARDEN_TEST_DIR``, made at import when unset); the Warden server and ``WARDEN_SOCKET`` come
from ``warden_client.django.pytest_plugin`` (pytest.ini)."""

import os
import tempfile

TEST_DIR = os.environ.get("WARDEN_TEST_DIR") or tempfile.mkdtemp(prefix="warden-django-")
os.environ["WARDEN_TEST_DIR"] = TEST_DIR

SECRET_KEY = "warden-tests-only"
DEBUG = False
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before django.contrib.admin: the admin modules its autodiscovery imports see the switch
    # applied (library.admin subclasses Warden's GuardedModelAdmin, library.early guardian's).
    "warden_client.django",
    "django.contrib.admin",
    "guardian",
    "library",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(TEST_DIR, "compat.sqlite3"),
        "TEST": {"NAME": os.path.join(TEST_DIR, "compat-test.sqlite3")},
    }
}
# The settings-only migration: guardian's backend stays, and answers from Warden.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
ROOT_URLCONF = "compatproject.urls"

WARDEN_GUARDIAN_COMPAT = True
# guardian's answers: a model-level grant does not open every object.
WARDEN_ACCEPT_GLOBAL_PERMS = False
WARDEN_TIMEOUT = 30.0
# Mirrored writes go when the transaction commits (the default; the tests that write guardian's
# rows run with transactional_db so that commits happen).
WARDEN_MIRROR_ON_COMMIT = True

# guardian's anonymous user (created by guardian at migrate); under the switch, Django's
# AnonymousUser is checked as this user (no WARDEN_ANONYMOUS_USER_ID).
ANONYMOUS_USER_NAME = "AnonymousUser"
