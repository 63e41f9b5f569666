"""The serving benchmark's catalog: items made by our transforms from every provider's demo records, multiplied.

Each provider's demo records (``examples/demo/providers/<provider>/``) are converted with that provider's
adapter, as ``stac-bridge convert`` does; with the demo's own STAC items they are the templates. ``count``
items are made from them in turn, each with its own id, its footprint moved (a whole item, within the globe;
items across the antimeridian move north-south only) and its datetimes moved within two years, so that bbox
and datetime searches select realistic fractions of every provider's items. The ndjson is cached under
``$STAC_BRIDGE_HOME/bench/`` (a second run with the same count reuses it).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
PROVIDERS = ROOT / "examples" / "demo" / "providers"
DEMO_STAC = ROOT / "examples" / "demo" / "stac"
#: Bump when the way items are made changes: cached files of another version are made again.
VERSION = 2
_DATETIMES = ("datetime", "start_datetime", "end_datetime")


@dataclass(frozen=True)
class Corpus:
    """The files of one benchmark catalog.

    Attributes:
        collections: ndjson of every collection the items belong to.
        items: ndjson of the items.
        count: How many items.
        providers: How many templates each provider (and the demo STAC) gave.
    """

    collections: Path
    items: Path
    count: int
    providers: dict[str, int]


def home_dir() -> Path:
    """The project's home as ``stac-bridge`` finds it from the repository (where the benchmarks keep what they make)."""
    from stac_bridge.pgstac.database import HOME_DIR, find_home

    return find_home(ROOT) or ROOT / HOME_DIR


def bench_dir() -> Path:
    """``$STAC_BRIDGE_BENCH_DIR``, else ``$STAC_BRIDGE_HOME/bench`` (the project's ``.stac-bridge/bench``)."""
    configured = os.environ.get("STAC_BRIDGE_BENCH_DIR")
    return Path(configured) if configured else home_dir() / "bench"


def templates(work: Path) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The collections and, per provider, the items ``stac-bridge convert`` makes of the demo records."""
    collections: list[dict[str, Any]] = []
    items: dict[str, list[dict[str, Any]]] = {}
    for directory in sorted(p for p in PROVIDERS.iterdir() if p.is_dir()):
        out = work / f"{directory.name}.ndjson"
        subprocess.run([sys.executable, "-m", "stac_bridge.cli", "convert", directory.name,
                        *map(str, sorted(directory.glob("*.json"))), "--out", str(out),
                        "--dead-letters", str(work / f"{directory.name}.refused.ndjson")],
                       check=True, capture_output=True)
        made = [orjson.loads(line) for line in out.read_bytes().splitlines() if line.strip()]
        collections.extend(o for o in made if o.get("type") == "Collection")
        items[directory.name] = [o for o in made if o.get("type") == "Feature"]
    collections.append(orjson.loads((DEMO_STAC / "collection.json").read_bytes()))
    items["demo"] = [orjson.loads(line) for line in (DEMO_STAC / "items.ndjson").read_bytes().splitlines() if line]
    return collections, items


def _positions(value: Any, dx: float, dy: float) -> Any:
    if value and isinstance(value[0], int | float):
        return [value[0] + dx, value[1] + dy, *value[2:]]
    return [_positions(part, dx, dy) for part in value]


def _moved(geometry: dict[str, Any], dx: float, dy: float) -> dict[str, Any]:
    if geometry.get("type") == "GeometryCollection":
        return {**geometry, "geometries": [_moved(g, dx, dy) for g in geometry["geometries"]]}
    return {**geometry, "coordinates": _positions(geometry["coordinates"], dx, dy)}


def _shift_text(text: str, delta: dt.timedelta) -> str:
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00")) + delta
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def variant(template: dict[str, Any], index: int, rng: random.Random) -> dict[str, Any]:
    """A copy of ``template`` with the id ``<id>-b<index>``, moved in space and time."""
    item: dict[str, Any] = orjson.loads(orjson.dumps(template))
    item["id"] = f"{template['id']}-b{index:07d}"
    west, south, east, north = item["bbox"][:2] + item["bbox"][-2:] if len(item["bbox"]) == 6 else item["bbox"]
    across = west > east
    dx = 0.0 if across else rng.uniform(-180 - west, 180 - east)
    dy = rng.uniform(max(-90 - south, -60), min(90 - north, 60))
    item["geometry"] = _moved(item["geometry"], dx, dy)
    bbox = list(item["bbox"])
    half = len(bbox) // 2
    for i in (0, half):
        bbox[i] += dx
        bbox[i + 1] += dy
    item["bbox"] = bbox
    base = dt.datetime.fromisoformat(
        str(item["properties"].get("datetime") or item["properties"]["start_datetime"]).replace("Z", "+00:00"))
    target = dt.datetime(2023, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.uniform(0, 2 * 365 * 86400))
    delta = target - base
    for key in _DATETIMES:
        if isinstance(item["properties"].get(key), str):
            item["properties"][key] = _shift_text(item["properties"][key], delta)
    return item


def _made(templates_by_provider: dict[str, list[dict[str, Any]]], count: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(16)
    providers = [templates_by_provider[name] for name in sorted(templates_by_provider)]
    for index in range(count):
        # Every provider in turn, each one's templates in turn: the providers weigh alike.
        own = providers[index % len(providers)]
        yield variant(own[(index // len(providers)) % len(own)], index, rng)


def corpus(count: int) -> Corpus:
    """The cached catalog of ``count`` items, made now when it is not there."""
    directory = bench_dir()
    directory.mkdir(parents=True, exist_ok=True)
    items_path = directory / f"items-{count}-v{VERSION}.ndjson"
    collections_path = directory / f"collections-v{VERSION}.ndjson"
    collections, by_provider = templates(directory)
    providers = {name: len(items) for name, items in by_provider.items()}
    if not collections_path.exists():
        _write(collections_path, collections)
    if not items_path.exists():
        _write(items_path, _made(by_provider, count))
    return Corpus(collections_path, items_path, count, providers)


def _write(path: Path, objects: Any) -> None:
    partial = path.with_suffix(".partial")
    with partial.open("wb") as handle:
        for obj in objects:
            handle.write(orjson.dumps(obj) + b"\n")
    partial.replace(path)
