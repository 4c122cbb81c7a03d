"""How Django's things are named in Warden: users by ``str(pk)``, groups by name, content types
``app_label.model`` (of the concrete model, as ``ContentType.objects.get_for_model`` and
guardian name them), objects by ``str(pk)``, permissions ``app_label.codename``."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, QuerySet

from . import conf
from .exceptions import NotUserNorGroup

_CODENAME = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_TYPE_PART = re.compile(r"^[a-z0-9_]{1,100}$")


def content_type_label(model_or_obj: type[Model] | Model) -> str:
    """``app_label.model`` of the concrete model of a model class or instance (no query), or,
    when ``WARDEN_GET_CONTENT_TYPE`` / ``GUARDIAN_GET_CONTENT_TYPE`` names a function, of the
    ``ContentType`` that function returns (asked once per model class)."""
    if conf.hook_state is not conf.NO_HOOK:  # a hook, or settings not resolved yet
        hook = conf.content_type_hook()
        if hook is not None:
            return _hooked_label(hook, model_or_obj)
    opts = model_or_obj._meta.concrete_model._meta  # type: ignore[union-attr]
    return f"{opts.app_label}.{opts.model_name}"


#: hook -> model class -> label: a content type function maps classes (a polymorphic model's
#: subclasses to their base), so its answer is kept per class
_HOOK_LABELS: dict[Callable[[Any], Any], dict[type, str]] = {}


def _hooked_label(hook: Callable[[Any], Any], model_or_obj: type[Model] | Model) -> str:
    cls = model_or_obj if isinstance(model_or_obj, type) else model_or_obj.__class__
    labels = _HOOK_LABELS.get(hook)
    if labels is None:
        labels = _HOOK_LABELS[hook] = {}
    label = labels.get(cls)
    if label is None:
        ct = hook(model_or_obj)
        if not isinstance(ct, ContentType):
            raise TypeError(
                f"GUARDIAN_GET_CONTENT_TYPE: {getattr(hook, '__qualname__', hook)} returned {ct!r} for "
                f"{cls.__name__}, not a ContentType"
            )
        label = labels[cls] = ct_label(ct)
    return label


def content_type_of(model_or_obj: type[Model] | Model) -> ContentType:
    """The ``ContentType`` row of a model class or instance, as :func:`content_type_label`
    names it (Django's cached ``get_for_model`` unless a content type function is set)."""
    hook = conf.content_type_hook()
    if hook is None:
        return ContentType.objects.get_for_model(model_or_obj)
    app_label, model = _hooked_label(hook, model_or_obj).split(".", 1)
    return ContentType.objects.get_by_natural_key(app_label, model)


def ct_label(ct: ContentType) -> str:
    """``app_label.model`` of a ``ContentType`` row."""
    return f"{ct.app_label}.{ct.model}"


def valid_content_type(label: str) -> bool:
    """Whether Warden accepts ``label`` as a content type (``[a-z0-9_]`` parts, 1..100 each)."""
    parts = label.split(".")
    return len(parts) == 2 and all(_TYPE_PART.match(part) for part in parts)


def valid_codename(codename: str) -> bool:
    """Whether Warden accepts ``codename`` (1..100 of ``[A-Za-z0-9_-]``)."""
    return bool(_CODENAME.match(codename))


_PK_READERS: dict[type, Callable[[Any], Any]] = {}


def pk_reader(model: type[Model]) -> Callable[[Any], Any]:
    """``obj.pk`` for instances of ``model``, without the property's call: the attribute
    ``Model.pk`` reads (``_meta.pk.attname``), through ``operator.attrgetter``."""
    reader = _PK_READERS.get(model)
    if reader is None:
        reader = _PK_READERS[model] = operator.attrgetter(model._meta.pk.attname)
    return reader


def object_pk(obj: Model) -> str:
    """The object's pk as Warden's string (``str(obj.pk)``, as guardian's ``object_pk``)."""
    if obj.pk is None:
        raise ValueError(f"object: {obj!r} has no pk (save it first)")
    return str(obj.pk)


def user_id(user: Any) -> str:
    """The Warden user id of a user instance: ``str(user.pk)``."""
    return str(user.pk)


def username_of(user: Any) -> str | None:
    """The username Warden keeps for a user (``get_username()``), or ``None`` when empty."""
    name = user.get_username() if hasattr(user, "get_username") else None
    return str(name) if name else None


def is_group(value: Any) -> bool:
    """Whether ``value`` is a ``Group`` instance."""
    return isinstance(value, Group)


def is_user(value: Any) -> bool:
    """Whether ``value`` is an instance of the user model or Django's ``AnonymousUser``."""
    return isinstance(value, (get_user_model(), AnonymousUser))


def permission_label(perm: Permission) -> tuple[str, str]:
    """``(app_label.codename, content type)`` of a ``Permission`` row."""
    ct = perm.content_type
    return f"{ct.app_label}.{perm.codename}", ct_label(ct)


@dataclass(frozen=True)
class Subject:
    """A Warden subject: ``kind`` is ``"user"`` or ``"group"``; ``name`` the id or group name."""

    kind: str
    name: str

    def kwargs(self) -> dict[str, str]:
        """The ``user=`` / ``group=`` keyword the client's calls take."""
        return {self.kind: self.name}


def subject_of(user_or_group: Any) -> Subject | None:
    """The subject of one user, ``AnonymousUser`` or group; ``None`` for an anonymous user when
    ``WARDEN_ANONYMOUS_USER_ID`` is not set (such a user holds nothing). Anything else raises
    :class:`NotUserNorGroup`, as guardian's ``get_identity``."""
    if isinstance(user_or_group, Group):
        return Subject("group", user_or_group.name)
    is_user_model = isinstance(user_or_group, get_user_model())
    if isinstance(user_or_group, AnonymousUser) or (is_user_model and not user_or_group.is_authenticated):
        anonymous = conf.anonymous_user_id()
        return Subject("user", anonymous) if anonymous is not None else None
    if is_user_model:
        if user_or_group.pk is None:
            raise ValueError(f"user: {user_or_group!r} has no pk (save it first)")
        return Subject("user", user_id(user_or_group))
    raise NotUserNorGroup(f"user_or_group: expected a User, AnonymousUser or Group instance, got {user_or_group!r}")


def subjects_of(users_or_groups: Any) -> list[Subject]:
    """The subjects of one user or group, or of a list or queryset of them (anonymous users
    without ``WARDEN_ANONYMOUS_USER_ID`` are left out)."""
    if isinstance(users_or_groups, (QuerySet, list, tuple, set)):
        items: Iterable[Any] = users_or_groups
    else:
        items = [users_or_groups]
    subjects = []
    for item in items:
        subject = subject_of(item)
        if subject is not None:
            subjects.append(subject)
    return subjects
