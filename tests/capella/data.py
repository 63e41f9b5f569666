"""Test data of the Capella tests: the fixtures, a small catalog made from them, and the console client's venv."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any, Final

from stac_bridge.transforms._common import format_datetime

FIXTURES: Final = Path(__file__).resolve().parents[1] / "fixtures" / "capella"
#: capella-console-client pins httpx < 0.28: it runs in a venv of its own (tests/sdkvenv.py).
CLIENT: Final = ("capella-client", ["capella-console-client==0.20.0"])
WINDOW: Final = "2024-05-01T00:00:00Z/2024-05-31T23:59:59Z"


def load(name: str) -> Any:
    """A fixture file's JSON."""
    return json.loads((FIXTURES / name).read_text())


def catalog() -> list[dict[str, Any]]:
    """Seven items: five match the client's search below, one is out of the window, one in another collection."""
    items = []
    for index in range(7):
        item = copy.deepcopy(load("stac_item_GEO.json" if index % 2 else "stac_item_SLC.json"))
        product = item["properties"]["sar:product_type"]
        item["id"] = f"CAPELLA_C127_SM_{product}_HH_202405{10 + index:02d}171708_202405{10 + index:02d}171713"
        item["properties"]["datetime"] = f"2024-05-{10 + index:02d}T17:17:10.928694Z"
        items.append(item)
    items[5]["properties"]["datetime"] = "2024-07-01T00:00:00Z"
    items[6]["collection"] = "capella-open-data"
    return items


def many(count: int, *, days: int = 30) -> list[dict[str, Any]]:
    """``count`` capella-archive items spread over ``days`` days of May 2024, alternately SLC and GEO, each
    moved east a little (so that bbox searches pick some), with distinct ids and datetimes (acquisitions of
    four seconds around ``datetime``)."""
    items = []
    for index in range(count):
        item = copy.deepcopy(load("stac_item_GEO.json" if index % 2 else "stac_item_SLC.json"))
        seconds = index * days * 86_400 // count
        day, rest = divmod(seconds, 86_400)
        moment = dt.datetime(2024, 5, 1 + day, tzinfo=dt.UTC) + dt.timedelta(seconds=rest, microseconds=500_000)
        product = item["properties"]["sar:product_type"]
        item["id"] = f"CAPELLA_C127_SM_{product}_HH_{index:05d}"
        for name, offset in (("datetime", 0), ("start_datetime", -2), ("end_datetime", 2)):
            item["properties"][name] = format_datetime(moment + dt.timedelta(seconds=offset))
        east = (index % 4) * 1.0
        rings = item["geometry"]["coordinates"]
        item["geometry"]["coordinates"] = [[[x + east, y] for x, y in ring] for ring in rings]
        item["bbox"] = [item["bbox"][0] + east, item["bbox"][1], item["bbox"][2] + east, item["bbox"][3]]
        items.append(item)
    return items


def tasking_requests(user: dict[str, Any], count: int) -> dict[str, dict[str, Any]]:
    """``count`` tasking requests of ``user`` (and one of another user), as the API stores them."""
    tasks = {}
    for index in range(count + 1):
        task = copy.deepcopy(load("tasking_request_response.json"))
        task_id = f"00000000-0000-4000-8000-{index:012d}"
        task["properties"]["taskingrequestId"] = task_id
        task["properties"]["userId"] = user["id"] if index < count else "SOMEONE_ELSE"
        task["properties"]["orgId"] = user["organizationId"]
        tasks[task_id] = task
    return tasks
