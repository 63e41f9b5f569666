"""The API when its database stalls, goes away or is slow: a JSON 503 within seconds, health says why, and it
recovers by itself. The database is reached through a proxy on 127.0.0.1 that the tests stall or cut."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest

from stac_bridge.pgstac.loader import PgstacLoader
from tests.conftest import ROOT, RunningServer, start_api, throwaway_database
from tests.tcpproxy import FaultyProxy

pytestmark = [pytest.mark.db, pytest.mark.server]

DEMO = ROOT / "examples" / "demo" / "stac"
#: The settings under test: a statement may take 1 s, a connection is waited for 1 s.
TIMEOUTS = {"statement_timeout": 1.0, "db_acquire_timeout": 1.0}
#: What "within a few seconds" means here: the statement timeout, the client's grace second, and slack.
ANSWER_WITHIN = 5.0


@pytest.fixture(scope="module")
def database(pgstac_server_url: str) -> Iterator[str]:
    with throwaway_database(pgstac_server_url) as dsn:
        with PgstacLoader(dsn) as loader:
            loader.load_paths([DEMO])
        yield dsn


@pytest.fixture()
def proxy(database: str) -> Iterator[FaultyProxy]:
    parts = urlsplit(database)
    with FaultyProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as instance:
        yield instance


@pytest.fixture()
def http(database: str, proxy: FaultyProxy) -> Iterator[httpx.Client]:
    parts = urlsplit(database)
    through_proxy = urlunsplit(parts._replace(netloc=f"{parts.username}:{parts.password}@127.0.0.1:{proxy.port}"))
    server: RunningServer
    with start_api(through_proxy, **TIMEOUTS) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def timed(http: httpx.Client, url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = http.get(url)
    return response, time.monotonic() - started


def assert_unavailable(http: httpx.Client, url: str) -> httpx.Response:
    response, seconds = timed(http, url)
    assert response.status_code == 503, response.text[:300]
    assert seconds < ANSWER_WITHIN, f"{url} took {seconds:.1f} s"
    assert response.headers["content-type"].startswith("application/json")
    assert "retry-after" in response.headers, response.text
    return response


def assert_recovers(http: httpx.Client) -> None:
    deadline = time.monotonic() + 10
    while True:
        search = http.get("/search", params={"limit": 1})
        if search.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert search.status_code == 200, search.text[:300]
    assert len(search.json()["features"]) == 1
    assert http.get("/_mgmt/health").json()["pgstac"]["status"] == "UP"


def test_a_stalled_database_gives_a_503_within_seconds_and_the_api_recovers(
    http: httpx.Client, proxy: FaultyProxy
) -> None:
    assert http.get("/search", params={"limit": 1}).status_code == 200
    proxy.stall()
    try:
        answer = assert_unavailable(http, "/search").json()
        assert answer["code"] == "ServiceUnavailable" and "in time" in answer["description"]
        health = assert_unavailable(http, "/_mgmt/health").json()
        assert health["status"] == "DOWN" and "in time" in health["pgstac"]["message"]
    finally:
        proxy.heal()
    assert_recovers(http)


def test_a_database_that_goes_away_gives_a_503_and_the_api_recovers(http: httpx.Client, proxy: FaultyProxy) -> None:
    assert http.get("/search", params={"limit": 1}).status_code == 200
    proxy.down()
    try:
        for _ in range(2):  # the pooled connection breaks, then new ones are refused
            answer = assert_unavailable(http, "/search").json()
            assert answer["code"] == "ServiceUnavailable"
            assert "PostgreSQL" not in answer["description"] and "ERROR" not in answer["description"]
        health = assert_unavailable(http, "/_mgmt/health").json()
        assert health["status"] == "DOWN" and health["pgstac"]["message"]
    finally:
        proxy.heal()
    assert_recovers(http)


def test_a_statement_over_the_timeout_is_cancelled_and_health_says_so(
    pgstac_server_url: str, proxy: FaultyProxy
) -> None:
    with throwaway_database(pgstac_server_url) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE OR REPLACE FUNCTION pgstac.get_version() RETURNS text LANGUAGE sql "
                         "AS $$ SELECT pg_sleep(30)::text || 'never' $$")
        with start_api(dsn, **TIMEOUTS) as server, httpx.Client(base_url=server.url, timeout=30) as http:
            health = assert_unavailable(http, "/_mgmt/health").json()
    assert "statement timeout" in health["pgstac"]["message"]
