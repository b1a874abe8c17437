#!/usr/bin/env bash
# Checks candor's junit.xml with a real JUnit consumer (Python's junitparser, in a throwaway
# venv): writes a report from a fake-model run with a planted regression, parses it, and checks
# that the consumer sees every trial and exactly the failures candor reported.
#
#   scripts/validate_junit.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --quiet --manifest-path "$root/Cargo.toml" --bin candor
bin="${CARGO_TARGET_DIR:-$root/target}/debug/candor"
(cd "$root/tests/fixtures" && "$bin" --full --no-cache \
  --candidate "fake:base?flip=0.1&extra=0.15&when=sad" --candidate-persona none \
  --report-dir "$work/report" >/dev/null 2>&1 || true)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q junitparser
"$work/venv/bin/python" - "$work/report" <<'PY'
import json, sys
from junitparser import JUnitXml, Failure, Skipped
d = sys.argv[1]
xml = JUnitXml.fromfile(f"{d}/junit.xml")
cases = [c for s in xml for c in s]
failed = sorted(f"{s.name}::{c.name}" if not c.name.startswith(s.name) else c.name
                for s in xml for c in s if any(isinstance(r, Failure) for r in c.result))
res = json.load(open(f"{d}/results.json"))
want = sorted(t["name"] for t in res["trials"] if t["status"] == "failed")
print(f"junitparser: {len(xml)} suites, {len(cases)} testcases, {len(failed)} failures")
assert len(cases) == len(res["trials"]), (len(cases), len(res["trials"]))
assert len(failed) == len(want) == res["totals"]["failed"], (failed, want)
print("ok: junit.xml agrees with results.json")
PY
