#!/usr/bin/env bash
# Fuzzing (docs/fuzzing.md): builds the libFuzzer targets (Swift's -sanitize=fuzzer with
# AddressSanitizer) in .build-fuzz, then runs each for SECONDS (default 60) on a copy of its
# committed seed corpus (Fuzz/corpus/<target>) and its regressions (Fuzz/regressions/<target>),
# in Fuzz/corpus-work/<target>, with Fuzz/dictionaries/<target>.dict if there is one; crashes go
# to Fuzz/artifacts/<target>. Prints, per target, executions, exec/s, corpus size, coverage
# (libFuzzer's cov and ft) and crashes; exits 1 when a target crashed.
#
#   scripts/fuzz.sh [SECONDS]          build, then run every target
#   FUZZ_TARGETS="import" scripts/fuzz.sh 30
#   FUZZ_JOBS=2 scripts/fuzz.sh        run the targets two at a time (default: one at a time)
#   scripts/fuzz.sh --write-seeds      regenerate Fuzz/corpus from Fuzz/WardenFuzzing/SeedInputs.swift
#   scripts/fuzz.sh --build            build only
set -euo pipefail
cd "$(dirname "$0")/.."

mode=run
case "${1:-}" in
    --write-seeds) mode=seeds; shift ;;
    --build) mode=build; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
seconds=${1:-60}
targets=${FUZZ_TARGETS:-frames requests import}
jobs=${FUZZ_JOBS:-1}
swift=${SWIFT:-swift}

# The targets exist only with WARDEN_FUZZ set (Package.swift). SwiftPM's --sanitize fuzzer links
# libFuzzer's main instead of the target's; the -Xswiftc flag after it then sets both sanitizers
# (swiftc keeps only the last -sanitize flag, so `--sanitize fuzzer --sanitize address` would
# drop the coverage instrumentation). The request harness reaches the server's internals through
# @testable, hence -enable-testing.
build_flags=(
    -c release --scratch-path .build-fuzz --sanitize fuzzer -Xswiftc "-sanitize=fuzzer,address" -Xswiftc -enable-testing
)
product() {
    case $1 in
        frames) echo FuzzFrames ;;
        requests) echo FuzzRequests ;;
        import) echo FuzzImport ;;
        *) echo "unknown target $1 (frames, requests, import)" >&2; exit 2 ;;
    esac
}

for target in $targets; do
    echo "building $(product "$target")"
    WARDEN_FUZZ=1 "$swift" build "${build_flags[@]}" --product "$(product "$target")" 2>&1 \
        | grep -v -e "Cannot export local symbol '__asan" -e "^\[[0-9]*/[0-9]*\]" || true
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build of $(product "$target") failed" >&2; exit 2; }
done
bin=$(WARDEN_FUZZ=1 "$swift" build "${build_flags[@]}" --show-bin-path)
[ "$mode" = build ] && exit 0

# libFuzzer reports the crash; Swift's own backtracer would only slow it down.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:symbolize=1}
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(dirname "$(command -v "$swift")")/llvm-symbolizer}

if [ "$mode" = seeds ]; then
    for target in $targets; do
        rm -rf "Fuzz/corpus/$target"
        WARDEN_FUZZ_WRITE_SEEDS="Fuzz/corpus/$target" "$bin/$(product "$target")"
    done
    exit 0
fi

run() {
    local target=$1 work=Fuzz/corpus-work/$1 artifacts=Fuzz/artifacts/$1 log=Fuzz/artifacts/$1.log
    rm -rf "$work"
    mkdir -p "$work" "$artifacts"
    cp Fuzz/corpus/"$target"/* "$work"/
    if compgen -G "Fuzz/regressions/$target/*" >/dev/null; then cp Fuzz/regressions/"$target"/* "$work"/; fi
    local dict=()
    if [ -f "Fuzz/dictionaries/$target.dict" ]; then dict=(-dict="Fuzz/dictionaries/$target.dict"); fi
    "$bin/$(product "$target")" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 \
        "${dict[@]}" -artifact_prefix="$artifacts/" "$work" >"$log" 2>&1 || true
}

started=$(date -u +%FT%TZ)
pids=()
for target in $targets; do
    run "$target" &
    pids+=($!)
    if [ "${#pids[@]}" -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait

# libFuzzer's final stats and its last status line (#N DONE|NEW|... cov: C ft: F corp: N/S).
echo
echo "fuzzing, $seconds s per target, started $started on $(nproc) cores (jobs: $jobs)"
printf '%-9s %12s %9s %8s %7s %7s %8s\n' target execs exec/s corpus cov ft crashes
status=0
for target in $targets; do
    log=Fuzz/artifacts/$target.log
    stat() { grep -o "^stat::$1: *[0-9]*" "$log" | tail -1 | grep -o '[0-9]*$' || echo "?"; }
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    field() { echo "$last" | grep -o "$1: [0-9]*" | grep -o '[0-9]*$' || echo "?"; }
    corpus=$(echo "$last" | grep -o 'corp: [0-9]*' | grep -o '[0-9]*$' || echo "?")
    crashes=$(find "Fuzz/artifacts/$target" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) -newer "Fuzz/corpus-work/$target" | wc -l)
    if grep -q -e "ERROR: libFuzzer" -e "ERROR: AddressSanitizer" -e "Fatal error" "$log"; then
        [ "$crashes" -gt 0 ] || crashes=1
    fi
    printf '%-9s %12s %9s %8s %7s %7s %8s\n' "$target" "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" \
        "$corpus" "$(field cov)" "$(field ft)" "$crashes"
    if [ "$crashes" -gt 0 ]; then
        status=1
        echo "  $target crashed: see $log and Fuzz/artifacts/$target/; the error:"
        grep -m3 -e "Fatal error" -e "ERROR: " "$log" | sed 's/^/    /' || true
    fi
done
exit $status
