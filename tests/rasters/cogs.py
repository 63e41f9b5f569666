"""Small GeoTIFFs written by the tests with rasterio: COGs (GDAL's COG driver) in several CRSs and data types.

Each scene is a :class:`Scene`; :func:`write` makes its file(s). Noise, not flat fields, so that the files do
not compress away and a header read is a small part of each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Scene:
    """A raster: where it is (CRS, origin, pixel size), its size, data type, bands and nodata."""

    name: str
    crs: str
    origin: tuple[float, float]
    pixel: float
    size: tuple[int, int] = (600, 600)  # width, height
    dtype: str = "uint16"
    count: int = 1
    nodata: float | None = 0
    when: str = "2024:05:01 10:30:00"
    descriptions: tuple[str, ...] = ()
    stats: bool = True
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def transform(self) -> Any:
        from rasterio.transform import from_origin

        return from_origin(self.origin[0], self.origin[1], self.pixel, self.pixel)


#: A UTM tile in Europe, uint16 with nodata 0, one band.
UTM33 = Scene("utm33", "EPSG:32633", (500000.0, 5000040.0), 10.0)
#: UTM zone 60N across the antimeridian (177E is its central meridian; 180E is near easting 834 km).
ANTIMERIDIAN = Scene("dateline", "EPSG:32660", (760000.0, 120000.0), 200.0, dtype="int16", nodata=-9999)
#: WGS84 float32, three bands named by their descriptions.
GEOGRAPHIC = Scene("geo", "EPSG:4326", (10.0, 46.0), 0.001, dtype="float32", count=3, nodata=-1.0,
                   descriptions=("red", "nir", "swir"))
#: UTM 60S, the southern hemisphere across the antimeridian too, one band file each of B02, B03, B04.
BAND_FILES = [Scene(f"T60_20240502_{band}", "EPSG:32760", (760000.0, 8000000.0), 200.0, when="2024:05:02 00:00:00")
              for band in ("B02", "B03", "B04")]


def _data(scene: Scene, band: int) -> Any:
    rng = np.random.default_rng(band + len(scene.name))
    width, height = scene.size
    if scene.dtype == "float32":
        data = rng.random((height, width), dtype=np.float32) * 0.5
    else:
        info = np.iinfo(scene.dtype)
        data = rng.integers(max(info.min, -3000) + 1, min(info.max, 3000), (height, width)).astype(scene.dtype)
    if scene.nodata is not None:
        data[:20, :20] = scene.nodata  # a corner of nodata
    return data


def write(scene: Scene, folder: Path, *, cog: bool = True) -> Path:
    """Write the scene as ``<folder>/<name>.tif``: a COG, or (``cog=False``) a striped GeoTIFF without overviews."""
    import rasterio

    path = folder / f"{scene.name}.tif"
    width, height = scene.size
    profile: dict[str, Any] = {
        "driver": "GTiff", "width": width, "height": height, "count": scene.count, "dtype": scene.dtype,
        "crs": scene.crs, "transform": scene.transform, "nodata": scene.nodata,
    }
    target = folder / f"{scene.name}.tmp.tif" if cog else path
    with rasterio.open(target, "w", **profile) as out:
        for band in range(1, scene.count + 1):
            data = _data(scene, band)
            out.write(data, band)
            if scene.stats:
                valid = data[data != scene.nodata] if scene.nodata is not None else data
                out.update_tags(band, STATISTICS_MINIMUM=str(valid.min()), STATISTICS_MAXIMUM=str(valid.max()),
                                STATISTICS_MEAN=str(float(valid.mean())), STATISTICS_STDDEV=str(float(valid.std())))
            if scene.descriptions:
                out.set_band_description(band, scene.descriptions[band - 1])
        out.update_tags(TIFFTAG_DATETIME=scene.when, **scene.tags)
    if cog:
        from rasterio.shutil import copy

        copy(target, path, driver="COG", blocksize=256, compress="deflate", overview_resampling="nearest")
        target.unlink()
    return path


def write_all(folder: Path) -> dict[str, Path]:
    """Every scene above as a COG in ``folder``, by name."""
    return {s.name: write(s, folder) for s in (UTM33, ANTIMERIDIAN, GEOGRAPHIC, *BAND_FILES)}
