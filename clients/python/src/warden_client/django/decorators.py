"""django-guardian's view decorators, answered by Warden: ``permission_required``,
``permission_required_or_403`` and ``permission_required_or_404`` with guardian's arguments::

    @permission_required_or_403("drivers.change_car", (Car, "pk", "car_id"))
    def edit_car(request, car_id): ...

The lookup tuple is ``(model, lookup, view_arg, lookup, view_arg, ...)``: the model is a model
class, an ``"app_label.ModelName"`` string or a QuerySet; each lookup is filled from the view's
keyword argument of that name, the object is fetched with ``get_object_or_404`` and the
permission checked on it through ``request.user.has_perm`` (``WardenBackend``). Keywords:
``login_url``, ``redirect_field_name``, ``return_403``, ``return_404``,
``accept_global_perms`` (a model-wide grant suffices). Refusals are answered as guardian's
(:func:`~warden_client.django.views_support.get_40x_or_None`). Asynchronous views are
supported: the check runs in a thread before the view is awaited.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.apps import apps
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.db.models import Model, QuerySet
from django.db.models.base import ModelBase
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from .exceptions import WardenIntegrationError
from .views_support import get_40x_or_None

__all__ = ["permission_required", "permission_required_or_403", "permission_required_or_404", "PermissionLookupError"]


class PermissionLookupError(WardenIntegrationError, ValueError):
    """A decorator's arguments are malformed (guardian raises its ``GuardianError``): the
    permission is not a string, or the lookup tuple is not ``(model, lookup, view_arg, ...)``."""


def _lookup_object(lookup_variables: tuple[Any, ...], view_kwargs: dict[str, Any]) -> Any:
    """The object named by a lookup tuple and the view's keyword arguments (404 when none)."""
    model, lookups = lookup_variables[0], lookup_variables[1:]
    if isinstance(model, str):
        parts = model.split(".")
        if len(parts) != 2:
            raise PermissionLookupError("If model should be looked up from string it needs format: 'app_label.ModelClass'")
        model = apps.get_model(*parts)
    elif not issubclass(model.__class__, (Model, ModelBase, QuerySet)):
        raise PermissionLookupError(
            "First lookup argument must always be a model, string pointing at app/model or queryset. "
            f"Given: {model} (type: {type(model)})"
        )
    if len(lookups) % 2 != 0:
        raise PermissionLookupError("Lookup variables must be provided as pairs of lookup_string and view_arg")
    lookup_dict = {}
    for lookup, view_arg in zip(lookups[::2], lookups[1::2]):
        if view_arg not in view_kwargs:
            raise PermissionLookupError(f"Argument {view_arg} was not passed into view function")
        lookup_dict[lookup] = view_kwargs[view_arg]
    return get_object_or_404(model, **lookup_dict)


def permission_required(
    perm: str, lookup_variables: tuple[Any, ...] | None = None, **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view decorator: the view runs only when ``request.user`` holds ``perm``
    (``"app_label.codename"``), on the object of ``lookup_variables`` when given; else the user is
    redirected to ``login_url`` (or gets a 403 with ``return_403``, a 404 with ``return_404``)."""
    login_url = kwargs.pop("login_url", settings.LOGIN_URL)
    redirect_field_name = kwargs.pop("redirect_field_name", REDIRECT_FIELD_NAME)
    return_403 = kwargs.pop("return_403", False)
    return_404 = kwargs.pop("return_404", False)
    accept_global_perms = kwargs.pop("accept_global_perms", False)

    # Checked here, not at call time, so that @permission_required without arguments fails at once.
    if not isinstance(perm, str):
        raise PermissionLookupError(
            "First argument must be in format: 'app_label.codename or a callable which return similar string'"
        )

    def refusal(request: HttpRequest, view_kwargs: dict[str, Any]) -> HttpResponse | None:
        obj = _lookup_object(lookup_variables, view_kwargs) if lookup_variables else None
        return get_40x_or_None(
            request,
            perms=[perm],
            obj=obj,
            login_url=login_url,
            redirect_field_name=redirect_field_name,
            return_403=return_403,
            return_404=return_404,
            accept_global_perms=accept_global_perms,
        )

    def decorator(view_func: Callable[..., Any]) -> Callable[..., Any]:
        if iscoroutinefunction(view_func):

            async def _async_view(request: HttpRequest, *args: Any, **view_kwargs: Any) -> Any:
                response = await sync_to_async(refusal)(request, view_kwargs)
                if response:
                    return response
                return await view_func(request, *args, **view_kwargs)

            return wraps(view_func)(_async_view)

        def _wrapped_view(request: HttpRequest, *args: Any, **view_kwargs: Any) -> Any:
            response = refusal(request, view_kwargs)
            if response:
                return response
            return view_func(request, *args, **view_kwargs)

        return wraps(view_func)(_wrapped_view)

    return decorator


def permission_required_or_403(perm: str, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """:func:`permission_required` with ``return_403=True``."""
    kwargs["return_403"] = True
    return permission_required(perm, *args, **kwargs)


def permission_required_or_404(perm: str, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """:func:`permission_required` with ``return_404=True``."""
    kwargs["return_404"] = True
    return permission_required(perm, *args, **kwargs)
