"""The STAC API over the real pgstac database: core endpoints, extensions, paging, errors, auth on writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pystac_client import Client

from stac_bridge.pgstac.loader import PgstacLoader
from tests.conftest import ROOT, RunningServer, start_api

pytestmark = [pytest.mark.db, pytest.mark.server]

DEMO = ROOT / "examples" / "demo" / "stac"
DEMO_ITEMS = [json.loads(line) for line in (DEMO / "items.ndjson").read_text().splitlines()]
COLLECTION = "stac-bridge-demo"


@pytest.fixture(scope="module")
def api(pgstac_dsn: str) -> Iterator[RunningServer]:
    with PgstacLoader(pgstac_dsn) as loader:
        loader.load_paths([DEMO])
    with start_api(pgstac_dsn) as server:
        yield server


def ids(page: dict[str, Any]) -> list[str]:
    return [f["id"] for f in page["features"]]


def expected_ids(predicate: Any) -> set[str]:
    return {i["id"] for i in DEMO_ITEMS if predicate(i)}


def overlaps(item: dict[str, Any], bbox: list[float]) -> bool:
    w, s, e, n = item["bbox"]
    return not (e < bbox[0] or w > bbox[2] or n < bbox[1] or s > bbox[3])


def test_landing_page_and_conformance(http: httpx.Client) -> None:
    landing = http.get("/").json()
    assert landing["type"] == "Catalog" and landing["id"] == "stac-bridge" and landing["title"] == "stac-bridge"
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "conformance", "data", "search", "service-desc"} <= rels
    conforms = set(http.get("/conformance").json()["conformsTo"])
    for needed in (
        "https://api.stacspec.org/v1.0.0/item-search",
        "https://api.stacspec.org/v1.0.0/item-search#query",
        "https://api.stacspec.org/v1.1.0/item-search#sort",
        "https://api.stacspec.org/v1.0.0/item-search#fields",
        "https://api.stacspec.org/v1.0.0-rc.2/item-search#filter",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
        "https://api.stacspec.org/v1.0.0-rc.1/collection-search#free-text",
    ):
        assert needed in conforms, needed
    assert not any("transaction" in c for c in conforms), "writes must be off without an API key"


def test_collections_and_free_text_search(http: httpx.Client, assert_valid: Any) -> None:
    collections = http.get("/collections").json()["collections"]
    assert COLLECTION in [c["id"] for c in collections]
    assert_valid(http.get(f"/collections/{COLLECTION}").json())
    assert [c["id"] for c in http.get("/collections", params={"q": "alps"}).json()["collections"]] == [COLLECTION]
    assert http.get("/collections", params={"q": "nothing-like-this"}).json()["collections"] == []


def test_search_get_and_post_by_bbox_and_datetime(http: httpx.Client, assert_valid: Any) -> None:
    bbox = [6.2, 44.2, 7.8, 45.8]
    window = "2024-03-01T00:00:00Z/2024-08-31T23:59:59Z"
    want = expected_ids(
        lambda i: overlaps(i, bbox) and "2024-03-01" <= i["properties"]["datetime"][:10] <= "2024-08-31"
    )
    assert want, "the test must select something"
    got_get = http.get("/search", params={"bbox": ",".join(map(str, bbox)), "datetime": window, "limit": 100})
    got_post = http.post("/search", json={"bbox": bbox, "datetime": window, "limit": 100})
    assert set(ids(got_get.json())) == want == set(ids(got_post.json()))
    for feature in got_post.json()["features"]:
        assert_valid(feature)


def test_cql2_text_and_json_filters_and_query(http: httpx.Client) -> None:
    want = expected_ids(lambda i: i["properties"]["eo:cloud_cover"] < 20)
    text = http.get("/search", params={"filter": "eo:cloud_cover < 20", "filter-lang": "cql2-text", "limit": 100})
    body = {
        "filter-lang": "cql2-json",
        "filter": {"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]},
        "limit": 100,
    }
    as_json = http.post("/search", json=body)
    query = http.post("/search", json={"query": {"eo:cloud_cover": {"lt": 20}}, "limit": 100})
    assert set(ids(text.json())) == set(ids(as_json.json())) == set(ids(query.json())) == want


def test_sortby_and_fields(http: httpx.Client) -> None:
    page = http.get("/search", params={"sortby": "-eo:cloud_cover", "limit": 5}).json()
    covers = [f["properties"]["eo:cloud_cover"] for f in page["features"]]
    assert covers == sorted((i["properties"]["eo:cloud_cover"] for i in DEMO_ITEMS), reverse=True)[:5]
    trimmed = http.post(
        "/search", json={"fields": {"include": ["properties.eo:cloud_cover"], "exclude": ["assets"]}, "limit": 1}
    ).json()["features"][0]
    assert "assets" not in trimmed and "eo:cloud_cover" in trimmed["properties"]


def test_paging_through_next_links_get_and_post(http: httpx.Client) -> None:
    for method in ("GET", "POST"):
        seen: list[str] = []
        request: dict[str, Any] = {"method": method, "url": "/search"}
        if method == "GET":
            request["params"] = {"collections": COLLECTION, "limit": 7}
        else:
            request["json"] = {"collections": [COLLECTION], "limit": 7}
        pages = 0
        while True:
            page = http.request(**request).json()
            pages += 1
            seen += ids(page)
            nxt = next((link for link in page["links"] if link["rel"] == "next"), None)
            if nxt is None:
                break
            request = {"method": nxt.get("method", "GET"), "url": nxt["href"]}
            if request["method"] == "POST":
                request["json"] = nxt["body"]
        assert pages == 7
        assert sorted(seen) == sorted(i["id"] for i in DEMO_ITEMS), method


def test_item_and_collection_items_endpoints(http: httpx.Client, assert_valid: Any) -> None:
    item = http.get(f"/collections/{COLLECTION}/items/demo-007").json()
    assert item["id"] == "demo-007"
    assert_valid(item)
    assert item["properties"] == DEMO_ITEMS[7]["properties"]
    items = http.get(f"/collections/{COLLECTION}/items", params={"limit": 3}).json()
    assert len(items["features"]) == 3
    assert http.get(f"/collections/{COLLECTION}/items/nope").status_code == 404


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        # A 3D bbox is allowed (searched on its footprint: tests/tools/test_stac_api_validator.py); 5 numbers are not.
        ("GET", {"url": "/search", "params": {"bbox": "5,44,0,13,48"}}),
        ("POST", {"url": "/search", "json": {"bbox": [5, 44, 0, 13, 48]}}),
        ("GET", {"url": f"/collections/{COLLECTION}/items", "params": {"bbox": "5,44,0,13,95,1000"}}),
        ("GET", {"url": "/search", "params": {"bbox": "5,44,13"}}),
        ("GET", {"url": "/search", "params": {"bbox": "a,b,c,d"}}),
        ("GET", {"url": "/search", "params": {"bbox": "5,95,13,96"}}),
        ("GET", {"url": "/search", "params": {"datetime": "not-a-date"}}),
        ("GET", {"url": "/search", "params": {"filter": "eo:cloud_cover <<< 3", "filter-lang": "cql2-text"}}),
        ("GET", {"url": "/search", "params": {"limit": "many"}}),
        ("POST", {"url": "/search", "content": b"{not json"}),
    ],
)
def test_malformed_parameters_are_400_with_a_message(http: httpx.Client, method: str, kwargs: Any) -> None:
    response = http.request(method, **kwargs)
    assert response.status_code == 400, response.text
    assert response.json()


def test_cors_is_open_for_browsers(http: httpx.Client) -> None:
    response = http.get("/search", headers={"Origin": "https://radiantearth.github.io"})
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = http.options(
        "/search",
        headers={"Origin": "https://radiantearth.github.io", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200


def test_writes_are_off_without_a_key(http: httpx.Client) -> None:
    response = http.post("/collections", json={"id": "x"})
    assert response.status_code in (404, 405)


def test_pystac_client_pages_through_every_item(api: RunningServer) -> None:
    client = Client.open(api.url)
    search = client.search(collections=[COLLECTION], limit=10)
    found = [item.id for item in search.items()]
    assert sorted(found) == sorted(i["id"] for i in DEMO_ITEMS)
    assert len(found) == len(set(found))
    filtered = client.search(
        collections=[COLLECTION], filter={"op": ">=", "args": [{"property": "eo:cloud_cover"}, 50]},
        filter_lang="cql2-json", limit=5,
    )
    assert {i.id for i in filtered.items()} == expected_ids(lambda i: i["properties"]["eo:cloud_cover"] >= 50)


class TestTransactions:
    KEY = "s3cret-key"

    @pytest.fixture(scope="class")
    def writable(self, pgstac_dsn: str) -> Iterator[httpx.Client]:
        with start_api(pgstac_dsn, api_key=self.KEY) as server, \
                httpx.Client(base_url=server.url, timeout=30) as client:
            yield client

    def collection(self) -> dict[str, Any]:
        collection = json.loads((DEMO / "collection.json").read_text())
        collection["id"] = "written:by-api"
        return collection

    def test_write_without_or_with_a_wrong_key_is_401(self, writable: httpx.Client) -> None:
        assert writable.post("/collections", json=self.collection()).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        response = writable.post("/collections", json=self.collection(), headers=wrong)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert writable.delete(f"/collections/{COLLECTION}", headers=wrong).status_code == 401
        assert writable.get(f"/collections/{COLLECTION}").status_code == 200

    def test_reads_need_no_key(self, writable: httpx.Client) -> None:
        assert writable.get("/search").status_code == 200
        assert writable.post("/search", json={"limit": 1}).status_code == 200

    def test_write_with_the_key_is_201(self, writable: httpx.Client) -> None:
        auth = {"Authorization": f"Bearer {self.KEY}"}
        collection = self.collection()
        response = writable.post("/collections", json=collection, headers=auth)
        assert response.status_code == 201, response.text
        item = dict(DEMO_ITEMS[0], id="written-item", collection=collection["id"])
        item["links"] = []
        response = writable.post(f"/collections/{collection['id']}/items", json=item, headers=auth)
        assert response.status_code == 201, response.text
        assert writable.get(f"/collections/{collection['id']}/items/written-item").status_code == 200
        assert writable.delete(f"/collections/{collection['id']}", headers=auth).status_code == 200
