#!/usr/bin/env bash
# Times a cold run and a warm rerun of the fixture suites on slow fake models
# (DELAY_MS per request, default 5: about what a small model takes per short
# prompt on a laptop core) with a fresh run store, and prints the speedup.
#
#   scripts/bench_store.sh            # DELAY_MS=5
#   DELAY_MS=20 scripts/bench_store.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
delay="${DELAY_MS:-5}"
cargo build --quiet --manifest-path "$root/Cargo.toml" --bin candor
bin="${CARGO_TARGET_DIR:-$root/target}/debug/candor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CANDOR_HOME="$work"
run() {
  (cd "$root/tests/fixtures" && "$bin" --full \
    --baseline "fake:base?flip=0.1&delay_ms=$delay" \
    --candidate "fake:base?flip=0.1&extra=0.15&when=sad&delay_ms=$delay" \
    --candidate-persona none --store "$work/store.sqlite" >/dev/null 2>"$work/err" || true)
  grep -h "reused" "$work/err"
}
now() { date +%s.%N; }
t0=$(now); run; t1=$(now); run; t2=$(now)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$delay" 'BEGIN {
  cold = b - a; warm = c - b;
  printf "cold run: %.2f s (delay %d ms per request)\nwarm rerun: %.3f s\nspeedup: %.0fx\n", cold, d, warm, cold / warm
}'
