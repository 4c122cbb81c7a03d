"""Imported by ``library.models``, so before any app's ``ready()`` and thus before the guardian
compatibility switch is applied: what a project's module that imported guardian early holds.

- ``get_objects_for_user`` is guardian's original here until the switch rebinds it;
- ``EarlyDocumentAdmin`` subclasses guardian's original ``GuardedModelAdmin``: it keeps
  guardian's code, which the system check ``warden.W004`` reports.
"""

from guardian.admin import GuardedModelAdmin
from guardian.shortcuts import get_objects_for_user


def visible_books(user):
    """The books ``user`` may view, through the name imported at models-import time."""
    from .models import Book

    return get_objects_for_user(user, "library.view_book", klass=Book)


class EarlyDocumentAdmin(GuardedModelAdmin):
    """A guarded admin class defined before the switch (never registered)."""
