"""Rasters: STAC Items from cloud-optimized GeoTIFFs, and Items enriched from their COG headers.

* :mod:`.gdal`: GDAL paths (``/vsicurl/``, ``/vsis3/``, ``/vsigs/``) and the configuration for small header reads;
* :mod:`.cog`: is a GeoTIFF cloud-optimized (tiled, overviews, IFDs and data in the COG order);
* :mod:`.items`: rio-stac Items (STAC 1.1 ``bands``) from files, grouped by an id pattern, and their Collection;
* :mod:`.enrich`: ``proj:*`` and band fields filled from the headers of an Item's GeoTIFF assets.

Needs the ``raster`` extra (rasterio, rio-stac): ``pip install 'stac-bridge[raster]'``.
"""

from __future__ import annotations

RASTER_EXTRA = "pip install 'stac-bridge[raster]'"

__all__ = ["RASTER_EXTRA"]
