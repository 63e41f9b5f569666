"""Capella: catalog items to normalised STAC and back, tasking requests to STAC and back.

``*_to_stac`` is measured through the adapter (dicts, as harvest and convert run it) and as the public
function (a pystac object at the end).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.transforms import Case
from stac_bridge import get_adapter
from stac_bridge.transforms import capella

_FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "capella"


def _load(name: str) -> Any:
    return json.loads((_FIXTURES / name).read_text())


def cases() -> list[Case]:
    adapter = get_adapter("capella")
    names = ("stac_item_SLC", "stac_item_GEO", "open_data_SICD", "open_data_GEC", "open_data_SLC_sliding_spotlight")
    items = [_load(f"{name}.json") for name in names]
    items += [f for page in ("search_page1.json", "search_page2.json") for f in _load(page)["features"]]
    stac = [capella.item_dict(item) for item in items]
    requests = [_load("tasking_request_body.json"), _load("tasking_request_response.json")]
    tasking = [capella.tasking_request_dict(r) for r in requests]
    item_records = [adapter.classify(item) for item in items]
    request_records = [adapter.classify(r) for r in requests]
    return [
        Case("capella item_to_stac (adapter)", adapter.to_stac, item_records, "items", baseline_inputs=items),
        Case("capella.item_to_stac (pystac)", capella.item_to_stac, items, "items"),
        Case("capella.stac_to_item (dict)", capella.stac_to_item, stac, "items", baseline_inputs=items),
        Case("capella tasking_request_to_stac (adapter)", adapter.to_stac, request_records, "requests",
             baseline_inputs=requests),
        Case("capella.tasking_request_to_stac (pystac)", capella.tasking_request_to_stac, requests, "requests"),
        Case("capella.stac_to_tasking_request", capella.stac_to_tasking_request, tasking, "requests",
             baseline_inputs=requests),
    ]
