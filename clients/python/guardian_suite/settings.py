"""django-guardian 3.5.2's own test settings (``guardian.testapp.testsettings``, unmodified),
plus what a project migrating to Warden adds: the app, the compatibility switch and the
settings that give guardian's answers. The socket is the test server's (set by
``warden_client.django.pytest_plugin`` when the session starts)."""

from guardian.testapp.testsettings import *  # noqa: F401,F403
from guardian.testapp.testsettings import INSTALLED_APPS

# Before django.contrib.admin, so that the admin modules it imports see the switch applied.
_apps = list(INSTALLED_APPS)
_apps.insert(_apps.index("django.contrib.contenttypes") + 1, "warden_client.django")
INSTALLED_APPS = tuple(_apps)

WARDEN_GUARDIAN_COMPAT = True
# guardian's answers: model-level grants do not open objects in object checks.
WARDEN_ACCEPT_GLOBAL_PERMS = False
# Django's TestCase never commits: mirror at once (docs/django.md "Testing your app with Warden").
WARDEN_MIRROR_ON_COMMIT = False
WARDEN_TIMEOUT = 30.0
