"""Settings of the test project: SQLite and a Warden socket in one temporary folder
(``WARDEN_TEST_DIR``, made at import when unset), django-guardian beside the integration."""

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
    "guardian",
    "warden_client.django",
    "drivers",
    "shop",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(TEST_DIR, "db.sqlite3"),
        "TEST": {"NAME": os.path.join(TEST_DIR, "test.sqlite3")},
    }
}
AUTHENTICATION_BACKENDS = ["warden_client.django.backends.WardenBackend"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

WARDEN_SOCKET = os.path.join(TEST_DIR, "warden.sock")
WARDEN_TIMEOUT = 30.0
WARDEN_OBJECT_MODELS = ["drivers.Car", "drivers.Truck", "shop.Order"]

# guardian's anonymous user (created at migrate) is a real user, mirrored like any other.
ANONYMOUS_USER_NAME = "AnonymousUser"
