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

# -- the admin's object-permission pages (test_admin*.py): admin, sessions, messages, static
# files and templates; appended so that other parts may append their own. The admin's URLs are
# testproject.admin_urls, which the admin tests select (pytest.mark.urls).
for _app in [
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]:
    if _app not in INSTALLED_APPS:
        INSTALLED_APPS.append(_app)
MIDDLEWARE = list(globals().get("MIDDLEWARE", []))
for _middleware in [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]:
    if _middleware not in MIDDLEWARE:
        MIDDLEWARE.append(_middleware)
if "TEMPLATES" not in globals():
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
STATIC_URL = globals().get("STATIC_URL", "/static/")
ROOT_URLCONF = globals().get("ROOT_URLCONF", "testproject.admin_urls")
