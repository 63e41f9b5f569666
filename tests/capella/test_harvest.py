"""The Capella harvest source against the stand-in: paging, the 10,000 cap, auth, rate limits, tasking requests."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from stac_bridge.cli import main
from stac_bridge.errors import AuthError, LoadError
from stac_bridge.harvest import SourceOptions, create_source
from stac_bridge.harvest.capella import DEFAULT_URL, CapellaSource
from stac_bridge.harvest.engine import HarvestState, Page, Progress, run_harvest
from stac_bridge.harvest.http import RetryPolicy, create_client
from stac_bridge.harvest.sinks import NdjsonSink
from stac_bridge.transforms import capella
from stac_bridge.transforms._common import parse_datetime
from tests.capella.data import load, many, tasking_requests
from tests.capella.standin import CapellaStandIn, serve

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, jitter=0.01)
Valid = Callable[[Any], dict[str, Any]]


class MemorySink:
    """Keeps every record written; fails on its ``fail_on``-th write when told to."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.records: list[dict[str, Any]] = []
        self.writes = 0
        self.fail_on = fail_on

    def write(self, batch: Sequence[dict[str, Any]]) -> None:
        self.writes += 1
        if self.writes == self.fail_on:
            raise LoadError("the database went away")
        self.records.extend(batch)

    def close(self) -> None:
        return

    def ids(self, collection: str | None = None) -> list[str]:
        return [r["id"] for r in self.records
                if r["type"] == "Feature" and (collection is None or r["collection"] == collection)]


class Spy(CapellaSource):
    """Checks that every position survives a JSON round trip (checkpoints hold them) and counts them."""

    positions: list[Any]

    def fetch(self, position: Mapping[str, Any]) -> Page:
        assert json.loads(json.dumps(position)) == position
        self.positions = [*getattr(self, "positions", []), position]
        page = super().fetch(position)
        assert json.loads(json.dumps(page.next)) == page.next
        return page


def source(standin: CapellaStandIn, **options: Any) -> Spy:
    client = create_client(retry=options.pop("retry", FAST), auth=options.pop("auth", None),
                           headers={"Authorization": "ApiKey test-api-key"})
    return Spy(standin.base_url, client=client, **options)


@pytest.fixture
def standin() -> Iterator[CapellaStandIn]:
    user = load("user.json")
    with serve(CapellaStandIn(items=many(23), user=user, tasks=tasking_requests(user, 5))) as state:
        yield state


def harvest(src: CapellaSource, sink: MemorySink | None = None, **options: Any) -> tuple[MemorySink, list[Progress]]:
    sink = sink or MemorySink()
    progress: list[Progress] = []
    with src:
        run_harvest(src, [sink], since=None, progress=progress.append, **options)
    return sink, progress


def test_pages_by_number_with_number_matched_as_total(standin: CapellaStandIn) -> None:
    sink, progress = harvest(source(standin, limit=5), concurrency=3)
    assert sorted(sink.ids()) == sorted(i["id"] for i in standin.items)
    # The collection comes first, then the items in Capella's order (datetime ascending).
    assert sink.records[0]["type"] == "Collection" and sink.records[0]["id"] == "capella-archive"
    dates = [r["properties"]["datetime"] for r in sink.records[1:]]
    assert dates == sorted(dates)
    searches = standin.searches()
    assert sorted(body.get("page", 1) for body in searches) == [1, 2, 3, 4, 5]
    assert all(body["limit"] == 5 and body["collections"] == ["capella-archive"] for body in searches)
    assert progress[-1].total == 23 and progress[-1].records == 23


def test_pages_after_the_first_are_fetched_at_once(standin: CapellaStandIn) -> None:
    src = source(standin, limit=5)
    harvest(src, concurrency=4)
    # Page 1 came back before anything else was asked; then pages 2 to 5 were known without waiting.
    assert src.positions[0]["page"] == 1
    assert {p["page"] for p in src.positions[1:]} == {2, 3, 4, 5}
    assert any(p["href"] is None for p in src.positions[1:])  # positions made by following()


def test_search_body_is_capellas_with_datetime_in_query(standin: CapellaStandIn) -> None:
    window = "2024-05-05T00:00:00Z/2024-05-20T00:00:00Z"
    src = source(standin, limit=4, bbox=[70.0, 30.0, 71.5, 30.2], datetime=window,
                 query={"sar:product_type": {"in": ["GEO"]}})
    sink, _ = harvest(src)
    first = standin.searches()[0]
    assert first["query"] == {"sar:product_type": {"in": ["GEO"]}, "datetime": {"eq": window}}
    assert first["bbox"] == [70.0, 30.0, 71.5, 30.2]
    assert first["sortby"][0] == {"field": "properties.datetime", "direction": "asc"}
    start, end = (parse_datetime(t) for t in window.split("/"))
    expected = {
        i["id"] for i in standin.items
        if i["properties"]["sar:product_type"] == "GEO" and i["bbox"][0] <= 71.5
        and start <= parse_datetime(i["properties"]["datetime"]) <= end
    }
    assert expected and set(sink.ids()) == expected


def test_more_than_the_cap_is_split_by_datetime_and_harvested_once(standin: CapellaStandIn) -> None:
    standin.max_results = 6  # Capella's 10,000, made small: a page reaching past it is a 400
    src = source(standin, limit=3, max_results=6)
    sink, progress = harvest(src, concurrency=2)
    ids = sink.ids()
    assert sorted(ids) == sorted(i["id"] for i in standin.items)
    assert not [i for i, n in Counter(ids).items() if n > 1]
    windows = {p["job"]["window"][0]: p["job"]["window"] for p in src.positions if p["job"]["window"][0]}
    assert len(windows) > 4  # 23 items, at most 6 per window
    assert all(body.get("page", 1) * body["limit"] <= 6 for body in standin.searches())
    assert progress[-1].total == 23  # the whole search's numberMatched, not a window's


def test_split_harvest_resumes_from_a_checkpoint_without_loss_or_duplicates(
    standin: CapellaStandIn, tmp_path: Path
) -> None:
    standin.max_results = 6
    state = HarvestState(tmp_path / "state")
    out = tmp_path / "out.ndjson"
    with pytest.raises(LoadError):
        run_harvest(source(standin, limit=3, max_results=6), [NdjsonSink(out), MemorySink(fail_on=4)],
                    state=state, since=None, batch_size=3, concurrency=1)
    checkpoint = json.loads(next((tmp_path / "state").glob("capella-*.json")).read_text())
    assert checkpoint["run"]["position"]["job"]["window"][0] is not None  # inside a window of the split
    summary = run_harvest(source(standin, limit=3, max_results=6), [NdjsonSink(out), MemorySink()], state=state,
                          resume=True, batch_size=3, concurrency=2)
    assert summary.resumed
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    features = [i for i in ids if i != "capella-archive"]
    assert sorted(features) == sorted(i["id"] for i in standin.items)


@pytest.mark.parametrize(("variable", "value", "header"), [
    ("CAPELLA_API_KEY", "test-api-key", "ApiKey test-api-key"),
    ("CAPELLA_TOKEN", "test-token", "Bearer test-token"),
])
def test_credentials_from_the_environment(
    standin: CapellaStandIn, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, header: str
) -> None:
    monkeypatch.delenv("CAPELLA_API_KEY", raising=False)
    monkeypatch.delenv("CAPELLA_TOKEN", raising=False)
    monkeypatch.setenv(variable, value)
    src = create_source("capella", SourceOptions(standin.base_url, page_size=10, retry=FAST))
    with src:
        summary = run_harvest(src, [MemorySink()], since=None)
    assert summary.records == 23
    assert set(standin.auth) == {header}


def test_refused_credentials_stop_the_harvest(standin: CapellaStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPELLA_API_KEY", "wrong")
    src = create_source("capella", SourceOptions(standin.base_url, retry=FAST))
    with src, pytest.raises(AuthError):
        run_harvest(src, [MemorySink()], since=None)


def test_rate_limits_are_waited_out_as_retry_after_says(standin: CapellaStandIn) -> None:
    standin.throttle, standin.retry_after = 3, "0"
    slow_backoff = RetryPolicy(attempts=5, backoff=60.0, max_backoff=60.0, jitter=0.0)
    began = time.monotonic()
    sink, _ = harvest(source(standin, limit=10, retry=slow_backoff), concurrency=1)
    assert time.monotonic() - began < 10  # Retry-After: 0, not the 60 s backoff
    assert len(sink.ids()) == 23
    assert standin.throttle == 0


def test_tasking_requests_become_items_of_the_tasking_collection(
    standin: CapellaStandIn, assert_valid: Valid
) -> None:
    src = source(standin, limit=10, collections=["capella-archive", "capella-tasking"], task_page_size=2)
    sink, _ = harvest(src, concurrency=2)
    collections = [r for r in sink.records if r["type"] == "Collection"]
    assert [c["id"] for c in collections] == ["capella-archive", "capella-tasking"]
    for collection in collections:
        assert_valid(collection)
    tasks = [r for r in sink.records if r.get("collection") == "capella-tasking"]
    mine = [t for t in standin.tasks.values() if t["properties"]["userId"] == standin.user["id"]]
    assert sorted(t["id"] for t in tasks) == sorted(t["properties"]["taskingrequestId"] for t in mine)
    for task in tasks:
        assert_valid(task)
        assert capella.stac_to_tasking_request(task) == standin.tasks[task["id"]]
    assert len(sink.ids("capella-archive")) == 23
    listings = [(path, body) for method, path, body in standin.requests if path.startswith("/tasks/search")]
    assert sorted(path for path, _ in listings) == [f"/tasks/search?page={n}&limit=2" for n in (1, 2, 3)]
    assert listings[0][1] == {"query": {"includeRepeatingTasks": {"eq": False}, "userId": "MOCK_ID"}}


def test_since_asks_for_what_was_updated(standin: CapellaStandIn) -> None:
    for index, item in enumerate(standin.items):
        item["properties"]["updated"] = "2024-06-01T00:00:00Z" if index < 20 else "2024-07-01T00:00:00Z"
    with source(standin, limit=10) as src:
        run_harvest(src, [sink := MemorySink()], since=dt.datetime(2024, 6, 15, tzinfo=dt.UTC))
    assert standin.searches()[0]["query"] == {"updated": {"gte": "2024-06-15T00:00:00Z"}}
    assert len(sink.ids()) == 3


def test_the_registry_builds_the_source_with_capellas_url_by_default() -> None:
    src = create_source("capella", SourceOptions(""))
    with src:
        assert isinstance(src, CapellaSource)
        assert src.url == DEFAULT_URL and src.collections == ["capella-archive"]
        assert src.query()["url"] == DEFAULT_URL


def test_an_empty_window_is_skipped_not_the_end(standin: CapellaStandIn) -> None:
    # Half the items in early May, half in late May: a split leaves empty windows in between.
    items = many(12, days=2) + [
        {**copy.deepcopy(i), "id": f"LATE_{n}",
         "properties": {**i["properties"], "datetime": f"2024-05-28T0{n}:00:00Z"}}
        for n, i in enumerate(many(6))
    ]
    standin.items, standin.max_results = items, 4
    src = source(standin, limit=2, max_results=4, datetime="2024-05-01T00:00:00Z/2024-05-31T00:00:00Z")
    sink, _ = harvest(src)
    assert sorted(sink.ids()) == sorted(i["id"] for i in items)


def test_the_harvest_command_with_tasking_requests(
    standin: CapellaStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAPELLA_API_KEY", "test-api-key")
    out = tmp_path / "capella.ndjson"
    status = main(["harvest", "capella", "--url", standin.base_url, "--collection", "capella-archive",
                   "--collection", "capella-tasking", "--page-size", "10", "--out", str(out),
                   "--state-dir", str(tmp_path / "state")])
    assert status == 0
    assert "capella: 28 records" in capsys.readouterr().out  # 23 items and 5 tasking requests
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records[:2]] == ["capella-archive", "capella-tasking"]
    assert len(records) == 2 + 23 + 5


def test_a_cql2_filter_option_becomes_capellas_query_filters() -> None:
    options = SourceOptions("", extra={"filter": "view:off_nadir <= 30 AND \"sar:product_type\" = 'GEO'",
                                       "query": {"sar:instrument_mode": {"eq": "spotlight"}}})
    with create_source("capella", options) as src:
        assert src.query()["query"] == {"view:look_angle": {"lte": 30}, "sar:product_type": {"eq": "GEO"},
                                        "sar:instrument_mode": {"eq": "spotlight"}}


def test_a_filter_capella_cannot_say_is_refused_naming_its_part() -> None:
    from stac_bridge.errors import UntranslatableQueryError

    with pytest.raises(UntranslatableQueryError, match="filter.or"):
        create_source("capella", SourceOptions("", extra={"filter": "view:off_nadir < 5 OR view:off_nadir > 50"}))
