"""The BYOC harvester against the stand-in: OAuth, viewtoken paging, errors, 429s; into pgstac and out of the API."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from stac_bridge.errors import AuthError, ConfigError, ProviderError
from stac_bridge.harvest import SourceOptions, create_source
from stac_bridge.harvest.byoc import ByocSource
from stac_bridge.harvest.engine import run_harvest
from stac_bridge.harvest.http import RetryPolicy
from stac_bridge.registry import ProviderRecord
from stac_bridge.transforms import byoc
from tests.byoc.data import COLLECTION_ID, COLLECTIONS, PACIFIC_ID, TILES, pacific
from tests.byoc.standin import StandIn
from tests.conftest import start_api
from tests.sinks import ListSink

Valid = Callable[[Any], dict[str, Any]]
FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, jitter=0.0)


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SH_CLIENT_ID", "stand-in-client")
    monkeypatch.setenv("SH_CLIENT_SECRET", "stand-in-secret")
    monkeypatch.delenv("SH_TOKEN_URL", raising=False)


@pytest.fixture
def server() -> Iterator[StandIn]:
    collection, tiles = pacific()
    with StandIn([*COLLECTIONS, collection], {COLLECTION_ID: TILES, PACIFIC_ID: tiles}, page_size=2) as standin:
        yield standin


def source(server: StandIn, *collections: str, page_size: int = 2) -> ByocSource:
    made = create_source("byoc", SourceOptions(server.url, collections=collections, page_size=page_size, retry=FAST))
    assert isinstance(made, ByocSource)
    return made


def canon(record: Any) -> str:
    return json.dumps(record, sort_keys=True)


def test_harvests_every_collection_and_its_tiles_page_by_page(server: StandIn, assert_valid: Valid) -> None:
    sink = ListSink()
    with source(server) as harvest:
        summary = run_harvest(harvest, [sink], since=None, concurrency=2)
    collections = [r for r in sink.records if r["type"] == "Collection"]
    items = [r for r in sink.records if r["type"] == "Feature"]
    assert [c["id"] for c in collections] == [f"byoc-{c['id']}" for c in server.collections]
    assert sorted(i["id"] for i in items) == sorted(t["id"] for t in [*TILES, *pacific()[1]])
    assert summary.records == len(items) and summary.errors == 0
    for record in sink.records:
        assert_valid(record)
    # One token for the whole run; tiles paged by viewtoken, 2 a page: 5 Pacific tiles are 3 pages.
    assert [t for m, t in server.requests if m == "POST"] == ["/oauth/token"]
    # The account's collections are listed once (2 pages of 2), not again to find where the tiles start.
    assert len([t for _, t in server.requests if t.split("?")[0] == "/api/v1/byoc/collections"]) == 2
    pages = [t for _, t in server.requests if t.startswith(f"/api/v1/byoc/collections/{PACIFIC_ID}/tiles")]
    assert len(pages) == 3 and "viewtoken" not in pages[0] and all("viewtoken=" in p for p in pages[1:])


def test_named_collections_only_and_the_byoc_prefix_accepted(server: StandIn) -> None:
    with source(server, f"byoc-{PACIFIC_ID}") as harvest:
        records = harvest.collection_records()
        assert [r.data["id"] for r in records] == [PACIFIC_ID]
        page = harvest.fetch(harvest.start(None))
    assert all(isinstance(r, ProviderRecord) and r.context["collection"]["id"] == PACIFIC_ID for r in page.records)
    assert page.next == {"collections": [PACIFIC_ID], "token": "2"}
    # The position is JSON: a checkpoint written by one process is fetched by another.
    with source(server, PACIFIC_ID) as other:
        again = other.fetch(json.loads(json.dumps(page.next)))
    assert [r.data["id"] for r in again.records] == [t["id"] for t in pacific()[1][2:4]]


def test_rate_limits_wait_the_milliseconds_sentinel_hub_asks(server: StandIn) -> None:
    server.fail_next(429, 2)  # Retry-After: 50, in milliseconds
    started = time.monotonic()
    with source(server, PACIFIC_ID) as harvest:
        page = harvest.fetch(harvest.start(None))
    assert len(page.records) == 2
    assert time.monotonic() - started < 5  # not 2 x 50 seconds


def test_a_token_revoked_early_is_fetched_again(server: StandIn) -> None:
    with source(server, PACIFIC_ID) as harvest:
        first = harvest.fetch(harvest.start(None))
        server.tokens.clear()
        second = harvest.fetch(first.next)
    assert len(second.records) == 2
    assert [t for m, t in server.requests if m == "POST"] == ["/oauth/token", "/oauth/token"]


def test_an_unknown_collection_is_a_provider_error_with_the_status(server: StandIn) -> None:
    with source(server, "11111111-2222-3333-4444-555555555555") as harvest, \
            pytest.raises(ProviderError) as caught:
        harvest.collection_records()
    assert caught.value.status == 404 and "COMMON_NOT_FOUND" in str(caught.value.body)


def test_refused_credentials_and_missing_ones(server: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SH_TOKEN_URL", f"{server.url}/no-such-token-endpoint")
    with source(server, PACIFIC_ID) as harvest, pytest.raises((AuthError, ProviderError)):
        harvest.collection_records()
    monkeypatch.delenv("SH_CLIENT_SECRET")
    with pytest.raises(ConfigError, match="SH_CLIENT_SECRET"):
        source(server)


def test_a_bbox_is_refused_rather_than_ignored(server: StandIn) -> None:
    with pytest.raises(ConfigError, match="cannot filter"):
        create_source("byoc", SourceOptions(server.url, bbox=[0, 0, 1, 1]))


@pytest.mark.db
@pytest.mark.server
def test_antimeridian_tiles_harvested_into_pgstac_come_out_of_the_api_right_and_go_back_exact(
    server: StandIn, fresh_dsn: str, assert_valid: Valid
) -> None:
    from stac_bridge.pgstac.loader import PgstacLoader

    collection, tiles = pacific()
    with source(server, PACIFIC_ID) as harvest:
        summary = run_harvest(harvest, [PgstacLoader(fresh_dsn)], since=None)
    assert summary.records == len(tiles) and summary.errors == 0

    def search(**params: Any) -> list[str]:
        body = {"collections": [f"byoc-{PACIFIC_ID}"], "limit": 100, **params}
        answer = httpx.post(f"{api.url}/search", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        return sorted(f["id"] for f in answer.json()["features"])

    ids = [t["id"] for t in tiles]
    with start_api(fresh_dsn) as api:
        # Just west of 180 (zone 60 side) and just east of -180 (zone 1 side), near 60N.
        assert search(bbox=[179.5, 59.0, 179.99, 61.0]) == sorted([ids[0], ids[1]])
        assert search(bbox=[-179.99, 59.0, -179.5, 61.0]) == sorted([ids[0], ids[1]])
        assert search(bbox=[175.0, 59.0, 177.5, 61.0]) == [ids[2]]
        assert search(bbox=[-177.5, 59.0, -175.0, 61.0]) == [ids[3]]
        assert search(bbox=[179.5, -61.0, 179.99, -59.0]) == [ids[4]]
        # Tile 5 has no sensing time, nor has its collection a sensing range: it is dated by its created time.
        assert search(datetime="2024-02-10T00:00:00Z/2024-02-12T00:00:00Z") == sorted([ids[0], ids[1]])
        assert search(datetime="2024-02-15T00:00:00Z/2024-02-25T00:00:00Z") == sorted([ids[2], ids[3]])
        assert search(datetime="2024-03-05T00:00:00Z/2024-03-05T23:59:59Z") == [ids[4]]
        assert search(bbox=[179.5, 59.0, 179.99, 61.0], datetime="2024-02-11T00:00:00Z/..") == [ids[1]]

        for tile in tiles:
            answer = httpx.get(f"{api.url}/collections/byoc-{PACIFIC_ID}/items/{tile['id']}", timeout=30)
            assert answer.status_code == 200, answer.text
            item = assert_valid(answer.json())
            if tile["id"] in (ids[0], ids[1], ids[4]):  # across 180: two parts, each ending at the antimeridian
                assert item["geometry"]["type"] == "MultiPolygon" and len(item["geometry"]["coordinates"]) == 2
                west, _, east, _ = item["bbox"]
                assert 177.0 < west < 180.0 and -180.0 < east < -177.0
            else:
                assert item["geometry"]["type"] == "Polygon"
                assert item["bbox"][0] < item["bbox"][2]
            assert canon(byoc.stac_to_tile(item)) == canon(tile)
        assert_valid(httpx.get(f"{api.url}/collections/byoc-{PACIFIC_ID}", timeout=30).json())
        # The served extent is the items'; the source route joins back what the transform wrote.
        record = httpx.get(f"{api.url}/collections/byoc-{PACIFIC_ID}/source", timeout=30).json()
        assert canon(record) == canon(collection)


@pytest.mark.db
def test_a_tile_without_footprint_goes_to_the_dead_letters_and_the_rest_is_loaded(
    server: StandIn, fresh_dsn: str
) -> None:
    from stac_bridge.pgstac.loader import PgstacLoader

    waiting = [t for t in TILES if not (t.get("coverGeometry") or t.get("tileGeometry"))]
    assert [t["status"] for t in waiting] == ["WAITING"]  # the recorded tile not yet ingested
    dead = ListSink()
    loader = PgstacLoader(fresh_dsn)
    with source(server, COLLECTION_ID) as harvest:
        summary = run_harvest(harvest, [loader], dead_letters=dead, since=None)
    assert (summary.records, summary.errors) == (len(TILES) - 1, 1)
    (letter,) = dead.records
    assert letter["id"] == waiting[0]["id"] and "'geometry' is null" in letter["error"]
    with PgstacLoader(fresh_dsn) as check:
        assert check.count_items() == len(TILES) - 1
