"""A harvest from the stand-in catalogue into pgstac, found through the STAC API, and served again as OpenSearch at
``/opensearch/``: to terracatalogueclient itself, which must find exactly what ``/search`` finds."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import shapely.geometry

from stac_bridge.harvest import SourceOptions, create_source
from stac_bridge.harvest.engine import run_harvest
from stac_bridge.pgstac.loader import PgstacLoader
from stac_bridge.server.opensearch import product_of
from stac_bridge.transforms._common import parse_datetime
from tests.conftest import ROOT, RunningServer, start_api, throwaway_database
from tests.opensearch.standin import FAPAR, TOC, OpenSearchStandIn, collections, products

pytestmark = [pytest.mark.db, pytest.mark.server]

Valid = Callable[[Any], dict[str, Any]]
TOC_PRODUCTS = products(95)
FAPAR_PRODUCTS = products(13, collection=FAPAR)
BY_ID = {f["id"]: f for f in [*TOC_PRODUCTS, *FAPAR_PRODUCTS]}
DEMO = "stac-bridge-demo"
LISBON = [-9.6, 38.4, -7.9, 40.2]


@pytest.fixture(scope="module")
def api(pgstac_server_url: str) -> Iterator[RunningServer]:
    with throwaway_database(pgstac_server_url) as dsn:
        with OpenSearchStandIn(product_features=list(BY_ID.values())) as standin:
            source = create_source("opensearch", SourceOptions(standin.url, collections=[TOC, FAPAR], page_size=20))
            with source:
                summary = run_harvest(source, [PgstacLoader(dsn)], since=None, concurrency=4)
        assert summary.records == len(BY_ID) and summary.errors == 0
        with PgstacLoader(dsn) as loader:  # items of another provider, beside the OpenSearch ones
            loader.load_paths([ROOT / "examples" / "demo" / "stac"])
        with start_api(dsn) as server:
            yield server


def stac_ids(http: httpx.Client, body: dict[str, Any]) -> list[str]:
    answer = http.post("/search", json={"limit": 1000, **body})
    assert answer.status_code == 200, answer.text
    return [f["id"] for f in answer.json()["features"]]


def products_of(http: httpx.Client, **params: Any) -> dict[str, Any]:
    answer = http.get("/opensearch/products", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/geo+json")
    document: dict[str, Any] = answer.json()
    return document


def ids(document: dict[str, Any]) -> list[str]:
    return [f["id"] for f in document["features"]]


def test_harvested_products_are_found_through_stac_search_by_bbox_and_datetime(
    http: httpx.Client, assert_valid: Valid
) -> None:
    window = ("2022-01-05T00:00:00Z", "2022-01-20T00:00:00Z")
    answer = http.post("/search", json={"collections": [TOC], "bbox": LISBON, "datetime": "/".join(window),
                                        "limit": 1000}).json()
    start, end = (parse_datetime(t) for t in window)
    area = shapely.geometry.box(*LISBON)
    expected = {f["id"] for f in TOC_PRODUCTS if area.intersects(shapely.geometry.shape(f["geometry"]))
                and start <= parse_datetime(f["properties"]["date"]) <= end}
    assert 0 < len(expected) < 40
    assert {f["id"] for f in answer["features"]} == expected
    for item in answer["features"]:
        assert_valid(item)
    assert_valid(http.get(f"/collections/{TOC}").json())


def links_in_any_order(feature: dict[str, Any]) -> dict[str, Any]:
    """The feature with each link group sorted: PostgreSQL's jsonb does not keep the order of an Item's assets."""
    groups = feature["properties"]["links"]
    links = {g: sorted(entries, key=lambda link: link["href"]) for g, entries in groups.items()}
    return {**feature, "properties": {**feature["properties"], "links": links}}


def test_products_come_back_exactly_as_the_provider_sent_them(http: httpx.Client) -> None:
    document = products_of(http, collection=TOC, count=100)
    assert document["totalResults"] == len(TOC_PRODUCTS) == len(document["features"])
    for feature in document["features"]:
        assert links_in_any_order(feature) == links_in_any_order(BY_ID[feature["id"]])


@pytest.mark.parametrize(("params", "body"), [
    ({"bbox": ",".join(map(str, LISBON)), "start": "2022-01-05", "end": "2022-01-10"},
     {"bbox": LISBON, "datetime": "2022-01-05T00:00:00Z/2022-01-10T23:59:59.999999Z"}),
    ({"cloudCover": "[10,60]"},
     {"filter": {"op": "between", "args": [{"property": "eo:cloud_cover"}, 10, 60]}}),
    ({"cloudCover": "]50", "start": "2022-01-10T12:00:00Z"},
     {"datetime": "2022-01-10T12:00:00Z/..", "filter": {"op": ">", "args": [{"property": "eo:cloud_cover"}, 50]}}),
    ({"tileId": "29SMC", "productType": "TOC"},
     {"filter": {"op": "and", "args": [{"op": "=", "args": [{"property": "grid:code"}, "MGRS-29SMC"]},
                                       {"op": "=", "args": [{"property": "product:type"}, "TOC"]}]}}),
    ({"orbitDirection": "DESCENDING", "relativeOrbitNumber": "80"},
     {"filter": {"op": "and", "args": [{"op": "=", "args": [{"property": "sat:orbit_state"}, "descending"]},
                                       {"op": "=", "args": [{"property": "sat:relative_orbit"}, 80]}]}}),
    ({"geometry": "POLYGON((-9 39,-8 39,-8 40,-9 40,-9 39))"},
     {"intersects": {"type": "Polygon", "coordinates": [[[-9, 39], [-8, 39], [-8, 40], [-9, 40], [-9, 39]]]}}),
], ids=["bbox-dates", "cloud-between", "cloud-above-since", "tile-type", "orbit", "geometry"])
def test_products_find_what_stac_search_finds(http: httpx.Client, params: dict[str, str],
                                              body: dict[str, Any]) -> None:
    expected = stac_ids(http, {"collections": [TOC], **body})
    document = products_of(http, collection=TOC, count=200, **params)
    assert len(expected) > 0 and document["totalResults"] == len(expected)
    assert ids(document) == expected


def test_pages_by_start_index_with_absolute_links_that_carry_every_parameter(http: httpx.Client) -> None:
    params = {"collection": TOC, "cloudCover": "80]", "accessedFrom": "MEP", "count": "7"}
    everything = ids(products_of(http, **{**params, "count": "200"}))
    first = products_of(http, **params)
    total = first["totalResults"]
    assert total == len(everything) > 7 * 3
    assert (first["startIndex"], first["itemsPerPage"]) == (1, 7)
    links = first["properties"]["links"]
    assert set(links) == {"first", "last", "next"}
    last_index = 1 + (total - 1) // 7 * 7
    seen, document, pages = [], first, 0
    while True:
        seen += ids(document)
        pages += 1
        if "next" not in document["properties"]["links"]:
            break
        href = document["properties"]["links"]["next"][0]["href"]
        assert href.startswith(str(http.base_url).rstrip("/") + "/opensearch/products?")
        query = {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}
        assert query == {**params, "startIndex": str(1 + 7 * pages)}
        document = httpx.get(href).json()
        assert document["properties"]["links"]["previous"][0]["href"].endswith(f"startIndex={1 + 7 * (pages - 1)}")
    assert seen == everything and pages == last_index // 7 + 1
    assert links["last"][0]["href"].endswith(f"startIndex={last_index}")
    assert document["startIndex"] == last_index and document["itemsPerPage"] == total - last_index + 1
    assert products_of(http, **params, startIndex=str(total + 1))["features"] == []


def test_count_zero_answers_only_the_total(http: httpx.Client) -> None:
    assert products_of(http, collection=TOC, count=0, cloudCover="[10,60]") == {
        "totalResults": len(stac_ids(http, {"collections": [TOC], "filter": {
            "op": "between", "args": [{"property": "eo:cloud_cover"}, 10, 60]}}))}


@pytest.mark.parametrize(("path", "params", "part"), [
    ("products", {"collection": TOC, "platform": "S2A"}, "platform"),
    ("products", {"collection": TOC, "cloudCover": "lots"}, "cloudCover"),
    ("products", {"collection": TOC, "tileId": "T29SMC"}, "tileId"),
    ("products", {"collection": TOC, "startIndex": "0"}, "startIndex"),
    ("collections", {"cloudCover": "10]"}, "cloudCover"),
])
def test_untranslatable_parameters_are_a_400_naming_them(http: httpx.Client, path: str, params: dict[str, str],
                                                        part: str) -> None:
    answer = http.get(f"/opensearch/{path}", params=params)
    assert answer.status_code == 400
    assert answer.json()["parameter"] == part and part in answer.json()["description"]
    repeated = http.get("/opensearch/products", params=[("collection", TOC), ("collection", FAPAR)])
    assert repeated.status_code == 400 and repeated.json()["parameter"] == "collection"


def test_collections_come_back_as_recorded_and_page(http: httpx.Client) -> None:
    document = http.get("/opensearch/collections").json()
    assert {TOC, FAPAR, DEMO} == set(ids(document)) and document["totalResults"] == 3
    recorded = {f["id"]: f for f in collections()}
    assert next(f for f in document["features"] if f["id"] == TOC) == recorded[TOC]
    paged = http.get("/opensearch/collections", params={"count": 1, "startIndex": 2}).json()
    assert ids(paged) == ids(document)[1:2] and "next" in paged["properties"]["links"]
    lisbon = http.get("/opensearch/collections", params={"bbox": "-9.5,38.5,-9,39"}).json()
    # A collection's served extent is its items': S2 TOC has products near Lisbon, FAPAR's lie in Belgium, the demo
    # collection in the Alps.
    assert set(ids(lisbon)) == {TOC}


def test_items_of_other_providers_are_answered_as_plain_products(http: httpx.Client) -> None:
    document = products_of(http, collection=DEMO, count=100)
    assert document["totalResults"] == len(document["features"]) > 0
    for feature in document["features"]:
        props = feature["properties"]
        assert props["parentIdentifier"] == DEMO and props["title"] and props["identifier"] == feature["id"]
        parameters = props["acquisitionInformation"][0]["acquisitionParameters"]
        assert parameters["beginningDateTime"].endswith("Z") and parameters["endingDateTime"].endswith("Z")
        assert isinstance(props["links"], dict) and len(feature["bbox"]) == 4


def test_an_item_stac_to_product_refuses_still_makes_a_product() -> None:
    item = {"type": "Feature", "stac_version": "1.1.0", "id": "odd", "collection": "elsewhere",
            "geometry": {"type": "Point", "coordinates": [4.4, 50.8]}, "bbox": [4.4, 50.8, 4.4, 50.8],
            "properties": {"datetime": "2024-05-01T10:00:00Z", "title": 7},
            "assets": {"data": {"href": "https://example.com/a.tif", "roles": ["data"]}, "broken": {"roles": []}},
            "links": []}
    feature = product_of(item)
    props = feature["properties"]
    assert props["title"] == "odd" and props["parentIdentifier"] == "elsewhere"
    assert props["links"] == {"data": [{"href": "https://example.com/a.tif"}], "previews": [], "alternates": [],
                              "related": []}
    assert props["acquisitionInformation"] == [{"acquisitionParameters": {
        "beginningDateTime": "2024-05-01T10:00:00Z", "endingDateTime": "2024-05-01T10:00:00Z"}}]


def test_items_with_placeholder_datetimes_are_answered_without_a_year_1_date() -> None:
    item = {"type": "Feature", "stac_version": "1.1.0", "id": "timeless", "collection": "dem",
            "geometry": {"type": "Point", "coordinates": [4.4, 50.8]}, "bbox": [4.4, 50.8, 4.4, 50.8],
            "properties": {"datetime": None, "start_datetime": "0001-01-01T00:00:00Z",
                           "end_datetime": "9999-12-31T23:59:59Z", "created": "2024-01-01T00:00:00Z"},
            "assets": {}, "links": []}
    text = json.dumps(product_of(item))
    assert "0001-" not in text and "1-01-01T" not in text and "9999-" not in text
    assert product_of({**item, "properties": {"datetime": "0001-01-01T00:00:00Z"}})["properties"]["title"] == "timeless"


# --- the real client ------------------------------------------------------------------------------------------

def catalogue(api: RunningServer, tmp_path: Path) -> Any:
    pytest.importorskip("terracatalogueclient")
    from terracatalogueclient import Catalogue
    from terracatalogueclient.config import CatalogueConfig

    ini = tmp_path / "catalogue.ini"
    ini.write_text(f"[Catalogue]\nURL = {api.url}/opensearch/\n")
    return Catalogue(CatalogueConfig.from_file(str(ini)))


def test_terracatalogueclient_finds_exactly_what_stac_search_finds(
    api: RunningServer, http: httpx.Client, tmp_path: Path
) -> None:
    client = catalogue(api, tmp_path)

    listed = {c.id: c for c in client.get_collections()}
    assert set(listed) == {TOC, FAPAR, DEMO}
    assert listed[TOC].bbox == next(f for f in collections() if f["id"] == TOC)["bbox"]

    query = {"start": dt.date(2022, 1, 3), "end": dt.date(2022, 1, 24), "bbox": [-10.0, 38.0, -7.5, 41.0],
             "cloudCover": 70.0}
    found = list(client.get_products(TOC, **query, count=5))  # count: a page of 5, so several pages
    expected = stac_ids(http, {
        "collections": [TOC], "bbox": query["bbox"], "datetime": "2022-01-03T00:00:00Z/2022-01-24T23:59:59.999999Z",
        "filter": {"op": "<=", "args": [{"property": "eo:cloud_cover"}, 70]}})
    assert len(expected) > 3 * 5
    assert [p.id for p in found] == expected
    assert client.get_product_count(TOC, **query) == len(expected)

    product = found[0]
    assert links_in_any_order(product.geojson) == links_in_any_order(BY_ID[product.id])
    assert product.beginningDateTime == dt.datetime(*parse_datetime(
        BY_ID[product.id]["properties"]["date"]).timetuple()[:6])
    assert [f.href for f in product.alternates] == [
        link["href"] for link in BY_ID[product.id]["properties"]["links"]["alternates"]]
