"""django-guardian on SQLite against Warden, side by side, on the same data set in one run.

    clients/python/.venv/bin/python clients/python/bench/django_bench.py [--scale 1.0] [--warden-bin PATH]

Builds the data set of issue 6 (at --scale 1: 10,000 users, 200 groups, 100,000 objects and
1,000,000 object grants; every count is multiplied by --scale) in a fresh Django project
(the test project of ``tests_django``, SQLite in a temporary folder) and in a fresh Warden
server started from --warden-bin (default $WARDEN_BIN, else <repo>/.build/release/warden),
then measures each operation through guardian's API and through Warden's Django integration
(the same calls an app makes) and prints both and the ratio:

- bulk assignment of the grants (guardian's ``assign_perm(perm, subject, objects)``, which
  bulk-creates, against one BulkGrant stream);
- ``user.has_perm(perm, obj)`` with a fresh user object each call;
- prefetched checks, 300 times (guardian's ``ObjectPermissionChecker.prefetch_perms`` then
  ``has_perm`` on 100 objects, against ``check_perms``: the 100 checks answered by one BatchGetPermissions; and
  against Warden's drop-in checker doing the same calls as guardian's: ``prefetch_perms`` (one
  BatchGetPermissions) then ``has_perm`` from its cache);
- ``get_objects_for_user`` for a user with ~10 objects and one with ~50,000 (the queryset
  evaluated to its pks on both sides; Warden's raw ListObjects is shown too);
- ``get_users_with_perms(obj)`` evaluated, for objects with ~100 users through groups.

Every answer compared is checked equal on both sides first. Figures are from one run on
whatever machine runs it; they are not asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PYTHON_CLIENT = HERE.parent
REPO = PYTHON_CLIENT.parents[1]

GUARDIAN_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "guardian.backends.ObjectPermissionBackend"]
WARDEN_BACKENDS = ["warden_client.django.backends.WardenBackend"]


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count of the data set (1.0)")
    parser.add_argument("--warden-bin", default=os.environ.get("WARDEN_BIN") or str(REPO / ".build/release/warden"))
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--checks", type=int, default=3000, help="has_perm calls per side (3000)")
    args = parser.parse_args()
    if not 0 < args.scale <= 1.0:
        parser.error("--scale: must be in (0, 1]")
    if not os.access(args.warden_bin, os.X_OK):
        parser.error(f"--warden-bin: {args.warden_bin} is not an executable (build: swift build -c release)")
    return args


def start_server(binary: str, folder: str) -> tuple[subprocess.Popen[bytes], str]:
    socket = os.path.join(folder, "warden.sock")
    log = open(os.path.join(folder, "warden.log"), "ab")
    process = subprocess.Popen(
        [binary, "serve", "--socket", socket, "--database", os.path.join(folder, "warden.db"), "--log-level", "warning"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    from warden_client import Client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"warden serve exited with {process.returncode}; see {folder}/warden.log")
        if os.path.exists(socket):
            try:
                with Client(socket, timeout=2.0) as client:
                    client.health()
                    return process, socket
            except Exception:
                pass
        time.sleep(0.05)
    raise SystemExit("warden serve did not answer within 60 s")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def per_call(fn: Callable[[Any], Any], inputs: list[Any]) -> tuple[list[float], list[Any]]:
    """Seconds of each call and the answers."""
    times, answers = [], []
    for item in inputs:
        start = time.perf_counter()
        answers.append(fn(item))
        times.append(time.perf_counter() - start)
    return times, answers


def interleaved(fns: list[Callable[[Any], Any]], inputs: list[Any]) -> list[tuple[list[float], list[Any]]]:
    """``per_call`` of each function, taking turns input by input."""
    out: list[tuple[list[float], list[Any]]] = [([], []) for _ in fns]
    for item in inputs:
        for fn, (times, answers) in zip(fns, out):
            start = time.perf_counter()
            answers.append(fn(item))
            times.append(time.perf_counter() - start)
    return out


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def rate(self, what: str, guardian_per_s: float, warden_per_s: float, unit: str) -> None:
        self.rows.append((what, f"{guardian_per_s:,.0f} {unit}", f"{warden_per_s:,.0f} {unit}",
                          f"{warden_per_s / guardian_per_s:,.1f}x"))

    def latency(self, what: str, guardian_s: list[float], warden_s: list[float]) -> None:
        g, w = statistics.median(guardian_s), statistics.median(warden_s)
        self.rows.append((what, fmt(g), fmt(w), f"{g / w:,.1f}x"))

    def note(self, what: str, guardian: str, warden: str) -> None:
        self.rows.append((what, guardian, warden, ""))

    def print(self) -> None:
        widths = [max(len(r[i]) for r in self.rows + [self.header()]) for i in range(4)]
        for row in [self.header()] + self.rows:
            print("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))

    @staticmethod
    def header() -> tuple[str, str, str, str]:
        return ("operation", "django-guardian", "Warden", "Warden faster")


def fmt(seconds: float) -> str:
    if seconds >= 0.1:
        return f"{seconds * 1000:,.0f} ms p50"
    if seconds >= 0.001:
        return f"{seconds * 1000:,.2f} ms p50"
    return f"{seconds * 1e6:,.0f} us p50"


def main() -> None:
    args = parse()
    folder = tempfile.mkdtemp(prefix="warden-django-bench-")
    sys.path[:0] = [str(PYTHON_CLIENT / "tests_django"), str(PYTHON_CLIENT / "src")]
    os.environ["WARDEN_TEST_DIR"] = folder
    os.environ["DJANGO_SETTINGS_MODULE"] = "testproject.settings"
    server, socket = start_server(args.warden_bin, folder)
    try:
        run(args, folder)
    finally:
        server.terminate()
        server.wait(timeout=60)


def run(args: argparse.Namespace, folder: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.test import override_settings

    call_command("migrate", verbosity=0)

    from django.contrib.auth.models import Group, User
    from drivers.models import Car
    from guardian import shortcuts as gs
    from guardian.core import ObjectPermissionChecker as GuardianChecker

    from warden_client.django import shortcuts as ws
    from warden_client.django.conf import get_client
    from warden_client.django.core import ObjectPermissionChecker as WardenChecker
    from warden_client.django.grants import grant_message, subject_message
    from warden_client.django.sync import sync

    s = args.scale
    n_users, n_groups, n_objects = max(20, int(10_000 * s)), max(2, int(200 * s)), max(100, int(100_000 * s))
    heavy_count, light_change, light_view, group_objects = int(50_000 * s), 10, 75, max(5, int(500 * s))
    rng = random.Random(args.seed)
    print(f"data set: {n_users:,} users, {n_groups:,} groups, {n_objects:,} objects (scale {s}); folder {folder}")

    step = time.perf_counter()
    with override_settings(WARDEN_MIRROR=False), transaction.atomic():
        User.objects.bulk_create(User(username=f"user{i}", password="!") for i in range(n_users))
        Group.objects.bulk_create(Group(name=f"group {i}") for i in range(n_groups))
        Car.objects.bulk_create((Car(name=f"car {i}") for i in range(n_objects)), batch_size=10_000)
        users = list(User.objects.filter(username__startswith="user").order_by("pk"))
        groups = list(Group.objects.order_by("pk"))
        through = User.groups.through
        through.objects.bulk_create(
            (through(user_id=u.pk, group_id=g.pk) for u in users for g in rng.sample(groups, rng.choice([1, 2]))),
            batch_size=10_000,
        )
    cars = list(Car.objects.order_by("pk"))
    sync()
    print(f"django tables and warden_sync: {time.perf_counter() - step:.1f} s")

    heavy, light = users[0], users[1:]
    plan: list[tuple[Any, str, list[Any]]] = []  # (subject, codename, objects)
    plan.append((heavy, "change_car", rng.sample(cars, min(heavy_count, len(cars)))))
    for user in light:
        picks = rng.sample(cars, light_change + light_view)
        plan.append((user, "change_car", picks[:light_change]))
        plan.append((user, "view_car", picks[light_change:]))
    for group in groups:
        plan.append((group, "delete_car", rng.sample(cars, group_objects)))
    total = sum(len(objs) for _, _, objs in plan)
    print(f"grants: {total:,}")
    report = Report()

    # -- bulk assignment -----------------------------------------------------------------------
    def guardian_bulk() -> None:
        for subject, codename, objs in plan:
            for start in range(0, len(objs), 10_000):
                gs.assign_perm(codename, subject, objs[start : start + 10_000])

    def warden_grants() -> Any:
        for subject, codename, objs in plan:
            if isinstance(subject, Group):
                message = subject_message("group", subject.name)
            else:
                message = subject_message("user", str(subject.pk))
            for obj in objs:
                yield grant_message(codename, message, "drivers.car", str(obj.pk))

    g_s, _ = timed(guardian_bulk)
    print(f"guardian bulk assign: {g_s:.1f} s")
    w_s, result = timed(lambda: get_client().bulk_grant(warden_grants()))
    print(f"warden bulk grant: {w_s:.1f} s ({result.count:,} new)")
    assert result.count == total, (result.count, total)
    report.rate(f"bulk assign {total:,} grants", total / g_s, total / w_s, "grants/s")

    # -- has_perm, a fresh user each call ------------------------------------------------------
    pairs = []
    for _ in range(args.checks):
        subject, codename, objs = rng.choice(plan[: len(light) * 2 + 1])
        user = subject if isinstance(subject, User) else light[0]
        obj = rng.choice(objs) if rng.random() < 0.5 else rng.choice(cars)
        pairs.append((user.pk, f"drivers.{codename}", obj))
    fresh = [(User.objects.get(pk=uid), perm, obj) for uid, perm, obj in pairs]
    fresh_again = [(User.objects.get(pk=uid), perm, obj) for uid, perm, obj in pairs]
    with override_settings(AUTHENTICATION_BACKENDS=GUARDIAN_BACKENDS):
        g_times, g_ans = per_call(lambda t: t[0].has_perm(t[1], t[2]), fresh)
    with override_settings(AUTHENTICATION_BACKENDS=WARDEN_BACKENDS, WARDEN_ACCEPT_GLOBAL_PERMS=False):
        w_times, w_ans = per_call(lambda t: t[0].has_perm(t[1], t[2]), fresh_again)
    assert g_ans == w_ans, "has_perm answers differ"
    report.rate("user.has_perm(perm, obj)", len(g_times) / sum(g_times), len(w_times) / sum(w_times), "checks/s")
    report.latency("user.has_perm(perm, obj) latency", g_times, w_times)

    # -- prefetched checks ---------------------------------------------------------------------
    batches = [(rng.choice(light), rng.sample(cars, 100)) for _ in range(300)]

    def prefetched(checker_class: type, item: tuple[Any, list[Any]]) -> list[bool]:
        user, objs = item
        checker = checker_class(user)
        checker.prefetch_perms(objs)
        return [checker.has_perm("change_car", obj) for obj in objs]

    sides: list[Callable[[Any], Any]] = [
        lambda item: prefetched(GuardianChecker, item),
        lambda item: ws.check_perms(item[0], [("change_car", o) for o in item[1]]),
        lambda item: prefetched(WardenChecker, item),
    ]
    with override_settings(WARDEN_ACCEPT_GLOBAL_PERMS=False):
        # Interleaved, batch by batch: the three sides see the same machine state.
        (g_times, g_ans), (w_times, w_ans), (c_times, c_ans) = interleaved(sides, batches)
    assert g_ans == w_ans == c_ans, "prefetched answers differ"
    g_rate = 100 * len(g_times) / sum(g_times)
    report.rate("100 checks: prefetch_perms vs check_perms", g_rate, 100 * len(w_times) / sum(w_times), "checks/s")
    c_rate = 100 * len(c_times) / sum(c_times)
    report.rate("  Warden's drop-in checker: prefetch_perms + has_perm", g_rate, c_rate, "checks/s")
    report.latency("  100 checks, latency: check_perms", g_times, w_times)
    report.latency("  100 checks, latency: drop-in checker", g_times, c_times)

    # -- get_objects_for_user --------------------------------------------------------------------
    def evaluated(module: Any, user: Any) -> set[int]:
        return set(module.get_objects_for_user(user, "drivers.change_car", Car).values_list("pk", flat=True))

    def unevaluated(module: Any, user: Any) -> Any:
        return module.get_objects_for_user(user, "drivers.change_car", Car)

    sample = rng.sample(light, min(200, len(light)))
    with override_settings(AUTHENTICATION_BACKENDS=GUARDIAN_BACKENDS):
        g_times, g_ans = per_call(lambda u: evaluated(gs, u), sample)
    w_times, w_ans = per_call(lambda u: evaluated(ws, u), sample)
    assert g_ans == w_ans, "get_objects_for_user (light) differs"
    # The list alone (the measure of Warden's part: the ListObjects call and its answer
    # as the integration reads it, packed pks included), and with the filtered queryset built
    # from it, not evaluated (what is left is Django reading the rows, which guardian's answer
    # needs too).
    raw_times, _ = per_call(lambda u: get_client().list_all_objects("drivers.change_car", user=u.pk), sample)
    qs_times, _ = per_call(lambda u: unevaluated(ws, u), sample)
    report.latency(f"get_objects_for_user, ~{light_change} objects", g_times, w_times)
    report.latency(f"  Warden ListObjects alone, ~{light_change} objects", g_times, raw_times)
    report.latency(f"  ListObjects and the queryset built, ~{light_change} objects", g_times, qs_times)
    reps = [heavy] * 25
    with override_settings(AUTHENTICATION_BACKENDS=GUARDIAN_BACKENDS):
        g_times, g_ans = per_call(lambda u: evaluated(gs, u), reps)
    w_times, w_ans = per_call(lambda u: evaluated(ws, u), reps)
    assert g_ans == w_ans, "get_objects_for_user (heavy) differs"
    raw_times, _ = per_call(
        lambda u: get_client().list_all_objects("drivers.change_car", user=u.pk, page_size=100_000), reps
    )
    qs_times, _ = per_call(lambda u: unevaluated(ws, u), reps)
    report.latency(f"get_objects_for_user, {len(g_ans[0]):,} objects", g_times, w_times)
    report.latency(f"  Warden ListObjects alone, {len(g_ans[0]):,} objects", g_times, raw_times)
    report.latency(f"  ListObjects and the queryset built, {len(g_ans[0]):,} objects", g_times, qs_times)

    # -- get_users_with_perms ------------------------------------------------------------------
    objs = rng.sample(cars, 100)
    g_times, g_ans = per_call(lambda o: set(gs.get_users_with_perms(o).values_list("pk", flat=True)), objs)
    w_times, w_ans = per_call(
        lambda o: set(ws.get_users_with_perms(o, accept_global_perms=False).values_list("pk", flat=True)), objs
    )
    assert g_ans == w_ans, "get_users_with_perms differs"
    mean_users = statistics.mean(len(a) for a in g_ans)
    report.latency(f"get_users_with_perms(obj), ~{mean_users:.0f} users", g_times, w_times)
    raw_times, _ = per_call(lambda o: get_client().list_subjects("drivers.car", o.pk), objs)
    report.latency("  Warden ListSubjects alone", g_times, raw_times)

    print()
    report.print()


if __name__ == "__main__":
    main()
