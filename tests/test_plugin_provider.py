"""A sixth provider, outside the package (``tests/plugin_provider/``), declared only through the entry point.

It is installed into the test venv (``make setup``: ``pip install -e tests/plugin_provider``). Nothing of
stac_bridge names it, yet it is listed, harvested from its stand-in into pgstac, served (the STAC API, the
source route and its own compatible endpoint, with its query translator) and exported back exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stac_bridge.cli import main
from tests.conftest import start_api
from tests.plugin_provider.standin import COLLECTION, AcmeStandIn, collection

pytestmark = [pytest.mark.db, pytest.mark.server]

PACKAGE = Path(__file__).resolve().parents[1] / "stac_bridge"


@pytest.fixture()
def standin() -> Iterator[AcmeStandIn]:
    with AcmeStandIn() as server:
        yield server


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_the_package_does_not_name_the_sixth_provider() -> None:
    assert not [p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix in (".py", ".toml", ".json")
                and "acme" in p.read_text(errors="replace").lower()]


def test_it_is_listed_with_what_it_can_do(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "--json"]) == 0
    acme = {p["name"]: p for p in json.loads(capsys.readouterr().out)}["acme"]
    assert acme["kinds"] == ["collection", "scene"]
    assert {"convert", "export", "harvest", "query to STAC", "query from STAC", "endpoint /acme"} <= set(acme["can"])


def test_harvested_served_and_exported_with_no_change_to_the_package(
    standin: AcmeStandIn, fresh_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    assert_valid: Callable[[Any], dict[str, Any]],
) -> None:
    monkeypatch.setenv("STAC_BRIDGE_DATABASE_URL", fresh_dsn)
    out = tmp_path / "acme.ndjson"
    assert main(["harvest", "acme", "--url", standin.url, "--collection", COLLECTION, "--page-size", "5",
                 "--out", str(out), "--load", "--state-dir", str(tmp_path / "state")]) == 0
    assert any("cursor=5" in r for r in standin.requests)  # paged by the provider's own cursor
    harvested = lines(out)
    for stac in harvested:
        assert_valid(stac)
    items = [s for s in harvested if s["type"] == "Feature"]
    assert sorted(i["id"] for i in items) == sorted(s["scene_id"] for s in standin.records)

    with start_api(fresh_dsn) as api:
        served = httpx.get(f"{api.url}/collections/{COLLECTION}/items", params={"limit": 100}, timeout=30).json()
        assert len(served["features"]) == len(standin.records)
        for feature in served["features"]:
            assert "stac_bridge:source" not in assert_valid(feature)["properties"]
        first = standin.records[0]
        source = httpx.get(f"{api.url}/collections/{COLLECTION}/items/{first['scene_id']}/source", timeout=30)
        assert source.status_code == 200 and source.json() == first
        # Its compatible endpoint: Acme's own protocol over the catalog, through its query translator.
        query = {"max_cloud": "40", "after": "2024-05-03T00:00:00Z", "limit": "4"}
        assert [r["scene_id"] for r in _all(api.url + "/acme", query)] == \
            [r["scene_id"] for r in _all(standin.url, query)]
        # Its queryable, declared in its Provider and written to pgstac by the migration, filters the STAC API.
        queryables = httpx.get(f"{api.url}/queryables", timeout=30).json()["properties"]
        assert queryables["acme:sensor"]["enum"] == ["A1", "A2"]
        a2 = httpx.post(f"{api.url}/search", json={"filter": "\"acme:sensor\" = 'A2'", "filter-lang": "cql2-text",
                                                   "limit": 100}, timeout=30).json()["features"]
        assert sorted(f["id"] for f in a2) == sorted(s["scene_id"] for s in standin.records if s["sensor"] == "A2")
        refused = httpx.get(f"{api.url}/acme/v1/collections/{COLLECTION}/scenes", params={"bbox": "0,0,1,1"})
        assert refused.status_code == 400 and "bbox" in refused.json()["error"]

    back = tmp_path / "back.ndjson"
    assert main(["export", "acme", str(out), "--out", str(back)]) == 0
    exported = lines(back)
    assert [r for r in exported if "scene_id" in r] == standin.records
    assert [r for r in exported if "scene_id" not in r] == [collection()]


def _all(root: str, query: dict[str, str]) -> list[dict[str, Any]]:
    """Every scene of a query, following the cursors."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {**query, **({"cursor": cursor} if cursor else {})}
        answer = httpx.get(f"{root}/v1/collections/{COLLECTION}/scenes", params=params, timeout=30)
        assert answer.status_code == 200, answer.text
        found += answer.json()["scenes"]
        cursor = answer.json()["cursor"]
        if cursor is None:
            return found
