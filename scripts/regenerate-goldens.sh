#!/usr/bin/env bash
# Rewrite the golden files (tests/golden.py) on purpose, from the tests that compare them; then review the diff.
#   scripts/regenerate-goldens.sh            every test module that calls assert_golden
#   scripts/regenerate-goldens.sh tests/transforms/test_byoc.py -k pacific   a selection (pytest arguments)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
if [ "$#" -eq 0 ]; then
    mapfile -t modules < <(grep -rl --include='test_*.py' "assert_golden" tests | sort)
    set -- "${modules[@]}"
fi
STAC_BRIDGE_REGENERATE=1 "$BIN/pytest" -q "$@"
git status --short -- tests
echo "golden files regenerated: review 'git diff -- tests' before committing" >&2
