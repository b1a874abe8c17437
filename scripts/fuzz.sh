#!/usr/bin/env bash
# Runs candor's fuzz targets (tests/fuzz.rs) for MINUTES each, one after the
# other: gguf, quants, spec, data, chat (or the targets named after MINUTES).
#
#   scripts/fuzz.sh 30            # every target, 30 minutes each
#   scripts/fuzz.sh 5 gguf chat   # two targets, 5 minutes each
#
# Prints each target's executions, rate and findings; findings (inputs that
# panicked or took over 30 s) are written to target/tmp/fuzz-findings/TARGET/
# and the script exits 1 if there are any. Replay one with
#   CANDOR_FUZZ_REPLAY=FILE cargo test --test fuzz fuzz_TARGET
set -euo pipefail
minutes=${1:?usage: scripts/fuzz.sh MINUTES [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf quants spec data chat)
cd "$(dirname "$0")/.."
cargo test --test fuzz --no-run
status=0
for t in "${targets[@]}"; do
  test=fuzz_$t
  [ "$t" = chat ] && test=fuzz_chat_template
  CANDOR_FUZZ_SECONDS=$((minutes * 60)) CANDOR_FUZZ_TARGET=$t \
    cargo test --test fuzz "$test" -- --exact --nocapture 2>&1 | grep -E "^fuzz |findings:|panicked|FAILED" || true
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
exit $status
