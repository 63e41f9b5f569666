"""A synthetic catalog for the load and search benchmarks, and the database they run on.

Items are copies of the demo item spread over Europe and two years, with cloud covers 0-100, so that bbox,
datetime and ``eo:cloud_cover`` searches select realistic fractions. The database is a throwaway one on the
configured server (``STAC_BRIDGE_DATABASE_URL``) or on the managed cluster, brought up if needed.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo" / "stac"
COLLECTION_ID = "stac-bridge-demo"


def collection() -> dict[str, Any]:
    """The demo collection."""
    document: dict[str, Any] = json.loads((DEMO / "collection.json").read_text())
    return document


def items(count: int) -> list[dict[str, Any]]:
    """``count`` items: 1-degree footprints on a 30 x 20 grid (-10..20E, 35..55N), one every 6 hours."""
    template = json.loads((DEMO / "items.ndjson").read_text().splitlines()[0])
    start = dt.datetime(2023, 1, 1, 10, 30, tzinfo=dt.UTC)
    made = []
    for index in range(count):
        item = copy.deepcopy(template)
        west, south = -10 + index % 30, 35 + (index // 30) % 20
        item["id"] = f"bench-{index:07d}"
        item["geometry"] = {"type": "Polygon", "coordinates": [[[west, south], [west + 1, south],
                                                                [west + 1, south + 1], [west, south + 1],
                                                                [west, south]]]}
        item["bbox"] = [west, south, west + 1, south + 1]
        when = start + dt.timedelta(hours=6 * index)
        item["properties"]["datetime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        item["properties"]["eo:cloud_cover"] = (index * 37) % 101
        made.append(item)
    return made


@contextlib.contextmanager
def database() -> Iterator[str]:
    """A throwaway pgstac database, dropped afterwards."""
    from stac_bridge.pgstac.database import ManagedCluster, configured_url, default_home, temporary_database

    server = configured_url()
    if server is None:
        cluster = ManagedCluster(default_home())
        cluster.up()
        server = cluster.url("postgres")
    with temporary_database(server, prefix="stac_bridge_bench") as url:
        yield url
