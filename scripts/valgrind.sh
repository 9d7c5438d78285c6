#!/usr/bin/env bash
# Runs gort's test binaries under valgrind memcheck and fails if memcheck reports any error
# (invalid read or write, use of uninitialised memory, bad free). Leaks are not checked:
# gort abandons unfinished goroutines at shutdown and leaks their G structs and stacks on
# purpose (docs/design.md, "Shutdown and teardown").
#
# Goroutine stacks are slab slots that valgrind does not know to be stacks. Unless they are
# registered with the VALGRIND_STACK_REGISTER client request, memcheck reads a jump of the stack
# pointer between a thread's stack and a goroutine stack less than --max-stackframe (default
# 2 MB) apart as a huge frame being pushed or popped, marks live memory unaddressable, and
# reports millions of false "Invalid read" errors. When runtime/src/coro/stack.rs does not
# register its slots, this script falls back to --max-stackframe=131072, below the distance
# between any two goroutine stacks (at least 292 KiB apart at the default size) and between a
# goroutine stack and a thread's: that removes the false errors, but valgrind itself then
# crashes on tests/sched.rs (2,000 goroutines at once). docs/reliability.md has the details.
#
# Usage: scripts/valgrind.sh [PACKAGE:TEST ...]   (default: the list below)
#   e.g. scripts/valgrind.sh gort:stress gort-chan:select
# Environment: VALGRIND_ARGS adds options; GORT_VG_TEST_ARGS replaces the arguments given to
# every test binary (default: --skip hundred_thousand, the two 100,000-goroutine tests of
# tests/sched.rs, which take tens of minutes and gigabytes under valgrind).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null 2>&1; then
    cargo_env="${CARGO_HOME:-${HOME:-/root}/.cargo}/env"
    # shellcheck disable=SC1090
    [ -f "$cargo_env" ] && . "$cargo_env"
fi
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }

if [ $# -gt 0 ]; then
    targets=("$@")
else
    # Representative: the scheduler, timers, the netpoller, blocking calls, the stress tests,
    # every channel test and every sync test. Left out: tests/process.rs, tests/examples.rs
    # and tests/traceback.rs run child processes (valgrind would not follow them), and
    # tests/net_scale.rs opens 10,000 connections, too slow under valgrind.
    targets=(
        gort:sched gort:time gort:net gort:blocking gort:stress gort:stress_fuzz
        gort-chan:golang gort-chan:select gort-chan:semantics
        gort-sync:golang_sync gort-sync:context gort-sync:errgroup gort-sync:pool
        gort-sync:semaphore gort-sync:singleflight
    )
fi

vg_opts=(--tool=memcheck --error-exitcode=99 --leak-check=no --show-leak-kinds=none)
if grep -q 'ValgrindStackRegistration\|STACK_REGISTER' runtime/src/coro/stack.rs; then
    echo "valgrind.sh: goroutine stacks are registered with valgrind"
else
    echo "valgrind.sh: WARNING: goroutine stacks are not registered with valgrind; using" \
        "--max-stackframe=131072, which avoids the false errors on small tests but lets" \
        "valgrind itself crash on tests with thousands of goroutines (docs/reliability.md)" >&2
    vg_opts+=(--max-stackframe=131072)
fi
# shellcheck disable=SC2206
vg_opts+=(${VALGRIND_ARGS:-})

logdir=target/valgrind
mkdir -p "$logdir"
start=$SECONDS
failed=()
for t in "${targets[@]}"; do
    pkg=${t%%:*}
    name=${t#*:}
    exe=$(cargo test --release -p "$pkg" --test "$name" --no-run --message-format=json 2>/dev/null |
        grep -o '"executable":"[^"]*"' | tail -1 | sed 's/"executable":"\(.*\)"/\1/')
    if [ -z "$exe" ]; then
        echo "valgrind.sh: could not build $t" >&2
        failed+=("$t")
        continue
    fi
    log="$logdir/$pkg-$name.log"
    t0=$SECONDS
    # shellcheck disable=SC2086
    if valgrind "${vg_opts[@]}" --log-file="$log" "$exe" --test-threads=1 \
        ${GORT_VG_TEST_ARGS:---skip hundred_thousand} \
        >"$logdir/$pkg-$name.out" 2>&1; then
        status=ok
    else
        status="FAILED (exit $?)"
        failed+=("$t")
    fi
    summary=$(grep -h 'ERROR SUMMARY' "$log" | head -1 | sed 's/^==[0-9]*== //' || true)
    if grep -q "the 'impossible' happened" "$log"; then
        summary="valgrind itself crashed (see the log)"
    fi
    tests=$(grep -h '^test result' "$logdir/$pkg-$name.out" | tail -1 || true)
    printf '%-26s %4d s  %s  %s | %s\n' "$t" $((SECONDS - t0)) "$status" "$summary" "$tests"
done
echo "valgrind.sh: $(( ${#targets[@]} - ${#failed[@]} ))/${#targets[@]} binaries clean in $((SECONDS - start)) s; logs in $logdir/"
if [ ${#failed[@]} -gt 0 ]; then
    echo "valgrind.sh: failed: ${failed[*]}" >&2
    exit 1
fi
