"""django-guardian's admin, answered and written by Warden: ``GuardedModelAdmin`` adds an
"Object permissions" page to a model's admin, listing who holds what on an object (users and
groups, from one Warden ListSubjects call) with pages to change one user's or one group's grants.

    from django.contrib import admin
    from warden_client.django.admin import GuardedModelAdmin

    @admin.register(Car)
    class CarAdmin(GuardedModelAdmin):
        pass

Names, URLs (``<app>_<model>_permissions``, ``..._permissions_manage_user``,
``..._permissions_manage_group``), view methods, attributes, template context and redirects are
guardian 3.5.2's. What differs: every change is a Warden write naming ``actor=request.user``, so
Warden's no-self-escalation rules hold in the admin (a staff user cannot grant what they do not
hold, nor change their own grants); a refusal re-renders the page (status 403) with Warden's
reason as the form's error. The templates are the package's own (``warden/admin/...``), so
guardian need not be installed. See ``docs/django.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from django import VERSION, forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from warden_client.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied

from .forms import (
    AdminGroupObjectPermissionsForm,
    AdminUserObjectPermissionsForm,
    BaseObjectPermissionsForm,
    GroupManage,
    UserManage,
)
from .admin_holders import holder_rows, holders
from .shortcuts import get_group_perms, get_objects_for_user, get_perms_for_model, get_user_perms

__all__ = [
    "GuardedInlineAdminMixin",
    "GuardedModelAdminMixin",
    "GuardedModelAdmin",
    "ReinforcedGuardedModelAdminMixin",
    "ReinforcedGuardedModelAdmin",
    "AdminUserObjectPermissionsForm",
    "AdminGroupObjectPermissionsForm",
    "UserManage",
    "GroupManage",
    "holders",
]

#: Warden's answers to a change that the object-permission pages show as the form's error.
REFUSALS = (PermissionDenied, NotFound, InvalidArgument, FailedPrecondition)

_TEMPLATES = "warden/admin/"
_GRAPPELLI = "admin/guardian/contrib/grappelli/"


def _django_version() -> tuple[Any, ...]:
    """Django's version for the breadcrumbs' markup. guardian's tests patch
    ``guardian.admin.VERSION`` to render either markup; with the guardian compatibility switch
    these pages are ours, so a patched value there is honoured (guardian itself is not needed)."""
    guardian_admin = sys.modules.get("guardian.admin")
    return getattr(guardian_admin, "VERSION", VERSION) if guardian_admin is not None else VERSION


class GuardedInlineAdminMixin:
    """For admin inlines (``class ProfileInline(GuardedInlineAdminMixin, admin.StackedInline)``):
    the add/view/change/delete permissions of the inline's model, model-wide without an object
    and on the object with one, as guardian's mixin.

    Django passes the *parent* object to an inline's ``has_*_permission``; a permission of the
    inline's model is never held on an object of another model, and Warden answers such a
    question ``InvalidArgument`` (a permission of another type). This mixin gives guardian's
    answer instead: ``False`` (``True`` for an active superuser, answered before Warden)."""

    model: type[Model]

    def _inline_perm(self, request: HttpRequest, action: str, obj: Any) -> bool:
        opts = self.model._meta
        perm = f"{opts.app_label}.{action}_{opts.model_name}"
        if obj is None:
            return request.user.has_perm(perm)
        try:
            return request.user.has_perm(perm, obj)
        except InvalidArgument:
            if isinstance(obj, self.model):
                raise
            return False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Whether the user may add instances of the inline's model (on ``obj``)."""
        return self._inline_perm(request, "add", obj)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Whether the user may view instances of the inline's model (on ``obj``)."""
        return self._inline_perm(request, "view", obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Whether the user may change instances of the inline's model (on ``obj``)."""
        return self._inline_perm(request, "change", obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Whether the user may delete instances of the inline's model (on ``obj``)."""
        return self._inline_perm(request, "delete", obj)


class GuardedModelAdminMixin:
    """The object-permission pages, for a ``ModelAdmin`` subclass (guardian's attributes)."""

    change_form_template: str = _TEMPLATES + "change_form.html"
    obj_perms_manage_template: str = _TEMPLATES + "obj_perms_manage.html"
    obj_perms_manage_user_template: str = _TEMPLATES + "obj_perms_manage_user.html"
    obj_perms_manage_group_template: str = _TEMPLATES + "obj_perms_manage_group.html"
    user_can_access_owned_objects_only: bool = False
    user_owned_objects_field: str = "user"
    user_can_access_owned_by_group_objects_only: bool = False
    group_owned_objects_field: str = "group"
    user_can_access_permitted_objects_only: bool = False
    permitted_objects_perms: Sequence[str] | str = ()
    permitted_objects_any_perm: bool = True
    permitted_objects_accept_global_perms: bool = False
    include_object_permissions_urls: bool = True
    #: Form classes; ``None``: the defaults of the ``get_obj_perms_*_form`` getters.
    obj_perms_user_select_form: type[forms.Form] | None = None
    obj_perms_group_select_form: type[forms.Form] | None = None
    obj_perms_manage_user_form: type[forms.Form] | None = None
    obj_perms_manage_group_form: type[forms.Form] | None = None

    model: type[Model]
    admin_site: admin.AdminSite

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        """The admin's queryset, narrowed for non-superusers as the attributes say (objects
        the user may reach in Warden, owned by the user, or owned by one of its groups)."""
        qs = super().get_queryset(request)  # type: ignore[misc]
        if request.user.is_superuser:
            return qs
        if self.user_can_access_permitted_objects_only:
            perms = self.permitted_objects_perms
            any_perm = self.permitted_objects_any_perm
            if not perms:  # guardian: any permission of the model
                perms, any_perm = [p.codename for p in get_perms_for_model(self.model)], True
            qs = get_objects_for_user(
                request.user,
                perms if isinstance(perms, str) else list(perms),
                klass=qs,
                any_perm=any_perm,
                accept_global_perms=self.permitted_objects_accept_global_perms,
            )
        if self.user_can_access_owned_objects_only:
            qs = qs.filter(**{self.user_owned_objects_field: request.user})
        if self.user_can_access_owned_by_group_objects_only:
            qs = qs.filter(**{f"{self.group_owned_objects_field}__in": request.user.groups.all()})
        return qs

    def get_urls(self) -> list[Any]:
        """The model admin's URLs plus ``<object_pk>/permissions/`` (``<app>_<model>_permissions``),
        ``.../permissions/user-manage/<user_id>/`` (``..._permissions_manage_user``) and
        ``.../permissions/group-manage/<group_id>/`` (``..._permissions_manage_group``)."""
        urls = super().get_urls()  # type: ignore[misc]
        if not self.include_object_permissions_urls:
            return urls
        info = self.model._meta.app_label, self.model._meta.model_name
        view = self.admin_site.admin_view
        return [
            path("<object_pk>/permissions/", view(self.obj_perms_manage_view), name="%s_%s_permissions" % info),
            path(
                "<object_pk>/permissions/user-manage/<user_id>/",
                view(self.obj_perms_manage_user_view),
                name="%s_%s_permissions_manage_user" % info,
            ),
            path(
                "<object_pk>/permissions/group-manage/<group_id>/",
                view(self.obj_perms_manage_group_view),
                name="%s_%s_permissions_manage_group" % info,
            ),
        ] + urls

    # -- context, templates, forms ---------------------------------------------------------------

    def get_obj_perms_base_context(self, request: HttpRequest, obj: Model) -> dict[str, Any]:
        """The admin's context (``AdminSite.each_context``) plus the object's: ``object``,
        ``original``, ``opts``, ``app_label``, ``model_perms``, ``has_change_permission``, ..."""
        context = self.admin_site.each_context(request)
        context.update(
            {
                "adminform": {"model_admin": self},
                "media": self.media,  # type: ignore[attr-defined]
                "object": obj,
                "app_label": self.model._meta.app_label,
                "opts": self.model._meta,
                "original": str(obj),
                "has_change_permission": self.has_change_permission(request, obj),  # type: ignore[attr-defined]
                "model_perms": get_perms_for_model(obj),
                "title": _("Object permissions"),
                "legacy_breadcrumbs": _django_version() < (6, 1),
            }
        )
        return context

    def _template(self, name: str, attribute: str) -> str:
        if "grappelli" in settings.INSTALLED_APPS and "guardian" in settings.INSTALLED_APPS:
            return _GRAPPELLI + name
        return getattr(self, attribute)

    def get_obj_perms_manage_template(self) -> str:
        """The object-permissions page's template (guardian's grappelli one under grappelli)."""
        return self._template("obj_perms_manage.html", "obj_perms_manage_template")

    def get_obj_perms_manage_user_template(self) -> str:
        """The user page's template (guardian's grappelli one under grappelli)."""
        return self._template("obj_perms_manage_user.html", "obj_perms_manage_user_template")

    def get_obj_perms_manage_group_template(self) -> str:
        """The group page's template (guardian's grappelli one under grappelli)."""
        return self._template("obj_perms_manage_group.html", "obj_perms_manage_group_template")

    def get_obj_perms_user_select_form(self, request: HttpRequest | None) -> type[forms.Form]:
        """The form that picks a user: :class:`UserManage`."""
        return self.obj_perms_user_select_form or UserManage

    def get_obj_perms_group_select_form(self, request: HttpRequest | None) -> type[forms.Form]:
        """The form that picks a group: :class:`GroupManage`."""
        return self.obj_perms_group_select_form or GroupManage

    def get_obj_perms_manage_user_form(self, request: HttpRequest | None) -> type[forms.Form]:
        """The form of one user's grants: :class:`AdminUserObjectPermissionsForm`."""
        return self.obj_perms_manage_user_form or AdminUserObjectPermissionsForm

    def get_obj_perms_manage_group_form(self, request: HttpRequest | None) -> type[forms.Form]:
        """The form of one group's grants: :class:`AdminGroupObjectPermissionsForm`."""
        return self.obj_perms_manage_group_form or AdminGroupObjectPermissionsForm

    # -- views -----------------------------------------------------------------------------------

    def _denied(self, request: HttpRequest) -> HttpResponse | None:
        if self.has_change_permission(request, None):  # type: ignore[attr-defined]
            return None
        return redirect(reverse("admin:index", current_app=self.admin_site.name))

    def _url(self, name: str, *args: Any) -> str:
        info = self.admin_site.name, self.model._meta.app_label, self.model._meta.model_name
        return reverse("%s:%s_%s_" % info + name, args=[quote(arg) for arg in args])

    def _object(self, request: HttpRequest, object_pk: str) -> Model:
        return get_object_or_404(self.get_queryset(request), pk=unquote(object_pk))

    def obj_perms_manage_view(self, request: HttpRequest, object_pk: str) -> HttpResponse:
        """The object's page: every user and group holding an object grant on it, with their
        codenames, and the forms that open one user's or one group's page."""
        denied = self._denied(request)
        if denied is not None:
            return denied
        obj = self._object(request, object_pk)
        user_form_class = self.get_obj_perms_user_select_form(request)
        group_form_class = self.get_obj_perms_group_select_form(request)
        if request.method == "POST" and "submit_manage_user" in request.POST:
            user_form, group_form = user_form_class(request.POST), group_form_class(request.POST)
            if user_form.is_valid():
                return redirect(self._url("permissions_manage_user", obj.pk, user_form.cleaned_data["user"].pk))
        elif request.method == "POST" and "submit_manage_group" in request.POST:
            user_form, group_form = user_form_class(request.POST), group_form_class(request.POST)
            if group_form.is_valid():
                return redirect(self._url("permissions_manage_group", obj.pk, group_form.cleaned_data["group"].pk))
        else:
            user_form, group_form = user_form_class(), group_form_class()
        users_perms, groups_perms = holders(obj)
        context = self.get_obj_perms_base_context(request, obj)
        model_perms = list(context["model_perms"])
        page = self._url("permissions", obj.pk)
        context.update(
            {
                "users_perms": users_perms,
                "groups_perms": groups_perms,
                "user_form": user_form,
                "group_form": group_form,
                "user_rows": holder_rows(users_perms, model_perms, page + "user-manage/{}/"),
                "group_rows": holder_rows(groups_perms, model_perms, page + "group-manage/{}/"),
            }
        )
        request.current_app = self.admin_site.name
        return render(request, self.get_obj_perms_manage_template(), context)

    def _manage(
        self, request: HttpRequest, obj: Model, subject: Any, form_class: type[forms.Form], url_name: str
    ) -> tuple[HttpResponse | None, forms.Form, int]:
        """Binds and saves a subject's form, naming ``request.user`` as the actor (a form class
        that is not a :class:`BaseObjectPermissionsForm` of this module gets no actor): a
        redirect when saved, else the form (with Warden's reason as its error when refused) and
        the status of the page that shows it."""
        extra = {"actor": request.user} if issubclass(form_class, BaseObjectPermissionsForm) else {}
        posted = request.method == "POST"  # guardian binds "request.POST or None": an empty selection would not save
        form = form_class(subject, obj, request.POST if posted else None, **extra)
        if not posted or not form.is_valid():
            return None, form, 200
        try:
            form.save_obj_perms()
        except REFUSALS as error:
            form.add_error(None, gettext("Warden refused the change: %(reason)s") % {"reason": error.message})
            return None, form, 403
        messages.success(request, gettext("Permissions saved."))
        return redirect(self._url(url_name, obj.pk, subject.pk)), form, 302

    def obj_perms_manage_user_view(self, request: HttpRequest, object_pk: str, user_id: str) -> HttpResponse:
        """One user's object grants on the object, as a form; saving writes them to Warden."""
        denied = self._denied(request)
        if denied is not None:
            return denied
        user = get_object_or_404(get_user_model(), pk=unquote(user_id))
        obj = self._object(request, object_pk)
        form_class = self.get_obj_perms_manage_user_form(request)
        done, form, status = self._manage(request, obj, user, form_class, "permissions_manage_user")
        if done is not None:
            return done
        context = self.get_obj_perms_base_context(request, obj)
        context.update({"user_obj": user, "user_perms": get_user_perms(user, obj, accept_global_perms=False), "form": form})
        request.current_app = self.admin_site.name
        return render(request, self.get_obj_perms_manage_user_template(), context, status=status)

    def obj_perms_manage_group_view(self, request: HttpRequest, object_pk: str, group_id: str) -> HttpResponse:
        """One group's object grants on the object, as a form; saving writes them to Warden."""
        denied = self._denied(request)
        if denied is not None:
            return denied
        obj = self._object(request, object_pk)
        group = get_object_or_404(Group, pk=unquote(group_id))
        form_class = self.get_obj_perms_manage_group_form(request)
        done, form, status = self._manage(request, obj, group, form_class, "permissions_manage_group")
        if done is not None:
            return done
        context = self.get_obj_perms_base_context(request, obj)
        context.update({"group_obj": group, "group_perms": get_group_perms(group, obj, accept_global_perms=False), "form": form})
        request.current_app = self.admin_site.name
        return render(request, self.get_obj_perms_manage_group_template(), context, status=status)


class ReinforcedGuardedModelAdminMixin(GuardedModelAdminMixin):
    """:class:`GuardedModelAdminMixin` whose pages also need permissions of their own (model
    permissions, checked as ``request.user.has_perm``): to see the object's page, both
    :attr:`obj_perms_view_perms`; to open a user's or a group's page, :attr:`obj_perms_user_perm`
    or :attr:`obj_perms_group_perm`. The defaults are guardian's permission names (they exist
    when guardian is installed); a project without guardian names permissions of its own."""

    obj_perms_view_perms: Sequence[str] = (
        "guardian.view_userobjectpermission",
        "guardian.view_groupobjectpermission",
    )
    obj_perms_user_perm: str = "guardian.change_userobjectpermission"
    obj_perms_group_perm: str = "guardian.change_groupobjectpermission"

    def _lacks(self, request: HttpRequest, perms: Sequence[str]) -> HttpResponse | None:
        if all(request.user.has_perm(perm) for perm in perms):
            return None
        return redirect(reverse("admin:index", current_app=self.admin_site.name))

    def obj_perms_manage_view(self, request: HttpRequest, object_pk: str) -> HttpResponse:
        return self._lacks(request, self.obj_perms_view_perms) or super().obj_perms_manage_view(request, object_pk)

    def obj_perms_manage_user_view(self, request: HttpRequest, object_pk: str, user_id: str) -> HttpResponse:
        return self._lacks(request, [self.obj_perms_user_perm]) or super().obj_perms_manage_user_view(
            request, object_pk, user_id
        )

    def obj_perms_manage_group_view(self, request: HttpRequest, object_pk: str, group_id: str) -> HttpResponse:
        return self._lacks(request, [self.obj_perms_group_perm]) or super().obj_perms_manage_group_view(
            request, object_pk, group_id
        )


class GuardedModelAdmin(GuardedModelAdminMixin, admin.ModelAdmin):
    """``ModelAdmin`` with the object-permission pages (see the module doc)."""


class ReinforcedGuardedModelAdmin(ReinforcedGuardedModelAdminMixin, admin.ModelAdmin):
    """``ModelAdmin`` with the object-permission pages, guarded by their own permissions."""

