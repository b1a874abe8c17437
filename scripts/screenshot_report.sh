#!/usr/bin/env bash
# Renders report.html from a fake-model run with a planted sadness regression
# and screenshots it with headless Chromium (Debian: apt-get install chromium).
#
#   scripts/screenshot_report.sh [OUT.png]     # default: report.png
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(realpath -m "${1:-report.png}")"
cargo build --quiet --manifest-path "$root/Cargo.toml" --bin candor
bin="${CARGO_TARGET_DIR:-$root/target}/debug/candor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$root/tests/fixtures" && CANDOR_HOME="$work" "$bin" --full \
  --candidate "fake:base?flip=0.1&extra=0.15&when=sad" --candidate-persona none \
  --no-cache --report-dir "$work/report" >/dev/null 2>&1 || true)
test -s "$work/report/report.html"
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run \
  --user-data-dir="$work/profile" --hide-scrollbars \
  --screenshot="$out" --window-size="${WINDOW:-1280,2000}" \
  "file://$work/report/report.html" 2>/dev/null
echo "wrote $out"
