"""Exceptions of the Django integration, with django-guardian's names so that code catching
guardian's exceptions needs only its imports changed. Errors the Warden server answers (an
unknown permission: ``NotFound``; a permission of another content type: ``InvalidArgument``)
are the client's :mod:`warden_client.errors` and pass through unchanged.

When django-guardian is installed, each of these also subclasses guardian's exception of the
same name (and ``WardenIntegrationError`` guardian's ``GuardianError``), so code that still
catches ``guardian.exceptions.NotUserNorGroup`` catches Warden's too.
"""

from __future__ import annotations

from typing import Any


def _guardian(name: str) -> tuple[type[Exception], ...]:
    """guardian's exception class ``name`` as a base, when guardian is installed."""
    try:
        from guardian import exceptions as guardian_exceptions
    except ImportError:
        return ()
    found: Any = getattr(guardian_exceptions, name, None)
    return (found,) if isinstance(found, type) and issubclass(found, Exception) else ()


class WardenIntegrationError(*_guardian("GuardianError"), Exception):  # type: ignore[misc]
    """Base class of the integration's own errors."""


class NotUserNorGroup(WardenIntegrationError, TypeError, *_guardian("NotUserNorGroup")):  # type: ignore[misc]
    """A subject argument is neither a user (or ``AnonymousUser``) nor a ``Group``."""


class MixedContentTypeError(WardenIntegrationError, ValueError, *_guardian("MixedContentTypeError")):  # type: ignore[misc]
    """Permissions (or permissions and ``klass``) of different content types in one call."""


class WrongAppError(WardenIntegrationError, ValueError, *_guardian("WrongAppError")):  # type: ignore[misc]
    """The content type cannot be determined (bare codenames and no ``klass``)."""


class MultipleIdentityAndObjectError(  # type: ignore[misc]
    WardenIntegrationError, ValueError, *_guardian("MultipleIdentityAndObjectError")
):
    """Several subjects and several objects in one call: bulk calls take one or the other."""


class ObjectNotPersisted(WardenIntegrationError, ValueError, *_guardian("ObjectNotPersisted")):  # type: ignore[misc]
    """An object without a primary key (not saved yet) where a grant needs one."""
