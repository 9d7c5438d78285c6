#!/usr/bin/env bash
# Runs the loom models of gort's lock-free protocols (runtime/tests/loom_models/), each of which
# explores every interleaving of its miniature protocol up to LOOM_MAX_PREEMPTIONS preemptions
# (default 3, set in runtime/tests/loom_models/mini.rs). Builds under `--cfg loom` in its own
# target directory (target/loom), so the normal build cache is not invalidated.
#
# Usage: scripts/loom.sh [TEST-NAME-FILTER]     e.g. scripts/loom.sh spinning::
# Environment: LOOM_MAX_PREEMPTIONS, LOOM_LOG, LOOM_CHECKPOINT_FILE, ... (loom's own knobs).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null 2>&1; then
    cargo_env="${CARGO_HOME:-${HOME:-/root}/.cargo}/env"
    # shellcheck disable=SC1090
    [ -f "$cargo_env" ] && . "$cargo_env"
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/loom}"
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
# loom's backtraces on failure; the models are small, so this costs nothing when they pass.
export LOOM_LOCATION=1

start=$SECONDS
# One test at a time: each model is single-threaded under loom, and the machine is shared.
cargo test --release -p gort-runtime --test loom_models -- --test-threads=1 "$@"
echo "scripts/loom.sh: all models passed in $((SECONDS - start)) s (build included)"
