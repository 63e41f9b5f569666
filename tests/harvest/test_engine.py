"""The engine with the STAC source against the fault-injecting stand-in: every record arrives exactly once."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from stac_bridge.errors import AuthError, ConfigError, LoadError, ProviderError, TransformError
from stac_bridge.harvest import SourceOptions, create_source
from stac_bridge.harvest.engine import (
    LAST_RUN,
    HarvestState,
    Progress,
    Raw,
    adapter_transform,
    run_harvest,
)
from stac_bridge.harvest.http import RetryPolicy, create_client
from stac_bridge.harvest.sinks import NdjsonSink
from stac_bridge.harvest.stac import StacApiSource
from tests.harvest.standin import COLLECTION, Fault, StandIn, item_id, read_ndjson

FAST = RetryPolicy(attempts=5, backoff=0.01, max_backoff=0.05, jitter=0.01)


def source(
    standin: StandIn, *, limit: int = 50, method: str | None = None, timeout: float = 2.0, attempts: int = 5
) -> StacApiSource:
    retry = RetryPolicy(attempts=attempts, backoff=0.01, max_backoff=0.05, jitter=0.01)
    client = create_client(timeout=timeout, connect_timeout=timeout, retry=retry)
    return StacApiSource(standin.url, client=client, collections=[COLLECTION], limit=limit,
                         method=method)  # type: ignore[arg-type]


def item_ids(path: Path) -> list[str]:
    return [r["id"] for r in read_ndjson(path) if r.get("type") == "Feature"]


def assert_exactly_once(path: Path, standin: StandIn) -> None:
    ids = item_ids(path)
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicates, f"loaded twice: {duplicates[:5]}"
    assert set(ids) == standin.ids()


class MemorySink:
    """Records every batch; optionally fails on a given write."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.fail_on = fail_on
        self.closed = False

    def write(self, batch: Sequence[dict[str, Any]]) -> None:
        if self.fail_on is not None and len(self.batches) == self.fail_on:
            raise LoadError("the database went away")
        self.batches.append(list(batch))

    def close(self) -> None:
        self.closed = True

    def ids(self) -> list[str]:
        return [r["id"] for b in self.batches for r in b if r.get("type") == "Feature"]


@pytest.fixture()
def state(tmp_path: Path) -> HarvestState:
    return HarvestState(tmp_path / "state")


@pytest.mark.parametrize("paging", ["page", "offset", "token"])
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("concurrency", [1, 4])
def test_every_record_once_in_every_paging_form(
    tmp_path: Path, state: HarvestState, paging: str, method: str, concurrency: int
) -> None:
    with StandIn(count=537, paging=paging) as standin:
        out = tmp_path / "out.ndjson"
        with source(standin, method=method) as src:
            summary = run_harvest(src, [NdjsonSink(out)], state=state, concurrency=concurrency, batch_size=120)
    assert summary.records == 537
    assert summary.pages == 11
    assert_exactly_once(out, standin)
    first = next(read_ndjson(out))
    assert first["type"] == "Collection" and first["id"] == COLLECTION  # collections come before items


def test_random_access_paging_fetches_pages_at_once(tmp_path: Path) -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    class Counting(StacApiSource):
        def fetch(self, position: Any) -> Any:
            nonlocal in_flight, peak
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            try:
                return super().fetch(position)
            finally:
                with lock:
                    in_flight -= 1

    with StandIn(count=2000, paging="offset", latency=0.02) as standin:
        src = Counting(standin.url, client=create_client(retry=FAST), limit=50)
        run_harvest(src, [NdjsonSink(tmp_path / "out.ndjson")], concurrency=4, since=None)
    assert peak == 4
    with StandIn(count=500, paging="token", latency=0.02) as standin:
        peak = 0
        token = Counting(standin.url, client=create_client(retry=FAST), limit=50)
        run_harvest(token, [NdjsonSink(tmp_path / "out2.ndjson")], concurrency=4, since=None)
    assert peak == 1  # an opaque token cannot be guessed: one page at a time


@pytest.mark.parametrize("paging", ["page", "token"])
def test_faults_of_every_kind_lose_and_duplicate_nothing(tmp_path: Path, state: HarvestState, paging: str) -> None:
    with StandIn(count=1000, paging=paging) as standin:
        standin.fail(
            Fault("status", 429, retry_after="0"),
            Fault("status", 500),
            Fault("status", 503),
            Fault("status", 503),
            Fault("slow", delay=0.6),
            Fault("truncate"),
            Fault("reset"),
            Fault("status", 502),
        )
        standin.fail(*[Fault("status", 503)] * 3)  # a burst on the next three requests
        out = tmp_path / "out.ndjson"
        # enough tries that even one request meeting every fault gets through
        with source(standin, timeout=0.3, attempts=12) as src:
            summary = run_harvest(src, [NdjsonSink(out)], state=state, concurrency=4, batch_size=200)
        assert not standin.faults
    assert summary.records == 1000
    assert_exactly_once(out, standin)


def test_an_auth_error_stops_the_harvest_and_resume_finishes_it(tmp_path: Path, state: HarvestState) -> None:
    with StandIn(count=600, paging="page") as standin:
        out = tmp_path / "out.ndjson"
        with source(standin) as src:
            first = MemorySink()
            with pytest.raises(AuthError):
                run_harvest(src, [NdjsonSink(out), first], state=state, concurrency=1, batch_size=50,
                            progress=lambda p: standin.fail(Fault("status", 401)) if p.pages == 4 else None)
            assert first.closed
            stopped_at = len(item_ids(out))
            assert 0 < stopped_at < 600
            summary = run_harvest(src, [NdjsonSink(out), MemorySink()], state=state, resume=True, concurrency=4,
                                  batch_size=50)
    assert summary.resumed and summary.records == 600
    assert_exactly_once(out, standin)


def test_a_failing_sink_stops_the_harvest_and_resume_writes_nothing_twice(tmp_path: Path, state: HarvestState) -> None:
    with StandIn(count=500, paging="offset") as standin:
        out = tmp_path / "out.ndjson"
        with source(standin) as src:
            with pytest.raises(LoadError):
                run_harvest(src, [NdjsonSink(out), MemorySink(fail_on=3)], state=state, batch_size=60)
            run_harvest(src, [NdjsonSink(out), MemorySink()], state=state, resume=True, batch_size=60)
    assert_exactly_once(out, standin)


def test_killed_after_the_last_batch_but_before_completion_resumes_to_nothing_more(
    tmp_path: Path, state: HarvestState
) -> None:
    class DiesAtTheEnd(HarvestState):
        def save(self, source: str, query: Any, document: Any) -> None:
            if document["run"] is None:
                raise KeyboardInterrupt  # as if killed between the last checkpoint and the completion
            super().save(source, query, document)

    with StandIn(count=230) as standin, source(standin) as src:
        out = tmp_path / "out.ndjson"
        with pytest.raises(KeyboardInterrupt):
            run_harvest(src, [NdjsonSink(out)], state=DiesAtTheEnd(state.directory), batch_size=100)
        requests = standin.search_requests()
        summary = run_harvest(src, [NdjsonSink(out)], state=state, resume=True, batch_size=100)
        assert standin.search_requests() == requests
    assert summary.resumed and summary.records == 230
    assert_exactly_once(out, standin)
    assert json.loads(state.path("stac", src.query()).read_text())["run"] is None


def test_resume_with_other_outputs_is_refused(tmp_path: Path, state: HarvestState) -> None:
    with StandIn(count=300) as standin, source(standin) as src:
        out = tmp_path / "out.ndjson"
        with pytest.raises(LoadError):
            run_harvest(src, [NdjsonSink(out), MemorySink(fail_on=2)], state=state, batch_size=50)
        with pytest.raises(ConfigError, match="same outputs"):
            run_harvest(src, [MemorySink(), NdjsonSink(out)], state=state, resume=True)
        with pytest.raises(ConfigError, match="same file"):
            run_harvest(src, [NdjsonSink(tmp_path / "other.ndjson"), MemorySink()], state=state, resume=True)
        run_harvest(src, [NdjsonSink(out), MemorySink()], state=state, resume=True)
    assert_exactly_once(out, standin)


def test_resume_without_a_checkpoint_starts_afresh(tmp_path: Path, state: HarvestState) -> None:
    with StandIn(count=120) as standin, source(standin) as src:
        out = tmp_path / "out.ndjson"
        out.write_text("stale\n")
        summary = run_harvest(src, [NdjsonSink(out)], state=state, resume=True)
        assert not summary.resumed
        assert_exactly_once(out, standin)


def test_records_that_fail_to_transform_go_to_the_dead_letters(tmp_path: Path, state: HarvestState) -> None:
    stac = adapter_transform("stac")

    def picky(raw: Raw) -> dict[str, Any]:
        assert isinstance(raw, dict)
        if raw.get("properties", {}).get("index", 1) % 100 == 0:
            raise TransformError("stac", raw["id"], "properties.index", "is a multiple of 100")
        return stac(raw)

    with StandIn(count=450) as standin, source(standin) as src:
        out, dead = tmp_path / "out.ndjson", tmp_path / "dead.ndjson"
        summary = run_harvest(src, [NdjsonSink(out)], transform=picky, dead_letters=NdjsonSink(dead), state=state)
    refused = list(read_ndjson(dead))
    assert summary.errors == 5 and summary.records == 445
    assert [r["id"] for r in refused] == [item_id(i) for i in (0, 100, 200, 300, 400)]
    assert "is a multiple of 100" in refused[0]["error"]
    assert refused[0]["record"]["properties"]["index"] == 0
    assert set(item_ids(out)) == standin.ids() - {r["id"] for r in refused}


def test_incremental_run_asks_only_for_what_changed(tmp_path: Path, state: HarvestState) -> None:
    with StandIn(count=300, paging="page") as standin, source(standin) as src:
        first = run_harvest(src, [NdjsonSink(tmp_path / "1.ndjson")], state=state)
        assert first.since is None and first.records == 300
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        standin.touch([5, 17, 250], later)
        standin.count = 303
        standin.touch([300, 301, 302], later)
        second = run_harvest(src, [NdjsonSink(tmp_path / "2.ndjson")], state=state, since=LAST_RUN)
        assert second.since is not None and second.records == 6
        assert set(item_ids(tmp_path / "2.ndjson")) == {item_id(i) for i in (5, 17, 250, 300, 301, 302)}
        everything = run_harvest(src, [NdjsonSink(tmp_path / "3.ndjson")], state=state, since=None)
        assert everything.records == 303


def test_memory_stays_bounded_with_a_slow_sink(tmp_path: Path) -> None:
    """The fetcher may run ahead of a slow sink by a few pages only, not through the catalog."""
    fetched_when_written: list[int] = []

    with StandIn(count=3000, paging="offset") as standin:

        class Slow(MemorySink):
            def write(self, batch: Sequence[dict[str, Any]]) -> None:
                fetched_when_written.append(standin.search_requests() * 50 - sum(map(len, self.batches)))
                threading.Event().wait(0.01)
                super().write(batch)

        with source(standin) as src:
            run_harvest(src, [Slow()], concurrency=4, batch_size=50, since=None)
    # fetched but not yet written: at most the queue (4 pages), 8 in flight or waiting, and one being written
    assert max(fetched_when_written) <= 13 * 50


def test_progress_reports_records_pages_errors_and_total(tmp_path: Path) -> None:
    seen: list[Progress] = []
    with StandIn(count=230) as standin, source(standin) as src:
        run_harvest(src, [MemorySink()], progress=seen.append, since=None)
    assert [p.pages for p in seen] == [1, 2, 3, 4, 5]
    assert seen[-1].records == 230 and seen[-1].total == 230 and seen[-1].errors == 0


def test_the_source_registry_builds_the_stac_source(tmp_path: Path) -> None:
    with StandIn(count=80, methods=("GET",)) as standin:
        src = create_source("stac", SourceOptions(standin.url, collections=[COLLECTION], page_size=30, retry=FAST))
        sink = MemorySink()
        try:
            run_harvest(src, [sink], since=None)
        finally:
            src.close()
    assert len(sink.ids()) == 80
    assert all(method == "GET" for method, _ in standin.requests)


def test_a_server_that_is_not_a_stac_api_is_a_provider_error() -> None:
    with StandIn() as standin:
        client = create_client(retry=FAST)
        src = StacApiSource(standin.url + "/collections/standin/nothing", client=client)
        with pytest.raises(ProviderError) as caught:
            run_harvest(src, [MemorySink()], since=None)
    assert caught.value.status == 404


def test_checkpoint_is_json_with_source_query_and_position(tmp_path: Path, state: HarvestState) -> None:
    with StandIn(count=200) as standin, source(standin) as src:
        with pytest.raises(LoadError):
            run_harvest(src, [MemorySink(fail_on=3)], state=state, batch_size=50)  # the collection, 50, 50, boom
        document = json.loads(state.path("stac", src.query()).read_text())
    assert document["source"] == "stac" and document["query"]["collections"] == [COLLECTION]
    assert document["run"]["records"] == 100
    assert document["run"]["position"]["href"].startswith(standin.url)


@pytest.fixture(autouse=True)
def _no_stray_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    stray = [t for t in threading.enumerate() if t not in before and t.name.startswith("harvest-prefetch")]
    for thread in stray:
        thread.join(timeout=5)
    assert not [t for t in stray if t.is_alive()]


def _picky_transform(raw: Raw) -> dict[str, Any]:
    """Module-level, so that it pickles into worker processes: refuses every 100th record."""
    assert isinstance(raw, dict)
    if raw.get("properties", {}).get("index", 1) % 100 == 0:
        raise TransformError("stac", raw["id"], "properties.index", "is a multiple of 100")
    stac: dict[str, Any] = adapter_transform("stac")(raw)  # type: ignore[assignment]
    return stac


def test_worker_processes_give_the_same_records_in_the_same_order(tmp_path: Path) -> None:
    outputs = []
    for workers in (1, 2):
        with StandIn(count=450) as standin, source(standin) as src:
            out, dead = tmp_path / f"out-{workers}.ndjson", tmp_path / f"dead-{workers}.ndjson"
            summary = run_harvest(src, [NdjsonSink(out)], transform=_picky_transform, dead_letters=NdjsonSink(dead),
                                  since=None, workers=workers)
        assert (summary.records, summary.errors) == (445, 5)
        outputs.append((out.read_text(), [(r["id"], r["error"]) for r in read_ndjson(dead)]))
    assert outputs[0] == outputs[1]


def test_a_transform_that_cannot_reach_worker_processes_is_refused_before_any_request(tmp_path: Path) -> None:
    with StandIn(count=10) as standin, source(standin) as src, pytest.raises(ConfigError, match="workers=1"):
        run_harvest(src, [NdjsonSink(tmp_path / "out.ndjson")], transform=lambda raw: dict(raw), since=None,
                    workers=2)
    assert standin.requests == []
