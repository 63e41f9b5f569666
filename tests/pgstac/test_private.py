"""What the loader keeps out of the API (ledgers, a transform's own extent) and the extents it computes."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from stac_bridge.pgstac.loader import PgstacLoader
from tests.conftest import RunningServer, start_api

pytestmark = [pytest.mark.db, pytest.mark.server]

LEDGER = "stac_bridge:ledger"


def collection(cid: str) -> dict[str, Any]:
    return {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": cid,
        "description": "test",
        "license": "other",
        "links": [],
        "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
        LEDGER: {"keep": {"name": "  spelled oddly "}},
        "stac_bridge:source": "nowhere/collection/1",
    }


def item(cid: str, iid: str, west: float, east: float, when: str) -> dict[str, Any]:
    ring = [[west, 10.0], [east, 10.0], [east, 11.0], [west, 11.0], [west, 10.0]]
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": iid,
        "collection": cid,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [west, 10.0, east, 11.0],
        "properties": {"datetime": when, "stac_bridge:source": "nowhere/tile/1"},
        "links": [],
        "assets": {},
        LEDGER: {"keep": {"sensingTime": when.replace("Z", "+00:00")}},
    }


@pytest.fixture()
def loaded(fresh_dsn: str) -> Iterator[tuple[str, RunningServer]]:
    with PgstacLoader(fresh_dsn) as loader:
        loader.load_collections([collection("pacific"), collection("plain"), collection("empty")])
        loader.load_items([
            item("pacific", "east-of-180", 179.2, 179.8, "2024-01-02T00:00:00Z"),
            item("pacific", "west-of-180", -179.9, -179.1, "2024-03-04T05:06:07Z"),
            item("plain", "a", 10.0, 11.0, "2023-05-01T00:00:00Z"),
            item("plain", "b", 12.0, 14.0, "2023-06-01T00:00:00Z"),
        ])
    with start_api(fresh_dsn) as api:
        yield fresh_dsn, api


def test_the_api_serves_no_ledger_and_the_database_keeps_it(loaded: tuple[str, RunningServer]) -> None:
    dsn, api = loaded
    served = httpx.get(f"{api.url}/collections/plain/items/a").json()
    assert LEDGER not in served and "stac_bridge:source" not in served["properties"]
    assert "stac_bridge:source" not in httpx.get(f"{api.url}/collections/plain").json()
    assert all(LEDGER not in f for f in httpx.get(f"{api.url}/search", params={"limit": 10}).json()["features"])
    assert LEDGER not in httpx.get(f"{api.url}/collections/plain").json()
    with psycopg.connect(dsn) as conn:
        (private,) = conn.execute("SELECT private FROM pgstac.items WHERE id = 'a'").fetchone() or (None,)
        (kept,) = conn.execute("SELECT private FROM pgstac.collections WHERE id = 'plain'").fetchone() or (None,)
    assert private.pop("stac_bridge:load").keys() == {"digest", "xid"}  # the loader's own (unchanged items)
    assert private == {
        LEDGER: {"keep": {"sensingTime": "2023-05-01T00:00:00+00:00"}}, "stac_bridge:source": "nowhere/tile/1"
    }
    assert kept["stac_bridge:source"] == "nowhere/collection/1"
    assert kept[LEDGER] == {"keep": {"name": "  spelled oddly "}}
    assert kept["stac_bridge:extent"]["spatial"]["bbox"] == [[-180, -90, 180, 90]]


def test_collection_extents_are_their_items(loaded: tuple[str, RunningServer]) -> None:
    _, api = loaded
    plain = httpx.get(f"{api.url}/collections/plain").json()["extent"]
    assert plain["spatial"]["bbox"] == [[10.0, 10.0, 14.0, 11.0]]
    assert plain["temporal"]["interval"] == [["2023-05-01T00:00:00Z", "2023-06-01T00:00:00Z"]]
    # Across the antimeridian: the narrow box, west > east, not the whole width of the globe.
    pacific = httpx.get(f"{api.url}/collections/pacific").json()["extent"]
    west, south, east, north = pacific["spatial"]["bbox"][0]
    assert (west, south, north) == (179.2, 10.0, 11.0) and east == pytest.approx(-179.1)
    assert pacific["temporal"]["interval"] == [["2024-01-02T00:00:00Z", "2024-03-04T05:06:07Z"]]
    # Without items, the extent the transform wrote.
    empty = httpx.get(f"{api.url}/collections/empty").json()["extent"]
    assert empty["spatial"]["bbox"] == [[-180, -90, 180, 90]]


def test_reloading_is_unchanged_though_the_served_extent_differs(loaded: tuple[str, RunningServer]) -> None:
    dsn, _ = loaded
    with PgstacLoader(dsn) as loader:
        again = loader.load_collections([collection("pacific"), collection("plain"), collection("empty")])
        assert (again.loaded, again.unchanged) == (0, 3)
        changed = copy.deepcopy(collection("plain"))
        changed[LEDGER] = {"keep": {"name": "another spelling"}}
        assert loader.load_collections([changed]).loaded == 1
    with psycopg.connect(dsn) as conn:
        (content,) = conn.execute("SELECT content FROM pgstac.collections WHERE id = 'plain'").fetchone() or (None,)
    # An update of the collection keeps the items' extent.
    assert content["extent"]["spatial"]["bbox"] == [[10.0, 10.0, 14.0, 11.0]]


def test_source_routes_name_what_they_cannot_answer(loaded: tuple[str, RunningServer]) -> None:
    _, api = loaded
    for path in ("/collections/plain/source", "/collections/plain/items/a/source"):
        answer = httpx.get(f"{api.url}{path}")  # tagged with a provider that is not installed
        assert answer.status_code == 409 and "nowhere" in answer.json()["description"]
    assert httpx.get(f"{api.url}/collections/nope/items/a/source").status_code == 404
    assert httpx.get(f"{api.url}/collections/nope/source").status_code == 404


def test_native_stac_has_no_source_record(fresh_dsn: str) -> None:
    native = {k: v for k, v in collection("native").items() if not k.startswith("stac_bridge:")}
    with PgstacLoader(fresh_dsn) as loader:
        loader.load_collections([native])
    with start_api(fresh_dsn) as api:
        answer = httpx.get(f"{api.url}/collections/native/source")
        assert answer.status_code == 404 and "not translated from a provider" in answer.json()["description"]


def test_a_changed_ledger_alone_is_loaded_and_kept(fresh_dsn: str) -> None:
    """Only the private column differs: the item counts as changed and its new ledger is stored."""
    first = item("plain", "a", 10.0, 11.0, "2023-05-01T00:00:00Z")
    second = copy.deepcopy(first)
    second[LEDGER] = {"keep": {"sensingTime": "2023-05-01T00:00:00.000+00:00"}}
    with PgstacLoader(fresh_dsn) as loader:
        loader.load_collections([collection("plain")])
        assert loader.load_items([first]).loaded == 1
        assert loader.load_items([first]).unchanged == 1
        assert loader.load_items([second]).loaded == 1
    with psycopg.connect(fresh_dsn) as conn:
        row = conn.execute("SELECT private FROM pgstac.items WHERE id = 'a'").fetchone()
    assert row is not None and row[0][LEDGER] == second[LEDGER]
