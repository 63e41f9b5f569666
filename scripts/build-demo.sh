#!/usr/bin/env bash
# The demo catalog: the STAC demo collection, plus each provider's records in examples/demo/providers/<adapter>/
# converted to STAC with that provider's adapter (files in name order: collections before their items), all
# loaded into the database (idempotently: a second run rewrites nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
OUT=${STAC_BRIDGE_HOME:-$PWD/.stac-bridge}/demo
rm -rf "$OUT" && mkdir -p "$OUT"
for dir in examples/demo/providers/*/; do
    provider=$(basename "$dir")
    "$BIN/stac-bridge" convert "$provider" "$dir"*.json --out "$OUT/$provider.ndjson" \
        --dead-letters "$OUT/refused/$provider.ndjson" >&2
done
"$BIN/stac-bridge" load examples/demo/stac "$OUT"/*.ndjson
