"""BYOC test data: the recorded fixtures, and a collection with UTM tiles on both sides of the antimeridian."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "byoc"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


COLLECTIONS: list[dict[str, Any]] = load("collections_page1.json")["data"] + load("collections_page2.json")["data"]
TILES: list[dict[str, Any]] = load("tiles_page1.json")["data"] + load("tiles_page2.json")["data"]
COLLECTION_ID: str = COLLECTIONS[0]["id"]

PACIFIC_ID = "0c6bc5d8-5d33-4c4a-9a57-3e1f1a2b7c60"


def utm_tile(number: int, epsg: int, box: tuple[float, float, float, float], sensing: str | None) -> dict[str, Any]:
    """A tile as the BYOC API sends it, covering ``box`` (minx, miny, maxx, maxy) in UTM zone ``epsg``."""
    minx, miny, maxx, maxy = box
    crs = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}
    outline = [[minx, maxy], [maxx, maxy], [maxx, miny], [minx, miny], [minx, maxy]]
    cover = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return {
        "id": f"00000000-0000-4000-8000-{number:012d}",
        "path": f"pacific/{epsg}/t{number}_(BAND).tif",
        "status": "INGESTED",
        "tileGeometry": {"crs": crs, "type": "Polygon", "coordinates": [outline]},
        "coverGeometry": {"crs": crs, "type": "MultiPolygon", "coordinates": [[cover]]},
        "created": f"2024-03-0{number}T10:00:00.000000Z",
        "sensingTime": sensing,
        "additionalData": {"minMetersPerPixel": 10.0, "maxMetersPerPixel": 160.0},
        "ingestionStart": f"2024-03-0{number}T10:00:01.000000Z",
    }


def pacific() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A collection whose tiles lie in UTM zones 60 and 1, near 60N and 60S, some across the antimeridian.

    Tiles 1 (zone 60N) and 2 (zone 1N) cross 180; tile 3 lies wholly east of it in zone 60 (about 176E), tile 4
    wholly west in zone 1 (about 176W); tile 5 (zone 60S) crosses it in the south and has no sensing time.
    """
    collection = copy.deepcopy(COLLECTIONS[0])
    collection.update(id=PACIFIC_ID, name="Pacific test mosaic", s3Bucket="pacific-bucket")
    # Not Slovenia's extent: Sentinel Hub computes a collection's own from its tiles, this one's is left to the
    # loader (from the items).
    del collection["additionalData"]["extent"]
    tiles = [
        utm_tile(1, 32660, (600_000.0, 6_600_000.0, 800_000.0, 6_700_000.0), "2024-02-10T23:10:00Z"),
        utm_tile(2, 32601, (200_000.0, 6_600_000.0, 400_000.0, 6_700_000.0), "2024-02-11T23:10:00Z"),
        utm_tile(3, 32660, (300_000.0, 6_600_000.0, 400_000.0, 6_700_000.0), "2024-02-20T23:10:00Z"),
        utm_tile(4, 32601, (600_000.0, 6_600_000.0, 700_000.0, 6_700_000.0), "2024-02-21T23:10:00Z"),
        utm_tile(5, 32760, (600_000.0, 3_300_000.0, 800_000.0, 3_400_000.0), None),
    ]
    return collection, tiles
