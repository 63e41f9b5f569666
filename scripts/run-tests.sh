#!/usr/bin/env bash
# The whole suite, then the static checks. pytest's exit 5 (no test collected) is a failure, not a pass.
# The managed test cluster is stopped at the end when this run started it (the tests bring it up when needed).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
export STAC_BRIDGE_HOME="${STAC_BRIDGE_HOME:-$PWD/.stac-bridge}"
was_running=0
"$BIN/stac-bridge" db status >/dev/null 2>&1 && was_running=1
stop_cluster() {
  if [ $was_running -eq 0 ] && "$BIN/stac-bridge" db status >/dev/null 2>&1; then
    "$BIN/stac-bridge" db down >/dev/null
  fi
}
trap stop_cluster EXIT
# The sixth provider of tests/test_plugin_provider.py (make setup installs it; a venv made before it gets it here).
"$BIN/python" -c "import acme_provider" 2>/dev/null || "$BIN/python" -m pip install --quiet --no-deps -e tests/plugin_provider
"$BIN/pytest" "$@"
status=$?
if [ $status -eq 5 ]; then
  echo "no tests were collected: that is a failure" >&2
  exit 1
fi
[ $status -eq 0 ] || exit $status
"$BIN/ruff" check stac_bridge tests benchmarks examples || exit 1
"$BIN/mypy" || exit 1
