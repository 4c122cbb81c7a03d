"""django-guardian's class-based view mixins, answered by Warden: same names, attributes,
hooks and responses as ``guardian.mixins`` (3.5.2), asynchronous views included.

- :class:`PermissionRequiredMixin` checks ``request.user.has_perm`` (``WardenBackend``) on the
  view's object before the view runs, and answers a refusal as guardian does
  (:func:`~warden_client.django.views_support.get_40x_or_None`).
- :class:`PermissionListMixin` narrows ``get_queryset()`` to the objects Warden lists for the
  user (:func:`warden_client.django.shortcuts.get_objects_for_user`).
- :class:`LoginRequiredMixin` is guardian's wrapper of Django's ``login_required``.

``GuardianUserMixin`` / ``GuardianGroupMixin`` are the user and group methods of
:mod:`warden_client.django.models` under guardian's names.
"""

from __future__ import annotations

import warnings
from inspect import isawaitable
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import REDIRECT_FIELD_NAME, login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse

from .models import WardenGroupMixin, WardenUserMixin
from .shortcuts import get_objects_for_user
from .views_support import get_40x_or_None, required_permissions

__all__ = [
    "LoginRequiredMixin",
    "PermissionRequiredMixin",
    "PermissionListMixin",
    "GuardianUserMixin",
    "GuardianGroupMixin",
]

#: guardian's names for the user and group methods (``models.WardenUserMixin`` / ``WardenGroupMixin``).
GuardianUserMixin = WardenUserMixin
GuardianGroupMixin = WardenGroupMixin


class LoginRequiredMixin:
    """Django's ``login_required`` for class-based views (put it leftmost): an anonymous user is
    redirected to ``login_url`` with the path in ``redirect_field_name``."""

    redirect_field_name = REDIRECT_FIELD_NAME
    login_url = settings.LOGIN_URL

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        """The login check, then the next ``dispatch`` (awaited on an asynchronous view)."""
        if getattr(self, "view_is_async", False):
            return self._adispatch(request, *args, **kwargs)
        wrapped = login_required(redirect_field_name=self.redirect_field_name, login_url=self.login_url)
        return wrapped(super().dispatch)(request, *args, **kwargs)  # type: ignore[misc]

    async def _adispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # Not named adispatch: PermissionRequiredMixin has one, and on a view with both a
        # dynamic call would land on the wrong mixin (guardian's reasoning).
        wrapped = login_required(redirect_field_name=self.redirect_field_name, login_url=self.login_url)(
            super().dispatch  # type: ignore[misc]
        )
        if iscoroutinefunction(wrapped):
            return await wrapped(request, *args, **kwargs)
        response = await sync_to_async(wrapped)(request, *args, **kwargs)
        if isawaitable(response):
            response = await response
        return response


class PermissionRequiredMixin:
    """Refuses the view unless ``request.user`` holds ``permission_required`` on the view's
    object (``permission_object``, else ``get_object()``, else ``object``; model-wide when there
    is none). A refusal redirects to ``login_url``, or answers 403 (``return_403``) or 404
    (``return_404``), or raises ``PermissionDenied`` (``raise_exception``);
    ``on_permission_check_fail`` is called first. ``accept_global_perms``: a model-wide grant
    suffices; ``any_perm``: one of the permissions suffices."""

    login_url: str = settings.LOGIN_URL
    permission_required: str | list[str] | None = None
    redirect_field_name: str = REDIRECT_FIELD_NAME
    return_403: bool = False
    return_404: bool = False
    raise_exception: bool = False
    object_permission_denied_message: str = ""
    accept_global_perms: bool = False
    any_perm: bool = False

    def get_object_permission_denied_message(self) -> str:
        """The message of the ``PermissionDenied`` (and of the rendered 403's ``exception``)."""
        return self.object_permission_denied_message

    def get_required_permissions(self, request: HttpRequest | None = None) -> list[str]:
        """``permission_required`` as a list of ``"app_label.codename"`` strings."""
        return required_permissions(self.permission_required)

    def get_permission_object(self) -> Any:
        """The object the permissions are checked on (``None``: model-wide)."""
        if hasattr(self, "permission_object"):
            return self.permission_object
        return hasattr(self, "get_object") and self.get_object() or getattr(self, "object", None)

    def check_permissions(self, request: HttpRequest) -> HttpResponse | None:
        """``None`` when the user may see the view, else the refusal's response."""
        return self._check_permissions_for_object(request, self.get_permission_object())

    def _check_permissions_for_object(self, request: HttpRequest, obj: Model | Any | None) -> HttpResponse | None:
        forbidden = get_40x_or_None(
            request,
            perms=self.get_required_permissions(request),
            obj=obj,
            login_url=self.login_url,
            redirect_field_name=self.redirect_field_name,
            return_403=self.return_403,
            return_404=self.return_404,
            permission_denied_message=self.get_object_permission_denied_message(),
            accept_global_perms=self.accept_global_perms,
            any_perm=self.any_perm,
        )
        if forbidden:
            self.on_permission_check_fail(request, forbidden, obj=obj)
        if forbidden and self.raise_exception:
            raise PermissionDenied(self.get_object_permission_denied_message())
        return forbidden

    def on_permission_check_fail(self, request: HttpRequest, response: HttpResponse, obj: Model | Any | None = None) -> None:
        """Called with the refusal's response before it is returned (a hook; does nothing)."""

    async def aget_permission_object(self) -> Any:
        """``get_permission_object()`` for an asynchronous view (awaited when it, or
        ``get_object()``, is asynchronous; else run in a thread)."""
        if iscoroutinefunction(self.get_permission_object):
            return await self.get_permission_object()
        obj = await sync_to_async(self.get_permission_object)()
        if isawaitable(obj):
            obj = await obj or getattr(self, "object", None)
        return obj

    async def acheck_permissions(self, request: HttpRequest) -> HttpResponse | None:
        """``check_permissions()`` for an asynchronous view (the checks run in a thread)."""
        obj = await self.aget_permission_object()
        return await sync_to_async(self._check_permissions_for_object)(request, obj)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        """The permission check, then the view (``adispatch`` for an asynchronous view)."""
        self.request = request
        self.args = args
        self.kwargs = kwargs
        if getattr(self, "view_is_async", False):
            return self.adispatch(request, *args, **kwargs)
        response = self.check_permissions(request)
        if response:
            return response
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    async def adispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        """``dispatch()`` of an asynchronous view."""
        response = await self.acheck_permissions(request)
        if response:
            return response
        return await super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class PermissionListMixin:
    """Narrows the view's queryset to the objects on which ``request.user`` holds
    ``permission_required``, as Warden lists them; ``get_objects_for_user_extra_kwargs`` go to
    :func:`~warden_client.django.shortcuts.get_objects_for_user` (``use_groups``, ``any_perm``,
    ``with_superuser``, ``accept_global_perms``)."""

    permission_required: str | list[str] | None = None
    get_objects_for_user_extra_kwargs: dict[str, Any] = {}

    def get_required_permissions(self, request: HttpRequest | None = None) -> list[str]:
        """``permission_required`` as a list of ``"app_label.codename"`` strings."""
        return required_permissions(self.permission_required)

    def get_get_objects_for_user_kwargs(self, queryset: QuerySet[Any]) -> dict[str, Any]:
        """guardian's deprecated name of :meth:`get_user_object_kwargs` (warns, as guardian's)."""
        warnings.warn(
            "This method is deprecated and will be removed in future versions. "
            "Use get_user_object_kwargs instead which has identical behavior.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.get_user_object_kwargs(queryset)

    def get_user_object_kwargs(self, queryset: QuerySet[Any]) -> dict[str, Any]:
        """The keyword arguments of the ``get_objects_for_user`` call."""
        return dict(
            user=self.request.user,  # type: ignore[attr-defined]
            perms=self.get_required_permissions(self.request),  # type: ignore[attr-defined]
            klass=queryset,
            **self.get_objects_for_user_extra_kwargs,
        )

    def get_queryset(self, *args: Any, **kwargs: Any) -> QuerySet[Any]:
        """The view's queryset, narrowed by Warden's answer (still a lazy QuerySet)."""
        queryset = super().get_queryset(*args, **kwargs)  # type: ignore[misc]
        return get_objects_for_user(**self.get_user_object_kwargs(queryset))
