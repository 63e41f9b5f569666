"""Enrichment throughput and bytes read: COG headers over HTTP with 20 ms latency a request.

A small COG (``tests/rasters/cogs.py``), copied under one name per asset so that no read is served from GDAL's
cache, is served by the byte-counting file server of the tests (``tests/rasters/fileserver.py``, in a process of
its own) with a fixed latency per request. One-asset Items with ``s3://`` hrefs (as BYOC gives them, read
through GDAL's /vsis3/ at the local endpoint) and plain http URLs (/vsicurl/) are enriched with 1 worker (the
baseline: one header after the other) and 16: assets/s, requests and bytes per asset, beside the whole file
(what a tool that downloads each file reads).

Run from the repository root: ``python -m benchmarks.enrich [--assets N] [--latency SECONDS]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any


def items(scheme: str, url: str, count: int, tag: str) -> list[dict[str, Any]]:
    """``count`` one-asset Items whose hrefs name distinct files (``tag`` keeps runs apart in GDAL's cache)."""
    def href(index: int) -> str:
        key = f"bucket/{tag}-{index}.tif"
        return f"s3://{key}" if scheme == "s3" else f"{url}/{key}"

    return [{"type": "Feature", "id": f"i{index}", "properties": {},
             "assets": {"data": {"href": href(index), "type": "image/tiff; application=geotiff", "roles": ["data"]}}}
            for index in range(count)]


def stats(url: str, *, reset: bool = False) -> dict[str, int]:
    with urllib.request.urlopen(f"{url}/_stats{'?reset' if reset else ''}") as answer:  # noqa: S310 - localhost
        found: dict[str, int] = json.loads(answer.read())
    return found


def run(root: Path, url: str, scheme: str, count: int, workers: int, tag: str) -> tuple[float, float, float]:
    """``(assets/s, requests/asset, bytes/asset)`` of one enrichment."""
    from stac_bridge.rasters.enrich import Enricher

    for index in range(count):
        shutil.copy(root / "bucket" / "source.tif", root / "bucket" / f"{tag}-{index}.tif")
    batch = items(scheme, url, count, tag)
    stats(url, reset=True)
    enricher = Enricher(workers)
    start = time.perf_counter()
    enricher.enrich(batch)
    seconds = time.perf_counter() - start
    enricher.close()
    assert enricher.summary.enriched == count, enricher.summary
    counted = stats(url)
    return count / seconds, counted["requests"] / count, counted["sent"] / count


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--assets", type=int, default=96, help="assets per run")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request")
    args = parser.parse_args()

    from tests.rasters import cogs

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "served"
        (root / "bucket").mkdir(parents=True)
        source = cogs.write(cogs.Scene("source", "EPSG:32633", (500000.0, 5000040.0), 10.0, size=(1024, 1024)),
                            root / "bucket")
        size = source.stat().st_size
        server = subprocess.Popen([sys.executable, "-m", "tests.rasters.fileserver", str(root), str(args.latency)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            host = url.split("://", 1)[1]
            os.environ.update({"AWS_S3_ENDPOINT": host, "AWS_HTTPS": "NO", "AWS_VIRTUAL_HOSTING": "FALSE",
                               "AWS_NO_SIGN_REQUEST": "YES", "NO_PROXY": "127.0.0.1"})
            print(f"enrichment of {args.assets} assets, {args.latency * 1000:.0f} ms a request, a COG of "
                  f"{size / 1024:.0f} KiB (1024x1024 uint16, 256x256 tiles, 2 overviews)")
            print(f"{'':34} {'assets/s':>9} {'requests/asset':>15} {'KiB/asset':>10} {'of the file':>12}")
            print(f"{'baseline: download each file':34} {'':>9} {1.0:15.1f} {size / 1024:10.1f} {1:11.1%}")
            rows = [("s3:// (/vsis3/), 1 worker", "s3", 1), ("s3:// (/vsis3/), 16 workers", "s3", 16),
                    ("http (/vsicurl/), 1 worker", "http", 1), ("http (/vsicurl/), 16 workers", "http", 16)]
            for number, (label, scheme, workers) in enumerate(rows):
                rate, requests, sent = run(root, url, scheme, args.assets, workers, f"r{number}")
                print(f"{label:34} {rate:9.1f} {requests:15.1f} {sent / 1024:10.1f} {sent / size:11.1%}")
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
