"""django-guardian's object-permission forms, written through Warden: same names, same
constructor arguments, same field and getters (``guardian/forms.py``), plus the forms the admin
pages use to pick a user or a group (guardian keeps those in ``guardian/admin.py``).

What differs from guardian:

- the forms take an optional keyword ``actor`` (the app user making the change, e.g.
  ``request.user``). Warden judges every change against it (``docs/protocol.md`` §8, "No
  self-escalation"): a staff user cannot grant what they do not hold, nor change their own
  grants. A refusal raises the client's :class:`~warden_client.errors.PermissionDenied` with
  Warden's reason, and changes nothing;
- :meth:`~UserObjectPermissionsForm.save_obj_perms` writes the additions in one BulkGrant and
  the removals in one BulkRevoke (each one transaction), not a write per permission: a refused
  change leaves the object's grants as they were;
- the initial selection is the subject's *object* grants only (guardian's answer): model-level
  grants are not managed here, so they are not shown as selected.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import conf
from .grants import grant_message, subject_message
from .identity import Subject, content_type_label, object_pk, subject_of
from .shortcuts import get_group_perms, get_perms_for_model, get_user_perms

__all__ = [
    "BaseObjectPermissionsForm",
    "UserObjectPermissionsForm",
    "GroupObjectPermissionsForm",
    "AdminUserObjectPermissionsForm",
    "AdminGroupObjectPermissionsForm",
    "UserManage",
    "GroupManage",
    "write_obj_perms",
    "actor_id",
]


def actor_id(actor: Any) -> str | int | None:
    """The Warden user id of an actor given as a user instance, an id, or ``None``."""
    if actor is None or isinstance(actor, (str, int)):
        return actor
    if not getattr(actor, "is_authenticated", False):
        raise ValueError(f"actor: an anonymous user cannot change grants (got {actor!r})")
    return str(actor.pk)


def write_obj_perms(
    subject: Subject, obj: Model, *, add: list[str], remove: list[str], actor: Any = None
) -> None:
    """Grant ``add`` and revoke ``remove`` (codenames of ``obj``'s type) for ``subject`` on
    ``obj``: one BulkGrant, then one BulkRevoke, both naming ``actor``. The grant comes first: a
    refused change (``PermissionDenied``, naming the reason) is refused before anything is
    written, since a revoke is refused only for the rules that refuse a grant first (the self
    rule)."""
    client = conf.get_client()
    who = actor_id(actor)
    ct, pk = content_type_label(obj), object_pk(obj)
    message = subject_message(subject.kind, subject.name)
    if add:
        client.bulk_grant([grant_message(codename, message, ct, pk) for codename in add], actor=who)
    if remove:
        client.bulk_revoke([grant_message(codename, message, ct, pk) for codename in remove], actor=who)


class BaseObjectPermissionsForm(forms.Form):
    """Base form for one object's permissions; subclasses name the subject and save."""

    def __init__(self, obj: Model, *args: Any, actor: Any = None, **kwargs: Any) -> None:
        """``obj``: the object whose permissions are managed; ``actor``: the app user making
        the change (Warden judges the change against it; ``None``: no actor rules)."""
        self.obj = obj
        self.actor = actor
        super().__init__(*args, **kwargs)
        self.fields[self.get_obj_perms_field_name()] = self.get_obj_perms_field()

    def get_obj_perms_field(self) -> forms.Field:
        """The permissions field (built from the getters below)."""
        field_class = self.get_obj_perms_field_class()
        return field_class(
            label=self.get_obj_perms_field_label(),
            choices=self.get_obj_perms_field_choices(),
            initial=list(self.get_obj_perms_field_initial()),
            widget=self.get_obj_perms_field_widget(),
            required=self.are_obj_perms_required(),
        )

    def get_obj_perms_field_name(self) -> str:
        """The field's name: ``"permissions"``."""
        return "permissions"

    def get_obj_perms_field_label(self) -> str:
        """The field's label: ``"Permissions"`` (translated)."""
        return _("Permissions")

    def get_obj_perms_field_choices(self) -> list[tuple[str, str]]:
        """``(codename, name)`` of every permission of the object's model."""
        return [(p.codename, p.name) for p in get_perms_for_model(self.obj)]

    def get_obj_perms_field_initial(self) -> Any:
        """The codenames selected at first: none."""
        return []

    def get_obj_perms_field_class(self) -> type[forms.Field]:
        """``forms.MultipleChoiceField``."""
        return forms.MultipleChoiceField

    def get_obj_perms_field_widget(self) -> Any:
        """``forms.SelectMultiple``."""
        return forms.SelectMultiple

    def are_obj_perms_required(self) -> bool:
        """Whether at least one permission must be selected: no."""
        return False

    def save_obj_perms(self) -> None:
        """Store the selection (subclasses)."""
        raise NotImplementedError

    def _save_for(self, subject: Subject) -> None:
        perms = set(self.cleaned_data[self.get_obj_perms_field_name()])
        model_perms = {choice[0] for choice in self.get_obj_perms_field_choices()}
        initial = set(self.get_obj_perms_field_initial())
        remove = sorted((model_perms - perms) & initial)
        add = sorted(perms - initial)
        write_obj_perms(subject, self.obj, add=add, remove=remove, actor=self.actor)


class UserObjectPermissionsForm(BaseObjectPermissionsForm):
    """One user's object grants on ``obj``: ``UserObjectPermissionsForm(user, obj, data,
    actor=request.user)``."""

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def get_obj_perms_field_initial(self) -> Any:
        """The codenames granted to the user itself on the object (no model grants)."""
        return get_user_perms(self.user, self.obj, accept_global_perms=False)

    def save_obj_perms(self) -> None:
        """Grant what was selected and revoke what was unselected, naming the form's actor
        (raises ``PermissionDenied`` with Warden's reason when refused; nothing changes then)."""
        subject = subject_of(self.user)
        if subject is None:
            raise ValueError("user: an anonymous user needs WARDEN_ANONYMOUS_USER_ID to hold grants")
        self._save_for(subject)


class GroupObjectPermissionsForm(BaseObjectPermissionsForm):
    """One group's object grants on ``obj``: ``GroupObjectPermissionsForm(group, obj, data,
    actor=request.user)``."""

    def __init__(self, group: Any, *args: Any, **kwargs: Any) -> None:
        self.group = group
        super().__init__(*args, **kwargs)

    def get_obj_perms_field_initial(self) -> Any:
        """The codenames granted to the group on the object (no model grants)."""
        return get_group_perms(self.group, self.obj, accept_global_perms=False)

    def save_obj_perms(self) -> None:
        """As :meth:`UserObjectPermissionsForm.save_obj_perms`, for the group."""
        self._save_for(Subject("group", self.group.name))


class AdminUserObjectPermissionsForm(UserObjectPermissionsForm):
    """:class:`UserObjectPermissionsForm` with the admin's ``FilteredSelectMultiple`` widget."""

    def get_obj_perms_field_widget(self) -> Any:
        return FilteredSelectMultiple(_("Permissions"), False)


class AdminGroupObjectPermissionsForm(GroupObjectPermissionsForm):
    """:class:`GroupObjectPermissionsForm` with the admin's ``FilteredSelectMultiple`` widget."""

    def get_obj_perms_field_widget(self) -> Any:
        return FilteredSelectMultiple(_("Permissions"), False)


class UserManage(forms.Form):
    """Picks a user by ``USERNAME_FIELD`` (the object-permissions page's user form)."""

    user = forms.CharField(
        label=gettext_lazy("User identification"),
        max_length=200,
        error_messages={"does_not_exist": gettext_lazy("This user does not exist")},
        help_text=gettext_lazy("Enter a value compatible with User.USERNAME_FIELD"),
    )

    def clean_user(self) -> Any:
        """The user whose ``USERNAME_FIELD`` is the value entered."""
        user_model = get_user_model()
        field = getattr(user_model, "USERNAME_FIELD", "username")
        try:
            return user_model._default_manager.get(**{field: self.cleaned_data["user"]})
        except user_model.DoesNotExist:
            raise forms.ValidationError(self.fields["user"].error_messages["does_not_exist"]) from None


class GroupManage(forms.Form):
    """Picks a group by name (the object-permissions page's group form)."""

    group = forms.CharField(
        max_length=150, error_messages={"does_not_exist": gettext_lazy("This group does not exist")}
    )

    def clean_group(self) -> Group:
        """The group of that name."""
        try:
            return Group.objects.get(name=self.cleaned_data["group"])
        except Group.DoesNotExist:
            raise forms.ValidationError(self.fields["group"].error_messages["does_not_exist"]) from None
