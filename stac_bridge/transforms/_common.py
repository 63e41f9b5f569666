"""Helpers that every provider transform shares.

Datetimes, CRS codes, reprojection to WGS84 (densified, antimeridian-aware), bounding boxes, multihash
checksums and raster metadata (GDAL data types and geotransforms). Field access, codecs and the ledger are the
kernel's (:mod:`stac_bridge.transforms.kernel`).

Everything here is pure: no network, no files, no clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

import antimeridian
import pyproj
import pyproj.exceptions
import shapely
import shapely.geometry
from shapely.geometry.base import BaseGeometry

# Re-exported: these live apart, free of the geo libraries, for modules that need nothing else.
from stac_bridge.transforms._plain import copy_json as copy_json
from stac_bridge.transforms._plain import format_datetime as format_datetime
from stac_bridge.transforms._plain import parse_datetime as parse_datetime

WGS84: Final = "EPSG:4326"


# --- coordinate reference systems -------------------------------------------------------------------------

_EPSG_PATTERNS: Final = (
    re.compile(r"^EPSG:+(\d+)$", re.IGNORECASE),
    re.compile(r"^urn:ogc:def:crs:EPSG:[\d.]*:(\d+)$", re.IGNORECASE),
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/[\d.]+/(\d+)$", re.IGNORECASE),
)
_CRS84: Final = re.compile(r"^(urn:ogc:def:crs:OGC:[\d.]*:CRS84|https?://www\.opengis\.net/def/crs/OGC/[\d.]+/CRS84)$")


def epsg_code(crs: str | int) -> int:
    """The EPSG number of a CRS written as ``EPSG:32633``, an OGC URN or an OGC URL (CRS84 gives 4326).

    Raises:
        ValueError: the CRS is not written in one of those forms, or pyproj does not know it.
    """
    if isinstance(crs, int) and not isinstance(crs, bool):
        code = crs
    else:
        text = str(crs).strip()
        if _CRS84.match(text):
            return 4326
        for pattern in _EPSG_PATTERNS:
            match = pattern.match(text)
            if match:
                code = int(match.group(1))
                break
        else:
            raise ValueError(f"unrecognised CRS identifier {crs!r}")
    _crs(code)
    return code


@lru_cache(maxsize=256)
def _crs(code: int) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_epsg(code)
    except pyproj.exceptions.CRSError as exc:
        raise ValueError(f"unknown EPSG code {code}") from exc


@lru_cache(maxsize=256)
def _to_wgs84(code: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(_crs(code), WGS84, always_xy=True)


def reproject_to_wgs84(geometry: Mapping[str, Any], epsg: int, *, densify_points: int = 20) -> dict[str, Any]:
    """Reproject a GeoJSON geometry from ``EPSG:<epsg>`` to WGS84 lon/lat.

    Edges are densified first (``densify_points`` vertices per edge), so that straight lines in the source CRS
    become the right curves on the globe; a polygon that crosses the antimeridian comes back split into a
    MultiPolygon on either side of it, as the GeoJSON and STAC specifications ask.

    Raises:
        ValueError: the geometry is not valid GeoJSON or the CRS is unknown.
    """
    shape = shapely.geometry.shape(geometry)
    if shape.is_empty:
        raise ValueError("the geometry is empty")
    if epsg != 4326:
        shape = _densify(shape, densify_points)
        transformer = _to_wgs84(epsg)
        shape = shapely.transform(shape, lambda xy: _transform_xy(transformer, xy))
        # No unwrapping of longitudes here: antimeridian.fix_shape wants them in [-180, 180] and finds the
        # crossings from the jumps; unwrapped (continuous) rings came out with part of the polygon missing.
    if shape.geom_type in ("Polygon", "MultiPolygon"):
        if not _may_cross_antimeridian(shape):
            # What antimeridian.fix_shape would return, without its per-vertex Python loop (most of the cost).
            return dict(shapely.geometry.mapping(shapely.orient_polygons(shape)))
        fixed = antimeridian.fix_shape(shape)
        return dict(fixed if isinstance(fixed, Mapping) else shapely.geometry.mapping(fixed))
    return dict(shapely.geometry.mapping(shape))


def _may_cross_antimeridian(shape: BaseGeometry) -> bool:
    """Whether a lon/lat polygon touches +-180 or has an edge that jumps more than 180 degrees of longitude."""
    import numpy as np

    rings = [shape] if shape.geom_type == "Polygon" else list(shape.geoms)
    for polygon in rings:
        for ring in (polygon.exterior, *polygon.interiors):
            lon = shapely.get_coordinates(ring)[:, 0]
            if np.any(np.abs(lon) >= 180.0) or np.any(np.abs(np.diff(lon)) > 180.0):
                return True
    return False


def _transform_xy(transformer: pyproj.Transformer, xy: Any) -> Any:
    import numpy as np

    lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
    if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
        raise ValueError("the geometry lies outside the area where its CRS is defined")
    return np.column_stack([lon, lat])


def _densify(shape: BaseGeometry, points_per_edge: int) -> BaseGeometry:
    if points_per_edge <= 1 or shape.geom_type == "Point":
        return shape
    bounds = shape.bounds
    extent = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    if extent <= 0:
        return shape
    return shapely.segmentize(shape, extent / points_per_edge)


def bbox_of(geometry: Mapping[str, Any]) -> list[float]:
    """The WGS84 ``[west, south, east, north]`` of a GeoJSON geometry; across the antimeridian west > east."""
    shape = shapely.geometry.shape(geometry)
    if shape.geom_type in ("Polygon", "MultiPolygon") and _may_cross_antimeridian(shape):
        return [float(v) for v in antimeridian.bbox(shape)]
    return [float(v) for v in shape.bounds]


def native_bbox(geometry: Mapping[str, Any]) -> list[float]:
    """The ``[minx, miny, maxx, maxy]`` of a geometry in its own (projected) CRS."""
    return [float(v) for v in shapely.geometry.shape(geometry).bounds]


# --- checksums ----------------------------------------------------------------------------------------------

_MD5_MULTIHASH_PREFIX: Final = "d510"


def md5_to_multihash(md5_hex: str) -> str:
    """An md5 hex digest as a multihash (``file:checksum``): ``d5 10`` (md5, 16 bytes) then the digest."""
    digest = md5_hex.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{32}", digest):
        raise ValueError(f"not an md5 hex digest: {md5_hex!r}")
    return _MD5_MULTIHASH_PREFIX + digest


def multihash_to_md5(multihash: str) -> str:
    """The md5 hex digest inside an md5 multihash.

    Raises:
        ValueError: it is not an md5 multihash.
    """
    text = multihash.strip().lower()
    if not (text.startswith(_MD5_MULTIHASH_PREFIX) and len(text) == 36):
        raise ValueError(f"not an md5 multihash: {multihash!r}")
    return text[len(_MD5_MULTIHASH_PREFIX):]


# --- numbers ------------------------------------------------------------------------------------------------

def finite(value: float) -> bool:
    """Whether a number is neither NaN nor infinite (JSON cannot carry those)."""
    return not (math.isnan(value) or math.isinf(value))


# --- raster metadata: GDAL data type names, GDAL geotransforms, decimal scaling ----------------------------

#: GDAL data type names (as Descartes Labs and GDAL write them) -> STAC ``data_type``.
GDAL_TO_STAC_DTYPE: Final[dict[str, str]] = {
    "Byte": "uint8",
    "Int8": "int8",
    "UInt16": "uint16",
    "Int16": "int16",
    "UInt32": "uint32",
    "Int32": "int32",
    "UInt64": "uint64",
    "Int64": "int64",
    "Float16": "float16",
    "Float32": "float32",
    "Float64": "float64",
    "CInt16": "cint16",
    "CInt32": "cint32",
    "CFloat32": "cfloat32",
    "CFloat64": "cfloat64",
}
STAC_TO_GDAL_DTYPE: Final[dict[str, str]] = {v: k for k, v in GDAL_TO_STAC_DTYPE.items()}
_GDAL_DTYPES_FOLDED: Final[dict[str, str]] = {k.lower(): v for k, v in GDAL_TO_STAC_DTYPE.items()}


def gdal_dtype_to_stac(name: str) -> str:
    """Map a GDAL data type name to the STAC ``data_type`` (``UInt16`` -> ``uint16``), case-insensitively.

    Raises:
        ValueError: not a GDAL data type name.

    """
    try:
        return _GDAL_DTYPES_FOLDED[name.strip().lower()]
    except KeyError:
        raise ValueError(f"not a GDAL data type: {name!r}") from None


def stac_dtype_to_gdal(data_type: str) -> str:
    """Map a STAC ``data_type`` to its GDAL data type name (``uint8`` -> ``Byte``).

    Raises:
        ValueError: the STAC data type has no GDAL name (e.g. ``other``).

    """
    try:
        return STAC_TO_GDAL_DTYPE[data_type]
    except KeyError:
        raise ValueError(f"STAC data_type {data_type!r} has no GDAL name") from None


def gdal_geotransform_to_affine(geotransform: list[float]) -> list[float]:
    """Reorder GDAL's ``[x0, xres, xrot, y0, yrot, yres]`` into ``proj:transform`` order.

    ``proj:transform`` is the affine ``[a, b, c, d, e, f]`` = ``[xres, xrot, x0, yrot, yres, y0]``.

    Raises:
        ValueError: the geotransform does not have 6 numbers.

    """
    if len(geotransform) != 6:
        raise ValueError(f"a GDAL geotransform has 6 numbers, not {len(geotransform)}")
    x0, xres, xrot, y0, yrot, yres = geotransform
    return [xres, xrot, x0, yrot, yres, y0]


def affine_to_gdal_geotransform(transform: list[float]) -> list[float]:
    """Reorder a ``proj:transform`` (6 numbers, or 9 with the row ``0, 0, 1``) into a GDAL geotransform.

    Raises:
        ValueError: the transform does not have 6 or 9 numbers.

    """
    if len(transform) not in (6, 9):
        raise ValueError(f"proj:transform has 6 or 9 numbers, not {len(transform)}")
    xres, xrot, x0, yrot, yres, y0 = transform[:6]
    return [x0, xres, xrot, y0, yrot, yres]


def shift_decimal(value: float, places: int) -> float:
    """Multiply by ``10**places`` on the shortest decimal form of ``value``.

    Unit changes such as fraction -> percent or nanometres -> micrometres then give the number a person would
    write (``0.5646`` -> ``56.46``, not ``56.459999999999994``), and shifting back usually restores the
    original exactly (callers that need exactness check it).

    """
    return float(Decimal(repr(float(value))).scaleb(places))
