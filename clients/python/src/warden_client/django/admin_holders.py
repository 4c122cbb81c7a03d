"""The object-permissions page's data: who holds what on an object (one Warden ListSubjects
call), and its table rows with their cells rendered once in Python (a page of 100 holders and
six permissions is 600 cells; rendered by template tags they cost more than the rest of the
page together)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import Model
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from . import conf
from .identity import content_type_label, object_pk
from .querysets import filter_pks


def holders(obj: Model) -> tuple[dict[Any, list[str]], dict[Group, list[str]]]:
    """Who holds what on ``obj``: ``(users, groups)``, each a dict of instance → sorted
    codenames of its own object grants (guardian's ``get_users_with_perms(obj,
    attach_perms=True, with_group_users=False)`` and ``get_groups_with_perms(obj,
    attach_perms=True)``), from one ListSubjects call and one query each for the users and the
    groups. Users are sorted by ``USERNAME_FIELD``, groups by name. Inactive users are not
    listed (Warden lists no inactive user)."""
    answer = conf.get_client().list_subjects(
        content_type_label(obj),
        object_pk(obj),
        with_group_users=False,
        attach_perms=True,
        accept_global_perms=False,
    )
    user_model = get_user_model()
    by_id = {str(u.pk): u for u in filter_pks(user_model._default_manager.all(), list(answer.users))}
    users = {by_id[uid]: list(perms) for uid, perms in answer.users.items() if uid in by_id}
    by_name = {g.name: g for g in Group.objects.filter(name__in=list(answer.groups))}
    groups = {by_name[name]: list(perms) for name, perms in answer.groups.items() if name in by_name}
    field = user_model.USERNAME_FIELD
    return (
        dict(sorted(users.items(), key=lambda item: str(getattr(item[0], field)))),
        dict(sorted(groups.items(), key=lambda item: item[0].name)),
    )


@dataclass(frozen=True)
class HolderRow:
    """One row of a holders table: the user or group, its codenames (space-separated), the
    row's permission cells (``<td>`` elements, one per permission of the model) and the URL of
    its page."""

    holder: Any
    perms: str
    cells: SafeString
    edit_url: str


def holder_rows(found: dict[Any, list[str]], model_perms: list[Permission], manage_url: str) -> list[HolderRow]:
    """The rows of ``found`` (holder → codenames); ``manage_url``: the URL of the holder's page
    with ``{}`` where the holder's quoted pk goes."""
    from django.contrib.admin.utils import quote

    yes_src, no_src = static("admin/img/icon-yes.svg"), static("admin/img/icon-no.svg")
    cell = '<td class="held"><img src="{}" alt="{}" title="{}"></td>'
    yes = {p.codename: format_html(cell, yes_src, gettext("Yes"), p.codename) for p in model_perms}
    no = format_html('<td><img src="{}" alt="{}"></td>', no_src, gettext("No"))
    rows = []
    for holder, perms in found.items():
        held = set(perms)
        cells = "".join(yes[c] if c in held else no for c in yes)
        rows.append(HolderRow(holder, " ".join(perms), mark_safe(cells), manage_url.format(quote(holder.pk))))
    return rows
