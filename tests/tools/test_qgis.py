"""QGIS 3 (Debian ``python3-qgis``, headless) on the demo catalog through its OGC API Features provider.

Every collection that holds items is read as a layer (QGIS pages through ``/collections/{id}/items`` itself):
the feature count equals the API's ``numberMatched``, the ids equal ``/search``'s, and the layer exports to a
GeoPackage, the way a user saves what they found. QGIS runs with Debian's python3 in one subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer
from tests.tools.demo import apt_install, need, provider_collections, search_ids

# The first run installs the tool (apt, a venv): more than the suite's 300 s.
pytestmark = [pytest.mark.db, pytest.mark.server, pytest.mark.timeout(2400)]

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = "/usr/bin/python3"
CASES = ("stac", "byoc", "capella", "descartes", "opensearch")


@pytest.fixture(scope="module")
def collections(demo: tuple[RunningServer, Path]) -> dict[str, list[str]]:
    """Case -> its collections that hold items."""
    api, tmp = demo
    return {case: [c for c in ids if search_ids(api, c)] for case, ids in provider_collections(tmp).items()}


@pytest.fixture(scope="module")
def read(demo: tuple[RunningServer, Path], collections: dict[str, list[str]],
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    need(apt_install("python3-qgis", "qgis-providers", probe="/usr/lib/python3/dist-packages/qgis"))
    api, _ = demo
    out = tmp_path_factory.mktemp("gpkg")
    every = [c for ids in collections.values() for c in ids]
    done = subprocess.run(
        [SYSTEM_PYTHON, str(HERE / "qgis_driver.py"), f"{api.url}/", str(out), *every],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": "", "PYTHONNOUSERSITE": "1"},
    )
    assert done.returncode == 0, f"QGIS failed ({done.returncode}):\n{done.stderr[-4000:]}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("case", CASES)
def test_layers_hold_what_the_api_serves(read: dict[str, Any], collections: dict[str, list[str]], case: str,
                                         demo: tuple[RunningServer, Path]) -> None:
    api, _ = demo
    assert collections[case], f"no {case} collection with items in the demo"
    for cid in collections[case]:
        layer = read[cid]
        assert layer["valid"], f"QGIS cannot open {cid} as an OGC API Features layer"
        matched = httpx.get(f"{api.url}/collections/{cid}/items", params={"limit": 1}, timeout=30).json()
        assert layer["count"] == matched["numberMatched"], cid
        assert layer["ids"] == sorted(search_ids(api, cid)), cid


@pytest.mark.parametrize("case", CASES)
def test_layers_export_to_geopackage(read: dict[str, Any], collections: dict[str, list[str]], case: str) -> None:
    for cid in collections[case]:
        layer = read[cid]
        assert layer["export"] == "ok", f"{cid}: {layer['export']} (fields {layer['fields']})"
        assert layer["exported"] == layer["count"], cid
