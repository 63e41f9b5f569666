"""Sentinel Hub BYOC: tiles (UTM, reprojected and densified; one across the antimeridian) to STAC and back."""

from __future__ import annotations

import copy
import json
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.transforms import Case
from stac_bridge.registry import ProviderRecord
from stac_bridge.transforms import byoc

_FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "byoc"


def _load(name: str) -> Any:
    return json.loads((_FIXTURES / name).read_text())


def _across_antimeridian(tile: dict[str, Any]) -> dict[str, Any]:
    """The fixture tile moved to UTM zone 60 north at 60N, where it spans 178.8E to 177.6W."""
    moved = copy.deepcopy(tile)
    moved["id"] = "00000000-0000-0000-0000-0000000000bb"
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32660"}}
    ring = [[600000.0, 6600000.0], [800000.0, 6600000.0], [800000.0, 6700000.0], [600000.0, 6700000.0],
            [600000.0, 6600000.0]]
    moved["coverGeometry"] = {"crs": crs, "type": "MultiPolygon", "coordinates": [[ring]]}
    moved["tileGeometry"] = {"crs": crs, "type": "Polygon", "coordinates": [[ring[3], ring[2], ring[1], ring[0],
                                                                              ring[3]]]}
    moved["sensingTime"] = "2024-05-01T10:00:00Z"
    return moved


def cases() -> list[Case]:
    collection = _load("byoc_collection.json")
    tile = _load("byoc_tile.json")
    tiles = [tile, _across_antimeridian(tile), *_load("tiles_page2.json")["data"]]
    records = [ProviderRecord("tile", t, {"collection": collection}) for t in tiles]
    items = [byoc.ADAPTER.to_stac(r) for r in records]
    adapter = byoc.ADAPTER
    return [
        # The adapter's to_stac is what harvest and convert run: dicts, no pystac objects.
        Case("byoc.tile_to_stac (adapter)", adapter.to_stac, records, "tiles", baseline_inputs=tiles),
        Case("byoc.collection_to_stac (adapter)", adapter.to_stac, [ProviderRecord("collection", collection)],
             "collections", baseline_inputs=[collection]),
        Case("byoc.stac_to_tile (dict)", byoc.stac_to_tile, items, "tiles", baseline_inputs=tiles),
        # The public functions return pystac objects: pystac's from_dict is most of their cost.
        Case("byoc.tile_to_stac (pystac.Item)", partial(byoc.tile_to_stac, collection=collection), tiles, "tiles"),
    ]
