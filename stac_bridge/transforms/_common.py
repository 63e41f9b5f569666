"""Helpers that every provider transform shares.

Field access with named errors, datetimes, CRS codes, reprojection to WGS84 (densified, antimeridian-aware),
bounding boxes, multihash checksums and provenance.

Everything here is pure: no network, no files, no clock.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final, TypeVar

import antimeridian
import pyproj
import pyproj.exceptions
import shapely
import shapely.geometry
from shapely.geometry.base import BaseGeometry

from stac_bridge.errors import TransformError

# Re-exported: these live apart, free of the geo libraries, for modules that need nothing else.
from stac_bridge.transforms._plain import copy_json as copy_json
from stac_bridge.transforms._plain import format_datetime as format_datetime
from stac_bridge.transforms._plain import parse_datetime as parse_datetime

T = TypeVar("T")

WGS84: Final = "EPSG:4326"
_MISSING: Final = object()


class Fields:
    """Typed access to one record's fields.

    Anything missing or of the wrong type raises a :class:`TransformError` that names the provider, the record
    and the field.

    Args:
        provider: The adapter name, e.g. ``"byoc"``.
        record: The provider record (a JSON object).
        record_id: The record's id, when known; otherwise ``id_field`` of the record is used.
        id_field: The field holding the id.
    """

    def __init__(
        self,
        provider: str,
        record: Any,
        *,
        record_id: str | None = None,
        id_field: str = "id",
    ) -> None:
        self.provider = provider
        if not isinstance(record, Mapping):
            raise TransformError(provider, record_id, None, f"expected a JSON object, got {type(record).__name__}")
        self.record: Mapping[str, Any] = record
        if record_id is None:
            raw = record.get(id_field)
            record_id = str(raw) if raw is not None else None
        self.record_id = record_id

    def error(self, field: str | None, reason: str) -> TransformError:
        """A :class:`TransformError` about ``field`` of this record."""
        return TransformError(self.provider, self.record_id, field, reason)

    def _lookup(self, path: str) -> Any:
        value: Any = self.record
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return _MISSING
            value = value[part]
        return value

    def get(self, path: str, kind: type[T] | tuple[type, ...] | None = None, default: Any = None) -> Any:
        """The value at a dotted ``path``, or ``default`` when absent or null; type-checked when ``kind`` is given."""
        value = self._lookup(path)
        if value is _MISSING or value is None:
            return default
        if kind is not None:
            self._check(path, value, kind)
        return value

    def require(self, path: str, kind: type[T] | tuple[type, ...] | None = None) -> Any:
        """The value at a dotted ``path``; a :class:`TransformError` when it is absent, null or of the wrong type."""
        value = self._lookup(path)
        if value is _MISSING or value is None:
            raise self.error(path, "is missing")
        if kind is not None:
            self._check(path, value, kind)
        return value

    def _check(self, path: str, value: Any, kind: type | tuple[type, ...]) -> None:
        problem = json_type_problem(value, kind)
        if problem is not None:
            raise self.error(path, problem)

    def datetime(self, path: str, *, required: bool = True) -> dt.datetime | None:
        """A datetime field parsed as RFC 3339 (a naive value is taken as UTC)."""
        raw = self.require(path, str) if required else self.get(path, str)
        if raw is None:
            return None
        try:
            return parse_datetime(raw)
        except ValueError as exc:
            raise self.error(path, f"is not an RFC 3339 datetime: {raw!r}") from exc

    def convert(self, path: str, func: Callable[[Any], T], what: str) -> T:
        """Apply ``func`` to the required field; any ``ValueError``/``TypeError`` becomes a named error."""
        value = self.require(path)
        try:
            return func(value)
        except TransformError:
            raise
        except (ValueError, TypeError, pyproj.exceptions.CRSError) as exc:
            raise self.error(path, f"is not {what}: {exc}") from exc


def json_type_problem(value: Any, kind: type | tuple[type, ...]) -> str | None:
    """What is wrong with a JSON value's type (``"must be a string, got an integer 3"``), or ``None``.

    JSON has no int/float distinction worth failing on (an integer is a number), but a boolean is not a number.
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    elif float in kinds and isinstance(value, int):
        ok = True
    else:
        ok = isinstance(value, kinds)
    if ok:
        return None
    names = " or ".join(_json_type_name(k) for k in kinds)
    return f"must be {names}, got {_json_type_name(type(value))} {value!r:.80}"


def _json_type_name(kind: type) -> str:
    return {
        dict: "an object",
        Mapping: "an object",
        list: "an array",
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        type(None): "null",
    }.get(kind, kind.__name__)


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


def strip_crs(geometry: Mapping[str, Any]) -> dict[str, Any]:
    """A GeoJSON geometry without the (pre-RFC 7946) ``crs`` member."""
    return {k: v for k, v in geometry.items() if k != "crs"}


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


# --- provenance ---------------------------------------------------------------------------------------------

#: Fields that record where a STAC object came from; the way back ignores them.
PROVENANCE_PROVIDER: Final = "stac_bridge:provider"
PROVENANCE_SOURCE_ID: Final = "stac_bridge:source_id"
PROVENANCE_TRANSFORM: Final = "stac_bridge:transform"
PROVENANCE_FIELDS: Final = (PROVENANCE_PROVIDER, PROVENANCE_SOURCE_ID, PROVENANCE_TRANSFORM)


def provenance(provider: str, source_id: str, transform_version: int) -> dict[str, str]:
    """The fields that say where a STAC object came from.

    Put them in an Item's ``properties`` or at a Collection's top level.

    ``stac_bridge:transform`` is ``<provider>/<version>``: a transform module bumps its version whenever its
    output changes, so a catalog can be re-translated selectively.
    """
    return {
        PROVENANCE_PROVIDER: provider,
        PROVENANCE_SOURCE_ID: source_id,
        PROVENANCE_TRANSFORM: f"{provider}/{transform_version}",
    }


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
