"""Plots and tabulates how Warden's costs grow with the data (issue 20).

Reads the JSON figures scripts/bench-growth.sh wrote into a folder (index-SIZE-SHAPE.json from
WardenBench, store-SIZE-SHAPE.json from WardenStoreBench, load-SIZE-SHAPE.json from WardenLoad,
run.json for the machine, date and commit) and writes beside them:

- growth.png: memory per grant, cold start, check latency and the rates against size, one line
  per shape, with issue 20's targets dashed;
- table.md: the same figures as a Markdown table, for docs/benchmarks.md.

    python scripts/plot-growth.py docs/benchmarks/growth
"""

import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SHAPES = ("shared", "distinct")
COLORS = {"shared": "tab:blue", "distinct": "tab:orange"}


def load(folder):
    """{(benchmark, shape): [(grants, figures), ...] sorted by grants}, and run.json."""
    series = {}
    for path in sorted(folder.glob("*.json")):
        if path.name == "run.json":
            continue
        kind, _, shape = path.stem.rpartition("-")
        benchmark = kind.split("-")[0]
        figures = json.loads(path.read_text())
        if figures.get("shape") != shape:
            raise SystemExit(f"{path}: its shape field {figures.get('shape')!r} does not match its name")
        series.setdefault((benchmark, shape), []).append((figures["grants_asked"], figures))
    for points in series.values():
        points.sort(key=lambda point: point[0])
    run_path = folder / "run.json"
    run = json.loads(run_path.read_text()) if run_path.exists() else {}
    return series, run


def value(figures, name, factor=1.0):
    raw = figures.get(name)
    return None if raw is None else raw * factor


# (title, unit, lines, targets): each line is (benchmark, figure, factor, label[, right-axis
# unit]); factor None turns seconds in all into seconds per million grants.
PANELS = [
    ("memory per grant", "B", [
        ("index", "heap_bytes_per_grant", 1, "index heap"),
        ("load", "server_bytes_per_grant_after_restart", 1, "server RssAnon, cold restart"),
    ], {"shared": 48, "distinct": 100}),
    ("cold start", "s per million grants", [
        ("load", "cold_start_seconds_per_million", 1, "server, process start to serving"),
        ("store", "cold_load_seconds", None, "in process (IndexReplica)"),
    ], {"all": 1}),
    ("check p50", "µs (socket, one in flight)", [
        ("load", "check_after_restart_p50_us", 1, "socket, raw client"),
        ("index", "check_object_ns", 1, "index, random objects (right, ns)", "ns (index)"),
    ], None),
    ("bulk grant, end to end", "k grants/s", [
        ("load", "bulk_grants_per_second", 1e-3, "BulkGrant over the socket"),
        ("store", "bulk_grants_per_second", 1e-3, "store alone"),
    ], {"all": 500}),
    ("BatchCheck", "M decisions/s", [
        ("load", "batch_check_decisions_per_second", 1e-6, "batches of 1000, 4 in flight"),
    ], {"all": 2}),
    ("Check pipelined, one connection", "k checks/s", [
        ("load", "check_pipelined_per_second", 1e-3, "64 in flight, raw client"),
    ], {"all": 600}),
]


def plot(series, run, folder):
    figure, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    for axis, (title, unit, lines, targets) in zip(axes.flat, PANELS):
        right = None
        for shape in SHAPES:
            for number, (benchmark, name, factor, label, *right_unit) in enumerate(lines):
                points = series.get((benchmark, shape), [])
                xs, ys = [], []
                for grants, figures in points:
                    if factor is None:  # seconds in all → seconds per million
                        seconds = figures.get(name)
                        y = None if seconds is None else seconds * 1e6 / grants
                    else:
                        y = value(figures, name, factor)
                    if y is not None:
                        xs.append(grants / 1e6)
                        ys.append(y)
                if xs:
                    target_axis = axis
                    if right_unit:
                        if right is None:
                            right = axis.twinx()
                            right.set_ylabel(right_unit[0])
                        target_axis = right
                    target_axis.plot(
                        xs, ys, marker="o", color=COLORS[shape],
                        linestyle="-" if number == 0 else ":", label=f"{shape}: {label}",
                    )
        for key, target in (targets or {}).items():
            color = "gray" if key == "all" else COLORS[key]
            axis.axhline(target, color=color, linestyle="--", linewidth=0.8)
        axis.set_title(title)
        axis.set_xlabel("grants (millions)")
        axis.set_ylabel(unit)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        if right is not None:
            right.set_ylim(bottom=0)
            handles, labels = axis.get_legend_handles_labels()
            more_handles, more_labels = right.get_legend_handles_labels()
            axis.legend(handles + more_handles, labels + more_labels, fontsize=7)
        else:
            axis.legend(fontsize=7)
    caption = f"Warden, {run.get('date', '?')}, commit {run.get('commit', '?')}, {run.get('machine', '?')}"
    figure.suptitle(f"How it grows (dashed: issue 20's targets)\n{caption}", fontsize=10)
    figure.tight_layout()
    figure.savefig(folder / "growth.png", dpi=90)


ROWS = [
    ("index heap / grant (B)", "index", "heap_bytes_per_grant", 1, 1),
    ("server RssAnon / grant after the bulk (B)", "load", "server_bytes_per_grant_after_bulk", 1, 1),
    ("server RssAnon / grant after a cold restart (B)", "load", "server_bytes_per_grant_after_restart", 1, 1),
    ("server peak RSS during the cold load (MiB)", "load", "server_peak_rss_during_load_bytes", 1 / 1048576, 0),
    ("cold start, process start to serving (s)", "load", "cold_start_seconds", 1, 2),
    ("… per million grants (s)", "load", "cold_start_seconds_per_million", 1, 2),
    ("cold load in process (s)", "store", "cold_load_seconds", 1, 2),
    ("index build, one batch (s)", "index", "build_seconds", 1, 1),
    ("index check, random objects (ns)", "index", "check_object_ns", 1, 0),
    ("index check, model level (ns)", "index", "check_model_ns", 1, 0),
    ("socket Check p50 after the restart (µs)", "load", "check_after_restart_p50_us", 1, 1),
    ("ListObjects 50,000 (index, ms)", "index", "list_big_ms", 1, 2),
    ("ListObjects 10 (socket, µs)", "load", "list_small_us", 1, 1),
    ("ListSubjects ~100 (socket, µs)", "load", "list_subjects_us", 1, 1),
    ("BulkGrant end to end (k grants/s)", "load", "bulk_grants_per_second", 1e-3, 0),
    ("BulkGrant of 100 into the loaded index (ms)", "load", "small_bulk_100_ms", 1, 1),
    ("BulkGrant of 1,000 into the loaded index (ms)", "load", "small_bulk_1000_ms", 1, 1),
    ("bulk grant, store alone (k grants/s)", "store", "bulk_grants_per_second", 1e-3, 0),
    ("… bytes written per grant by its last 100k chunk", "store", "bulk_bytes_written_per_grant_last_chunk", 1, 0),
    ("BatchCheck (M decisions/s)", "load", "batch_check_decisions_per_second", 1e-6, 2),
    ("Check pipelined, one connection (k/s)", "load", "check_pipelined_per_second", 1e-3, 0),
    ("memory per open connection (KiB)", "load", "server_bytes_per_connection", 1 / 1024, 1),
    ("memory per watcher (KiB)", "load", "server_bytes_per_watcher", 1 / 1024, 2),
]


def table(series, run):
    columns = []
    for shape in SHAPES:
        sizes = sorted({grants for (benchmark, s), points in series.items() if s == shape for grants, _ in points})
        columns += [(shape, grants) for grants in sizes]
    header = "| figure | " + " | ".join(f"{grants / 1e6:g}M {shape}" for shape, grants in columns) + " |"
    lines = [header, "|---|" + "---|" * len(columns)]
    for label, benchmark, name, factor, decimals in ROWS:
        cells = []
        for shape, grants in columns:
            figures = dict(series.get((benchmark, shape), [])).get(grants)
            raw = None if figures is None else figures.get(name)
            cells.append("–" if raw is None else f"{raw * factor:,.{decimals}f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    caption = (
        f"{run.get('date', '?')}, commit `{run.get('commit', '?')}`"
        + (" (with uncommitted changes)" if run.get("uncommitted_changes") else "")
        + f", {run.get('machine', '?')}, load average at the start {run.get('load_average_at_start', '?')}"
    )
    return caption + "\n\n" + "\n".join(lines) + "\n"


def main():
    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "docs/benchmarks/growth")
    series, run = load(folder)
    if not series:
        raise SystemExit(f"{folder}: no benchmark JSON (index-*.json, store-*.json, load-*.json)")
    plot(series, run, folder)
    text = table(series, run)
    (folder / "table.md").write_text(text)
    print(text)
    print(f"wrote {folder / 'growth.png'} and {folder / 'table.md'}")


if __name__ == "__main__":
    main()
