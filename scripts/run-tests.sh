#!/usr/bin/env bash
# The whole suite, then the static checks. pytest's exit 5 (no test collected) is a failure, not a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
"$BIN/pytest" "$@"
status=$?
if [ $status -eq 5 ]; then
  echo "no tests were collected: that is a failure" >&2
  exit 1
fi
[ $status -eq 0 ] || exit $status
"$BIN/ruff" check stac_bridge tests benchmarks examples || exit 1
"$BIN/mypy" || exit 1
