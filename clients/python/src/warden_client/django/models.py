"""guardian's user and group methods, writing to Warden. The app defines no database models:
this module holds only these mixins and functions.

``WardenUserMixin`` is guardian's ``GuardianUserMixin`` for a custom user model::

    class User(WardenUserMixin, AbstractUser):
        ...

    user.add_obj_perm("change_car", car)     # a grant in Warden (shortcuts.assign_perm)
    user.del_obj_perm("change_car", car)     # its revocation (shortcuts.remove_perm)

``group_add_obj_perm`` / ``group_del_obj_perm`` are the same methods for ``Group`` (guardian
patches them onto ``Group``; so does the compatibility switch: ``Group.add_obj_perm =
group_add_obj_perm``). They return Warden's ``WriteResult`` where guardian returns its
``UserObjectPermission`` row (or the ``delete()`` count).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "WardenUserMixin",
    "WardenGroupMixin",
    "user_add_obj_perm",
    "user_del_obj_perm",
    "group_add_obj_perm",
    "group_del_obj_perm",
]


def _object(obj: Any) -> Any:
    if obj is None:
        raise ValueError("obj: add_obj_perm and del_obj_perm need an object (model-wide grants: assign_perm)")
    return obj


def user_add_obj_perm(self: Any, perm: Any, obj: Any) -> Any:
    """Grant ``perm`` (a codename, ``"app_label.codename"`` or a ``Permission``) to this user or
    group on ``obj``, in Warden."""
    from .shortcuts import assign_perm  # the shortcuts import auth's models; this module stays light

    return assign_perm(perm, self, _object(obj))


def user_del_obj_perm(self: Any, perm: Any, obj: Any) -> Any:
    """Revoke ``perm`` from this user or group on ``obj``, in Warden."""
    from .shortcuts import remove_perm

    return remove_perm(perm, self, _object(obj))


#: The group methods: the shortcuts tell a group from a user, so they are the same functions.
group_add_obj_perm = user_add_obj_perm
group_del_obj_perm = user_del_obj_perm


class WardenUserMixin:
    """guardian's ``GuardianUserMixin`` for a user model: object grants written to Warden."""

    @staticmethod
    def get_anonymous() -> Any:
        """guardian's anonymous user row (``ANONYMOUS_USER_NAME``), by the integration's
        ``utils.get_anonymous_user``."""
        from .utils import get_anonymous_user

        return get_anonymous_user()

    add_obj_perm = user_add_obj_perm
    del_obj_perm = user_del_obj_perm


class WardenGroupMixin:
    """guardian's ``GuardianGroupMixin``: the same methods for a group model."""

    add_obj_perm = group_add_obj_perm
    del_obj_perm = group_del_obj_perm
