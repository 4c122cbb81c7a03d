"""djangorestframework-guardian's two classes, answered by Warden (an optional dependency:
``pip install djangorestframework``)::

    from warden_client.django.rest_framework import ObjectPermissionsFilter, ObjectPermissionsAssignmentMixin

    class CarViewSet(viewsets.ModelViewSet):
        filter_backends = [ObjectPermissionsFilter]

    class CarSerializer(ObjectPermissionsAssignmentMixin, serializers.ModelSerializer):
        def get_permissions_map(self, created):
            user = self.context["request"].user
            return {"view_car": [user, Group.objects.get(name="drivers")], "change_car": [user]}

- :class:`ObjectPermissionsFilter` narrows a list to the objects on which the request's user
  holds ``<app_label>.view_<model_name>`` (``perm_format``), by
  :func:`~warden_client.django.shortcuts.get_objects_for_user` with ``shortcut_kwargs``
  (default ``accept_global_perms=False``, as djangorestframework-guardian 0.4.0).
- :class:`ObjectPermissionsAssignmentMixin` (a serializer mixin) grants, when ``save()``
  succeeds, each permission of ``get_permissions_map(created)`` to its users and groups on the
  saved instance; ``created`` is what djangorestframework-guardian passes (whether the
  serializer had an instance before ``save``). The grants go to Warden in one BulkGrant (all or
  none) once the database transaction commits (at once outside one), so a rolled-back create
  leaves no grants on a pk the database may hand out again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

try:
    from rest_framework.filters import BaseFilterBackend
    from rest_framework.serializers import Serializer
except ImportError as error:  # pragma: no cover - exercised without DRF only
    raise ImportError(
        "warden_client.django.rest_framework needs Django REST framework: pip install djangorestframework"
    ) from error

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Model, QuerySet

__all__ = ["ObjectPermissionsFilter", "ObjectPermissionsAssignmentMixin"]


class ObjectPermissionsFilter(BaseFilterBackend):
    """Limits a list to the objects the request's user may view, as Warden lists them."""

    perm_format = "%(app_label)s.view_%(model_name)s"
    shortcut_kwargs: dict[str, Any] = {"accept_global_perms": False}

    def filter_queryset(self, request: Any, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        """``queryset`` narrowed to the objects on which ``request.user`` holds the permission."""
        # Imported here, as djangorestframework-guardian does: DRF imports filter backends while
        # reading its settings, possibly before the app registry is ready.
        from .shortcuts import get_objects_for_user

        permission = self.perm_format % {
            "app_label": queryset.model._meta.app_label,
            "model_name": queryset.model._meta.model_name,
        }
        return get_objects_for_user(request.user, permission, queryset, **self.shortcut_kwargs)


class ObjectPermissionsAssignmentMixin(Serializer):
    """Grants the permissions of :meth:`get_permissions_map` on the instance ``save()`` wrote."""

    def save(self, **kwargs: Any) -> Any:
        """The serializer's ``save()``, then the grants of ``get_permissions_map(created)``."""
        created = self.instance is not None  # djangorestframework-guardian's value, kept as is
        result = super().save(**kwargs)
        self.assign_permissions(self.get_permissions_map(created))
        return result

    def get_permissions_map(self, created: bool) -> Mapping[Any, Any]:
        """A mapping of permission (codename, ``"app_label.codename"`` or ``Permission``) to
        the users and groups that get it on the instance."""
        raise NotImplementedError

    def assign_permissions(self, permissions_map: Mapping[Any, Any]) -> None:
        """Grants each permission to its users and groups (other items are ignored, as
        djangorestframework-guardian ignores them) on ``self.instance``, in one BulkGrant when
        the transaction commits."""
        assert isinstance(permissions_map, Mapping), (
            f"Expected {self.__class__.__name__}.get_permissions_map to return a dict, "
            f"got {type(permissions_map).__name__} instead."
        )
        user_model = get_user_model()
        pairs = [
            (permission, [a for a in assignees if isinstance(a, (user_model, Group))])
            for permission, assignees in permissions_map.items()
        ]
        pairs = [(permission, subjects) for permission, subjects in pairs if subjects]
        if not pairs:
            return
        instance = self.instance
        transaction.on_commit(lambda: _grant(pairs, instance), using=instance._state.db)


def _grant(pairs: list[tuple[Any, list[Any]]], instance: Model) -> None:
    from . import conf
    from .shortcuts import grant_messages

    def grants() -> Iterator[Any]:
        for permission, subjects in pairs:
            yield from grant_messages(permission, subjects, instance)

    conf.get_client().bulk_grant(grants())
