"""The OpenSearch harvester against the stand-in catalogue: startIndex paging at once, next links, totals,
incremental runs, search filters, errors and 429s; and ``stac-bridge harvest opensearch`` as a user runs it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely.geometry

from stac_bridge.cli import main
from stac_bridge.errors import ConfigError, ProviderError, RateLimitError
from stac_bridge.harvest import SourceOptions, create_source
from stac_bridge.harvest.engine import Progress, run_harvest
from stac_bridge.harvest.http import RetryPolicy
from stac_bridge.harvest.opensearch import DEFAULT_URL, OpenSearchSource
from stac_bridge.transforms import opensearch
from stac_bridge.transforms._common import parse_datetime
from tests.opensearch.standin import FAPAR, TOC, OpenSearchStandIn, products
from tests.sinks import ListSink

Valid = Callable[[Any], dict[str, Any]]
FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, jitter=0.0)
TOC_PRODUCTS = products(95)
FAPAR_PRODUCTS = products(13, collection=FAPAR)


@pytest.fixture
def server() -> Iterator[OpenSearchStandIn]:
    with OpenSearchStandIn(product_features=[*TOC_PRODUCTS, *FAPAR_PRODUCTS]) as standin:
        yield standin


def source(server: OpenSearchStandIn, *collections: str, count: int = 10, **options: Any) -> OpenSearchSource:
    made = create_source("opensearch", SourceOptions(server.url, collections=collections or (TOC,),
                                                     page_size=count, retry=FAST, **options))
    assert isinstance(made, OpenSearchSource)
    return made


def harvest(made: OpenSearchSource, **kwargs: Any) -> tuple[ListSink, Any]:
    sink = ListSink()
    with made:
        summary = run_harvest(made, [sink], since=kwargs.pop("since", None), **kwargs)
    return sink, summary


def item_ids(sink: ListSink) -> list[str]:
    return [r["id"] for r in sink.records if r["type"] == "Feature"]


def test_harvests_collections_then_every_product_of_each_collection_as_valid_stac(
    server: OpenSearchStandIn, assert_valid: Valid
) -> None:
    sink, summary = harvest(source(server, TOC, FAPAR))

    assert [r["id"] for r in sink.records[:2]] == [TOC, FAPAR]
    assert all(r["type"] == "Collection" for r in sink.records[:2])
    assert sorted(item_ids(sink)) == sorted(f["id"] for f in [*TOC_PRODUCTS, *FAPAR_PRODUCTS])
    assert summary.records == 95 + 13 and summary.errors == 0
    assert summary.pages == 10 + 2
    for record in sink.records[:2] + sink.records[2::10]:
        assert_valid(record)
    # What was harvested is the provider's record, exactly, on the way back.
    by_id = {f["id"]: f for f in TOC_PRODUCTS}
    item = next(r for r in sink.records if r["type"] == "Feature")
    assert opensearch.stac_to_product(item) == by_id[item["id"]]


def test_pages_by_start_index_several_at_once_once_count_is_honoured(server: OpenSearchStandIn) -> None:
    server.latency = 0.05
    harvest(source(server, count=10), concurrency=4)

    asked = server.product_requests()
    assert sorted(int(r["startIndex"]) for r in asked) == list(range(1, 96, 10))
    assert all(r["count"] == "10" and r["collection"] == TOC for r in asked)
    assert server.max_in_flight >= 3  # one page to learn the page size, then four at once


def test_follows_next_links_as_given_when_the_server_caps_the_page_size(server: OpenSearchStandIn) -> None:
    server.max_count = 7
    server.latency = 0.01
    sink, summary = harvest(source(server, count=10), concurrency=4)

    assert sorted(item_ids(sink)) == sorted(f["id"] for f in TOC_PRODUCTS)
    asked = server.product_requests()
    assert [int(r["startIndex"]) for r in asked] == list(range(1, 96, 7))
    assert server.max_in_flight == 1
    assert summary.pages == 14


def test_reports_total_results_as_the_total(server: OpenSearchStandIn) -> None:
    seen: list[Progress] = []
    harvest(source(server), progress=seen.append)
    assert {p.total for p in seen} == {95}
    assert seen[-1].records == 95


def test_since_asks_for_products_modified_since_then(server: OpenSearchStandIn) -> None:
    since = parse_datetime(TOC_PRODUCTS[80]["properties"]["updated"])
    sink, summary = harvest(source(server), since=since)

    assert item_ids(sink) == [f["id"] for f in TOC_PRODUCTS[80:]]
    assert all(r["modificationDate"] == "[2022-01-22T10:30:00Z" for r in server.product_requests())
    assert summary.since == since


def test_bbox_and_datetime_become_opensearch_parameters(server: OpenSearchStandIn) -> None:
    bbox = [-8.5, 39.0, -7.0, 40.5]
    window = "2022-01-05T00:00:00Z/2022-01-20T00:00:00Z"
    sink, _ = harvest(source(server, bbox=bbox, datetime=window,
                             extra={"filter": "eo:cloud_cover <= 60"}))

    start, end = (parse_datetime(t) for t in window.split("/"))
    area = shapely.geometry.box(*bbox)
    expected = [f["id"] for f in TOC_PRODUCTS
                if area.intersects(shapely.geometry.shape(f["geometry"]))
                and start <= parse_datetime(f["properties"]["date"]) <= end
                and f["properties"]["productInformation"]["cloudCover"] <= 60]
    assert 0 < len(expected) < 30
    assert item_ids(sink) == expected
    first = server.product_requests()[0]
    assert first["bbox"] == "-8.5,39,-7,40.5" and first["cloudCover"] == "60]"
    assert (first["start"], first["end"]) == tuple(window.split("/"))


def test_rate_limits_and_server_errors_are_retried(server: OpenSearchStandIn) -> None:
    server.fail(429, 2, retry_after="0")
    server.fail(503)
    sink, summary = harvest(source(server))
    assert len(item_ids(sink)) == 95
    assert len(server.requests) == 1 + 10 + 3


def test_a_rate_limit_that_outlasts_the_retries_stops_the_harvest(server: OpenSearchStandIn) -> None:
    server.fail(429, 10, retry_after="0")
    with pytest.raises(RateLimitError):
        harvest(source(server))


def test_a_refused_request_is_not_retried_and_names_the_status(server: OpenSearchStandIn) -> None:
    made = source(server)
    server.fail(400)
    with pytest.raises(ProviderError, match="400"):
        made.fetch(made.start(None))
    made.close()
    assert len(server.requests) == 1


def test_a_collection_the_catalogue_does_not_list_is_an_error(server: OpenSearchStandIn) -> None:
    with source(server, "urn:eop:VITO:NOT_THERE") as made, pytest.raises(ProviderError, match="NOT_THERE"):
        made.collection_records()


def test_a_search_opensearch_cannot_express_is_refused_before_any_request(server: OpenSearchStandIn) -> None:
    with pytest.raises(ConfigError, match="filter.or"):
        source(server, extra={"filter": "eo:cloud_cover < 10 OR eo:cloud_cover > 90"})
    with pytest.raises(ConfigError, match="--collection"):
        create_source("opensearch", SourceOptions(server.url))
    assert server.requests == []


def test_positions_resume_from_json_and_the_url_defaults_to_terrascope(server: OpenSearchStandIn) -> None:
    with source(server, count=10) as made:
        first = made.fetch(made.start(None))
        page = made.fetch(json.loads(json.dumps(first.next)))
    assert [f["id"] for f in page.records] == [f["id"] for f in TOC_PRODUCTS[10:20]]
    with create_source("opensearch", SourceOptions("", collections=[TOC])) as default:
        assert isinstance(default, OpenSearchSource) and default.url == DEFAULT_URL


def test_cli_harvest_opensearch_writes_collection_and_products(server: OpenSearchStandIn, tmp_path: Path) -> None:
    out = tmp_path / "toc.ndjson"
    status = main(["harvest", "opensearch", "--url", server.url, "--collection", TOC, "--page-size", "25",
                   "--out", str(out), "--state-dir", str(tmp_path / "state")])
    assert status == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[0]["type"] == "Collection" and len(records) == 1 + 95
    # The next run of the same query asks only for what changed since the first one.
    assert main(["harvest", "opensearch", "--url", server.url, "--collection", TOC, "--page-size", "25",
                 "--out", str(tmp_path / "again.ndjson"), "--state-dir", str(tmp_path / "state")]) == 0
    assert "modificationDate" in server.product_requests()[-1]
    assert dt.datetime.now(dt.UTC) >= parse_datetime(server.product_requests()[-1]["modificationDate"][1:])
