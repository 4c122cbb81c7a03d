"""What the view mixins and decorators share (guardian's ``utils.get_40x_or_None`` and the
``permission_required`` parsing of its mixins): the permission check of a request and the
response a refusal gets.

The checks go through ``request.user.has_perm`` — Django's authentication backends, so
``WardenBackend`` answers them (and ``WARDEN_ACCEPT_GLOBAL_PERMS`` decides whether a model
grant counts on an object, as everywhere in the integration). A refusal is answered as
guardian answers it, under guardian's settings: ``GUARDIAN_RENDER_403`` (render
``GUARDIAN_TEMPLATE_403``, default ``"403.html"``, with the message as ``exception``),
``GUARDIAN_RAISE_403`` (raise ``PermissionDenied``), else an empty ``HttpResponseForbidden``;
the same for 404 (``ObjectDoesNotExist`` when raised); else a redirect to the login page.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from types import GeneratorType
from typing import Any

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist, PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.shortcuts import render

from .conf import guardian_setting

__all__ = ["get_40x_or_None", "required_permissions"]


def required_permissions(permission_required: Any) -> list[str]:
    """``permission_required`` of a view as a list (guardian's ``get_required_permissions``):
    a string is one permission, an iterable several (a generator is read once, with guardian's
    deprecation warning); anything else raises ``ImproperlyConfigured``."""
    if isinstance(permission_required, str):
        return [permission_required]
    if isinstance(permission_required, GeneratorType):
        warnings.warn(
            "Using generators for 'permission_required' attribute is deprecated and will be removed in v4. "
            "Use a list or tuple instead as generators can only be consumed once, "
            "potentially leading to security issues.",
            DeprecationWarning,
            stacklevel=3,
        )
        return list(permission_required)
    if isinstance(permission_required, Iterable):
        return list(permission_required)
    raise ImproperlyConfigured(
        "'PermissionRequiredMixin' requires 'permission_required' attribute to be set to "
        f"'<app_label>.<permission codename>' but is set to '{permission_required}' instead"
    )


def _holds(user: Any, perms: list[str], obj: Any, any_perm: bool) -> bool:
    if any_perm:
        return any(user.has_perm(perm, obj) for perm in perms)
    return all(user.has_perm(perm, obj) for perm in perms)


def _refusal_403(request: HttpRequest, message: str) -> HttpResponse:
    render_403, raise_403 = guardian_setting("RENDER_403"), guardian_setting("RAISE_403")
    if render_403 and raise_403:
        raise ImproperlyConfigured(
            "Cannot use both GUARDIAN_RENDER_403 AND GUARDIAN_RAISE_403 - only one of this config may be True"
        )
    if render_403:
        response = render(request, guardian_setting("TEMPLATE_403"), context={"exception": message})
        response.status_code = 403
        return response
    if raise_403:
        raise PermissionDenied(message)
    return HttpResponseForbidden()


def _refusal_404(request: HttpRequest) -> HttpResponse:
    if guardian_setting("RENDER_404"):
        response = render(request, guardian_setting("TEMPLATE_404"))
        response.status_code = 404
        return response
    if guardian_setting("RAISE_404"):
        raise ObjectDoesNotExist
    return HttpResponseNotFound()


def get_40x_or_None(  # noqa: N802 - guardian's name
    request: HttpRequest,
    perms: list[str],
    obj: Any | None = None,
    login_url: Any | None = None,
    redirect_field_name: str | None = None,
    return_403: bool = False,
    return_404: bool = False,
    permission_denied_message: str = "",
    accept_global_perms: bool = False,
    any_perm: bool = False,
) -> HttpResponse | None:
    """``None`` when ``request.user`` holds ``perms`` (all of them; any one with ``any_perm``)
    on ``obj`` (model-wide when ``obj`` is ``None``), else the refusal: a 403 with
    ``return_403``, a 404 with ``return_404``, else a redirect to ``login_url``. With
    ``accept_global_perms`` the model-wide permissions are asked first and suffice."""
    user = request.user  # type: ignore[attr-defined]
    allowed = accept_global_perms and _holds(user, perms, None, any_perm)
    if not allowed:
        allowed = _holds(user, perms, obj, any_perm)
    if allowed:
        return None
    if return_403:
        return _refusal_403(request, permission_denied_message)
    if return_404:
        return _refusal_404(request)
    from django.contrib.auth.views import redirect_to_login

    return redirect_to_login(
        request.get_full_path(), login_url or settings.LOGIN_URL, redirect_field_name or REDIRECT_FIELD_NAME
    )
