"""The Descartes Labs harvester against the stand-in, v1 and v2: paging, filters, auth, errors, 429s, checkpoints;
then into pgstac and out of the STAC API by bbox, datetime and eo:cloud_cover."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from stac_bridge.cli import main
from stac_bridge.errors import AuthError, ConfigError, ProviderError, RateLimitError
from stac_bridge.harvest import SourceOptions, create_source
from stac_bridge.harvest.descartes import DEFAULT_METADATA_URL, DEFAULT_V2_URL, DescartesSource, choose_api
from stac_bridge.harvest.engine import HarvestState, run_harvest
from stac_bridge.harvest.http import RetryPolicy
from stac_bridge.registry import ProviderRecord
from stac_bridge.transforms import descartes
from tests.conftest import start_api
from tests.descartes.data import EAST_OF_IOWA, IOWA, LANDSAT, USER_PRODUCT, ImageEntry, catalog, ids
from tests.descartes.standin import DescartesStandIn, jwt
from tests.sinks import ListSink

Valid = Callable[[Any], dict[str, Any]]
FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, jitter=0.0)
APIS = ["v1", "v2"]


pytestmark = pytest.mark.usefixtures("token")


@pytest.fixture
def server() -> Iterator[DescartesStandIn]:
    with DescartesStandIn(catalog(), page_size=3) as standin:
        yield standin


def url_of(server: DescartesStandIn, api: str) -> str:
    return server.metadata_url if api == "v1" else server.v2_url


def source(server: DescartesStandIn, api: str, *products: str, **options: Any) -> DescartesSource:
    extra = {"max_cloud_cover": options.pop("max_cloud_cover")} if "max_cloud_cover" in options else {}
    made = create_source("descartes", SourceOptions(url_of(server, api), collections=products or (LANDSAT,),
                                                    retry=FAST, extra=extra, **options))
    assert isinstance(made, DescartesSource) and made.api == api
    return made


def landsat_images(server: DescartesStandIn) -> list[ImageEntry]:
    return server.products[LANDSAT].images


def harvest_ids(server: DescartesStandIn, api: str, **options: Any) -> set[str]:
    sink = ListSink()
    with source(server, api, **options) as harvest:
        run_harvest(harvest, [sink], since=None)
    return {r["id"] for r in sink.records if r["type"] == "Feature"}


@pytest.mark.parametrize("api", APIS)
def test_harvests_products_with_bands_then_images_page_by_page(
    api: str, server: DescartesStandIn, assert_valid: Valid
) -> None:
    sink = ListSink()
    with source(server, api, LANDSAT, USER_PRODUCT) as harvest:
        summary = run_harvest(harvest, [sink], since=None, concurrency=2)
    collections = [r for r in sink.records if r["type"] == "Collection"]
    items = [r for r in sink.records if r["type"] == "Feature"]
    assert [c["id"] for c in collections] == [LANDSAT, USER_PRODUCT]
    expected = [i.id for p in server.products.values() for i in p.images]
    assert sorted(i["id"] for i in items) == sorted(expected) and len(items) == len(expected)
    assert summary.records == len(items) and summary.errors == 0
    for record in sink.records:
        assert_valid(record)
    landsat = collections[0]
    names = [b["name"] for b in landsat["summaries"]["bands"]]
    if api == "v1":
        assert names == ["red", "nir"]  # the listing's order
    else:
        assert sorted(names) == sorted(b["attributes"]["name"] for b in server.products[LANDSAT].v2_bands)
        assert names[:3] == ["coastal-aerosol", "blue", "green"]  # by sort_order, as the client asks
    first = next(i for i in items if i["id"] == expected[0])
    assert first["collection"] == LANDSAT and first["properties"]["eo:cloud_cover"] == 5.0
    assert any("bands" in asset for asset in first["assets"].values())  # the image got its product's bands
    # 8 Landsat images, 3 a page: 3 pages, each after the first carrying the continuation of the one before.
    if api == "v1":
        searches = [b for m, t, b in server.requests if t == "/metadata/v1/search"]
        landsat_pages = [b for b in searches if b["products"] == [LANDSAT]]
        assert "continuation_token" not in landsat_pages[0]
        assert all(b["continuation_token"] for b in landsat_pages[1:]) and len(landsat_pages) >= 3
        assert server.paths()[:2] == [f"/metadata/v1/catalog/products/{LANDSAT}", f"/metadata/v1/bands/all/{LANDSAT}"]
    else:
        pages = [t for m, t, _ in server.requests if m == "PUT" and t.startswith("/metadata/v1/catalog/v2/images")]
        # Landsat's 3 pages, then the user product's one.
        assert len(pages) == 4 and "continuation=" not in pages[0] and all("continuation=" in p for p in pages[1:3])
        assert server.paths()[0] == "/metadata/v1/catalog/v2/products/landsat%3ALC08%3APRE%3ATOAR"


@pytest.mark.parametrize("api", APIS)
def test_bbox_datetime_and_cloud_filters_reach_the_provider(api: str, server: DescartesStandIn) -> None:
    images = landsat_images(server)
    west = {i.id for n, i in enumerate(images) if n % 2 == 0}
    assert harvest_ids(server, api, bbox=IOWA) == west
    assert harvest_ids(server, api, bbox=EAST_OF_IOWA) == ids(images) - west
    july_7_to_16 = {i.id for i in images if "2016-07-07" <= i.acquired[:10] <= "2016-07-16"}
    assert len(july_7_to_16) == 4
    assert harvest_ids(server, api, datetime="2016-07-07T00:00:00Z/2016-07-16T23:59:59Z") == july_7_to_16
    assert harvest_ids(server, api, datetime="../2016-07-04T23:00:00Z") == {images[0].id, images[1].id}
    clear = {i.id for i in images if i.cloud_fraction <= 0.35}
    assert harvest_ids(server, api, max_cloud_cover=35) == clear and len(clear) == 4
    both = {i.id for i in images if i.id in west and i.cloud_fraction <= 0.5646}
    assert harvest_ids(server, api, bbox=IOWA, max_cloud_cover=56.46) == both == {images[0].id, images[2].id,
                                                                                  images[4].id, images[6].id}
    searches = ("/metadata/v1/search", "/metadata/v1/catalog/v2/images")
    body = next(b for _, t, b in reversed(server.requests) if t.split("?")[0] in searches)
    if api == "v1":
        assert body["cloud_fraction"] == 0.5646 and body["bbox"] == IOWA and body["date"] == "acquired"
    else:
        terms = json.loads(body["filter"])
        assert {"op": "lte", "name": "cloud_fraction", "val": 0.5646} in terms
        assert json.loads(body["intersects"])["type"] == "Polygon"


def test_v2_since_asks_only_for_modified_images(server: DescartesStandIn) -> None:
    import datetime as dt

    images = landsat_images(server)
    since = dt.datetime(2016, 8, 15, tzinfo=dt.UTC)  # each image was modified 30 days after it was acquired
    sink = ListSink()
    with source(server, "v2") as harvest:
        run_harvest(harvest, [sink], since=since)
    assert {r["id"] for r in sink.records if r["type"] == "Feature"} == {i.id for i in images[5:]}


def test_positions_are_json_and_resume_in_another_process(server: DescartesStandIn) -> None:
    for api in APIS:
        with source(server, api, LANDSAT, USER_PRODUCT) as harvest:
            page = harvest.fetch(harvest.start(None))
        assert len(page.records) == 3 and all(isinstance(r, ProviderRecord) for r in page.records)
        assert page.records[0].context["product"] and page.records[0].context["bands"]
        position = json.loads(json.dumps(page.next))
        with source(server, api, LANDSAT, USER_PRODUCT) as other:
            again = other.fetch(position)
        assert [r.data["id"] for r in again.records] == [i.id for i in landsat_images(server)[3:6]]


class DyingSink(ListSink):
    """Dies on its n-th write, as a killed process would, keeping what it had written before."""

    def __init__(self, records: list[dict[str, Any]], dies_at: int) -> None:
        super().__init__()
        self.records = records
        self.writes = 0
        self.dies_at = dies_at

    def write(self, batch: Sequence[dict[str, Any]]) -> None:
        self.writes += 1
        if self.writes == self.dies_at:
            raise KeyboardInterrupt
        super().write(batch)


@pytest.mark.parametrize("api", APIS)
def test_a_killed_harvest_resumes_at_its_checkpoint(
    api: str, server: DescartesStandIn, tmp_path: Path, assert_valid: Valid
) -> None:
    state = HarvestState(tmp_path / "state")
    written: list[dict[str, Any]] = []
    with source(server, api, LANDSAT, USER_PRODUCT) as harvest, pytest.raises(KeyboardInterrupt):
        run_harvest(harvest, [DyingSink(written, 4)], state=state, since=None, batch_size=1, concurrency=1)
    assert len(written) == 2 + 3 + 3  # the collections, then two pages of images
    with source(server, api, LANDSAT, USER_PRODUCT) as harvest:
        summary = run_harvest(harvest, [DyingSink(written, 0)], state=state, resume=True, since=None)
    assert summary.resumed and summary.errors == 0
    items = [assert_valid(r)["id"] for r in written if r["type"] == "Feature"]
    assert sorted(items) == sorted(i.id for p in server.products.values() for i in p.images)  # none twice


@pytest.mark.parametrize("api", APIS)
def test_a_429_is_waited_out_as_retry_after_says(api: str, server: DescartesStandIn) -> None:
    server.fail_next(429, 1, retry_after="1")
    started = time.monotonic()
    with source(server, api) as harvest:
        page = harvest.fetch(harvest.start(None))
    elapsed = time.monotonic() - started
    assert len(page.records) == 3 and 1.0 <= elapsed < 5  # the second asked for, not the 10 ms backoff
    assert server.paths()[0] == server.paths()[1]  # the same request, tried again
    server.fail_next(429, 10, retry_after="0")
    with source(server, api) as harvest, pytest.raises(RateLimitError):
        harvest.fetch(harvest.start(None))


@pytest.mark.parametrize("api", APIS)
def test_5xx_is_retried_and_4xx_are_not(api: str, server: DescartesStandIn) -> None:
    server.fail_next(503, 2)
    with source(server, api) as harvest:
        assert len(harvest.fetch(harvest.start(None)).records) == 3
    for status in (400, 404, 409):
        server.fail_next(status)
        before = len(server.requests)
        with source(server, api) as harvest, pytest.raises(ProviderError) as caught:
            harvest.fetch(harvest.start(None))
        assert caught.value.status == status and len(server.requests) == before + 1


@pytest.mark.parametrize("api", APIS)
def test_an_unknown_product_is_a_404_and_a_bad_query_a_400(api: str, server: DescartesStandIn) -> None:
    with source(server, api, "nobody:nothing") as harvest, pytest.raises(ProviderError) as caught:
        harvest.collection_records()
    assert caught.value.status == 404 and "not found" in str(caught.value.body)
    with source(server, api, page_size=20000) as harvest, pytest.raises(ProviderError) as bad:
        harvest.fetch(harvest.start(None))
    assert bad.value.status == 400 and "limit" in str(bad.value.body)


def test_tokens_expired_wrong_or_missing(server: DescartesStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESCARTESLABS_TOKEN", "not-a-jwt")
    with source(server, "v1") as harvest, pytest.raises(AuthError, match="401"):
        harvest.collection_records()
    assert len(server.requests) == 1  # a 401 is not retried
    monkeypatch.setenv("DESCARTESLABS_TOKEN", jwt(-60))
    with pytest.raises(ConfigError, match="expired"):
        source(server, "v2")
    monkeypatch.delenv("DESCARTESLABS_TOKEN")
    with pytest.raises(ConfigError, match="DESCARTESLABS_TOKEN"):
        source(server, "v2")


def test_the_version_is_chosen_by_option_or_by_url() -> None:
    assert choose_api("") == ("v2", DEFAULT_V2_URL)
    assert choose_api("", "v1") == ("v1", DEFAULT_METADATA_URL)
    assert choose_api("http://x/metadata/v1/catalog/v2/") == ("v2", "http://x/metadata/v1/catalog/v2")
    assert choose_api("http://x/metadata/v1") == ("v1", "http://x/metadata/v1")
    assert choose_api("http://x/anything", "v2") == ("v2", "http://x/anything")
    with pytest.raises(ConfigError):
        choose_api("", "v3")
    with pytest.raises(ConfigError, match="products"):
        create_source("descartes", SourceOptions(""))
    with pytest.raises(ConfigError, match="percentage"):
        create_source("descartes", SourceOptions("", collections=[LANDSAT], extra={"max_cloud_cover": 150}))


def test_stac_bridge_harvest_descartes_command(server: DescartesStandIn, tmp_path: Path, assert_valid: Valid,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "landsat.ndjson"
    status = main(["harvest", "descartes", "--url", server.v2_url, "--collection", LANDSAT, "--bbox=-97,38,-91,44",
                   "--datetime", "2016-07-01T00:00:00Z/2016-07-31T00:00:00Z", "--out", str(out),
                   "--state-dir", str(tmp_path / "state")])
    assert status == 0
    records = [assert_valid(json.loads(line)) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records if r["type"] == "Collection"] == [LANDSAT]
    assert {r["id"] for r in records if r["type"] == "Feature"} == {i.id for n, i in enumerate(landsat_images(server))
                                                                    if n % 2 == 0}
    assert "descartes: 4 records" in capsys.readouterr().out


@pytest.mark.db
@pytest.mark.server
@pytest.mark.parametrize("api", APIS)
def test_harvested_into_pgstac_and_searched_through_the_api(
    api: str, server: DescartesStandIn, fresh_dsn: str, assert_valid: Valid
) -> None:
    from pystac_client import Client

    from stac_bridge.pgstac.loader import PgstacLoader

    with source(server, api, LANDSAT, USER_PRODUCT) as harvest:
        summary = run_harvest(harvest, [PgstacLoader(fresh_dsn)], since=None)
    images = landsat_images(server)
    assert summary.records == len(images) + 3 and summary.errors == 0

    def search(**params: Any) -> set[str]:
        body = {"collections": [LANDSAT], "limit": 100, **params}
        answer = httpx.post(f"{api_server.url}/search", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        return {f["id"] for f in answer.json()["features"]}

    def cloud(op: str, value: float) -> dict[str, Any]:
        return {"filter-lang": "cql2-json",
                "filter": {"op": op, "args": [{"property": "eo:cloud_cover"}, value]}}

    west = {i.id for n, i in enumerate(images) if n % 2 == 0}
    with start_api(fresh_dsn) as api_server:
        assert search() == ids(images)
        assert search(bbox=IOWA) == west
        assert search(bbox=EAST_OF_IOWA) == ids(images) - west
        assert search(datetime="2016-07-07T00:00:00Z/2016-07-16T23:59:59Z") == {i.id for i in images[2:6]}
        assert search(**cloud("<=", 35)) == {i.id for i in images if i.cloud_fraction <= 0.35}
        assert search(**cloud("<", 56.46)) == {images[0].id, images[2].id, images[3].id, images[6].id}
        assert search(bbox=IOWA, datetime="2016-07-05T00:00:00Z/..", **cloud(">", 20)) == {images[4].id,
                                                                                            images[6].id}
        # As docs/providers/descartes.md shows it, with pystac-client.
        found = Client.open(api_server.url).search(
            collections=[LANDSAT], bbox=IOWA, datetime="2016-07-01/2016-07-31",
            filter={"op": "<=", "args": [{"property": "eo:cloud_cover"}, 40]})
        assert {item.id for item in found.items()} == {images[0].id, images[2].id, images[6].id}
        item_url = f"{api_server.url}/collections/{LANDSAT}/items/{images[4].id}"
        item = assert_valid(httpx.get(item_url, timeout=30).raise_for_status().json())
        assert item["properties"]["eo:cloud_cover"] == 56.46
        # The API serves curated STAC: no bookkeeping member; the exact DL record is the item's source.
        assert not [k for k in (*item, *item["properties"]) if k.startswith("stac_bridge:")]
        back = httpx.get(f"{item_url}/source", timeout=30).raise_for_status().json()
        assert back == (images[4].v1 if api == "v1" else images[4].v2)
        assert descartes.stac_to_image(item) == back  # a typical record: the served item alone says it all
        stored = assert_valid(httpx.get(f"{api_server.url}/collections/{USER_PRODUCT}", timeout=30).json())
        assert stored["title"] == "My product"
