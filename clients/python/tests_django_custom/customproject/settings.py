"""A project with a custom user model, as Django's docs recommend for every new project:
``people.CustomUser`` (``AbstractBaseUser`` + ``PermissionsMixin``, a custom primary key
``custom_id``, the email as username), so the through-tables' user column is ``customuser_id``.
``settings_team`` swaps in a user model whose groups are a ``Group`` subclass through a custom
membership model."""

import os
import tempfile

TEST_DIR = os.environ.get("WARDEN_TEST_DIR") or tempfile.mkdtemp(prefix="warden-django-custom-")
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
    "people",
    "teams",
]
AUTH_USER_MODEL = "people.CustomUser"
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
WARDEN_OBJECT_MODELS = ["people.Doc"]

ANONYMOUS_USER_NAME = "AnonymousUser"
