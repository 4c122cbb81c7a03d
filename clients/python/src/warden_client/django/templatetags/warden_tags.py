"""``{% get_obj_perms %}``: guardian's template tag, answered by Warden. Load it with
``{% load warden_tags %}``::

    {% get_obj_perms request.user for car as "car_perms" %}
    {% if "change_car" in car_perms %}<a href="...">Edit</a>{% endif %}

    {% get_obj_perms group for car as "car_perms" checker %}

The format, errors and answers are guardian's: the subject is a user, ``AnonymousUser`` or
``Group`` (anything else raises ``NotUserNorGroup``); an empty object (``None``) sets nothing;
the variable gets the codenames (sorted) the subject holds on the object, in one GetPermissions
request. With a fifth argument, that context variable's
:class:`~warden_client.django.core.ObjectPermissionChecker` answers, so one
``prefetch_perms`` (one request for a whole list) serves every tag of the page.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group

from ..core import ObjectPermissionChecker
from ..exceptions import NotUserNorGroup

register = template.Library()

_FORMAT = '{% get_obj_perms user/group for obj as "context_var" perm_checker %}'


class ObjectPermissionsNode(template.Node):
    """Sets ``context_var`` to the codenames ``for_whom`` holds on ``obj``."""

    def __init__(self, for_whom: str, obj: str, context_var: str, checker: str | None = None) -> None:
        self.for_whom = template.Variable(for_whom)
        self.obj = template.Variable(obj)
        self.context_var = context_var
        self.checker = template.Variable(checker) if checker else None

    def render(self, context: Any) -> str:
        """Sets the variable; renders nothing."""
        for_whom = self.for_whom.resolve(context)
        if not isinstance(for_whom, (get_user_model(), AnonymousUser, Group)):
            raise NotUserNorGroup(f"User or Group instance required (got {for_whom.__class__})")
        obj = self.obj.resolve(context)
        if not obj:
            return ""
        checker = self.checker.resolve(context) if self.checker else ObjectPermissionChecker(for_whom)
        context[self.context_var] = checker.get_perms(obj)
        return ""


@register.tag
def get_obj_perms(parser: Any, token: Any) -> ObjectPermissionsNode:
    """``{% get_obj_perms user/group for obj as "context_var" [perm_checker] %}``: the
    codenames the user or group holds on ``obj``, in ``context_var`` (quoted)."""
    bits = token.split_contents()
    if not (6 <= len(bits) <= 7) or bits[2] != "for" or bits[4] != "as":
        raise template.TemplateSyntaxError(f"get_obj_perms tag should be in format: {_FORMAT}")
    context_var = bits[5]
    if context_var[0] != context_var[-1] or context_var[0] not in ('"', "'"):
        raise template.TemplateSyntaxError("get_obj_perms tag's context_var argument should be in quotes")
    return ObjectPermissionsNode(bits[1], bits[3], context_var[1:-1], bits[6] if len(bits) == 7 else None)
