"""Hostile and malformed requests on the real server over the real pgstac database: short 4xx, never a 500.

One test per probe of issue 12; each failed on the server before it was hardened (a 500, a hang, or a
400 of a hundred megabytes).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stac_bridge.pgstac.loader import PgstacLoader
from tests.conftest import ROOT, RunningServer, start_api, throwaway_database

pytestmark = [pytest.mark.db, pytest.mark.server]

DEMO = ROOT / "examples" / "demo" / "stac"
COLLECTION = "stac-bridge-demo"
KEY = "hostile-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
JSON = {"Content-Type": "application/json"}
PATCH = {**AUTH, "Content-Type": "application/json-patch+json"}
#: The largest error answer a probe may get, and how long it may take.
MAX_ERROR_BYTES = 2048
MAX_SECONDS = 5.0
MAX_LIMIT = 7


@pytest.fixture(scope="module")
def api(pgstac_server_url: str) -> Iterator[RunningServer]:
    with throwaway_database(pgstac_server_url) as dsn:
        with PgstacLoader(dsn) as loader:
            loader.load_paths([DEMO])
        with start_api(dsn, api_key=KEY, max_limit=MAX_LIMIT) as server:
            yield server


def refused(http: httpx.Client, method: str, url: str, status: int = 400, **kwargs: Any) -> dict[str, Any]:
    """Send the probe; assert a JSON ``status`` answer, short and quick; return its body."""
    started = time.monotonic()
    response = http.request(method, url, **kwargs)
    seconds = time.monotonic() - started
    assert response.status_code == status, response.text[:500]
    assert len(response.content) <= MAX_ERROR_BYTES, f"{len(response.content)} bytes"
    assert seconds < MAX_SECONDS, f"{seconds:.1f} s"
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert "Traceback" not in response.text
    return body


def unclosed_ring(positions: int) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[i * 1e-4, i * 1e-4] for i in range(positions)]]}


def nested_cql2(levels: int) -> dict[str, Any]:
    clause: dict[str, Any] = {"op": "=", "args": [{"property": "eo:cloud_cover"}, 1]}
    for _ in range(levels):
        clause = {"op": "not", "args": [clause]}
    return clause


# --- amplification and size ------------------------------------------------------------------------------

def test_a_megabyte_of_malformed_intersects_gets_a_short_answer(http: httpx.Client) -> None:
    strings = {"type": "Polygon", "coordinates": [[["a", "b"]] * 100_000]}
    for geometry in (strings, unclosed_ring(60_000)):
        body = json.dumps({"intersects": geometry})
        assert len(body) > 1_000_000
        answer = refused(http, "POST", "/search", content=body, headers=JSON)
        assert answer["description"].startswith("intersects:")


def test_a_body_over_the_limit_is_413_before_it_is_read(http: httpx.Client) -> None:
    ids = json.dumps({"ids": ["x" * 50] * 100_000})  # 5.3 MB: over the 4 MiB default
    refused(http, "POST", "/search", 413, content=ids, headers=JSON)
    item = json.dumps({"type": "Feature", "id": "big", "properties": {},
                       "geometry": {"type": "Polygon", "coordinates": [[[i * 1e-5, 0.0] for i in range(300_000)]]}})
    refused(http, "POST", f"/collections/{COLLECTION}/items", 413, content=item, headers={**AUTH, **JSON})


def test_too_many_ids_are_refused_before_the_database(http: httpx.Client) -> None:
    refused(http, "POST", "/search", json={"ids": [f"id-{i}" for i in range(MAX_LIMIT + 1)]})
    refused(http, "GET", "/search", params={"ids": ",".join(f"id-{i}" for i in range(MAX_LIMIT + 1))})


def test_a_limit_above_the_maximum_is_answered_with_the_maximum(http: httpx.Client) -> None:
    got = http.get("/search", params={"limit": 1_000_000_000}).json()
    assert len(got["features"]) == MAX_LIMIT
    posted = http.post("/search", json={"limit": 1_000_000_000}).json()
    assert len(posted["features"]) == MAX_LIMIT
    items = http.get(f"/collections/{COLLECTION}/items", params={"limit": 10**9}).json()
    assert len(items["features"]) == MAX_LIMIT
    description = http.get("/api").json()["info"]["description"]
    assert f"at most {MAX_LIMIT} items" in description


# --- malformed bodies and parameters ---------------------------------------------------------------------

@pytest.mark.parametrize("body", ["[]", '"s"', "5", "null", '{"ids": ["\\ud800"]}'])
def test_a_search_body_that_is_not_an_object_is_400(http: httpx.Client, body: str) -> None:
    refused(http, "POST", "/search", content=body, headers=JSON)


def test_a_body_that_is_not_json_is_415(http: httpx.Client) -> None:
    refused(http, "POST", "/search", 415, content="limit=1", headers={"Content-Type": "text/plain"})


def test_json_without_a_content_type_is_read_as_json(http: httpx.Client) -> None:
    response = http.post("/search", content=b'{"limit": 1}')
    assert response.status_code == 200 and len(response.json()["features"]) == 1


@pytest.mark.parametrize("body", [
    json.dumps({"filter-lang": "cql2-json", "filter": nested_cql2(130)}),
    "[" * 1000 + "]" * 1000,
])
def test_deep_nesting_is_400(http: httpx.Client, body: str) -> None:
    refused(http, "POST", "/search", content=body, headers=JSON)


@pytest.mark.parametrize("cql2_text", [
    "(" * 3000 + "eo:cloud_cover < 5" + ")" * 3000,  # crashed the server process (a stack overflow)
    "NOT " * 300 + "eo:cloud_cover < 5",  # kept the event loop busy past a minute
    " OR ".join(["eo:cloud_cover < 5"] * 1000),  # took pgstac past its statement timeout
])
def test_a_cql2_text_filter_too_costly_to_parse_is_400(http: httpx.Client, cql2_text: str) -> None:
    refused(http, "GET", "/search", params={"filter": cql2_text, "filter-lang": "cql2-text"})
    refused(http, "POST", "/search", json={"filter": cql2_text, "filter-lang": "cql2-text"})
    assert http.get("/search", params={"filter": "NOT (eo:cloud_cover < 5 AND eo:cloud_cover > 1)"}).status_code == 200


def test_a_search_too_costly_to_translate_is_400(http: httpx.Client) -> None:
    clause = {"op": "<", "args": [{"property": "eo:cloud_cover"}, 5]}
    refused(http, "POST", "/search", json={"filter": {"op": "or", "args": [clause] * 1000}})
    # An in-list of 100,000 took 6 s; 10,000 query properties ran into the statement timeout; 10,000 sort keys
    # or 50,000 fields were repeated in a next link of as many bytes.
    refused(http, "POST", "/search", json={"filter": {"op": "in", "args": [{"property": "id"}, ["x"] * 100_000]}})
    refused(http, "POST", "/search", json={"query": {f"p{i}": {"eq": 1} for i in range(10_000)}})
    refused(http, "POST", "/search", json={"sortby": [{"field": "id", "direction": "asc"}] * 10_000})
    refused(http, "POST", "/search", json={"fields": {"include": [f"properties.p{i}" for i in range(50_000)]}})


def test_a_bad_geometry_in_a_filter_or_the_capella_search_is_400(http: httpx.Client) -> None:
    two_points = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}
    cql2 = {"op": "s_intersects", "args": [{"property": "geometry"}, two_points]}
    refused(http, "POST", "/search", json={"filter-lang": "cql2-json", "filter": cql2})
    refused(http, "GET", "/search", params={"filter-lang": "cql2-json", "filter": json.dumps(cql2)})
    answer = refused(http, "POST", "/capella/catalog/search", json={"intersects": two_points})
    assert answer["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(("url", "params"), [
    ("/search", {"query": "notjson"}),
    ("/collections", {"query": "[1,2]"}),
    ("/search", {"intersects": "notjson"}),
    ("/search", {"intersects": json.dumps(unclosed_ring(5))}),
    ("/search", {"fields": ","}),
])
def test_a_malformed_json_or_list_parameter_is_400(http: httpx.Client, url: str, params: dict[str, str]) -> None:
    refused(http, "GET", url, params=params)


def test_database_errors_do_not_show_postgresql_text(http: httpx.Client) -> None:
    answer = refused(http, "GET", "/search", params={"filter": "eo:cloud_cover = 'abc'", "filter-lang": "cql2-text"})
    assert "syntax" not in answer["description"] and "numeric" not in answer["description"]


def test_the_opensearch_endpoint_refuses_an_inverted_bbox_and_deep_pages(http: httpx.Client) -> None:
    refused(http, "GET", "/opensearch/products", params={"bbox": "10,10,0,0"})
    refused(http, "GET", "/opensearch/products", params={"startIndex": 10_002})
    assert http.get("/opensearch/products", params={"startIndex": 40}).status_code == 200


def test_the_capella_endpoint_refuses_deep_pages_and_costly_queries(http: httpx.Client) -> None:
    answer = refused(http, "POST", "/capella/catalog/search", json={"page": 10_000_000, "limit": 100})
    assert answer["error"]["data"]["field"] == "page"
    costly = {"query": {f"capella:p{i}": {"eq": 1} for i in range(10_000)}}
    assert refused(http, "POST", "/capella/catalog/search", json=costly)["error"]["code"] == "VALIDATION_ERROR"


# --- writes ------------------------------------------------------------------------------------------------

def test_writes_without_a_body_are_400(http: httpx.Client) -> None:
    refused(http, "PUT", f"/collections/{COLLECTION}", headers=AUTH)
    refused(http, "POST", f"/collections/{COLLECTION}/items", headers=AUTH)
    refused(http, "POST", "/collections", headers=AUTH)


def test_a_json_patch_that_does_not_apply_is_400(http: httpx.Client) -> None:
    refused(http, "PATCH", f"/collections/{COLLECTION}", content='[{"op": "nope"}]', headers=PATCH)
    refused(http, "PATCH", f"/collections/{COLLECTION}", headers=PATCH,
            content='[{"op": "remove", "path": "/no/such/member"}]')
    refused(http, "PATCH", f"/collections/{COLLECTION}/items/demo-001", headers=PATCH,
            content='[{"op": "replace", "path": "/no/such/member", "value": 1}]')


def test_a_patch_that_would_break_reads_is_refused_and_reads_keep_working(http: httpx.Client) -> None:
    for patch in ([{"op": "add", "path": "/links/0", "value": "s"}],
                  [{"op": "replace", "path": "/extent", "value": 5}],
                  [{"op": "replace", "path": "/id", "value": "another"}]):
        refused(http, "PATCH", f"/collections/{COLLECTION}", content=json.dumps(patch), headers=PATCH)
    item_patch = [{"op": "add", "path": "/links/0", "value": "s"}]
    refused(http, "PATCH", f"/collections/{COLLECTION}/items/demo-001", content=json.dumps(item_patch),
            headers=PATCH)
    assert http.get("/collections").status_code == 200
    assert http.get(f"/collections/{COLLECTION}").status_code == 200
    assert http.get(f"/collections/{COLLECTION}/items/demo-001").status_code == 200
    merge = http.patch(f"/collections/{COLLECTION}", json={"title": "Renamed by a merge patch"}, headers=AUTH)
    assert merge.status_code == 200, merge.text
    assert http.get(f"/collections/{COLLECTION}").json()["title"] == "Renamed by a merge patch"


def test_an_item_with_an_unclosed_ring_is_refused_before_it_is_stored(http: httpx.Client) -> None:
    item = json.loads((DEMO / "items.ndjson").read_text().splitlines()[0])
    item.update(id="unclosed", geometry=unclosed_ring(5), links=[])
    refused(http, "POST", f"/collections/{COLLECTION}/items", json=item, headers=AUTH)
    assert http.get(f"/collections/{COLLECTION}/items/unclosed").status_code == 404


def test_fields_with_null_members_are_the_default_set(http: Any) -> None:
    # The fields extension allows null for include and exclude (stac-api-validator sends it): no 400, no 500.
    for fields in ({"include": None, "exclude": None}, {"include": None, "exclude": ["geometry"]}):
        answer = http.post("/search", json={"fields": fields, "limit": 1})
        assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(("body", "named"), [
    ({"datetime": "yesterday"}, "datetime"),
    ({"limit": 2, "sortby": [{"field": "datetime", "direction": "sideways"}]}, "sortby.0.direction"),
    ({"intersects": {"type": "Point", "coordinates": [1, 2]}, "bbox": [0, 0, 1, 1]}, "body"),
])
def test_a_search_the_request_model_refuses_is_400_naming_the_member(http: httpx.Client, body: dict[str, Any],
                                                                      named: str) -> None:
    """``POST /search`` goes past FastAPI's route (stac_bridge.server.speed.use_fast_search) to the same model."""
    answer = refused(http, "POST", "/search", json=body)
    assert answer["code"] == "InvalidParameterValue" and answer["description"].startswith(named), answer


def test_the_fast_search_route_stands_before_stac_fastapis_which_stays_documented(http: httpx.Client) -> None:
    from fastapi.routing import APIRoute
    from starlette.routing import Route

    from stac_bridge.server.app import create_app
    from stac_bridge.server.settings import ServerSettings

    app = create_app(ServerSettings(), database_url="postgresql://nobody@127.0.0.1:1/none")
    first = next(r for r in app.router.routes if getattr(r, "path", None) == "/search")
    assert type(first) is Route and not isinstance(first, APIRoute) and first.methods == {"POST"}
    assert "post" in http.get("/api").json()["paths"]["/search"]
