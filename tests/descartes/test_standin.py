"""The stand-in on its own: the wire details a DL client relies on (envelopes, headers, content type, auth)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from tests.descartes.data import LANDSAT, catalog
from tests.descartes.standin import DescartesStandIn, jwt


@pytest.fixture
def server() -> Iterator[DescartesStandIn]:
    with DescartesStandIn(catalog(), page_size=2) as standin:
        yield standin


def bearer(lifetime: int = 3600) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt(lifetime)}"}


def test_only_a_jwt_that_has_not_expired_gets_in(server: DescartesStandIn) -> None:
    url = f"{server.catalog_url}/products/{LANDSAT}"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer nonsense"}).status_code == 401
    expired = httpx.get(url, headers=bearer(-1))
    assert expired.status_code == 401 and expired.json()["errors"][0]["status"] == "401"
    document = httpx.get(url, headers=bearer()).json()
    assert document["data"]["type"] == "product" and document["data"]["attributes"]["title"] == "Landsat 8"


def test_v1_search_answers_a_bare_array_paged_by_a_header(server: DescartesStandIn) -> None:
    body = {"products": [LANDSAT], "limit": 5, "cloud_fraction": 0.6}
    first = httpx.post(f"{server.metadata_url}/search", json=body, headers=bearer())
    assert isinstance(first.json(), list) and len(first.json()) == 2  # the server's page is smaller than asked
    token = first.headers["X-Continuation-Token"]
    pages = [first.json()]
    while pages[-1]:
        answer = httpx.post(f"{server.metadata_url}/search", json={**body, "continuation_token": token},
                            headers=bearer())
        pages.append(answer.json())
        token = answer.headers.get("X-Continuation-Token", "")
    found = [f["id"] for page in pages for f in page]
    assert found == [i.id for i in server.products[LANDSAT].images if i.cloud_fraction <= 0.6]
    bands = httpx.get(f"{server.metadata_url}/bands/all/{LANDSAT}", headers=bearer()).json()
    assert list(bands) == [f"{LANDSAT}:red", f"{LANDSAT}:nir"]


def test_v2_lists_by_get_or_put_as_json_api(server: DescartesStandIn) -> None:
    product = httpx.get(f"{server.v2_url}/products/{quote(LANDSAT, safe='')}", headers=bearer())
    assert product.headers["Content-Type"] == "application/vnd.api+json"
    assert product.json()["data"]["id"] == LANDSAT
    flt = json.dumps([{"op": "eq", "name": "product_id", "val": LANDSAT}])
    listed = httpx.get(f"{server.v2_url}/bands", params={"filter": flt, "limit": 3}, headers=bearer()).json()
    assert listed["meta"]["count"] == 16 and len(listed["data"]) == 2 and "continuation=" in listed["links"]["next"]
    following = httpx.put(listed["links"]["next"], json={"filter": flt, "limit": 3}, headers=bearer()).json()
    assert {b["id"] for b in following["data"]}.isdisjoint(b["id"] for b in listed["data"])
    refused = httpx.put(f"{server.v2_url}/images", json={"limit": 3}, headers=bearer())
    assert refused.status_code == 400 and "product_id" in refused.json()["errors"][0]["detail"]


def test_injected_failures_and_conflicts(server: DescartesStandIn) -> None:
    server.fail_next(429, retry_after="7")
    limited = httpx.get(f"{server.catalog_url}/products/{LANDSAT}", headers=bearer())
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    server.fail_next(502)
    assert httpx.get(f"{server.catalog_url}/products/{LANDSAT}", headers=bearer()).status_code == 502
    again = {"id": LANDSAT, "title": "Landsat 8", "description": "again"}
    assert httpx.post(f"{server.catalog_url}/products", json=again, headers=bearer()).status_code == 409
    assert httpx.get(f"{server.catalog_url}/products/nobody:nothing", headers=bearer()).status_code == 404
