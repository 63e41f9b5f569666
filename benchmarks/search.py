"""Searching the served catalog: each API beside pgstac's own ``search()`` called straight from Python.

The synthetic catalog (``benchmarks/catalog.py``) is loaded into a throwaway database and served by
``stac-bridge serve`` in a child process, as in production. The same search (a bbox, a month, cloud cover at
most 20 %, 100 items a page) is asked of pgstac's ``search()`` through psycopg (the floor: what any API over
pgstac pays), of ``GET /search`` and ``POST /search`` (CQL2), of ``/opensearch/products`` (its 17-047 form)
and of ``/capella/catalog/search`` (the console client's body), one request after the other.
Run: ``python -m benchmarks.search [--items N] [--requests N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from benchmarks.catalog import COLLECTION_ID, collection, database, items

BBOX = [0.0, 40.0, 10.0, 50.0]
START, END = "2023-03-01T00:00:00Z", "2023-03-31T23:59:59Z"
MAX_CLOUD = 20
LIMIT = 100
CLOUD_FILTER = {"op": "<=", "args": [{"property": "eo:cloud_cover"}, MAX_CLOUD]}


@contextlib.contextmanager
def served(url: str) -> Iterator[str]:
    """``stac-bridge serve`` on a free port over the database at ``url``; yields the API's URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "STAC_BRIDGE_DATABASE_URL": url}
    process = subprocess.Popen([sys.executable, "-m", "stac_bridge.cli", "serve", "--port", str(port),
                                "--log-level", "warning"], env=env)
    api = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(api, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the API did not start")
            time.sleep(0.2)
        yield api
    finally:
        process.terminate()
        process.wait(timeout=20)


def measure(ask: Callable[[], int], requests: int) -> tuple[float, float, float, int]:
    """Requests/s, median and 95th percentile latency (ms), and the items of one answer."""
    found = ask()  # warm the caches and the connection
    latencies = []
    for _ in range(requests):
        start = time.perf_counter()
        ask()
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    return 1000 / statistics.fmean(latencies), statistics.median(latencies), p95, found


def cases(api: str, url: str, client: httpx.Client) -> list[tuple[str, Callable[[], int]]]:
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SET search_path TO pgstac, public")
    body = {"collections": [COLLECTION_ID], "bbox": BBOX, "datetime": f"{START}/{END}", "limit": LIMIT,
            "filter": CLOUD_FILTER, "filter-lang": "cql2-json"}

    def sql() -> int:
        row = conn.execute("SELECT search(%s::text::jsonb)", (json.dumps(body),)).fetchone()
        assert row is not None
        return len(row[0]["features"])

    def get_search() -> int:
        params = {"collections": COLLECTION_ID, "bbox": ",".join(map(str, BBOX)), "datetime": f"{START}/{END}",
                  "limit": LIMIT, "filter": f"eo:cloud_cover <= {MAX_CLOUD}", "filter-lang": "cql2-text"}
        return len(checked(client.get(f"{api}/search", params=params))["features"])

    def post_search() -> int:
        return len(checked(client.post(f"{api}/search", json=body))["features"])

    def opensearch() -> int:
        params = {"collection": COLLECTION_ID, "bbox": ",".join(map(str, BBOX)), "start": START, "end": END,
                  "cloudCover": f"{MAX_CLOUD}]", "count": LIMIT}
        return len(checked(client.get(f"{api}/opensearch/products", params=params))["features"])

    def capella() -> int:
        capella_body = {"collections": [COLLECTION_ID], "bbox": BBOX, "limit": LIMIT,
                        "query": {"datetime": {"eq": f"{START}/{END}"}, "eo:cloud_cover": {"lte": MAX_CLOUD}}}
        return len(checked(client.post(f"{api}/capella/catalog/search", json=capella_body))["features"])

    return [("pgstac search() through psycopg", sql), ("GET /search (CQL2 text)", get_search),
            ("POST /search (CQL2 JSON)", post_search), ("GET /opensearch/products", opensearch),
            ("POST /capella/catalog/search", capella)]


def checked(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    document: dict[str, Any] = response.json()
    return document


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args(argv)
    from stac_bridge.pgstac.loader import PgstacLoader

    with database() as url:
        with PgstacLoader(url) as loader:
            loader.load_collections([collection()])
            loader.load_items(items(args.items))
        with served(url) as api, httpx.Client(timeout=30) as client:
            rows = [(name, *measure(ask, args.requests)) for name, ask in cases(api, url, client)]
    print(f"one search over {args.items} items ({args.requests} requests each, one at a time):")
    floor = rows[0][1]
    for name, rate, median, p95, found in rows:
        print(f"  {name:<34} {rate:>7.0f} req/s  median {median:6.1f} ms  p95 {p95:6.1f} ms  "
              f"{found:>3} items  {rate / floor:5.2f}x")


if __name__ == "__main__":
    main()
