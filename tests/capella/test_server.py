"""A harvest from the Capella stand-in into pgstac, found again through the STAC API and ``/capella/``,
and the real capella-console-client searching the unified catalog as if it were Capella."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from stac_bridge.harvest.capella import CapellaSource
from stac_bridge.harvest.engine import HarvestSummary, run_harvest
from stac_bridge.harvest.http import create_client
from stac_bridge.pgstac.loader import PgstacLoader
from stac_bridge.transforms._common import parse_datetime
from tests.capella.data import CLIENT, load, many, tasking_requests
from tests.capella.standin import CapellaStandIn, serve
from tests.conftest import RunningServer, start_api, throwaway_database
from tests.sdkvenv import run_sdk, sdk_python

pytestmark = [pytest.mark.db, pytest.mark.server]

Valid = Callable[[Any], dict[str, Any]]
#: Pages of the /capella endpoint hold two items here, so that every search below spans several pages.
PAGE_CAP = 2
BBOX = [70.0, 30.0, 71.5, 30.2]
WINDOW = "2024-05-04T00:00:00Z/2024-05-25T00:00:00Z"
OTHER_COLLECTION: dict[str, Any] = {
    "type": "Collection", "stac_version": "1.1.0", "id": "elsewhere", "description": "Not from Capella.",
    "license": "other", "links": [],
    "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
}
OTHER_ITEM: dict[str, Any] = {
    "type": "Feature", "stac_version": "1.1.0", "id": "elsewhere-1", "collection": "elsewhere",
    "geometry": {"type": "Point", "coordinates": [70.1, 30.1]}, "bbox": [70.1, 30.1, 70.1, 30.1],
    "properties": {"datetime": "2024-05-10T00:00:00Z", "proj:epsg": 4326, "view:off_nadir": 3.0},
    "links": [], "assets": {},
}


@dataclass
class Catalog:
    """What was harvested, and the API serving it."""

    summary: HarvestSummary
    items: dict[str, dict[str, Any]]
    tasks: dict[str, dict[str, Any]]
    api: RunningServer
    dsn: str


@pytest.fixture(scope="module")
def catalog(pgstac_server_url: str) -> Iterator[Catalog]:
    user = load("user.json")
    standin = CapellaStandIn(items=many(23), user=user, tasks=tasking_requests(user, 3))
    with throwaway_database(pgstac_server_url) as dsn:
        with serve(standin):
            client = create_client(headers={"Authorization": "ApiKey test-api-key"})
            source = CapellaSource(standin.base_url, client=client, collections=["capella-archive", "capella-tasking"],
                                   limit=10)
            with source:
                summary = run_harvest(source, [PgstacLoader(dsn)], since=None)
        with PgstacLoader(dsn) as loader:  # an item that did not come from Capella, beside them
            loader.load_collections([OTHER_COLLECTION])
            loader.load_items([OTHER_ITEM])
        with pytest.MonkeyPatch.context() as env:
            env.setenv("STAC_BRIDGE_CAPELLA_MAX_PAGE_SIZE", str(PAGE_CAP))
            server = start_api(dsn)
        with server:
            yield Catalog(summary, {i["id"]: i for i in standin.items}, standin.tasks, server, dsn)


@pytest.fixture(scope="module")
def http(catalog: Catalog) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=catalog.api.url, timeout=30) as client:
        yield client


def expected(catalog: Catalog, product_type: str | None = None) -> set[str]:
    """The harvested items in BBOX whose acquisition overlaps WINDOW (and of that product type)."""
    start, end = (parse_datetime(t) for t in WINDOW.split("/"))
    return {
        item_id for item_id, item in catalog.items.items()
        if not (item["bbox"][2] < BBOX[0] or item["bbox"][0] > BBOX[2])
        and parse_datetime(item["properties"]["end_datetime"]) >= start
        and parse_datetime(item["properties"]["start_datetime"]) <= end
        and product_type in (None, item["properties"]["sar:product_type"])
    }


def stac_search(http: httpx.Client, **extra: Any) -> list[dict[str, Any]]:
    body = {"collections": ["capella-archive"], "bbox": BBOX, "datetime": WINDOW, "limit": 100,
            "sortby": [{"field": "properties.datetime", "direction": "desc"}], **extra}
    answer = http.post("/search", json=body)
    assert answer.status_code == 200, answer.text
    features: list[dict[str, Any]] = answer.json()["features"]
    return features


def capella_pages(http: httpx.Client, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of a /capella search, following the next links as the console client does."""
    pages = [http.post("/capella/catalog/search", json=body).json()]
    while next_links := [link for link in pages[-1]["links"] if link["rel"] == "next"]:
        pages.append(http.post(next_links[0]["href"], json={**body, "page": len(pages) + 1}).json())
    return pages


# --- harvest into pgstac, found through the STAC API ------------------------------------------------------

def test_harvest_loads_items_tasking_requests_and_their_collections(catalog: Catalog, http: httpx.Client) -> None:
    assert catalog.summary.records == 23 + 3 and catalog.summary.errors == 0
    with PgstacLoader(catalog.dsn) as loader:
        assert loader.count_items("capella-archive") == 23
        assert loader.count_items("capella-tasking") == 3
    collections = {c["id"] for c in http.get("/collections").json()["collections"]}
    assert {"capella-archive", "capella-tasking"} <= collections


def test_harvested_items_are_found_by_bbox_and_datetime(http: httpx.Client, catalog: Catalog,
                                                        assert_valid: Valid) -> None:
    features = stac_search(http)
    assert {f["id"] for f in features} == expected(catalog) != set()
    assert len(features) < 23
    for feature in features:
        assert_valid(feature)


def test_tasking_requests_are_found_by_their_window(http: httpx.Client, catalog: Catalog,
                                                    assert_valid: Valid) -> None:
    answer = http.get("/search", params={"collections": "capella-tasking", "datetime": "2020-04-25T00:00:00Z"})
    features = answer.json()["features"]
    assert {f["id"] for f in features} == set(catalog.tasks) - {"00000000-0000-4000-8000-000000000003"}
    for feature in features:
        assert_valid(feature)


# --- the /capella endpoint --------------------------------------------------------------------------------

def test_capella_search_pages_like_capella_and_finds_what_search_finds(http: httpx.Client, catalog: Catalog) -> None:
    body = {"collections": ["capella-archive"], "bbox": BBOX, "limit": 50,
            "sortby": [{"field": "properties.datetime", "direction": "desc"}],
            "query": {"datetime": {"eq": WINDOW}, "sar:product_type": {"in": ["SLC", "GEO"]}}}
    pages = capella_pages(http, body)
    wanted = [f["id"] for f in stac_search(http)]
    assert len(pages) == -(-len(wanted) // PAGE_CAP) > 1
    assert all(page["numberMatched"] == len(wanted) for page in pages)
    assert [page["numberReturned"] for page in pages[:-1]] == [PAGE_CAP] * (len(pages) - 1)
    assert [f["id"] for page in pages for f in page["features"]] == wanted
    first_next = pages[0]["links"][0]
    assert first_next["href"].endswith("/capella/catalog/search?page=2") and first_next["body"]["page"] == 2


def test_items_from_capella_come_back_in_capellas_form(http: httpx.Client, catalog: Catalog) -> None:
    body = {"collections": ["capella-archive"], "limit": 2, "page": 3,
            "sortby": [{"field": "id", "direction": "asc"}]}
    page = http.post("/capella/catalog/search", json=body).json()
    assert [f["id"] for f in page["features"]] == sorted(catalog.items)[4:6]
    for feature in page["features"]:
        assert feature == catalog.items[feature["id"]]  # proj:epsg, view:look_angle, locale:*, STAC 1.0.0


def test_other_items_come_back_as_stored(http: httpx.Client) -> None:
    page = http.post("/capella/catalog/search", json={"collections": ["elsewhere"]}).json()
    (feature,) = page["features"]
    assert {k: v for k, v in feature.items() if k != "links"} == {k: v for k, v in OTHER_ITEM.items() if k != "links"}


@pytest.mark.parametrize(("body", "field"), [
    ({"query": {"sar:product_type": {"like": "G%"}}}, "query.sar:product_type.like"),
    ({"page": 0}, "page"),
    ({"fields": {"include": ["id"]}}, "fields"),
])
def test_untranslatable_bodies_are_400_in_capellas_error_envelope(
    http: httpx.Client, body: dict[str, Any], field: str
) -> None:
    answer = http.post("/capella/catalog/search", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "VALIDATION_ERROR"
    assert answer.json()["error"]["data"] == {"field": field}


def test_a_body_that_is_not_json_is_400(http: httpx.Client) -> None:
    answer = http.post("/capella/catalog/search", content=b"{nope", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "not JSON" in answer.text


def test_search_needs_no_key_when_writes_do(catalog: Catalog) -> None:
    with start_api(catalog.dsn, api_key="secret") as server, httpx.Client(base_url=server.url) as client:
        assert client.post("/capella/catalog/search", json={"limit": 1}).status_code == 200
        assert client.post("/capella//catalog/search", json={"limit": 1}).status_code == 200  # the client's path
        assert client.post("/collections", json={"id": "x"}).status_code == 401


# --- the real console client --------------------------------------------------------------------------------

CLIENT_SCRIPT = """
import json, os
from capella_console_client import CapellaConsoleClient

client = CapellaConsoleClient(base_url=os.environ["API_URL"] + "/capella", no_auth=True)
result = client.search(bbox=json.loads(os.environ["BBOX"]), datetime=os.environ["WINDOW"],
                       product_type=os.environ["PRODUCT_TYPE"], collections=["capella-archive"],
                       sortby="-datetime", limit=100)
print(json.dumps(result.to_feature_collection()["features"]))
"""


@pytest.mark.parametrize("product_type", ["GEO", "SLC"])
def test_real_console_client_finds_what_stac_search_finds(
    http: httpx.Client, catalog: Catalog, product_type: str
) -> None:
    python = sdk_python(*CLIENT)
    features = run_sdk(python, CLIENT_SCRIPT, env={
        "API_URL": catalog.api.url, "BBOX": json.dumps(BBOX), "WINDOW": WINDOW, "PRODUCT_TYPE": product_type,
        "NO_PROXY": "127.0.0.1"}, timeout=120)
    filtered = {"filter-lang": "cql2-json",
                "filter": {"op": "=", "args": [{"property": "sar:product_type"}, product_type]}}
    wanted = [f["id"] for f in stac_search(http, **filtered)]
    assert len(wanted) > PAGE_CAP  # so the client followed next links
    assert [f["id"] for f in features] == wanted
    assert set(wanted) == expected(catalog, product_type)
    assert all(f == catalog.items[f["id"]] for f in features)
