"""URLs of the admin tests: the admin site at ``/admin/``, with ``GuardedModelAdmin`` for the
test apps' models (registered in :mod:`testproject.admin_site`)."""

from django.contrib import admin
from django.urls import path

from testproject import admin_site  # noqa: F401  (registers the model admins)

urlpatterns = [path("admin/", admin.site.urls)]
