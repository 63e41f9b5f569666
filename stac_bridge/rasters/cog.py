"""Is a GeoTIFF cloud-optimized? Tiled, with overviews, its IFDs first and its data in the COG order.

The checks are those of GDAL's ``validate_cloud_optimized_geotiff.py``, read through rasterio's TIFF metadata
domain (``IFD_OFFSET``, ``BLOCK_OFFSET_0_0`` of the image and each overview), so that nothing but the header is
read.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["COG_FIX", "cog_problems"]

#: How to make a COG of a GeoTIFF, said with every refusal.
COG_FIX: Final = ("make one with `rio cogeo create IN.tif OUT.tif` (rio-cogeo) or "
                  "`gdal_translate -of COG IN.tif OUT.tif` (GDAL 3.1 or later)")
#: Rasters up to this size in both dimensions need neither tiles nor overviews (GDAL's validator says so too).
SMALL: Final = 512


def _offset(dataset: Any, item: str, overview: int | None = None) -> int | None:
    kwargs: dict[str, Any] = {"bidx": 1}
    if overview is not None:
        kwargs["ovr"] = overview
    try:
        value = dataset.get_tag_item(item, "TIFF", **kwargs)
    except Exception:  # rasterio raises its own errors for a domain the driver lacks
        return None
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def cog_problems(dataset: Any) -> list[str]:
    """What keeps an open rasterio dataset from being a cloud-optimized GeoTIFF (empty: it is one).

    Args:
        dataset: A rasterio dataset (opened for reading; only its header is looked at).
    """
    if dataset.driver != "GTiff":
        return [f"it is a {dataset.driver} file, not a GeoTIFF"]
    problems: list[str] = []
    width, height = dataset.width, dataset.height
    block_height, block_width = dataset.block_shapes[0]
    large = width > SMALL or height > SMALL
    if large and block_width == width and block_height < height:
        problems.append(f"it is stored in strips ({block_width}x{block_height}), not tiles")
    overviews = dataset.overviews(1)
    if large and not overviews:
        problems.append(f"it has no overviews ({width}x{height} pixels)")
    ifds = _offsets(dataset, "IFD_OFFSET", len(overviews))
    if ifds is not None and ifds != sorted(ifds):
        problems.append("its overview IFDs do not follow the main IFD in order")
    data = _offsets(dataset, "BLOCK_OFFSET_0_0", len(overviews))
    if data is not None and len(data) > 1:
        # Smallest overview first in the file, the full resolution last: a client reads what it shows first.
        order = [*reversed(data[1:]), data[0]]
        if order != sorted(order):
            problems.append("its image data is not stored smallest overview first, full resolution last")
        if ifds is not None and data[0] < max(ifds):
            problems.append("its image data comes before the last IFD (the header is not all at the start)")
    return problems


def _offsets(dataset: Any, item: str, overviews: int) -> list[int] | None:
    """The image's offset of ``item`` and each overview's, or ``None`` when the driver does not say them all."""
    found = [_offset(dataset, item), *(_offset(dataset, item, i) for i in range(overviews))]
    return [o for o in found if o is not None] if all(o is not None for o in found) else None
