#!/usr/bin/env bash
# Soak test: an echo server under continuous load, connections opened and closed, for
# DURATION seconds (default 300); checks that goroutines, descriptors, mappings, Ms, timers and
# resident memory do not grow past the warm-up baseline (tests/soak.rs has the bounds).
#
# Usage: scripts/soak.sh [DURATION_SECS [PHASE_SECS]]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null 2>&1; then
    cargo_env="${CARGO_HOME:-${HOME:-/root}/.cargo}/env"
    # shellcheck disable=SC1090
    [ -f "$cargo_env" ] && . "$cargo_env"
fi

export GORT_SOAK_SECS="${1:-300}"
export GORT_SOAK_PHASE_SECS="${2:-10}"
cargo test --release --test soak -- --ignored --nocapture soak_echo_server
