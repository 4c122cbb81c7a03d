"""The admin's object-permission page, Warden's ``GuardedModelAdmin`` against django-guardian's,
on the same data in one run.

    clients/python/.venv/bin/python clients/python/bench/admin_bench.py [--warden-bin PATH]
        [--holders 100] [--background 200000] [--requests 200]

Builds, in the test project of ``tests_django`` (SQLite in a temporary folder) and in a fresh
Warden server (--warden-bin, default $WARDEN_BIN, else <repo>/.build/release/warden):

- a background: 10,000 users, 200 groups, 50,000 cars and --background object grants spread
  over them, in guardian's tables (``UserObjectPermission`` / ``GroupObjectPermission`` rows)
  and in Warden (one BulkGrant);
- one car with --holders holders (four users for each group), each holding one to three of the
  car's six permissions, in both.

Then a logged-in superuser requests the car's page through Django's test ``Client`` --requests
times on each side, in turns: ``/admin/drivers/car/<pk>/permissions/`` (Warden's admin) and
``/guardian-admin/drivers/car/<pk>/permissions/`` (guardian's ``GuardedModelAdmin`` on a second
admin site). The whole request is timed (middleware, session, view, template). Both pages must
list the same holders with the same codenames first. Prints p50 and p99; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PYTHON_CLIENT = HERE.parent
REPO = PYTHON_CLIENT.parents[1]
sys.path[:0] = [str(HERE)]

from django_bench import start_server  # noqa: E402  (the same server start as bench-django)

USERS, GROUPS, CARS = 10_000, 200, 50_000


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warden-bin", default=os.environ.get("WARDEN_BIN") or str(REPO / ".build/release/warden"))
    parser.add_argument("--holders", type=int, default=100, help="users and groups holding grants on the car (100)")
    parser.add_argument("--background", type=int, default=200_000, help="object grants on other cars (200,000)")
    parser.add_argument("--requests", type=int, default=200, help="page requests per side (200)")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    if not os.access(args.warden_bin, os.X_OK):
        parser.error(f"--warden-bin: {args.warden_bin} is not an executable (build: swift build -c release)")
    if args.holders < 5 or args.requests < 1 or args.background < 0:
        parser.error("--holders: at least 5; --requests: at least 1; --background: not negative")
    return args


def main() -> None:
    args = parse()
    folder = tempfile.mkdtemp(prefix="warden-admin-bench-")
    sys.path[:0] = [str(PYTHON_CLIENT / "tests_django"), str(PYTHON_CLIENT / "src")]
    os.environ["WARDEN_TEST_DIR"] = folder
    os.environ["DJANGO_SETTINGS_MODULE"] = "testproject.settings"
    server, _ = start_server(args.warden_bin, folder)
    try:
        run(args, folder)
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def urlconf() -> str:
    """A URL module with Warden's admin at /admin/ and guardian's at /guardian-admin/."""
    from django.contrib import admin
    from django.urls import path
    from drivers.models import Car
    from guardian.admin import GuardedModelAdmin as GuardianAdmin

    from testproject import admin_urls

    guardian_site = admin.AdminSite(name="guardian_admin")
    guardian_site.register(Car, GuardianAdmin)
    module = types.ModuleType("admin_bench_urls")
    module.urlpatterns = [path("guardian-admin/", guardian_site.urls), *admin_urls.urlpatterns]  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    return module.__name__


def run(args: argparse.Namespace, folder: str) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group, Permission, User
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import transaction
    from django.test import Client, override_settings
    from django.test.utils import setup_test_environment, teardown_test_environment
    from drivers.models import Car
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from warden_client.django.conf import get_client
    from warden_client.django.grants import grant_message, subject_message
    from warden_client.django.sync import sync

    call_command("migrate", verbosity=0)
    settings.ROOT_URLCONF = urlconf()
    rng = random.Random(args.seed)
    ct = ContentType.objects.get_for_model(Car)
    perms = list(Permission.objects.filter(content_type=ct).order_by("codename"))

    step = time.perf_counter()
    with override_settings(WARDEN_MIRROR=False), transaction.atomic():
        User.objects.bulk_create(User(username=f"user{i:05}", password="!") for i in range(USERS))
        Group.objects.bulk_create(Group(name=f"group {i:03}") for i in range(GROUPS))
        Car.objects.bulk_create((Car(name=f"car {i}") for i in range(CARS)), batch_size=10_000)
    users = list(User.objects.order_by("pk"))
    groups = list(Group.objects.order_by("pk"))
    cars = list(Car.objects.order_by("pk"))
    target, others = cars[0], cars[1:]
    n_groups = max(1, args.holders // 5)
    holders: list[tuple[Any, list[Permission]]] = [(u, rng.sample(perms, rng.randint(1, 3))) for u in users[: args.holders - n_groups]]
    holders += [(g, rng.sample(perms, rng.randint(1, 3))) for g in groups[:n_groups]]
    grants: list[tuple[Any, Permission, Car]] = [(who, p, target) for who, ps in holders for p in ps]
    grants += [
        (rng.choice(users) if n % 5 else rng.choice(groups), rng.choice(perms), rng.choice(others))
        for n in range(args.background)
    ]
    grants = list({(type(w), w.pk, p.pk, c.pk): (w, p, c) for w, p, c in grants}.values())  # distinct
    print(f"data set: {USERS:,} users, {GROUPS:,} groups, {CARS:,} cars, {len(grants):,} object grants; "
          f"the car: {args.holders} holders ({n_groups} groups); folder {folder}")

    with transaction.atomic():
        UserObjectPermission.objects.bulk_create(
            (UserObjectPermission(user=w, permission=p, content_type=ct, object_pk=str(c.pk))
             for w, p, c in grants if isinstance(w, User)), batch_size=10_000)
        GroupObjectPermission.objects.bulk_create(
            (GroupObjectPermission(group=w, permission=p, content_type=ct, object_pk=str(c.pk))
             for w, p, c in grants if isinstance(w, Group)), batch_size=10_000)
    sync()
    result = get_client().bulk_grant(
        grant_message(p.codename, subject_message("group", w.name) if isinstance(w, Group) else
                      subject_message("user", str(w.pk)), "drivers.car", str(c.pk))
        for w, p, c in grants)
    assert result.count == len(grants), (result.count, len(grants))
    print(f"setup (django tables, guardian rows, warden_sync, BulkGrant): {time.perf_counter() - step:.1f} s")

    root = User.objects.create_superuser("root", password="root")
    client = Client()
    client.force_login(root)
    pages = {
        "Warden": f"/admin/drivers/car/{target.pk}/permissions/",
        "django-guardian": f"/guardian-admin/drivers/car/{target.pk}/permissions/",
    }
    listed = {}
    setup_test_environment()  # response.context, for the check; off again for the timing
    for side, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (side, response.status_code)
        listed[side] = (
            {u.username: sorted(p) for u, p in response.context["users_perms"].items()},
            {g.name: sorted(p) for g, p in response.context["groups_perms"].items()},
        )
    assert listed["Warden"] == listed["django-guardian"], "the two pages list different holders"
    assert len(listed["Warden"][0]) + len(listed["Warden"][1]) == args.holders
    teardown_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]

    times: dict[str, list[float]] = {side: [] for side in pages}
    for _ in range(args.requests):
        for side, url in pages.items():
            start = time.perf_counter()
            response = client.get(url)
            times[side].append(time.perf_counter() - start)
            assert response.status_code == 200
    print(f"object-permission page of a car with {args.holders} holders, {args.requests} requests each:")
    for side, values in times.items():
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"  {side:16} p50 {statistics.median(values) * 1000:7.2f} ms   p99 {p99 * 1000:7.2f} ms")


if __name__ == "__main__":
    main()
