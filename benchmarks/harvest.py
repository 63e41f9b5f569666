"""Harvest throughput and memory, side by side with a plain sequential pystac-client loop.

Against the stand-in STAC API (``tests/harvest/standin.py``, in its own process) with a fixed latency per page
and offset paging, it measures records/s of the engine at several concurrencies and of
``pystac_client.Client.search(...).items_as_dicts()`` written to ndjson one by one; then the peak memory
(max RSS) of a harvest into ndjson at two catalog sizes, each in a fresh process.

Run from the repository root: ``python -m benchmarks.harvest [--records N] [--memory-records N ...]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

COLLECTION = "standin"


@contextmanager
def standin(count: int, latency: float) -> Iterator[str]:
    """The stand-in server in a child process; yields its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.harvest.standin", "--count", str(count), "--paging", "offset",
         "--latency", str(latency)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)


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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=10_000, help="records of the throughput runs")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per page (0.05)")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--memory-records", type=int, nargs="*", default=[20_000, 200_000])
    parser.add_argument("--memory-page-size", type=int, default=250)
    parser.add_argument("--child", nargs=4, metavar=("URL", "OUT", "CONCURRENCY", "PAGE_SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        url, out, concurrency, page_size = args.child
        child(url, out, int(concurrency), int(page_size))
        return

    print(f"throughput: {args.records} records, {args.page_size} per page, {args.latency * 1000:.0f} ms per page, "
          "offset paging")
    rows = throughput(args.records, args.latency, args.page_size, args.concurrency)
    baseline = rows[0][1]
    for name, rate in rows:
        print(f"  {name:<28} {rate:>9.0f} records/s  {rate / baseline:5.2f}x")
    if args.memory_records:
        print(f"peak memory of a harvest into ndjson ({args.memory_page_size} per page, concurrency 4):")
        for records in args.memory_records:
            rss, seconds = peak_memory(records, args.latency, args.memory_page_size, 4)
            print(f"  {records:>9} records  max RSS {rss:6.1f} MiB  ({records / seconds:.0f} records/s)")


if __name__ == "__main__":
    main()
