"""The parity data set: seeded random users, groups, memberships, model grants and guardian
object permissions, written through the ORM and guardian with mirroring off (as a project that
migrates from guardian has them), and an in-memory copy with Warden's documented semantics
(``docs/semantics.md``) for the queries where guardian's answer is a documented quirk."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.test import override_settings
from drivers.models import Car, Truck
from guardian.models import GroupObjectPermission, UserObjectPermission
from shop.models import Order

from warden_client.django.identity import content_type_label

MODELS: list[type[Model]] = [Car, Truck, Order]

ALL = "ALL"


@dataclass
class World:
    """What was generated, as plain data."""

    users: dict[str, tuple[bool, bool]] = field(default_factory=dict)  # id -> (active, superuser)
    groups: list[str] = field(default_factory=list)
    member_of: dict[str, set[str]] = field(default_factory=dict)
    model_grants: set[tuple[str, str, str, str]] = field(default_factory=set)  # kind, name, ct, codename
    object_grants: set[tuple[str, str, str, str, str]] = field(default_factory=set)  # kind, name, ct, pk, codename
    codenames: dict[str, list[str]] = field(default_factory=dict)  # ct -> codenames
    pks: dict[str, list[str]] = field(default_factory=dict)  # ct -> pks

    # -- Warden's semantics -----------------------------------------------------------------

    def sources(self, kind: str, name: str, use_groups: bool = True) -> list[tuple[str, str]]:
        if kind == "group":
            return [("group", name)]
        found = [("user", name)]
        if use_groups:
            found += [("group", g) for g in sorted(self.member_of.get(name, ()))]
        return found

    def holds_model(self, sources: list[tuple[str, str]], ct: str, codename: str) -> bool:
        return any((k, n, ct, codename) in self.model_grants for k, n in sources)

    def held_on(self, sources: list[tuple[str, str]], ct: str, pk: str) -> set[str]:
        return {c for k, n in sources for c in self.codenames[ct] if (k, n, ct, pk, c) in self.object_grants}

    def list_objects(
        self, kind: str, name: str, ct: str, codenames: list[str], any_perm: bool, use_groups: bool,
        with_superuser: bool, accept_global_perms: bool,
    ) -> str | set[str]:
        """ListObjects as docs/semantics.md defines it: ``ALL`` or the set of pks."""
        if kind == "user":
            if name not in self.users:
                return set()
            active, superuser = self.users[name]
            if not active:
                return set()
            if with_superuser and superuser:
                return ALL
        wanted = list(dict.fromkeys(codenames))
        if not wanted:
            wanted, any_perm = list(self.codenames[ct]), True
        sources = self.sources(kind, name, use_groups)
        remaining = wanted
        if accept_global_perms:
            by_model = [c for c in wanted if self.holds_model(sources, ct, c)]
            if by_model and (len(by_model) == len(wanted) or any_perm):
                return ALL
            remaining = [c for c in wanted if c not in by_model]
        found = set()
        for pk in self.pks[ct]:
            held = self.held_on(sources, ct, pk)
            if (any_perm and held & set(remaining)) or (not any_perm and set(remaining) <= held):
                found.add(pk)
        return found

    def perms_on(self, kind: str, name: str, ct: str, pk: str, with_group_users: bool, agp: bool) -> set[str]:
        sources = self.sources(kind, name, with_group_users)
        held = self.held_on(sources, ct, pk)
        if agp:
            held |= {c for c in self.codenames[ct] if self.holds_model(sources, ct, c)}
        return held

    def list_subjects(
        self, ct: str, pk: str, only: list[str] | None, with_superusers: bool, with_group_users: bool, agp: bool
    ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """ListSubjects as docs/semantics.md defines it: users and groups with sorted codenames."""
        wanted = set(only or [])
        users: dict[str, list[str]] = {}
        for uid, (active, superuser) in self.users.items():
            if not active:
                continue
            held = self.perms_on("user", uid, ct, pk, with_group_users, agp)
            if (with_superusers and superuser) or (held and (not wanted or held & wanted)):
                # a listed superuser holds every codename (guardian attaches get_perms), except
                # when only the user's own grants are asked for
                everything = superuser and (with_superusers or with_group_users)
                users[uid] = sorted(self.codenames[ct]) if everything else sorted(held)
        groups: dict[str, list[str]] = {}
        for name in self.groups:
            held = self.perms_on("group", name, ct, pk, False, agp)
            if held and (not wanted or held & wanted):
                groups[name] = sorted(held)
        return users, groups


def generate(seed: int, *, users: int = 60, groups: int = 8, objects: int = 40, grants: int = 1500) -> World:
    """Write a random data set into Django's and guardian's tables (mirroring off)."""
    rng = random.Random(seed)
    world = World()
    with override_settings(WARDEN_MIRROR=False):
        made_users = []
        for i in range(users):
            roll = rng.random()
            active = roll > 0.12
            superuser = rng.random() < 0.08
            user = User.objects.create(username=f"user{i}", is_active=active, is_superuser=superuser)
            made_users.append(user)
        made_groups = [Group.objects.create(name=f"group {i}") for i in range(groups)]
        for user in made_users:
            for group in rng.sample(made_groups, rng.choice([0, 1, 1, 2, 3])):
                user.groups.add(group)
        for model in MODELS:
            ct = ContentType.objects.get_for_model(model)
            label = content_type_label(model)
            world.codenames[label] = sorted(Permission.objects.filter(content_type=ct).values_list("codename", flat=True))
            if model is Order:
                rows = [Order.objects.create(code=rng.choice(["/srv/", "a b/", "é/", ""]) + str(i)) for i in range(objects)]
            else:
                rows = [model.objects.create(name=f"{label} {i}") for i in range(objects)]
            world.pks[label] = [str(row.pk) for row in rows]
        # model grants: a few per user and group, the shared `drive` codename included
        all_perms = list(Permission.objects.filter(content_type__app_label__in=["drivers", "shop"]))
        for user in made_users:
            for perm in rng.sample(all_perms, rng.choice([0, 0, 0, 1, 2])):
                user.user_permissions.add(perm)
        for group in made_groups:
            for perm in rng.sample(all_perms, rng.choice([0, 1, 2])):
                group.permissions.add(perm)
        # object permissions through guardian's tables
        perms_by_ct = {
            content_type_label(m): list(Permission.objects.filter(content_type=ContentType.objects.get_for_model(m)))
            for m in MODELS
        }
        user_rows, group_rows, seen = [], [], set()
        for _ in range(grants):
            model = rng.choice(MODELS)
            label = content_type_label(model)
            ct = ContentType.objects.get_for_model(model)
            pk = rng.choice(world.pks[label][: max(4, objects // (1 if rng.random() < 0.5 else 4))])
            perm = rng.choice(perms_by_ct[label])
            if rng.random() < 0.7:
                user = rng.choice(made_users)
                key = ("user", str(user.pk), label, pk, perm.codename)
                if key not in seen:
                    user_rows.append(UserObjectPermission(user=user, permission=perm, content_type=ct, object_pk=pk))
            else:
                group = rng.choice(made_groups)
                key = ("group", group.name, label, pk, perm.codename)
                if key not in seen:
                    group_rows.append(GroupObjectPermission(group=group, permission=perm, content_type=ct, object_pk=pk))
            seen.add(key)
        UserObjectPermission.objects.bulk_create(user_rows)
        GroupObjectPermission.objects.bulk_create(group_rows)
    for user in User.objects.all():
        world.users[str(user.pk)] = (user.is_active, user.is_superuser)
        world.member_of[str(user.pk)] = set(user.groups.values_list("name", flat=True))
        for perm in user.user_permissions.select_related("content_type"):
            world.model_grants.add(("user", str(user.pk), f"{perm.content_type.app_label}.{perm.content_type.model}",
                                    perm.codename))
    world.groups = sorted(Group.objects.values_list("name", flat=True))
    for group in Group.objects.all():
        for perm in group.permissions.select_related("content_type"):
            world.model_grants.add(("group", group.name, f"{perm.content_type.app_label}.{perm.content_type.model}",
                                    perm.codename))
    world.object_grants = seen
    return world
