"""Imported by the admin's autodiscovery, after the switch: guardian's ``GuardedModelAdmin`` is
Warden's here, so this class is no ``warden.W004``."""

from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from .models import Book


@admin.register(Book)
class BookAdmin(GuardedModelAdmin):
    """The books' admin, with guardian's object-permission pages (Warden's)."""
