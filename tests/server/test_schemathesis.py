"""Schemathesis against the running server, every operation, reads and writes with the API key.

Two bounded runs with a fixed seed (examples, coverage and fuzzing phases; ``MAX_EXAMPLES`` per operation):

1. every operation as its OpenAPI document describes it, with generated ids;
2. the operations on one collection or item, on the demo collection and one of its items (generated ids
   mostly miss: this reaches the writes' validation), deletes left out so that the objects stay.

Checks: no server error, and the response schema (schemathesis' own check, skipped only where stac-fastapi's
OpenAPI document is known to describe the answer wrongly: ``tests/server/schemathesis_hooks.py`` says where
and why). Excluded operation: ``POST /collections/{collection_id}/bulk_items``, whose OpenAPI entry declares no
``collection_id`` parameter for its own path (schemathesis reports a schema error and cannot call it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stac_bridge.pgstac.loader import PgstacLoader
from tests.conftest import ROOT, RunningServer, start_api, throwaway_database

pytestmark = [
    pytest.mark.db,
    pytest.mark.server,
    # The server runs in this process, where warnings are errors: geojson-pydantic warns of what GeoJSON allows
    # (a bbox across the antimeridian, a GeometryCollection of one geometry), which the server must accept.
    pytest.mark.filterwarnings("ignore::UserWarning:geojson_pydantic"),
]

KEY = "schemathesis-key"
MAX_EXAMPLES = 10
SEED = 12
CHECKS = "not_a_server_error,response_schema_conformance_where_documented"
BROKEN_OPERATION = "/collections/{collection_id}/bulk_items"


@pytest.fixture(scope="module")
def api(pgstac_server_url: str) -> Iterator[RunningServer]:
    with throwaway_database(pgstac_server_url) as dsn:
        with PgstacLoader(dsn) as loader:
            loader.load_paths([ROOT / "examples" / "demo" / "stac"])
        with start_api(dsn, api_key=KEY) as server:
            yield server


def schemathesis(api: RunningServer, tmp_path: Path, *options: str, config: Path | None = None) -> str:
    st = Path(sys.executable).with_name("st")
    command = [str(st), *(["--config-file", str(config)] if config else []), "run", f"{api.url}/api",
               "-H", f"Authorization: Bearer {KEY}", "-n", str(MAX_EXAMPLES),
               "--seed", str(SEED), "-c", CHECKS, "-w", "1", "--generation-database", "none", "--no-color",
               "--phases", "examples,coverage,fuzzing", "--exclude-path", BROKEN_OPERATION,
               "--report-dir", str(tmp_path), *options]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": "tests.server.schemathesis_hooks"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    summary = output[output.rfind("SUMMARY"):] if "SUMMARY" in output else output[-3000:]
    assert done.returncode == 0, output[-20000:]
    print(summary)  # shown with pytest -s or -rP: the counts of the run
    return summary


def test_every_operation_answers_without_server_errors_as_documented(api: RunningServer, tmp_path: Path) -> None:
    summary = schemathesis(api, tmp_path)
    # Every operation of the OpenAPI document but the excluded one (stac-fastapi's, ours, the source routes, the
    # compatible endpoints of the installed providers: 25 with the built-ins, one more with the test's sixth).
    document = httpx.get(f"{api.url}/api", timeout=30).json()
    operations = sum(len([m for m in ops if m in ("get", "post", "put", "patch", "delete")])
                     for ops in document["paths"].values())
    assert operations - 1 >= 25
    assert "passed" in summary and f"Tested: {operations - 1}" in summary, summary


def test_the_operations_on_existing_objects_with_the_key(api: RunningServer, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text('[parameters]\n"path.collection_id" = "stac-bridge-demo"\n"path.item_id" = "demo-001"\n')
    summary = schemathesis(api, tmp_path, "--include-path-regex", r"\{collection_id\}", "--exclude-method", "DELETE",
                           config=config)
    assert "passed" in summary, summary
