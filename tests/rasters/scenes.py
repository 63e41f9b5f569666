"""Provider records of the test COGs: a BYOC collection and tile of the band files, a DL image of a single file.

They describe the files as the providers do: BYOC with no shape, transform, nodata or statistics; DL with its
grid but no statistics. Enrichment fills in the rest from the headers.
"""

from __future__ import annotations

from typing import Any

from tests.rasters import cogs

BUCKET = "bucket"
BYOC_COLLECTION_ID = "7f0e2a8c-4a59-4d6e-9c3c-2f1de0c0b017"
BYOC_TILE_ID = "7f0e2a8c-0000-4000-8000-000000000001"
SCENE = "T60_20240502"


def _bounds(scene: cogs.Scene) -> tuple[float, float, float, float]:
    width, height = scene.size
    x, y = scene.origin
    return x, y - height * scene.pixel, x + width * scene.pixel, y


def byoc_collection() -> dict[str, Any]:
    """A BYOC collection of the three band files (16-bit unsigned, no noData said)."""
    bands = {f"B0{n}": {"source": f"B0{n}", "bandIndex": 1, "bitDepth": 16, "sampleFormat": "UINT"}
             for n in (2, 3, 4)}
    return {"id": BYOC_COLLECTION_ID, "name": "Test scenes", "s3Bucket": BUCKET,
            "created": "2024-05-03T00:00:00.000Z", "additionalData": {"bands": bands}}


def byoc_tile() -> dict[str, Any]:
    """The tile of the band files: ``tiles/T60_20240502_(BAND).tif``, its cover in UTM 60S."""
    minx, miny, maxx, maxy = _bounds(cogs.BAND_FILES[0])
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32760"}}
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return {"id": BYOC_TILE_ID, "path": f"tiles/{SCENE}_(BAND).tif", "status": "INGESTED",
            "tileGeometry": {"crs": crs, "type": "Polygon", "coordinates": [ring]},
            "coverGeometry": {"crs": crs, "type": "Polygon", "coordinates": [ring]},
            "created": "2024-05-03T00:00:00.000Z", "sensingTime": "2024-05-02T00:00:00Z"}


def dl_image(name: str = "utm33", file: str = "dl/utm33.tif") -> dict[str, Any]:
    """A DL v1 image of one file in ``gs://bucket/``: grid and CRS said, no statistics."""
    scene = cogs.UTM33
    minx, miny, maxx, maxy = _bounds(scene)
    return {"id": f"test:product:{name}", "product": "test:product", "key": name,
            "acquired": "2024-05-01T10:30:00Z", "cs_code": "EPSG:32633",
            "geotrans": [minx, scene.pixel, 0.0, maxy, 0.0, -scene.pixel], "raster_size": list(scene.size),
            "geometry": {"type": "Polygon", "coordinates": [[[15.0, 45.1], [15.08, 45.1], [15.08, 45.15],
                                                             [15.0, 45.15], [15.0, 45.1]]]},
            "bucket": BUCKET, "files": [file]}


#: Replays ``export descartes`` lines with the descarteslabs 1.12.1 v1 client; prints the ids it made.
V1_REPLAY = r"""
import json, sys
from descarteslabs.auth import Auth
from descarteslabs.client.services.catalog import Catalog

catalog_url, token, calls_path = sys.argv[1:4]
catalog = Catalog(url=catalog_url, auth=Auth(jwt_token=token, token_info_path=None, client_id="stand-in"), retries=0)
made = [getattr(catalog, line["call"])(**line["kwargs"])["data"]["id"] for line in map(json.loads, open(calls_path))]
print(json.dumps({"made": made}))
"""
