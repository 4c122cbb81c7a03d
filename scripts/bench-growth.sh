#!/usr/bin/env bash
# How every cost grows with the data (issue 20): the index (WardenBench), store
# (WardenStoreBench) and socket (WardenLoad) benchmarks at each size and shape, in release,
# one after another, each writing its figures as JSON into OUT, then the plot of them.
#
#   scripts/bench-growth.sh [OUT]        (make bench-growth; OUT: docs/benchmarks/growth)
#   SIZES="1M 5M 10M" SHAPES="shared distinct" SECONDS_PER_PHASE=3 override the defaults;
#   CONFIGURATION=debug builds in debug (make bench-smoke: proves it runs, its figures mean nothing).
#
# About 25 minutes on the 2-core VM at the default sizes, and about 6 GB of memory at 10M
# distinct. Run it on a quiet machine: the figures are medians of one run each.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/benchmarks/growth}
sizes=${SIZES:-1M 5M 10M}
shapes=${SHAPES:-shared distinct}
phase=${SECONDS_PER_PHASE:-3}
swift=${SWIFT:-swift}
configuration=${CONFIGURATION:-release}

for product in warden WardenBench WardenStoreBench WardenLoad; do
    "$swift" build -c "$configuration" --product "$product"
done
mkdir -p "$out"
release=.build/$configuration

# What the figures were measured on: one JSON object beside them.
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//; s/"/\\"/g')
memory=$(awk '/MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
commit=$(git rev-parse --short HEAD)
dirty=$(git status --porcelain --untracked-files=no | grep -q . && echo true || echo false)
cat > "$out/run.json" <<JSON
{
  "date": "$(date -u +%Y-%m-%dT%H:%MZ)",
  "commit": "$commit",
  "uncommitted_changes": $dirty,
  "machine": "$(nproc) cores, $cpu, $memory GiB",
  "configuration": "$configuration",
  "load_average_at_start": "$(cut -d' ' -f1-3 /proc/loadavg)",
  "sizes": "$sizes",
  "shapes": "$shapes"
}
JSON

log="$out/growth.log"
: > "$log"
for size in $sizes; do
    for shape in $shapes; do
        tag="$size-$shape"
        echo "== $tag: index, store, socket ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))" | tee -a "$log"
        "$release/WardenBench" --grants "$size" --shape "$shape" --json "$out/index-$tag.json" 2>&1 | tee -a "$log"
        "$release/WardenStoreBench" --grants "$size" --shape "$shape" --json "$out/store-$tag.json" 2>&1 | tee -a "$log"
        "$release/WardenLoad" --grants "$size" --shape "$shape" --seconds "$phase" --json "$out/load-$tag.json" 2>&1 | tee -a "$log"
    done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"

# The plot: matplotlib in a virtualenv of its own (.venv-plot, ignored).
venv=.venv-plot
test -x "$venv/bin/python" || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-plot.txt
"$venv/bin/python" scripts/plot-growth.py "$out"
