"""Two guarded models: ``Book`` with guardian's generic rows (``UserObjectPermission``,
``GroupObjectPermission``), ``Document`` with direct foreign-key rows of its own."""

from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from . import early  # noqa: F401 - imported before the switch, on purpose (see early.py)


class Book(models.Model):
    """Guarded through guardian's generic tables."""

    title = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.title


class Document(models.Model):
    """Guarded through the direct foreign-key rows below."""

    title = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.title


class DocumentUserObjectPermission(UserObjectPermissionBase):
    """guardian's direct foreign-key user rows of ``Document``."""

    content_object = models.ForeignKey(Document, on_delete=models.CASCADE)


class DocumentGroupObjectPermission(GroupObjectPermissionBase):
    """guardian's direct foreign-key group rows of ``Document``."""

    content_object = models.ForeignKey(Document, on_delete=models.CASCADE)
