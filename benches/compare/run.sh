#!/usr/bin/env bash
# Runs the comparison of gort with Go, may, tokio and std threads, and writes
# docs/comparison.md and docs/img/comparison-*.svg (with --quick:
# benches/compare/target/quick/). Options are passed to the harness; see
# `run.sh --help` or benches/compare/src/main.rs.
#
#   benches/compare/run.sh            # the full run
#   benches/compare/run.sh --quick    # a smoke run: small counts, one run each
#
# Needs cargo and python3 (to install Go into .go/ when it is missing). Runs
# from any directory.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
cargo build --release --quiet
exec "$HERE/target/release/gort-compare" --command "benches/compare/run.sh${*:+ $*}" "$@"
