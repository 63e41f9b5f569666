"""Capella: catalog items to normalised STAC and back, tasking requests to STAC."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.transforms import Case
from stac_bridge.transforms import capella

_FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "capella"


def _load(name: str) -> Any:
    return json.loads((_FIXTURES / name).read_text())


def cases() -> list[Case]:
    items = [_load("stac_item_SLC.json"), _load("stac_item_GEO.json")]
    items += [f for page in ("search_page1.json", "search_page2.json") for f in _load(page)["features"]]
    stac = [capella.item_to_stac(item).to_dict(include_self_link=False, transform_hrefs=False) for item in items]
    requests = [_load("tasking_request_body.json"), _load("tasking_request_response.json")]
    tasking = [capella.tasking_request_to_stac(r).to_dict(include_self_link=False) for r in requests]
    return [
        Case("capella.item_to_stac", capella.item_to_stac, items, "items"),
        Case("capella.stac_to_item (dict)", capella.stac_to_item, stac, "items", baseline_inputs=items),
        Case("capella.tasking_request_to_stac", capella.tasking_request_to_stac, requests, "requests"),
        Case("capella.stac_to_tasking_request", capella.stac_to_tasking_request, tasking, "requests",
             baseline_inputs=requests),
    ]
