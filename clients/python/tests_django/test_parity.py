"""Parity with django-guardian: one seeded random data set in guardian's tables, copied into
Warden with ``warden_sync`` and ``warden_import_guardian``; thousands of random queries through
guardian's functions and backends and through Warden's shortcuts and backend. The answers are
equal, except the documented differences (``docs/semantics.md``, "Guardian quirks Warden does
not copy", and ``docs/django.md``): where one applies, Warden's answer is the documented one
(checked against a model of the semantics), and every documented difference must actually
show up in the run, so each is asserted as a difference."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.test import override_settings
from drivers.models import Car
from guardian import shortcuts as gs
from guardian.conf import settings as guardian_settings
from guardian.core import ObjectPermissionChecker as GuardianChecker
from parity_data import ALL, MODELS, World, generate

from warden_client.django import shortcuts as ws
from warden_client.django.identity import content_type_label
from warden_client.errors import InvalidArgument

pytestmark = pytest.mark.django_db(transaction=True)

SEED = 20261122
GUARDIAN_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "guardian.backends.ObjectPermissionBackend"]
WARDEN_BACKENDS = ["warden_client.django.backends.WardenBackend"]


@contextmanager
def backends(names: list[str], **settings: Any) -> Iterator[None]:
    with override_settings(AUTHENTICATION_BACKENDS=names, **settings):
        yield


def pk_set(queryset: Any) -> set[str]:
    return {str(pk) for pk in queryset.values_list("pk", flat=True)}


class Tally:
    """Counts compared answers and, per documented difference, the queries where it applied
    and the ones where guardian's answer really differed."""

    def __init__(self) -> None:
        self.compared = 0
        self.applied: Counter[str] = Counter()
        self.differed: Counter[str] = Counter()

    def same(self, what: str, guardian: Any, warden: Any) -> None:
        self.compared += 1
        assert warden == guardian, f"{what}: guardian {guardian!r} != warden {warden!r}"

    def documented(self, quirk: str, what: str, guardian: Any, warden: Any, expected: Any) -> None:
        """A query a documented difference applies to: Warden answers ``expected``."""
        self.compared += 1
        self.applied[quirk] += 1
        assert warden == expected, f"{what} [{quirk}]: warden {warden!r} != documented {expected!r}"
        if guardian != warden:
            self.differed[quirk] += 1


@pytest.fixture
def world() -> World:
    data = generate(SEED)
    out = StringIO()
    call_command("warden_sync", stdout=out)
    call_command("warden_import_guardian", stdout=out)
    assert "0 skipped" in out.getvalue()
    return data


def objects_of(model: Any) -> list[Any]:
    return list(model.objects.order_by("pk"))


def test_parity_checks_and_permission_sets(world: World) -> None:
    rng = random.Random(SEED + 1)
    tally = Tally()
    users = list(User.objects.order_by("pk"))
    groups = list(Group.objects.order_by("name"))
    queries = []
    for _ in range(2000):
        model = rng.choice(MODELS)
        obj = rng.choice(objects_of(model)[:12])
        ct = content_type_label(model)
        codename = rng.choice(world.codenames[ct])
        perm = codename if rng.random() < 0.4 or codename == "drive" else f"{ct.split('.')[0]}.{codename}"
        queries.append((rng.choice(users).pk, perm, obj))
    subject_queries = []
    for _ in range(600):
        model = rng.choice(MODELS)
        obj = rng.choice(objects_of(model)[:12])
        subject = rng.choice(groups) if rng.random() < 0.25 else rng.choice(users)
        subject_queries.append((subject, obj))

    def answers(names: list[str], **settings: Any) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"has_perm": [], "model": [], "all": [], "perms": [], "user": [], "group": []}
        with backends(names, **settings):
            for uid, perm, obj in queries:
                out["has_perm"].append(User.objects.get(pk=uid).has_perm(perm, obj))  # a fresh user each call
            for user in users:
                fresh = User.objects.get(pk=user.pk)
                out["model"].append(
                    [fresh.has_perm(p) for p in ("drivers.view_car", "drivers.drive", "shop.change_order")]
                )
                out["all"].append(User.objects.get(pk=user.pk).get_all_permissions())
        return out

    guardian = answers(GUARDIAN_BACKENDS)
    strict = answers(WARDEN_BACKENDS, WARDEN_ACCEPT_GLOBAL_PERMS=False)
    default = answers(WARDEN_BACKENDS, WARDEN_ACCEPT_GLOBAL_PERMS=True)
    for i, (uid, perm, obj) in enumerate(queries):
        what = f"user {uid}.has_perm({perm!r}, {obj!r})"
        tally.same(what + " with accept_global_perms=False", guardian["has_perm"][i], strict["has_perm"][i])
        ct = content_type_label(obj)
        codename = perm.split(".")[-1]
        active, superuser = world.users[str(uid)]
        by_model = active and not superuser and world.holds_model(world.sources("user", str(uid)), ct, codename)
        if by_model:
            tally.documented("model grants imply object access", what, guardian["has_perm"][i],
                             default["has_perm"][i], True)
        else:
            tally.same(what, guardian["has_perm"][i], default["has_perm"][i])
    for i, user in enumerate(users):
        tally.same(f"user {user.pk} model-level has_perm", guardian["model"][i], default["model"][i])
        tally.same(f"user {user.pk}.get_all_permissions()", guardian["all"][i], default["all"][i])

    for subject, obj in subject_queries:
        what = f"{subject!r} on {obj!r}"
        g_perms = set(gs.get_perms(subject, obj))
        g_group = list(gs.get_group_perms(subject, obj))
        tally.same("get_perms " + what, g_perms, set(ws.get_perms(subject, obj, accept_global_perms=False)))
        w_group = list(ws.get_group_perms(subject, obj, accept_global_perms=False))
        if len(g_group) != len(set(g_group)):
            tally.documented("get_group_perms repeats a codename per group", "get_group_perms " + what, g_group,
                             sorted(w_group), sorted(set(g_group)))
        else:
            tally.same("get_group_perms " + what, set(g_group), set(w_group))
        if isinstance(subject, User):
            g_user = set(gs.get_user_perms(subject, obj))
            tally.same("get_user_perms " + what, g_user,
                       set(ws.get_user_perms(subject, obj, accept_global_perms=False)))
            checker = GuardianChecker(subject)
            with backends(GUARDIAN_BACKENDS):
                g_all = subject.get_all_permissions(obj)
            with backends(WARDEN_BACKENDS, WARDEN_ACCEPT_GLOBAL_PERMS=False):
                w_all = User.objects.get(pk=subject.pk).get_all_permissions(obj)
            tally.same("get_all_permissions " + what, g_all, w_all)
            tally.same("checker " + what, set(checker.get_perms(obj)), set(ws.get_perms(subject, obj,
                                                                                       accept_global_perms=False)))
        # accept_global_perms=True: the documented answer (model grants count)
        kind, name = ("group", subject.name) if isinstance(subject, Group) else ("user", str(subject.pk))
        ct, pk = content_type_label(obj), str(obj.pk)
        expected: set[str]
        if kind == "user" and not world.users[name][0]:
            expected = set()
        elif kind == "user" and world.users[name][1]:
            expected = set(world.codenames[ct])
        else:
            expected = world.perms_on(kind, name, ct, pk, True, True)
        tally.documented("get_perms counts model grants", "get_perms " + what, g_perms,
                         set(ws.get_perms(subject, obj, accept_global_perms=True)), expected)
    assert tally.compared > 5000
    assert tally.differed["model grants imply object access"] > 0
    assert tally.differed["get_perms counts model grants"] > 0
    assert tally.differed["get_group_perms repeats a codename per group"] > 0


def test_parity_object_lists(world: World) -> None:
    rng = random.Random(SEED + 2)
    tally = Tally()
    users = list(User.objects.order_by("pk"))
    groups = list(Group.objects.order_by("name"))
    for i in range(1200):
        model = rng.choice(MODELS)
        ct = content_type_label(model)
        app = ct.split(".")[0]
        codenames = rng.sample(world.codenames[ct], rng.choice([1, 1, 2, 2, 3]))
        use_klass = "drive" in codenames or rng.random() < 0.5
        perms = codenames if use_klass and rng.random() < 0.5 else [f"{app}.{c}" for c in codenames]
        if "drive" in codenames:
            perms = codenames
        klass = rng.choice([model, model.objects, model.objects.all()]) if use_klass else None
        kwargs = {
            "use_groups": rng.random() < 0.75,
            "any_perm": rng.random() < 0.3,
            "with_superuser": rng.random() < 0.75,
            "accept_global_perms": rng.random() < 0.6,
        }
        if i % 5 == 4:
            group = rng.choice(groups)
            del kwargs["use_groups"], kwargs["with_superuser"]
            what = f"get_objects_for_group({group.name!r}, {perms}, {kwargs})"
            g = pk_set(gs.get_objects_for_group(group, perms, klass, **kwargs))
            w = pk_set(ws.get_objects_for_group(group, perms, klass, **kwargs))
            tally.same(what, g, w)
            continue
        user = rng.choice(users)
        what = f"get_objects_for_user(user {user.pk}, {perms}, {kwargs})"
        with backends(GUARDIAN_BACKENDS):
            g = pk_set(gs.get_objects_for_user(user, perms, klass, **kwargs))
        w = pk_set(ws.get_objects_for_user(user, perms, klass, **kwargs))
        reference = world.list_objects("user", str(user.pk), ct, codenames, **kwargs)
        expected = set(world.pks[ct]) if reference == ALL else reference
        active, superuser = world.users[str(user.pk)]
        agp, with_su = kwargs["accept_global_perms"], kwargs["with_superuser"]
        if not active:
            tally.documented("inactive users get nothing", what, g, w, expected)
        elif agp and not with_su and not superuser:
            tally.documented("accept_global_perms does not need with_superuser", what, g, w, expected)
        elif agp and with_su and not kwargs["use_groups"]:
            tally.documented("use_groups=False ignores group model grants", what, g, w, expected)
        elif agp and with_su and "drive" in codenames:
            tally.documented("model grants count only for their own type", what, g, w, expected)
        else:
            tally.same(what, g, w)
            assert w == expected, f"{what}: warden {w} != semantics {expected}"
    assert tally.compared >= 1200
    for quirk in (
        "inactive users get nothing",
        "accept_global_perms does not need with_superuser",
        "use_groups=False ignores group model grants",
        "model grants count only for their own type",
    ):
        assert tally.differed[quirk] > 0, f"{quirk}: never differed from guardian in {tally.applied[quirk]} queries"


def test_parity_who_has_access(world: World) -> None:
    rng = random.Random(SEED + 3)
    tally = Tally()
    for _ in range(400):
        model = rng.choice(MODELS)
        obj = rng.choice(objects_of(model)[:12])
        ct, pk = content_type_label(model), str(obj.pk)
        only = rng.sample(world.codenames[ct], rng.choice([1, 2])) if rng.random() < 0.3 else None
        kwargs = {
            "attach_perms": rng.random() < 0.5,
            "with_superusers": rng.random() < 0.3,
            "with_group_users": rng.random() < 0.7,
            "only_with_perms_in": only,
        }
        what = f"get_users_with_perms({obj!r}, {kwargs})"
        g_raw = gs.get_users_with_perms(obj, **kwargs)
        w_raw = ws.get_users_with_perms(obj, accept_global_perms=False, **kwargs)
        if kwargs["attach_perms"]:
            g = {str(u.pk): sorted(p) for u, p in g_raw.items()}
            w = {str(u.pk): sorted(p) for u, p in w_raw.items()}
        else:
            g, w = {str(u.pk) for u in g_raw}, {str(u.pk) for u in w_raw}
        if isinstance(g, dict):
            g_active: Any = {k: v for k, v in g.items() if world.users[k][0]}
        else:
            g_active = {k for k in g if world.users[k][0]}
        ref_users, ref_groups = world.list_subjects(ct, pk, only, kwargs["with_superusers"],
                                                    kwargs["with_group_users"], False)
        expected: Any = ref_users if kwargs["attach_perms"] else set(ref_users)
        if g != g_active:
            tally.documented("inactive users are never listed", what, g, w, expected)
        elif kwargs["attach_perms"] and kwargs["with_superusers"] and not kwargs["with_group_users"]:
            tally.documented("with_group_users=False attaches own grants only", what, g, w, expected)
        else:
            tally.same(what, g, w)
        # model grants count by default: the documented answer
        ref_users, ref_groups = world.list_subjects(ct, pk, only, kwargs["with_superusers"],
                                                    kwargs["with_group_users"], True)
        w_raw = ws.get_users_with_perms(obj, accept_global_perms=True, **kwargs)
        w = {str(u.pk): p for u, p in w_raw.items()} if kwargs["attach_perms"] else {str(u.pk) for u in w_raw}
        tally.documented("get_users_with_perms counts model grants", what, g, w,
                         ref_users if kwargs["attach_perms"] else set(ref_users))
        # groups
        g_groups = gs.get_groups_with_perms(obj, attach_perms=True, only_with_perms_in=only)
        w_groups = ws.get_groups_with_perms(obj, attach_perms=True, only_with_perms_in=only, accept_global_perms=False)
        tally.same("get_groups_with_perms " + what, {gr.name: sorted(p) for gr, p in g_groups.items()},
                   {gr.name: sorted(p) for gr, p in w_groups.items()})
        w_groups = ws.get_groups_with_perms(obj, attach_perms=True, only_with_perms_in=only, accept_global_perms=True)
        ref_users, ref_groups = world.list_subjects(ct, pk, only, False, True, True)
        tally.same("get_groups_with_perms (model grants count) " + what, ref_groups,
                   {gr.name: sorted(p) for gr, p in w_groups.items()})
    assert tally.compared >= 1500
    assert tally.differed["inactive users are never listed"] > 0
    assert tally.differed["get_users_with_perms counts model grants"] > 0
    assert tally.differed["with_group_users=False attaches own grants only"] > 0


def test_parity_prefetched_checkers(world: World) -> None:
    """guardian's ObjectPermissionChecker after prefetch_perms against Warden's (one
    BatchGetPermissions per type) and check_perms, for every subject and object: the same
    codenames and the same has_perm answers (model grants off, guardian's reading)."""
    from warden_client.django.core import ObjectPermissionChecker as WardenChecker

    tally = Tally()
    subjects: list[Any] = list(User.objects.order_by("pk")) + list(Group.objects.order_by("name"))
    with backends(GUARDIAN_BACKENDS, WARDEN_ACCEPT_GLOBAL_PERMS=False):
        for subject in subjects:
            for model in MODELS:
                objects = objects_of(model)
                codenames = world.codenames[content_type_label(model)]
                guardian, warden = GuardianChecker(subject), WardenChecker(subject)
                guardian.prefetch_perms(objects)
                warden.prefetch_perms(objects)
                checks = [(codename, obj) for obj in objects for codename in codenames]
                for obj in objects:
                    tally.same(f"prefetched get_perms {subject!r} {obj!r}", set(guardian.get_perms(obj)),
                               set(warden.get_perms(obj)))
                g_answers = [guardian.has_perm(codename, obj) for codename, obj in checks]
                tally.same(f"prefetched has_perm {subject!r} {model.__name__}", g_answers,
                           [warden.has_perm(codename, obj) for codename, obj in checks])
                tally.same(f"check_perms {subject!r} {model.__name__}", g_answers, ws.check_perms(subject, checks))
    assert tally.compared > 1000


def test_documented_differences_one_by_one(world: World) -> None:
    """The quirks the random queries cannot reach, each shown on a small case."""
    car = Car.objects.order_by("pk").first()
    user = User.objects.create_user("quirky")
    gs.assign_perm("change_car", user, car)
    ws.assign_perm("change_car", user, car)
    # guardian's checker drops a mismatched app label unchecked; Warden checks it
    assert GuardianChecker(user).has_perm("shop.change_car", car) is True
    assert ws.get_perms(user, car) == ["change_car"]
    assert User.objects.get(pk=user.pk).has_perm("shop.change_car", car) is False  # unknown permission
    with pytest.raises(InvalidArgument):
        User.objects.get(pk=user.pk).has_perm("drivers.change_truck", car)  # another type of the same app
    assert GuardianChecker(user).has_perm("drivers.change_truck", car) is False

    # several permissions with a model grant: guardian < 3.5.1 (or its legacy setting) let group
    # rows match on any one permission; Warden (and guardian 3.5.2) need all of them
    staff = Group.objects.create(name="quirk staff")
    user.groups.add(staff)
    user.user_permissions.add(Permission.objects.get(codename="view_car"))
    gs.assign_perm("delete_car", staff, car)
    perms = ["drivers.view_car", "drivers.delete_car", "drivers.publish_car"]
    with backends(GUARDIAN_BACKENDS):
        assert gs.get_objects_for_user(User.objects.get(pk=user.pk), perms).count() == 0
        legacy = guardian_settings.LEGACY_GLOBAL_PERMS_GROUP_UNION
        guardian_settings.LEGACY_GLOBAL_PERMS_GROUP_UNION = True
        try:
            with pytest.warns(DeprecationWarning):
                assert list(gs.get_objects_for_user(User.objects.get(pk=user.pk), perms)) == [car]
        finally:
            guardian_settings.LEGACY_GLOBAL_PERMS_GROUP_UNION = legacy
    assert ws.get_objects_for_user(User.objects.get(pk=user.pk), perms).count() == 0
