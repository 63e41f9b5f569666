"""The Capella demo records (``examples/demo/providers/capella``): ``stac-bridge convert capella`` makes valid
collections and items of them that ``stac-bridge load`` takes as they are, and ``export`` gives them back.

(A broken record among good ones is ``tests/test_convert_providers.py``'s, for every provider.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stac_bridge.cli import main
from stac_bridge.pgstac.loader import PgstacLoader
from tests.conftest import ROOT

DEMO = ROOT / "examples" / "demo" / "providers" / "capella"
Valid = Callable[[Any], dict[str, Any]]


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def demo_records() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in sorted(DEMO.glob("*.json")):
        document = json.loads(path.read_text())
        if isinstance(document, dict) and document.get("type") == "FeatureCollection":
            document = document["features"]
        records.extend(document if isinstance(document, list) else [document])
    return records


def test_demo_records_convert_to_collections_then_valid_items_and_export_back(
    tmp_path: Path, assert_valid: Valid
) -> None:
    out = tmp_path / "capella.ndjson"
    assert main(["convert", "capella", *map(str, sorted(DEMO.glob("*.json"))), "--out", str(out)]) == 0
    written = read_ndjson(out)
    collections = [r for r in written if r["type"] == "Collection"]
    items = [r for r in written if r["type"] == "Feature"]
    assert written[: len(collections)] == collections  # collections first, so a load can take the file as it is
    assert {i["collection"] for i in items} <= {c["id"] for c in collections}
    assert {"capella-archive", "capella-tasking"} <= {i["collection"] for i in items}
    for record in written:
        assert_valid(record)
    back = tmp_path / "capella-again.ndjson"
    assert main(["export", "capella", str(out), "--out", str(back)]) == 0
    assert read_ndjson(back) == demo_records()


@pytest.mark.db
def test_demo_conversion_loads_into_pgstac_with_stac_bridge_load(
    tmp_path: Path, fresh_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "capella.ndjson"
    assert main(["convert", "capella", *map(str, sorted(DEMO.glob("*.json"))), "--out", str(out)]) == 0
    monkeypatch.setenv("STAC_BRIDGE_DATABASE_URL", fresh_dsn)
    assert main(["load", str(out)]) == 0
    items = [r for r in read_ndjson(out) if r["type"] == "Feature"]
    with PgstacLoader(fresh_dsn) as loader:
        assert loader.count_items() == len(items)
        assert loader.count_items("capella-tasking") == sum(i["collection"] == "capella-tasking" for i in items)
