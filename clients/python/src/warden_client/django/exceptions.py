"""Exceptions of the Django integration, with django-guardian's names so that code catching
guardian's exceptions needs only its imports changed. Errors the Warden server answers (an
unknown permission: ``NotFound``; a permission of another content type: ``InvalidArgument``)
are the client's :mod:`warden_client.errors` and pass through unchanged."""

from __future__ import annotations


class WardenIntegrationError(Exception):
    """Base class of the integration's own errors."""


class NotUserNorGroup(WardenIntegrationError, TypeError):
    """A subject argument is neither a user (or ``AnonymousUser``) nor a ``Group``."""


class MixedContentTypeError(WardenIntegrationError, ValueError):
    """Permissions (or permissions and ``klass``) of different content types in one call."""


class WrongAppError(WardenIntegrationError, ValueError):
    """The content type cannot be determined (bare codenames and no ``klass``)."""


class MultipleIdentityAndObjectError(WardenIntegrationError, ValueError):
    """Several subjects and several objects in one call: bulk calls take one or the other."""
