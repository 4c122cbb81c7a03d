"""The many-to-many relations the integration mirrors (``user.groups``, ``user.user_permissions``,
``group.permissions``), read through their through-tables by the field names Django gave them.

A custom user model names its through-tables' user column after itself (``customuser_id``),
may have its own primary key (``custom_id``), and may point ``groups`` at a ``Group`` subclass
or proxy through a custom model (``Membership(member, team)``): nothing here assumes
``user_id`` or ``group_id``; every name comes from ``_meta``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Model
from django.db.models.fields.related_descriptors import ManyToManyDescriptor


@dataclass(frozen=True)
class Relation:
    """One many-to-many relation: ``source`` is the through's foreign key to the model that
    declares the field (the user model, or ``Group``), ``target`` the one to the related model
    (a ``Group`` model, or ``Permission``)."""

    through: type[Model]
    source: str
    target: str
    source_model: type[Model]
    target_model: type[Model]

    @property
    def source_pk(self) -> str:
        """The lookup of the source's pk in the through-table (the column itself when the
        foreign key points at the pk, as Django's own through-tables do)."""
        return pk_lookup(self.through, self.source)

    @property
    def target_pk(self) -> str:
        """The lookup of the target's pk in the through-table."""
        return pk_lookup(self.through, self.target)

    @property
    def custom_through(self) -> bool:
        """Whether the through model is the project's (its rows may be written directly)."""
        return not self.through._meta.auto_created

    def rows(self, *target_fields: str, source: str | None = None) -> Any:
        """``(source pk, target.<field>, ...)`` of every row, unordered; ``source`` names a field
        of the source to read instead of its pk."""
        first = f"{self.source}__{source}" if source else self.source_pk
        return self.through._base_manager.values_list(
            first, *(f"{self.target}__{name}" for name in target_fields)
        ).order_by()

    def related_pks(self, instance: Model, reverse: bool, using: str | None) -> list[Any]:
        """The pks of the other side that ``instance`` is related to now: the targets of a source
        instance (``reverse`` false), or the sources of a target instance."""
        rows = self.through._base_manager.db_manager(using)
        if reverse:
            return list(rows.filter(**{self.target: instance}).values_list(self.source_pk, flat=True))
        return list(rows.filter(**{self.source: instance}).values_list(self.target_pk, flat=True))

    def row_pair(self, row: Model) -> tuple[Any, Model] | None:
        """``(source pk, target instance)`` of one through row; ``None`` when the target row is
        already gone (a cascade deleting it)."""
        field = self.through._meta.get_field(self.source)
        source_pk = getattr(row, field.attname)
        if not field.target_field.primary_key:
            source_pk = getattr(getattr(row, self.source), "pk", None)
        try:
            return source_pk, getattr(row, self.target)
        except self.target_model.DoesNotExist:
            return None


def pk_lookup(model: type[Model], name: str) -> str:
    """The lookup that reads the pk of the row the foreign key ``name`` of ``model`` points at:
    the column itself when it holds the pk (the usual case), else ``name__pk``."""
    field = model._meta.get_field(name)
    return name if field.target_field.primary_key else f"{name}__pk"


def _relation(model: type[Model], name: str) -> Relation | None:
    descriptor = getattr(model, name, None)
    if not isinstance(descriptor, ManyToManyDescriptor) or descriptor.reverse:
        return None
    field = descriptor.field
    return Relation(
        through=descriptor.through,
        source=field.m2m_field_name(),
        target=field.m2m_reverse_field_name(),
        source_model=field.model,
        target_model=field.related_model,
    )


def user_groups() -> Relation | None:
    """``user.groups`` of the user model (``None`` when it has no such many-to-many field)."""
    return _relation(get_user_model(), "groups")


def user_permissions() -> Relation | None:
    """``user.user_permissions`` of the user model (``None`` when it has none)."""
    return _relation(get_user_model(), "user_permissions")


def group_permissions() -> Relation:
    """``group.permissions`` (of ``Group``, inherited by its subclasses and proxies)."""
    relation = _relation(Group, "permissions")
    assert relation is not None
    return relation
