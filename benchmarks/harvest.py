"""Harvest throughput and memory, side by side with a plain sequential pystac-client loop.

Against the stand-in STAC API (``tests/harvest/standin.py``, in its own process) with a fixed latency per page
and offset paging, it measures records/s of the engine at several concurrencies and of
``pystac_client.Client.search(...).items_as_dicts()`` written to ndjson one by one; then the peak memory
(max RSS) of a harvest into ndjson at two catalog sizes, each in a fresh process.

OpenSearch: against the stand-in Terrascope catalogue (``tests/opensearch/standin.py``, in its own process)
with the same latency per page, terracatalogueclient's own sequential paging (``Catalogue.get_products``,
each product's GeoJSON written to ndjson) beside the engine's concurrent ``startIndex`` harvest of the
OpenSearch source: raw products to ndjson (the same work as the client) and products translated to STAC.

Run from the repository root: ``python -m benchmarks.harvest [--records N] [--memory-records N ...]``;
``--only opensearch`` (or ``stac``, ``memory``) runs one part.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

COLLECTION = "standin"
OPENSEARCH_COLLECTION = "urn:eop:VITO:TERRASCOPE_S2_TOC_V2"


@contextmanager
def serve(module: str, *args: str) -> Iterator[str]:
    """A stand-in server (``python -m module args``) in a child process; yields its URL."""
    process = subprocess.Popen([sys.executable, "-m", module, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)


def standin(count: int, latency: float) -> contextlib.AbstractContextManager[str]:
    """The stand-in STAC API in a child process; yields its URL."""
    return serve("tests.harvest.standin", "--count", str(count), "--paging", "offset", "--latency", str(latency))


def engine_run(url: str, out: Path, concurrency: int, page_size: int) -> int:
    from stac_bridge.harvest.engine import run_harvest
    from stac_bridge.harvest.http import create_client
    from stac_bridge.harvest.sinks import NdjsonSink
    from stac_bridge.harvest.stac import StacApiSource

    with StacApiSource(url, client=create_client(), collections=[COLLECTION], limit=page_size) as source:
        summary = run_harvest(source, [NdjsonSink(out)], since=None, concurrency=concurrency)
    return summary.records


def pystac_client_run(url: str, out: Path, page_size: int) -> int:
    from pystac_client import Client

    count = 0
    search = Client.open(url).search(collections=[COLLECTION], limit=page_size)
    with out.open("w", encoding="utf-8") as handle:
        for item in search.items_as_dicts():
            handle.write(json.dumps(item, separators=(",", ":")) + "\n")
            count += 1
    return count


def throughput(records: int, latency: float, page_size: int, concurrencies: Sequence[int]) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    with standin(records, latency) as url, tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out.ndjson"
        start = time.perf_counter()
        done = pystac_client_run(url, out, page_size)
        rows.append(("pystac-client, sequential", done / (time.perf_counter() - start)))
        assert done == records, done
        for concurrency in concurrencies:
            start = time.perf_counter()
            done = engine_run(url, out, concurrency, page_size)
            rows.append((f"engine, concurrency {concurrency}", done / (time.perf_counter() - start)))
            assert done == records, done
    return rows


def peak_memory(records: int, latency: float, page_size: int, concurrency: int) -> tuple[float, float]:
    """Max RSS (MiB) and seconds of a harvest of ``records`` into ndjson, in a fresh process."""
    with standin(records, latency) as url, tempfile.TemporaryDirectory() as scratch:
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.harvest", "--child", url, str(Path(scratch) / "out.ndjson"),
             str(concurrency), str(page_size)],
            capture_output=True, text=True, check=True,
        )
    result = json.loads(child.stdout)
    assert result["records"] == records, result
    return result["max_rss_mib"], result["seconds"]


def child(url: str, out: str, concurrency: int, page_size: int) -> None:
    start = time.perf_counter()
    done = engine_run(url, Path(out), concurrency, page_size)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"records": done, "seconds": seconds, "max_rss_mib": rss}))


def opensearch_engine_run(url: str, out: Path, concurrency: int, page_size: int, *, raw: bool,
                          workers: int = 1) -> int:
    from stac_bridge.harvest.engine import run_harvest
    from stac_bridge.harvest.http import create_client
    from stac_bridge.harvest.opensearch import OpenSearchSource
    from stac_bridge.harvest.sinks import NdjsonSink

    with OpenSearchSource(url, client=create_client(), collections=[OPENSEARCH_COLLECTION], count=page_size) as source:
        summary = run_harvest(source, [NdjsonSink(out)], since=None, concurrency=concurrency,
                              transform=as_is if raw else None, workers=workers)
    return summary.records


def as_is(record: Any) -> dict[str, Any]:
    """The provider's record itself (the work terracatalogueclient does: no translation)."""
    return dict(record)


def terracatalogueclient_run(url: str, out: Path, page_size: int) -> tuple[int, float]:
    """The client's own paging, each product's GeoJSON to ndjson; the count and the seconds it took."""
    from terracatalogueclient import Catalogue
    from terracatalogueclient.config import CatalogueConfig

    with tempfile.TemporaryDirectory() as scratch:
        ini = Path(scratch) / "catalogue.ini"
        ini.write_text(f"[Catalogue]\nURL = {url}\n")
        catalogue = Catalogue(CatalogueConfig.from_file(str(ini)))
    count = 0
    start = time.perf_counter()
    with out.open("w", encoding="utf-8") as handle:
        for product in catalogue.get_products(OPENSEARCH_COLLECTION, count=page_size):
            handle.write(json.dumps(product.geojson, separators=(",", ":")) + "\n")
            count += 1
    return count, time.perf_counter() - start


def opensearch_throughput(records: int, latency: float, page_size: int, concurrencies: Sequence[int],
                          worker_counts: Sequence[int] = ()) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    # The stand-in encodes each page once, in a first unmeasured pass: a real catalogue runs on machines of
    # its own, so its work must not take the CPU of the clients measured here.
    args = ("--products", str(records), "--latency", str(latency), "--page-size", str(page_size), "--prerendered")
    with serve("tests.opensearch.standin", *args) as url, tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out.ndjson"
        opensearch_engine_run(url, out, max(concurrencies), page_size, raw=True)
        done, seconds = terracatalogueclient_run(url, out, page_size)
        assert done == records, done
        rows.append(("terracatalogueclient, sequential", done / seconds))
        for raw in (True, False):
            for concurrency in concurrencies:
                start = time.perf_counter()
                done = opensearch_engine_run(url, out, concurrency, page_size, raw=raw)
                assert done == records, done
                what = "raw products" if raw else "to STAC"
                rows.append((f"engine, {what}, concurrency {concurrency}", done / (time.perf_counter() - start)))
        for workers in worker_counts:
            start = time.perf_counter()
            done = opensearch_engine_run(url, out, max(concurrencies), page_size, raw=False, workers=workers)
            assert done == records, done
            rows.append((f"engine, to STAC, c{max(concurrencies)}, {workers} workers",
                         done / (time.perf_counter() - start)))
    return rows


def report(rows: list[tuple[str, float]]) -> None:
    baseline = rows[0][1]
    for name, rate in rows:
        print(f"  {name:<40} {rate:>9.0f} records/s  {rate / baseline:5.2f}x")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=10_000, help="records of the throughput runs")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per page (0.05)")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--memory-records", type=int, nargs="*", default=[20_000, 200_000])
    parser.add_argument("--memory-page-size", type=int, default=250)
    parser.add_argument("--opensearch-records", type=int, default=5_000)
    parser.add_argument("--opensearch-page-size", type=int, default=100)
    parser.add_argument("--only", choices=["stac", "memory", "opensearch"])
    parser.add_argument("--workers", type=int, nargs="*", default=[2],
                        help="transform processes of the extra OpenSearch to-STAC runs (2)")
    parser.add_argument("--child", nargs=4, metavar=("URL", "OUT", "CONCURRENCY", "PAGE_SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        url, out, concurrency, page_size = args.child
        child(url, out, int(concurrency), int(page_size))
        return

    if args.only in (None, "stac"):
        print(f"throughput: {args.records} records, {args.page_size} per page, {args.latency * 1000:.0f} ms per page, "
              "offset paging")
        report(throughput(args.records, args.latency, args.page_size, args.concurrency))
    if args.only in (None, "opensearch"):
        print(f"OpenSearch: {args.opensearch_records} products, {args.opensearch_page_size} per page, "
              f"{args.latency * 1000:.0f} ms per page, startIndex paging")
        report(opensearch_throughput(args.opensearch_records, args.latency, args.opensearch_page_size,
                                     args.concurrency, args.workers))
    if args.memory_records and args.only in (None, "memory"):
        print(f"peak memory of a harvest into ndjson ({args.memory_page_size} per page, concurrency 4):")
        for records in args.memory_records:
            rss, seconds = peak_memory(records, args.latency, args.memory_page_size, 4)
            print(f"  {records:>9} records  max RSS {rss:6.1f} MiB  ({records / seconds:.0f} records/s)")


if __name__ == "__main__":
    main()
