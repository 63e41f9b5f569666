"""Descartes Labs Catalog <-> STAC: a product and its bands as a Collection, an image as an Item.

Inputs are accepted in every form the DL APIs have sent them: the v1 JSON:API document (``{"data": {"id",
"type", "meta", "attributes"}}``), bare v1 attributes, the flat v1 metadata-search GeoJSON feature, and the
v2 catalog document or resource (``x_pixels``/``y_pixels``, ``satellite_id``, ``files`` as ``{href,
size_bytes, hash}``, ``wavelength_nm_*``, ``data_type``, ``resolution: {value, unit}``...). The mapping table
is in ``docs/providers/descartes.md``; the traps of MAPPINGS.md (fractions vs percent, nanometres vs
micrometres, ``[width, height]`` vs ``[rows, cols]``, GDAL geotransform vs affine, md5 vs multihash, GDAL
vs STAC data type names) are each handled by one small rule below.

How the way back stays exact:

* every mapped DL field is a :class:`_Rule` with a forward (DL -> STAC) and a backward (STAC -> DL) half;
  after translating, the backward half is run on the result and, wherever it does not give back the DL value
  (a date spelled ``2/1/2013``, a cloud fraction outside 0-1, an unknown band common name...), the DL value
  is also kept verbatim under ``dl:<field>``, which the way back prefers;
* a field with no STAC meaning is kept verbatim under ``dl:<field>``;
* the input's form (``dl:wire_form``), its JSON:API envelope (``dl:wire_envelope``) and its datetime spelling
  (``dl:wire_datetime_style``) are recorded, so ``stac_to_*`` rebuilds the same document.

Everything here is pure: no network, no files, no clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pystac
import shapely.geometry

from stac_bridge.errors import TransformError
from stac_bridge.registry import ProviderRecord
from stac_bridge.transforms._common import (
    PROVENANCE_FIELDS,
    Fields,
    affine_to_gdal_geotransform,
    bbox_of,
    epsg_code,
    finite,
    format_datetime,
    gdal_dtype_to_stac,
    gdal_geotransform_to_affine,
    md5_to_multihash,
    multihash_to_md5,
    parse_datetime,
    provenance,
    shift_decimal,
    stac_dtype_to_gdal,
)

__all__ = [
    "ADAPTER",
    "image_to_stac",
    "product_to_stac",
    "stac_to_client_calls",
    "stac_to_image",
    "stac_to_product",
]

log = logging.getLogger(__name__)

# --- constants ---------------------------------------------------------------------------------------------

PROVIDER: Final = "descartes"
#: Bumped whenever the STAC this module writes changes.
TRANSFORM_VERSION: Final = 1
PREFIX: Final = "dl:"
STAC_VERSION: Final = "1.1.0"
COLLECTION_LINK_HREF: Final = "../collection.json"
LICENSE: Final = "other"
HOST: Final = {"name": "Descartes Labs", "roles": ["host"], "url": "https://descarteslabs.com"}
WORLD_BBOX: Final = [-180.0, -90.0, 180.0, 90.0]
ASSET_KEY_FORMAT: Final = "file-{}"
GS_SCHEME: Final = "gs://"

EXT_EO: Final = "https://stac-extensions.github.io/eo/v2.0.0/schema.json"
EXT_RASTER: Final = "https://stac-extensions.github.io/raster/v2.0.0/schema.json"
EXT_PROJ: Final = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
EXT_FILE: Final = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
EXT_VIEW: Final = "https://stac-extensions.github.io/view/v1.1.0/schema.json"
EXT_SAT: Final = "https://stac-extensions.github.io/sat/v1.2.0/schema.json"
EXT_PROCESSING: Final = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"
EXT_TIMESTAMPS: Final = "https://stac-extensions.github.io/timestamps/v1.1.0/schema.json"
EXTENSIONS: Final = (EXT_EO, EXT_RASTER, EXT_PROJ, EXT_FILE, EXT_VIEW, EXT_SAT, EXT_PROCESSING, EXT_TIMESTAMPS)
_EXTENSION_OF_PREFIX: Final = {
    "eo": EXT_EO,
    "raster": EXT_RASTER,
    "proj": EXT_PROJ,
    "file": EXT_FILE,
    "view": EXT_VIEW,
    "sat": EXT_SAT,
    "processing": EXT_PROCESSING,
}

# STAC field names
ID: Final = "id"
TYPE: Final = "type"
COLLECTION: Final = "collection"
GEOMETRY: Final = "geometry"
BBOX: Final = "bbox"
ASSETS: Final = "assets"
PROPERTIES: Final = "properties"
LINKS: Final = "links"
HREF: Final = "href"
ROLES: Final = "roles"
TITLE: Final = "title"
DESCRIPTION: Final = "description"
KEYWORDS: Final = "keywords"
SUMMARIES: Final = "summaries"
ITEM_ASSETS: Final = "item_assets"
EXTENT: Final = "extent"
BANDS: Final = "bands"
NAME: Final = "name"
DATETIME: Final = "datetime"
CREATED: Final = "created"
UPDATED: Final = "updated"
PUBLISHED: Final = "published"
PLATFORM: Final = "platform"
INSTRUMENTS: Final = "instruments"
GSD: Final = "gsd"
DATA_TYPE: Final = "data_type"
NODATA: Final = "nodata"
EO_CLOUD_COVER: Final = "eo:cloud_cover"
EO_COMMON_NAME: Final = "eo:common_name"
EO_CENTER_WAVELENGTH: Final = "eo:center_wavelength"
EO_FWHM: Final = "eo:full_width_half_max"
RASTER_SPATIAL_RESOLUTION: Final = "raster:spatial_resolution"
RASTER_BITS_PER_SAMPLE: Final = "raster:bits_per_sample"
RASTER_SCALE: Final = "raster:scale"
RASTER_OFFSET: Final = "raster:offset"
PROJ_CODE: Final = "proj:code"
PROJ_WKT2: Final = "proj:wkt2"
PROJ_SHAPE: Final = "proj:shape"
PROJ_TRANSFORM: Final = "proj:transform"
FILE_SIZE: Final = "file:size"
FILE_CHECKSUM: Final = "file:checksum"
VIEW_INCIDENCE: Final = "view:incidence_angle"
VIEW_AZIMUTH: Final = "view:azimuth"
VIEW_SUN_AZIMUTH: Final = "view:sun_azimuth"
VIEW_SUN_ELEVATION: Final = "view:sun_elevation"
SAT_ABSOLUTE_ORBIT: Final = "sat:absolute_orbit"
SAT_RELATIVE_ORBIT: Final = "sat:relative_orbit"
SAT_ORBIT_STATE: Final = "sat:orbit_state"
PROCESSING_DATETIME: Final = "processing:datetime"
PROCESSING_SOFTWARE: Final = "processing:software"
PROCESSING_LEVEL: Final = "processing:level"
#: The key of DL's pipeline version inside ``processing:software``.
SOFTWARE_KEY: Final = "descarteslabs"
ORBIT_STATES: Final = frozenset({"ascending", "descending", "geostationary"})
COMMON_NAMES: Final = frozenset({
    "pan", "coastal", "blue", "green", "green05", "yellow", "red", "rededge", "rededge071", "rededge075",
    "rededge078", "nir", "nir08", "nir09", "cirrus", "swir16", "swir22", "lwir", "lwir11", "lwir12",
})

# Flat keys for the parts of a Collection that are not top-level fields.
_SUMMARY: Final = "summaries."
_TEMPORAL: Final = "extent.temporal"

# Bookkeeping fields under dl: (no DL field is named wire_*).
WIRE_FORM: Final = "dl:wire_form"
WIRE_ENVELOPE: Final = "dl:wire_envelope"
WIRE_ABSENT: Final = "dl:wire_absent"
WIRE_DATETIME_STYLE: Final = "dl:wire_datetime_style"
_WIRE_FIELDS: Final = frozenset({WIRE_FORM, WIRE_ENVELOPE, WIRE_ABSENT, WIRE_DATETIME_STYLE})
#: The datetime spelling of DL's v2 images (``isoformat()``); the default is RFC 3339 with ``Z``.
ISO_STYLE: Final = "+00:00"

# DL record kinds, versions and the shapes a record comes in.
PRODUCT: Final = "product"
BAND: Final = "band"
IMAGE: Final = "image"
V1: Final = "v1"
V2: Final = "v2"
DOCUMENT: Final = "document"
RESOURCE: Final = "resource"
FEATURE: Final = "feature"
ATTRIBUTES: Final = "attributes"
_DATA: Final = "data"
_META: Final = "meta"
_MODIFIED: Final = "modified"
_RELATIONSHIPS: Final = "relationships"
_JSONAPI: Final = "jsonapi"
_FEATURE_TYPE: Final = "Feature"

# DL field names (v1 unless marked v2).
DL_ID: Final = "id"
DL_KEY: Final = "key"
DL_NAME: Final = "name"  # v2 image name; band name in both
DL_PRODUCT: Final = "product"
DL_PRODUCT_ID: Final = "product_id"  # v2
DL_TITLE: Final = "title"
DL_DESCRIPTION: Final = "description"
DL_TAGS: Final = "tags"
DL_START_DATE: Final = "start_date"
DL_END_DATE: Final = "end_date"
DL_START_DATETIME: Final = "start_datetime"
DL_END_DATETIME: Final = "end_datetime"
DL_SENSOR: Final = "sensor"
DL_PROCESSING_LEVEL: Final = "processing_level"
DL_RESOLUTION: Final = "resolution"
DL_RESOLUTION_UNIT: Final = "resolution_unit"
DL_RESOLUTION_MIN: Final = "resolution_min"  # v2
DL_RESOLUTION_MAX: Final = "resolution_max"  # v2
DL_CREATED: Final = "created"  # v2
DL_MODIFIED: Final = "modified"  # v2
DL_ACQUIRED: Final = "acquired"
DL_GEOMETRY: Final = "geometry"
DL_CS_CODE: Final = "cs_code"
DL_PROJCS: Final = "projcs"
DL_GEOTRANS: Final = "geotrans"
DL_RASTER_SIZE: Final = "raster_size"
DL_X_PIXELS: Final = "x_pixels"  # v2
DL_Y_PIXELS: Final = "y_pixels"  # v2
DL_FILES: Final = "files"
DL_FILE_SIZES: Final = "file_sizes"
DL_FILE_MD5S: Final = "file_md5s"
DL_BUCKET: Final = "bucket"
DL_DIRECTORY: Final = "directory"
DL_FILE_HREF: Final = "href"  # v2 file
DL_FILE_SIZE_BYTES: Final = "size_bytes"  # v2 file
DL_FILE_HASH: Final = "hash"  # v2 file
DL_STORAGE_STATE: Final = "storage_state"
STORAGE_REMOTE: Final = "remote"
DL_CLOUD_FRACTION: Final = "cloud_fraction"
DL_SAT_ID: Final = "sat_id"
DL_SATELLITE_ID: Final = "satellite_id"  # v2
DL_INCIDENCE_ANGLE: Final = "incidence_angle"
DL_AZIMUTH_ANGLE: Final = "azimuth_angle"
DL_SOLAR_AZIMUTH: Final = "solar_azimuth_angle"
DL_SOLAR_ELEVATION: Final = "solar_elevation_angle"
DL_ABSOLUTE_ORBIT: Final = "absolute_orbit"
DL_RELATIVE_ORBIT: Final = "relative_orbit"
DL_PASS: Final = "pass"
DL_PROCESSED: Final = "processed"
DL_PUBLISHED: Final = "published"
DL_DESCARTES_VERSION: Final = "descartes_version"
DL_NAME_COMMON: Final = "name_common"
DL_DTYPE: Final = "dtype"
DL_DATA_TYPE: Final = "data_type"  # v2
DL_NODATA: Final = "nodata"
DL_NBITS: Final = "nbits"
DL_DATA_RANGE: Final = "data_range"
DL_PHYSICAL_RANGE: Final = "physical_range"
DL_WAVELENGTH_UNIT: Final = "wavelength_unit"
DL_WAVELENGTH_CENTER: Final = "wavelength_center"
DL_WAVELENGTH_FWHM: Final = "wavelength_fwhm"
DL_WAVELENGTH_NM_CENTER: Final = "wavelength_nm_center"  # v2
DL_WAVELENGTH_NM_FWHM: Final = "wavelength_nm_fwhm"  # v2
DL_SRCFILE: Final = "srcfile"
DL_SRCBAND: Final = "srcband"
DL_JPX_LAYER: Final = "jpx_layer"
DL_FILE_INDEX: Final = "file_index"  # v2
DL_BAND_INDEX: Final = "band_index"  # v2
DL_JPX_LAYER_INDEX: Final = "jpx_layer_index"  # v2
DL_BAND_TYPE: Final = "type"
NANOMETRES: Final = "nm"
METRES: Final = frozenset({"m", "meters", "meter", "metres", "metre"})
V2_METRES: Final = "meters"
V2_VALUE: Final = "value"
V2_UNIT: Final = "unit"
PRESENT: Final = "present"

# Field names that tell v1 from v2 when the envelope does not.
_MARKERS: Final[dict[str, tuple[frozenset[str], frozenset[str]]]] = {
    IMAGE: (
        frozenset({DL_PRODUCT, DL_RASTER_SIZE, DL_SAT_ID, DL_KEY, DL_FILE_SIZES, DL_FILE_MD5S, DL_BUCKET,
                   "cloud_fraction_0", DL_PROCESSED, DL_DESCARTES_VERSION}),
        frozenset({DL_PRODUCT_ID, DL_X_PIXELS, DL_Y_PIXELS, DL_SATELLITE_ID, "provider_id", "alt_cloud_fraction",
                   DL_NAME, DL_CREATED, DL_MODIFIED}),
    ),
    PRODUCT: (
        frozenset({DL_TITLE, "read", DL_START_DATE, DL_END_DATE, "native_bands", "spectral_bands", DL_SENSOR,
                   "orbit", "swath", "revisit", DL_RESOLUTION}),
        frozenset({DL_NAME, "readers", "is_core", DL_RESOLUTION_MIN, DL_RESOLUTION_MAX, "product_tier",
                   "revisit_period_minutes_min", "revisit_period_minutes_max", "default_display_bands"}),
    ),
    BAND: (
        frozenset({DL_PRODUCT, DL_DTYPE, DL_SRCBAND, DL_SRCFILE, DL_JPX_LAYER, DL_NAME_COMMON, "name_vendor",
                   "default_range", DL_NBITS, DL_WAVELENGTH_CENTER, DL_WAVELENGTH_FWHM, DL_WAVELENGTH_UNIT,
                   DL_RESOLUTION_UNIT}),
        frozenset({DL_PRODUCT_ID, DL_DATA_TYPE, DL_WAVELENGTH_NM_CENTER, DL_WAVELENGTH_NM_FWHM, "wavelength_nm_min",
                   "wavelength_nm_max", DL_FILE_INDEX, DL_BAND_INDEX, DL_JPX_LAYER_INDEX, "display_range",
                   "vendor_band_name", "sort_order"}),
    ),
}

_MEDIA_TYPES: Final = {
    ".jp2": "image/jp2",
    ".tif": "image/tiff; application=geotiff",
    ".tiff": "image/tiff; application=geotiff",
    ".png": "image/png",
    ".jpg": "image/jpeg",
}
_US_DATE: Final = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATETIME: Final = re.compile(r"^\d{4}-\d\d-\d\dT.*\+00:00$")
_WKT2_STARTS: Final = ("PROJCRS[", "GEOGCRS[", "GEODCRS[", "COMPOUNDCRS[", "BOUNDCRS[", "ENGCRS[", "VERTCRS[")


# --- the rule machinery ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Ctx:
    """What a rule needs besides the record: the DL version, the datetime spelling and the ids."""

    version: str
    style: str | None
    collection_id: str | None
    object_id: str | None


Forward = Callable[[Fields, _Ctx], dict[str, Any]]
Backward = Callable[[Mapping[str, Any], _Ctx], dict[str, Any]]


@dataclass(frozen=True)
class _Rule:
    """One mapping: the DL ``fields`` it reads, DL -> flat STAC (``forward``) and back (``backward``)."""

    fields: tuple[str, ...]
    forward: Forward
    backward: Backward


def _none(f: Fields, ctx: _Ctx) -> dict[str, Any]:
    return {}


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``1 == 1.0`` (JSON has one number type) but ``True != 1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def _forward(rules: Sequence[_Rule], f: Fields, ctx: _Ctx, obj: dict[str, Any]) -> None:
    for rule in rules:
        if any(name in f.record for name in rule.fields):
            obj.update(rule.forward(f, ctx))


def _keep_unmatched(rules: Sequence[_Rule], attrs: Mapping[str, Any], obj: dict[str, Any], ctx: _Ctx) -> None:
    """Keep under ``dl:`` every DL value the way back would not give back, and every unmapped field."""
    mapped = {name for rule in rules for name in rule.fields}
    for name, value in attrs.items():
        if name not in mapped:
            obj[PREFIX + name] = value
    absent: list[str] = []
    for rule in rules:
        back = rule.backward(obj, ctx)
        for name in rule.fields:
            if name in attrs:
                if name not in back or not _same(back[name], attrs[name]):
                    obj[PREFIX + name] = attrs[name]
            elif name in back:
                absent.append(name)
    if absent:
        obj[WIRE_ABSENT] = absent


def _backward(rules: Sequence[_Rule], obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    absent = set(obj.get(WIRE_ABSENT) or ())
    attrs: dict[str, Any] = {}
    for rule in rules:
        back = rule.backward(obj, ctx)
        for name in rule.fields:
            if name in back and name not in absent:
                attrs[name] = back[name]
    for key, value in obj.items():
        if key.startswith(PREFIX) and key not in _WIRE_FIELDS:
            attrs[key[len(PREFIX):]] = value
    return attrs


# --- rule builders -----------------------------------------------------------------------------------------

def _copy(dl: str, stac: str, kind: type | tuple[type, ...], accept: Callable[[Any], bool] | None = None) -> _Rule:
    """A field that goes to its STAC home unchanged (when ``accept`` says the STAC home can hold it)."""

    def forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
        value = f.get(dl, kind)
        if value is None or (accept is not None and not accept(value)):
            return {}
        return {stac: value}

    def backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
        return {dl: obj[stac]} if stac in obj else {}

    return _Rule((dl,), forward, backward)


def _in_range(lo: float, hi: float) -> Callable[[Any], bool]:
    return lambda value: finite(value) and lo <= value <= hi


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and value >= 1


def _scaled(dl: str, stac: str, places: int, accept: Callable[[Any], bool],
            when: Callable[[Fields], bool] | None = None) -> _Rule:
    """A number that changes unit on the way (fraction -> percent, nm -> um) by a power of ten."""

    def forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
        value = f.get(dl, float)
        if value is None or not finite(value) or (when is not None and not when(f)):
            return {}
        scaled = shift_decimal(value, places)
        return {stac: scaled} if accept(scaled) else {}

    def backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
        value = obj.get(stac)
        return {dl: shift_decimal(value, -places)} if isinstance(value, int | float) else {}

    return _Rule((dl,), forward, backward)


def _parse_dl_datetime(f: Fields, name: str, raw: str) -> dt.datetime:
    match = _US_DATE.match(raw.strip())
    try:
        if match:
            month, day, year = (int(g) for g in match.groups())
            return dt.datetime(year, month, day, tzinfo=dt.UTC)
        return parse_datetime(raw)
    except ValueError as exc:
        raise f.error(name, f"is not a date or datetime: {raw!r}") from exc


def _render_datetime(stac_value: Any, ctx: _Ctx) -> str | None:
    if not isinstance(stac_value, str):
        return None
    try:
        value = parse_datetime(stac_value)
    except ValueError:
        return None
    return value.isoformat() if ctx.style == ISO_STYLE else format_datetime(value)


def _datetime(dl: str, stac: str) -> _Rule:
    """An RFC 3339 datetime; written back in the record's own spelling (``Z`` or ``+00:00``)."""

    def forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
        raw = f.get(dl, str)
        return {} if raw is None else {stac: format_datetime(_parse_dl_datetime(f, dl, raw))}

    def backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
        text = _render_datetime(obj.get(stac), ctx)
        return {} if text is None else {dl: text}

    return _Rule((dl,), forward, backward)


def _epoch(dl: str, stac: str) -> _Rule:
    """A time DL gives as Unix seconds (v1 ``processed``), or as a datetime string."""

    def forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
        raw = f.get(dl, (int, float, str))
        if raw is None:
            return {}
        if isinstance(raw, str):
            return {stac: format_datetime(_parse_dl_datetime(f, dl, raw))}
        try:
            return {stac: format_datetime(dt.datetime.fromtimestamp(raw, dt.UTC))}
        except (OverflowError, OSError, ValueError) as exc:
            raise f.error(dl, f"is not a Unix time: {raw!r}") from exc

    def backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
        text = obj.get(stac)
        if not isinstance(text, str):
            return {}
        seconds = parse_datetime(text).timestamp()
        return {dl: int(seconds) if seconds.is_integer() else seconds}

    return _Rule((dl,), forward, backward)


def _identity(dl: str, derive: Callable[[Mapping[str, Any], _Ctx], str | None]) -> _Rule:
    """A field that the STAC object's ids already say (``product``, ``key``, ``id``)."""

    def backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
        value = derive(obj, ctx)
        return {} if value is None else {dl: value}

    return _Rule((dl,), _none, backward)


def _object_id(obj: Mapping[str, Any], ctx: _Ctx) -> str | None:
    return ctx.object_id


def _collection_id(obj: Mapping[str, Any], ctx: _Ctx) -> str | None:
    return ctx.collection_id


def _name_in_collection(obj: Mapping[str, Any], ctx: _Ctx) -> str | None:
    """The image name: its id without the ``<product id>:`` prefix."""
    if ctx.object_id and ctx.collection_id and ctx.object_id.startswith(ctx.collection_id + ":"):
        return ctx.object_id[len(ctx.collection_id) + 1:]
    return None


def _keywords(dl: str) -> _Rule:
    def accept(value: Any) -> bool:
        # pystac drops an empty keywords list, so [] stays under dl: only.
        return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)

    return _copy(dl, KEYWORDS, list, accept)


# --- image rules -------------------------------------------------------------------------------------------

def _geometry_forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
    raw = f.require(DL_GEOMETRY, (dict, str))
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise f.error(DL_GEOMETRY, "is a string but not GeoJSON") from exc
    if not isinstance(raw, Mapping):
        raise f.error(DL_GEOMETRY, "must be a GeoJSON geometry")
    try:
        shape = shapely.geometry.shape(raw)
        if shape.is_empty:
            raise ValueError("the geometry is empty")
        bbox = bbox_of(raw)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise f.error(DL_GEOMETRY, f"is not a GeoJSON geometry: {exc}") from exc
    except Exception as exc:  # shapely raises its own GEOSException on malformed coordinates
        raise f.error(DL_GEOMETRY, f"is not a GeoJSON geometry: {exc}") from exc
    return {GEOMETRY: dict(raw), BBOX: bbox}


def _geometry_backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {DL_GEOMETRY: obj[GEOMETRY]} if obj.get(GEOMETRY) is not None else {}


def _cs_code_forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
    raw = f.get(DL_CS_CODE, str)
    if raw is None:
        return {}
    code = f.convert(DL_CS_CODE, epsg_code, "a known CRS (EPSG:<code>)")
    return {PROJ_CODE: f"EPSG:{code}"}


def _cs_code_backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    code = obj.get(PROJ_CODE)
    return {DL_CS_CODE: code} if isinstance(code, str) else {}


def _is_wkt2(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip().upper().startswith(_WKT2_STARTS)


def _geotrans_forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
    raw = f.get(DL_GEOTRANS, list)
    if raw is None:
        return {}
    if len(raw) != 6 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
        raise f.error(DL_GEOTRANS, f"must be 6 numbers (a GDAL geotransform), got {raw!r:.80}")
    return {PROJ_TRANSFORM: gdal_geotransform_to_affine(raw)}


def _geotrans_backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    transform = obj.get(PROJ_TRANSFORM)
    if not isinstance(transform, list) or len(transform) not in (6, 9):
        return {}
    return {DL_GEOTRANS: affine_to_gdal_geotransform(transform)}


def _pixel_count(f: Fields, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise f.error(name, f"must be a pixel count (a non-negative integer), got {value!r:.80}")
    return value


def _raster_size_forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
    raw = f.get(DL_RASTER_SIZE, list)
    if raw is None:
        return {}
    if len(raw) != 2:
        raise f.error(DL_RASTER_SIZE, f"must be [width, height], got {raw!r:.80}")
    width, height = (_pixel_count(f, DL_RASTER_SIZE, v) for v in raw)
    return {PROJ_SHAPE: [height, width]}


def _shape(obj: Mapping[str, Any]) -> tuple[int, int] | None:
    shape = obj.get(PROJ_SHAPE)
    if isinstance(shape, list) and len(shape) == 2:
        return shape[0], shape[1]
    return None


def _raster_size_backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    shape = _shape(obj)
    return {} if shape is None else {DL_RASTER_SIZE: [shape[1], shape[0]]}


def _pixels_forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
    x, y = f.get(DL_X_PIXELS), f.get(DL_Y_PIXELS)
    if x is None or y is None:
        return {}
    return {PROJ_SHAPE: [_pixel_count(f, DL_Y_PIXELS, y), _pixel_count(f, DL_X_PIXELS, x)]}


def _pixels_backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    shape = _shape(obj)
    return {} if shape is None else {DL_X_PIXELS: shape[1], DL_Y_PIXELS: shape[0]}


def _data_asset(href: str, size: Any, md5: Any) -> dict[str, Any]:
    asset: dict[str, Any] = {HREF: href, ROLES: ["data"]}
    name = href.rsplit("/", 1)[-1]
    asset[TITLE] = name
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    if suffix in _MEDIA_TYPES:
        asset[TYPE] = _MEDIA_TYPES[suffix]
    if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
        asset[FILE_SIZE] = size
    if isinstance(md5, str):
        with contextlib.suppress(ValueError):
            asset[FILE_CHECKSUM] = md5_to_multihash(md5)
    return asset


def _remote(f: Fields) -> bool:
    return bool(f.get(DL_STORAGE_STATE) == STORAGE_REMOTE)


def _file_prefix(bucket: Any, directory: Any) -> str:
    """Where v1 ``files`` live: ``gs://<bucket>/<directory>/`` (a bucket may already carry ``gs://``)."""
    if not isinstance(bucket, str) or not bucket:
        return ""
    root = bucket if "://" in bucket else GS_SCHEME + bucket
    root = root.rstrip("/") + "/"
    if isinstance(directory, str) and directory.strip("/"):
        root += directory.strip("/") + "/"
    return root


def _string_list(f: Fields, name: str) -> list[Any] | None:
    value = f.get(name, list)
    return None if value is None else list(value)


def _files_v1_forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
    files = _string_list(f, DL_FILES)
    sizes = _string_list(f, DL_FILE_SIZES) or []
    md5s = _string_list(f, DL_FILE_MD5S) or []
    if not files or _remote(f):
        return {}
    prefix = _file_prefix(f.get(DL_BUCKET), f.get(DL_DIRECTORY))
    assets = {}
    for index, name in enumerate(files):
        if not isinstance(name, str):
            raise f.error(f"{DL_FILES}[{index}]", f"must be a file name, got {name!r:.80}")
        href = name if "://" in name else prefix + name
        size = sizes[index] if index < len(sizes) else None
        md5 = md5s[index] if index < len(md5s) else None
        assets[ASSET_KEY_FORMAT.format(index)] = _data_asset(href, size, md5)
    return {ASSETS: assets}


def _data_assets(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    assets = obj.get(ASSETS)
    if not isinstance(assets, Mapping):
        return []
    found = []
    index = 0
    while ASSET_KEY_FORMAT.format(index) in assets:
        found.append(assets[ASSET_KEY_FORMAT.format(index)])
        index += 1
    return found


def _files_v1_backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    assets = _data_assets(obj)
    if not assets:
        return {}
    prefix = _file_prefix(obj.get(PREFIX + DL_BUCKET), obj.get(PREFIX + DL_DIRECTORY))
    files = []
    for asset in assets:
        href = str(asset.get(HREF, ""))
        files.append(href[len(prefix):] if prefix and href.startswith(prefix) else href)
    out: dict[str, Any] = {DL_FILES: files}
    if all(FILE_SIZE in a for a in assets):
        out[DL_FILE_SIZES] = [a[FILE_SIZE] for a in assets]
    if all(FILE_CHECKSUM in a for a in assets):
        with contextlib.suppress(ValueError):
            out[DL_FILE_MD5S] = [multihash_to_md5(a[FILE_CHECKSUM]) for a in assets]
    return out


def _files_v2_forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
    files = _string_list(f, DL_FILES)
    if not files or _remote(f):
        return {}
    assets = {}
    for index, entry in enumerate(files):
        field = f"{DL_FILES}[{index}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get(DL_FILE_HREF), str):
            raise f.error(field, f"must be an object with an href, got {entry!r:.80}")
        asset = _data_asset(entry[DL_FILE_HREF], entry.get(DL_FILE_SIZE_BYTES), entry.get(DL_FILE_HASH))
        for key, value in entry.items():
            kept = key == DL_FILE_HREF
            kept |= key == DL_FILE_SIZE_BYTES and _same(asset.get(FILE_SIZE), value)
            kept |= key == DL_FILE_HASH and FILE_CHECKSUM in asset and _same(
                multihash_to_md5(asset[FILE_CHECKSUM]), value)
            if not kept:
                asset[PREFIX + key] = value
        assets[ASSET_KEY_FORMAT.format(index)] = asset
    return {ASSETS: assets}


def _files_v2_backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    assets = _data_assets(obj)
    if not assets:
        return {}
    files = []
    for asset in assets:
        entry: dict[str, Any] = {DL_FILE_HREF: asset.get(HREF)}
        if FILE_SIZE in asset:
            entry[DL_FILE_SIZE_BYTES] = asset[FILE_SIZE]
        if FILE_CHECKSUM in asset:
            entry[DL_FILE_HASH] = multihash_to_md5(asset[FILE_CHECKSUM])
        entry.update({k[len(PREFIX):]: v for k, v in asset.items() if k.startswith(PREFIX)})
        files.append(entry)
    return {DL_FILES: files}


def _orbit_state_forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
    value = f.get(DL_PASS, str)
    if value is None or value.lower() not in ORBIT_STATES:
        return {}
    return {SAT_ORBIT_STATE: value.lower()}


def _orbit_state_backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    value = obj.get(SAT_ORBIT_STATE)
    return {DL_PASS: value.upper()} if isinstance(value, str) else {}


def _software_forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
    value = f.get(DL_DESCARTES_VERSION, str)
    return {} if not value else {PROCESSING_SOFTWARE: {SOFTWARE_KEY: value}}


def _software_backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    software = obj.get(PROCESSING_SOFTWARE)
    if isinstance(software, Mapping) and isinstance(software.get(SOFTWARE_KEY), str):
        return {DL_DESCARTES_VERSION: software[SOFTWARE_KEY]}
    return {}


def _image_rules(version: str, shape: str) -> tuple[_Rule, ...]:
    common = (
        _datetime(DL_ACQUIRED, DATETIME),
        _Rule((DL_GEOMETRY,), _geometry_forward, _geometry_backward),
        _Rule((DL_CS_CODE,), _cs_code_forward, _cs_code_backward),
        _Rule((DL_GEOTRANS,), _geotrans_forward, _geotrans_backward),
        _scaled(DL_CLOUD_FRACTION, EO_CLOUD_COVER, 2, _in_range(0, 100)),
        _copy(DL_INCIDENCE_ANGLE, VIEW_INCIDENCE, float, _in_range(0, 90)),
        _copy(DL_AZIMUTH_ANGLE, VIEW_AZIMUTH, float, _in_range(0, 360)),
        _copy(DL_SOLAR_AZIMUTH, VIEW_SUN_AZIMUTH, float, _in_range(0, 360)),
        _copy(DL_SOLAR_ELEVATION, VIEW_SUN_ELEVATION, float, _in_range(-90, 90)),
        _copy(DL_ABSOLUTE_ORBIT, SAT_ABSOLUTE_ORBIT, int, _positive_int),
        _copy(DL_RELATIVE_ORBIT, SAT_RELATIVE_ORBIT, int, _positive_int),
        _Rule((DL_PASS,), _orbit_state_forward, _orbit_state_backward),
        _datetime(DL_PUBLISHED, PUBLISHED),
        _keywords(DL_TAGS),
    )
    if version == V1:
        specific: tuple[_Rule, ...] = (
            _Rule((DL_RASTER_SIZE,), _raster_size_forward, _raster_size_backward),
            _Rule((DL_FILES, DL_FILE_SIZES, DL_FILE_MD5S), _files_v1_forward, _files_v1_backward),
            _copy(DL_SAT_ID, PLATFORM, str),
            _epoch(DL_PROCESSED, PROCESSING_DATETIME),
            _Rule((DL_DESCARTES_VERSION,), _software_forward, _software_backward),
            _Rule((DL_PROJCS,), _copy(DL_PROJCS, PROJ_WKT2, str, _is_wkt2).forward,
                  _copy(DL_PROJCS, PROJ_WKT2, str).backward),
            _identity(DL_PRODUCT, _collection_id),
            _identity(DL_KEY, _name_in_collection),
        )
        if shape == ATTRIBUTES:
            specific += (_identity(DL_ID, _object_id),)
    else:
        specific = (
            _Rule((DL_X_PIXELS, DL_Y_PIXELS), _pixels_forward, _pixels_backward),
            _Rule((DL_FILES,), _files_v2_forward, _files_v2_backward),
            _copy(DL_SATELLITE_ID, PLATFORM, str),
            _datetime(DL_CREATED, CREATED),
            _datetime(DL_MODIFIED, UPDATED),
            _identity(DL_PRODUCT_ID, _collection_id),
            _identity(DL_NAME, _name_in_collection),
        )
    return common + specific


# --- product rules -----------------------------------------------------------------------------------------

def _interval(start: str, end: str, others: tuple[str, ...] = ()) -> _Rule:
    """The product's time span as ``extent.temporal``; an open end (``present``, null) is null."""

    def forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
        bounds: list[str | None] = []
        for names in ((start, *others[:1]), (end, *others[1:])):
            value: str | None = None
            for name in names:
                raw = f.get(name, str)
                if raw is not None and raw.strip().lower() != PRESENT:
                    value = format_datetime(_parse_dl_datetime(f, name, raw))
                    break
            bounds.append(value)
        return {_TEMPORAL: bounds}

    def backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
        interval = obj.get(_TEMPORAL)
        if not isinstance(interval, list) or len(interval) != 2:
            return {}
        out = {}
        for name, value in ((start, interval[0]), (end, interval[1])):
            text = _render_datetime(value, ctx)
            if text is not None:
                out[name] = text
        return out

    return _Rule((start, end, *others), forward, backward)


def _summary_list(dl: str, summary: str, kind: type | tuple[type, ...],
                  accept: Callable[[Any], bool] | None = None) -> _Rule:
    """A product field that becomes a one-value summary (``sensor`` -> ``summaries.instruments``)."""

    def forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
        value = f.get(dl, kind)
        if value is None or (accept is not None and not accept(value)):
            return {}
        return {_SUMMARY + summary: [value]}

    def backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
        values = obj.get(_SUMMARY + summary)
        return {dl: values[0]} if isinstance(values, list) and len(values) == 1 else {}

    return _Rule((dl,), forward, backward)


def _metres(value: Any) -> float | None:
    """The number of a v2 ``{value, unit: meters}``."""
    if isinstance(value, Mapping) and value.get(V2_UNIT) == V2_METRES and set(value) == {V2_VALUE, V2_UNIT}:
        number = value.get(V2_VALUE)
        if isinstance(number, int | float) and not isinstance(number, bool) and finite(number):
            return number
    return None


def _gsd_range_forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
    low, high = _metres(f.get(DL_RESOLUTION_MIN)), _metres(f.get(DL_RESOLUTION_MAX))
    if low is None or high is None:
        return {}
    return {_SUMMARY + GSD: {"minimum": low, "maximum": high}}


def _gsd_range_backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    gsd = obj.get(_SUMMARY + GSD)
    if not isinstance(gsd, Mapping) or "minimum" not in gsd:
        return {}
    return {DL_RESOLUTION_MIN: {V2_VALUE: gsd["minimum"], V2_UNIT: V2_METRES},
            DL_RESOLUTION_MAX: {V2_VALUE: gsd["maximum"], V2_UNIT: V2_METRES}}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and finite(value) and value > 0


def _product_rules(version: str) -> tuple[_Rule, ...]:
    common = (
        _copy(DL_DESCRIPTION, DESCRIPTION, str, bool),
        _keywords(DL_TAGS),
    )
    if version == V1:
        return common + (
            _copy(DL_TITLE, TITLE, str),
            _interval(DL_START_DATE, DL_END_DATE, (DL_START_DATETIME, DL_END_DATETIME)),
            _summary_list(DL_SENSOR, INSTRUMENTS, str),
            _summary_list(DL_PROCESSING_LEVEL, PROCESSING_LEVEL, str),
            _summary_list(DL_RESOLUTION, GSD, (int, float, str), _number),
        )
    return common + (
        _copy(DL_NAME, TITLE, str),
        _interval(DL_START_DATETIME, DL_END_DATETIME),
        _Rule((DL_RESOLUTION_MIN, DL_RESOLUTION_MAX), _gsd_range_forward, _gsd_range_backward),
        _datetime(DL_CREATED, CREATED),
        _datetime(DL_MODIFIED, UPDATED),
    )


# --- band rules --------------------------------------------------------------------------------------------

def _dtype_forward(dl: str) -> Forward:
    def forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
        value = f.get(dl, str)
        try:
            return {} if value is None else {DATA_TYPE: gdal_dtype_to_stac(value)}
        except ValueError:
            return {}

    return forward


def _dtype_backward(dl: str) -> Backward:
    def backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
        value = obj.get(DATA_TYPE)
        try:
            return {dl: stac_dtype_to_gdal(value)} if isinstance(value, str) else {}
        except ValueError:
            return {}

    return backward


def _nodata_ok(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and finite(value)


def _v1_resolution_forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
    value = f.get(DL_RESOLUTION, (int, float, str))
    unit = f.get(DL_RESOLUTION_UNIT)
    if not _number(value) or (unit is not None and unit not in METRES):
        return {}
    return {RASTER_SPATIAL_RESOLUTION: value}


def _v1_resolution_backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    value = obj.get(RASTER_SPATIAL_RESOLUTION)
    return {DL_RESOLUTION: value} if value is not None else {}


def _v2_resolution_forward(f: Fields, ctx: _Ctx) -> dict[str, Any]:
    value = _metres(f.get(DL_RESOLUTION))
    return {} if value is None else {RASTER_SPATIAL_RESOLUTION: value}


def _v2_resolution_backward(obj: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    value = obj.get(RASTER_SPATIAL_RESOLUTION)
    return {DL_RESOLUTION: {V2_VALUE: value, V2_UNIT: V2_METRES}} if value is not None else {}


def _in_nanometres(f: Fields) -> bool:
    return f.get(DL_WAVELENGTH_UNIT) in (None, NANOMETRES)


def _band_rules(version: str, shape: str) -> tuple[_Rule, ...]:
    positive = _in_range(1e-12, math.inf)
    common = (
        _copy(DL_NAME, NAME, str),
        _copy(DL_DESCRIPTION, DESCRIPTION, str, bool),
        _copy(DL_NODATA, NODATA, (int, float, str), _nodata_ok),
    )
    if version == V1:
        rules = common + (
            _copy(DL_NAME_COMMON, EO_COMMON_NAME, str, lambda v: v in COMMON_NAMES),
            _Rule((DL_DTYPE,), _dtype_forward(DL_DTYPE), _dtype_backward(DL_DTYPE)),
            _Rule((DL_RESOLUTION,), _v1_resolution_forward, _v1_resolution_backward),
            _scaled(DL_WAVELENGTH_CENTER, EO_CENTER_WAVELENGTH, -3, positive, _in_nanometres),
            _scaled(DL_WAVELENGTH_FWHM, EO_FWHM, -3, positive, _in_nanometres),
            _copy(DL_NBITS, RASTER_BITS_PER_SAMPLE, int, _positive_int),
            _identity(DL_PRODUCT, _collection_id),
        )
        return rules + ((_identity(DL_ID, _object_id),) if shape == ATTRIBUTES else ())
    return common + (
        _Rule((DL_DATA_TYPE,), _dtype_forward(DL_DATA_TYPE), _dtype_backward(DL_DATA_TYPE)),
        _Rule((DL_RESOLUTION,), _v2_resolution_forward, _v2_resolution_backward),
        _scaled(DL_WAVELENGTH_NM_CENTER, EO_CENTER_WAVELENGTH, -3, positive),
        _scaled(DL_WAVELENGTH_NM_FWHM, EO_FWHM, -3, positive),
        _identity(DL_PRODUCT_ID, _collection_id),
    )


def _rules(kind: str, version: str, shape: str) -> tuple[_Rule, ...]:
    if kind == IMAGE:
        return _image_rules(version, shape)
    if kind == PRODUCT:
        return _product_rules(version)
    return _band_rules(version, shape)


# --- wire forms --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Wire:
    """One DL record taken apart: its form, its attributes, its id and the rest of its envelope."""

    kind: str
    version: str
    shape: str
    attrs: Mapping[str, Any]
    record_id: str | None
    envelope: dict[str, Any]

    @property
    def form(self) -> str:
        return f"{self.version}/{self.shape}"


def _str_id(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _unwrap(record: Any, kind: str) -> _Wire:
    """Recognise the form of a DL record (see the module docstring) and take it apart."""
    if not isinstance(record, Mapping):
        raise TransformError(PROVIDER, None, None, f"expected a JSON object, got {type(record).__name__}")
    data = record.get(_DATA)
    envelope: dict[str, Any] = {}
    resource: Mapping[str, Any] | None = None
    if isinstance(data, list):
        raise TransformError(PROVIDER, None, _DATA, "is a page of records; pass the records one by one")
    if isinstance(data, Mapping) and isinstance(data.get(ATTRIBUTES), Mapping):
        shape, resource = DOCUMENT, data
        envelope[DOCUMENT] = {k: v for k, v in record.items() if k != _DATA}
    elif record.get(TYPE) == _FEATURE_TYPE and isinstance(record.get(PROPERTIES), Mapping):
        shape = FEATURE
        attrs = dict(record[PROPERTIES])
        if GEOMETRY in record:
            attrs[DL_GEOMETRY] = record[GEOMETRY]
        envelope[FEATURE] = {k: v for k, v in record.items() if k not in (ID, PROPERTIES, GEOMETRY)}
        return _Wire(kind, V1, shape, attrs, _str_id(record.get(ID)), envelope)
    elif isinstance(record.get(ATTRIBUTES), Mapping):
        shape, resource = RESOURCE, record
    else:
        return _Wire(kind, _version(kind, record, None, None), ATTRIBUTES, record, None, envelope)
    envelope[RESOURCE] = {k: v for k, v in resource.items() if k not in (ID, ATTRIBUTES)}
    attrs = resource[ATTRIBUTES]
    version = _version(kind, attrs, record, resource)
    return _Wire(kind, version, shape, attrs, _str_id(resource.get(ID)), envelope)


def _version(kind: str, attrs: Mapping[str, Any], record: Mapping[str, Any] | None,
             resource: Mapping[str, Any] | None) -> str:
    v1_markers, v2_markers = _MARKERS[kind]
    v1 = sum(1 for k in attrs if k in v1_markers)
    v2 = sum(1 for k in attrs if k in v2_markers)
    files = attrs.get(DL_FILES)
    if isinstance(files, list) and files:
        if isinstance(files[0], Mapping):
            v2 += 10
        else:
            v1 += 10
    if v1 != v2:
        return V1 if v1 > v2 else V2
    if (record is not None and _JSONAPI in record) or (resource is not None and _RELATIONSHIPS in resource):
        return V2
    return V1


def _wrap(form: str, attrs: dict[str, Any], record_id: str | None, envelope: Mapping[str, Any]) -> dict[str, Any]:
    shape = form.partition("/")[2]
    if shape == FEATURE:
        out: dict[str, Any] = dict(envelope.get(FEATURE) or {})
        geometry = attrs.pop(DL_GEOMETRY, None)
        out.update({ID: record_id, GEOMETRY: geometry, PROPERTIES: attrs})
        if record_id is None:
            del out[ID]
        return out
    if shape in (DOCUMENT, RESOURCE):
        resource = {ID: record_id, **(envelope.get(RESOURCE) or {}), ATTRIBUTES: attrs}
        if resource[ID] is None:
            del resource[ID]
        if shape == RESOURCE:
            return resource
        return {**(envelope.get(DOCUMENT) or {}), _DATA: resource}
    return attrs


def _datetime_style(attrs: Mapping[str, Any]) -> str | None:
    """``+00:00`` when the record spells its datetimes the v2-image way, else ``None`` (``Z``)."""
    for value in attrs.values():
        if isinstance(value, str) and _ISO_DATETIME.match(value):
            return ISO_STYLE
    return None


def _record_wire(obj: dict[str, Any], wire: _Wire, style: str | None) -> None:
    obj[WIRE_FORM] = wire.form
    if wire.envelope:
        obj[WIRE_ENVELOPE] = wire.envelope
    if style is not None:
        obj[WIRE_DATETIME_STYLE] = style


def _read_wire(obj: Mapping[str, Any], kind: str, provider_id: str | None) -> tuple[str, str, dict[str, Any]]:
    form = obj.get(WIRE_FORM)
    if not isinstance(form, str) or "/" not in form:
        form = f"{V1}/{ATTRIBUTES}"
    version, _, shape = form.partition("/")
    if version not in (V1, V2) or shape not in (DOCUMENT, RESOURCE, FEATURE, ATTRIBUTES):
        raise TransformError(PROVIDER, provider_id, WIRE_FORM, f"is not a form this module writes: {form!r}")
    envelope = obj.get(WIRE_ENVELOPE)
    return version, shape, dict(envelope) if isinstance(envelope, Mapping) else {}


# --- extensions, links, provenance -------------------------------------------------------------------------

def _extensions(*parts: Any) -> list[str]:
    """The extension schemas that the fields used need (``dl:`` values are not looked into)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                if key.startswith(PREFIX) or key == GEOMETRY:
                    continue
                if key == PUBLISHED:
                    found.add(EXT_TIMESTAMPS)
                prefix, colon, _ = key.partition(":")
                if colon and prefix in _EXTENSION_OF_PREFIX:
                    found.add(_EXTENSION_OF_PREFIX[prefix])
                walk(sub)
        elif isinstance(value, list):
            for sub in value:
                walk(sub)

    for part in parts:
        walk(part)
    return [url for url in EXTENSIONS if url in found]


def _stac_fields(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A band entry without its ``dl:`` fields: what an asset's ``bands`` shows."""
    return {k: v for k, v in entry.items() if not k.startswith(PREFIX)}


# --- bands -------------------------------------------------------------------------------------------------

def _band_id(product_id: str | None, name: str) -> str:
    return f"{product_id}:{name}" if product_id else name


def _scale_offset(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """``raster:scale``/``raster:offset`` from DL's linear mapping of ``data_range`` onto ``physical_range``."""
    data, physical = attrs.get(DL_DATA_RANGE), attrs.get(DL_PHYSICAL_RANGE)
    numbers = [data, physical]
    if not all(isinstance(r, list) and len(r) == 2 and all(_nodata_ok(v) for v in r) for r in numbers):
        return {}
    assert isinstance(data, list) and isinstance(physical, list)
    if data[1] == data[0]:
        return {}
    scale = (physical[1] - physical[0]) / (data[1] - data[0])
    offset = physical[0] - data[0] * scale
    if not (finite(scale) and finite(offset)) or (scale == 1 and offset == 0):
        return {}
    return {RASTER_SCALE: scale, RASTER_OFFSET: offset}


def _band_to_entry(band: Any, product_id: str | None) -> dict[str, Any]:
    wire = _unwrap(band, BAND)
    provisional = wire.record_id or _str_id(wire.attrs.get(DL_ID)) or _str_id(wire.attrs.get(DL_NAME))
    f = Fields(PROVIDER, wire.attrs, record_id=provisional)
    name = f.require(DL_NAME, str)
    band_id = _band_id(product_id, name)
    ctx = _Ctx(wire.version, _datetime_style(wire.attrs), product_id, band_id)
    rules = _band_rules(wire.version, wire.shape)
    entry: dict[str, Any] = {}
    _forward(rules, f, ctx, entry)
    entry.update(_scale_offset(wire.attrs))
    _keep_unmatched(rules, wire.attrs, entry, ctx)
    if wire.record_id is not None and wire.record_id != band_id:
        wire.envelope.setdefault(RESOURCE, {})[ID] = wire.record_id
    _record_wire(entry, wire, ctx.style)
    return entry


def _entry_to_band(entry: Mapping[str, Any], product_id: str | None) -> dict[str, Any]:
    version, shape, envelope = _read_wire(entry, BAND, product_id)
    name = entry.get(NAME)
    band_id = _band_id(product_id, str(name)) if name is not None else None
    ctx = _Ctx(version, entry.get(WIRE_DATETIME_STYLE), product_id, band_id)
    attrs = _backward(_band_rules(version, shape), entry, ctx)
    return _wrap(f"{version}/{shape}", attrs, band_id, envelope)


def _band_file(entry: Mapping[str, Any]) -> tuple[int, tuple[float, float]] | None:
    """Which file of an image holds a band, and its (layer, index) inside it, from its ``dl:`` fields."""
    for file_key, layer_key, index_key in ((DL_SRCFILE, DL_JPX_LAYER, DL_SRCBAND),
                                           (DL_FILE_INDEX, DL_JPX_LAYER_INDEX, DL_BAND_INDEX)):
        layer = entry.get(PREFIX + layer_key, 0)
        index = entry.get(PREFIX + index_key, 0)
        if PREFIX + file_key in entry or PREFIX + index_key in entry:
            file_index = entry.get(PREFIX + file_key, 0)
            if isinstance(file_index, int) and _nodata_ok(layer) and _nodata_ok(index):
                return file_index, (float(layer), float(index))
    return None


def _bands_by_file(entries: Sequence[Mapping[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    placed = []
    for position, entry in enumerate(entries):
        where = _band_file(entry)
        if where is not None:
            placed.append((where[0], where[1], position, entry))
    placed.sort(key=lambda p: (p[0], p[1], p[2]))
    files: dict[int, list[dict[str, Any]]] = {}
    for file_index, _, _, entry in placed:
        files.setdefault(file_index, []).append(_stac_fields(entry))
    return files


# --- products <-> Collections ------------------------------------------------------------------------------

def product_to_stac(product: Mapping[str, Any], bands: Sequence[Mapping[str, Any]]) -> pystac.Collection:
    """Translate a DL product and its bands to a STAC Collection.

    Args:
        product: The product as the API sends it: a v1 JSON:API document, its bare attributes, or a v2
            document or resource. The id keeps its namespace (``landsat:LC08:PRE:TOAR``).
        bands: The product's bands, each in any of the same forms (v1 and v2 may not be mixed per band,
            but each band records its own form).

    Returns:
        A STAC 1.1.0 Collection. ``title``/``name`` -> ``title``; start/end (``start_date`` ``2/1/2013``,
        ``end_date`` ``present`` or v2 ``start_datetime``/``end_datetime``) -> ``extent.temporal`` with an
        open end as null; ``sensor`` -> ``summaries.instruments``; ``processing_level`` ->
        ``summaries.processing:level``; a numeric ``resolution`` (v2 ``resolution_min/max`` in metres) ->
        ``summaries.gsd``; ``tags`` -> ``keywords``. The bands go, in order, to ``summaries.bands``
        (wavelengths converted from nm to um, GDAL data type names to STAC's, ``data_range`` +
        ``physical_range`` to ``raster:scale``/``raster:offset``) and per file to ``item_assets``
        (``file-0``, ``file-1``... as the Items name their assets). ACLs, ``notes``, ``native_bands`` and
        everything without a STAC home stay under ``dl:``. DL products carry no license: ``other``.

    Raises:
        TransformError: the product has no id, a band has no name, a date cannot be parsed or a field has the
            wrong JSON type; the error names the record and the field.

    """
    wire = _unwrap(product, PRODUCT)
    f = Fields(PROVIDER, wire.attrs, record_id=wire.record_id or _str_id(wire.attrs.get(DL_ID)))
    product_id = wire.record_id or f.require(DL_ID, str)
    ctx = _Ctx(wire.version, _datetime_style(wire.attrs), product_id, product_id)
    rules = _product_rules(wire.version)
    obj: dict[str, Any] = {}
    _forward(rules, f, ctx, obj)
    _keep_unmatched(rules, wire.attrs, obj, ctx)
    meta = (wire.envelope.get(RESOURCE) or {}).get(_META)
    if UPDATED not in obj and isinstance(meta, Mapping) and isinstance(meta.get(_MODIFIED), str):
        with contextlib.suppress(ValueError):
            obj[UPDATED] = format_datetime(parse_datetime(meta[_MODIFIED]))
    _record_wire(obj, wire, ctx.style)

    if not isinstance(bands, Sequence) or isinstance(bands, str | bytes):
        raise TransformError(PROVIDER, product_id, BANDS, "must be a list of band records")
    entries = [_band_to_entry(band, product_id) for band in bands]
    summaries = {key[len(_SUMMARY):]: obj.pop(key) for key in list(obj) if key.startswith(_SUMMARY)}
    if entries:
        summaries[BANDS] = entries
    item_assets = {
        ASSET_KEY_FORMAT.format(index): {TITLE: f"DL file {index}", ROLES: ["data"], BANDS: file_bands}
        for index, file_bands in sorted(_bands_by_file(entries).items())
    }
    interval = obj.pop(_TEMPORAL, [None, None])
    collection: dict[str, Any] = {
        TYPE: "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": _extensions(summaries, item_assets, obj),
        ID: product_id,
        DESCRIPTION: obj.pop(DESCRIPTION, None) or obj.get(TITLE) or product_id,
        "license": LICENSE,
        "providers": [dict(HOST)],
        EXTENT: {"spatial": {BBOX: [list(WORLD_BBOX)]}, "temporal": {"interval": [interval]}},
        LINKS: [],
        **obj,
        **provenance(PROVIDER, product_id, TRANSFORM_VERSION),
    }
    if summaries:
        collection[SUMMARIES] = summaries
    if item_assets:
        collection[ITEM_ASSETS] = item_assets
    return pystac.Collection.from_dict(collection, preserve_dict=False, migrate=False)


def _collection_dict(collection: pystac.Collection | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(collection, pystac.Collection):
        return collection.to_dict(include_self_link=False, transform_hrefs=False)
    if isinstance(collection, Mapping):
        return dict(collection)
    raise TransformError(PROVIDER, None, None, f"expected a STAC Collection, got {type(collection).__name__}")


def _flat_collection(coll: Mapping[str, Any]) -> dict[str, Any]:
    obj = {k: v for k, v in coll.items() if k not in (SUMMARIES, EXTENT)}
    summaries = coll.get(SUMMARIES) or {}
    obj.update({_SUMMARY + k: v for k, v in summaries.items() if k != BANDS})
    with contextlib.suppress(KeyError, IndexError, TypeError):
        obj[_TEMPORAL] = coll[EXTENT]["temporal"]["interval"][0]
    return obj


def stac_to_product(
    collection: pystac.Collection | Mapping[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Translate a STAC Collection back to a DL product and its bands.

    Args:
        collection: A Collection (pystac or dict). One made by :func:`product_to_stac` comes back as the
            exact records it was made from, in their own form (v1 document, bare attributes, v2...). Any other
            Collection comes back as v1 attributes.

    Returns:
        ``(product, bands)`` as the API returns them.

    Raises:
        TransformError: the Collection has no id or records a form this module does not write.

    """
    coll = _collection_dict(collection)
    product_id = _str_id(coll.get(ID))
    if product_id is None:
        raise TransformError(PROVIDER, None, ID, "is missing")
    version, shape, envelope = _read_wire(coll, PRODUCT, product_id)
    obj = _flat_collection(coll)
    ctx = _Ctx(version, coll.get(WIRE_DATETIME_STYLE), product_id, product_id)
    attrs = _backward(_product_rules(version), obj, ctx)
    if shape == ATTRIBUTES:
        attrs.setdefault(DL_ID, product_id)
    entries = (coll.get(SUMMARIES) or {}).get(BANDS) or []
    bands = [_entry_to_band(entry, product_id) for entry in entries if isinstance(entry, Mapping)]
    return _wrap(f"{version}/{shape}", attrs, product_id, envelope), bands


# --- images <-> Items --------------------------------------------------------------------------------------

def _image_id(wire: _Wire, f: Fields) -> str:
    if wire.record_id:
        return wire.record_id
    if _str_id(wire.attrs.get(DL_ID)):
        return str(wire.attrs[DL_ID])
    product_field, name_field = (DL_PRODUCT, DL_KEY) if wire.version == V1 else (DL_PRODUCT_ID, DL_NAME)
    product_id, name = _str_id(wire.attrs.get(product_field)), _str_id(wire.attrs.get(name_field))
    if product_id and name:
        return f"{product_id}:{name}"
    raise f.error(DL_ID, f"is missing, and so is {product_field} + {name_field} to make it from")


def image_to_stac(
    image: Mapping[str, Any],
    product: Mapping[str, Any] | None = None,
    bands: Sequence[Mapping[str, Any]] | None = None,
) -> pystac.Item:
    """Translate a DL image to a STAC Item.

    Args:
        image: The image as the API sends it: a v1 JSON:API document, bare v1 attributes, a v1 metadata-search
            feature (``POST {metadata}/search`` answers), or a v2 document or resource.
        product: The image's product (any form), when at hand: its id is the Item's ``collection`` when the
            image does not say, and its ``sensor`` gives ``instruments``.
        bands: The product's bands (any form), when at hand: each data asset then lists the bands its file holds
            (``srcfile``/``file_index``, ordered by layer and index), with their STAC fields.

    Returns:
        A STAC 1.1.0 Item whose id is the DL image id (``<product>:<name>``) and whose ``collection`` is the
        product id. The traps: ``cloud_fraction`` (0-1) becomes ``eo:cloud_cover`` in percent;
        ``raster_size`` ``[width, height]`` (v2 ``x_pixels``/``y_pixels``) becomes ``proj:shape``
        ``[rows, cols]``; the GDAL ``geotrans`` becomes the affine ``proj:transform``; ``file_md5s`` (v2
        ``hash``) become ``file:checksum`` multihashes (``d510`` + md5); ``cs_code`` becomes ``proj:code``. v1
        ``files`` are joined to ``bucket``/``directory`` into ``gs://`` hrefs, one asset per file (``file-0``,
        ``file-1``...); an image with ``storage_state: remote`` has no data assets. ``extra_properties`` and
        every field without a STAC home stay under ``dl:``.

    Raises:
        TransformError: the image has no geometry, no ``acquired`` or an unparsable one, an unknown CRS, or a
            field of the wrong JSON type; the error names the provider, the image id and the field.

    """
    wire = _unwrap(image, IMAGE)
    f = Fields(PROVIDER, wire.attrs, record_id=wire.record_id or _str_id(wire.attrs.get(DL_ID)))
    item_id = _image_id(wire, f)
    f = Fields(PROVIDER, wire.attrs, record_id=item_id)
    context = _unwrap(product, PRODUCT) if product is not None else None
    product_field = DL_PRODUCT if wire.version == V1 else DL_PRODUCT_ID
    collection_id = _str_id(wire.attrs.get(product_field))
    if collection_id is None and context is not None:
        collection_id = context.record_id or _str_id(context.attrs.get(DL_ID))
    f.require(DL_ACQUIRED, str)
    f.require(DL_GEOMETRY, (dict, str))

    ctx = _Ctx(wire.version, _datetime_style(wire.attrs), collection_id, item_id)
    rules = _image_rules(wire.version, wire.shape)
    obj: dict[str, Any] = {}
    _forward(rules, f, ctx, obj)
    _keep_unmatched(rules, wire.attrs, obj, ctx)
    _record_wire(obj, wire, ctx.style)

    assets: dict[str, Any] = obj.pop(ASSETS, {})
    if bands:
        by_file = _bands_by_file([_band_to_entry(band, collection_id) for band in bands])
        for index, file_bands in by_file.items():
            asset = assets.get(ASSET_KEY_FORMAT.format(index))
            if asset is not None:
                asset[BANDS] = file_bands
    if context is not None and isinstance(context.attrs.get(DL_SENSOR), str):
        obj.setdefault(INSTRUMENTS, [context.attrs[DL_SENSOR]])
    meta = (wire.envelope.get(RESOURCE) or {}).get(_META)
    if UPDATED not in obj and isinstance(meta, Mapping) and isinstance(meta.get(_MODIFIED), str):
        with contextlib.suppress(ValueError):
            obj[UPDATED] = format_datetime(parse_datetime(meta[_MODIFIED]))

    geometry, bbox = obj.pop(GEOMETRY), obj.pop(BBOX)
    properties = {**obj, **provenance(PROVIDER, item_id, TRANSFORM_VERSION)}
    item: dict[str, Any] = {
        TYPE: _FEATURE_TYPE,
        "stac_version": STAC_VERSION,
        "stac_extensions": _extensions(properties, assets),
        ID: item_id,
        GEOMETRY: geometry,
        BBOX: bbox,
        PROPERTIES: properties,
        LINKS: [],
        ASSETS: assets,
    }
    if collection_id is not None:
        item[COLLECTION] = collection_id
        item[LINKS] = [{"rel": COLLECTION, HREF: COLLECTION_LINK_HREF, TYPE: "application/json"}]
    return pystac.Item.from_dict(item, preserve_dict=False, migrate=False)


def _item_dict(item: pystac.Item | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(item, pystac.Item):
        return item.to_dict(include_self_link=False, transform_hrefs=False)
    if isinstance(item, Mapping):
        return dict(item)
    raise TransformError(PROVIDER, None, None, f"expected a STAC Item, got {type(item).__name__}")


def stac_to_image(item: pystac.Item | Mapping[str, Any]) -> dict[str, Any]:
    """Translate a STAC Item back to a DL image.

    Args:
        item: An Item (pystac or dict). One made by :func:`image_to_stac` comes back as the exact record it was
            made from, in its own form (v1 document, bare attributes, search feature, v2 document...). Any
            other Item comes back as v1 attributes built from its standard fields.

    Returns:
        The image as the API sends it.

    Raises:
        TransformError: the Item has no id or records a form this module does not write.

    """
    stac = _item_dict(item)
    item_id = _str_id(stac.get(ID))
    if item_id is None:
        raise TransformError(PROVIDER, None, ID, "is missing")
    properties = stac.get(PROPERTIES)
    if not isinstance(properties, Mapping):
        raise TransformError(PROVIDER, item_id, PROPERTIES, "must be an object")
    version, shape, envelope = _read_wire(properties, IMAGE, item_id)
    obj = {k: v for k, v in properties.items() if k not in PROVENANCE_FIELDS}
    obj.update({GEOMETRY: stac.get(GEOMETRY), ASSETS: stac.get(ASSETS) or {}})
    ctx = _Ctx(version, properties.get(WIRE_DATETIME_STYLE), _str_id(stac.get(COLLECTION)), item_id)
    attrs = _backward(_image_rules(version, shape), obj, ctx)
    return _wrap(f"{version}/{shape}", attrs, item_id, envelope)


# --- export for the DL client ------------------------------------------------------------------------------

#: v2 names of fields the v1 client knows under another name.
_V1_NAMES: Final = {
    "alt_cloud_fraction": "cloud_fraction_0",
    "provider_id": "identifier",
    "readers": "read",
    "vendor_band_name": "name_vendor",
    "display_range": "default_range",
    "file_index": DL_SRCFILE,
    "jpx_layer_index": DL_JPX_LAYER,
    "satellite_id": DL_SAT_ID,
    "data_type": DL_DTYPE,
    "wavelength_nm_center": DL_WAVELENGTH_CENTER,
    "wavelength_nm_fwhm": DL_WAVELENGTH_FWHM,
    "wavelength_nm_min": "wavelength_min",
    "wavelength_nm_max": "wavelength_max",
}
#: Fields the server sets itself, that the client's add_* refuse or rename.
_READ_ONLY: Final = frozenset({
    DL_ID, DL_PRODUCT, DL_PRODUCT_ID, DL_KEY, "owner_type", DL_MODIFIED, DL_CREATED, DL_NBITS, "owners",
    "is_core", "sort_order", DL_START_DATE, DL_END_DATE, DL_BAND_INDEX,
})
_INT_RANGES: Final = {
    "Byte": [0, 255], "Int8": [-128, 127], "UInt16": [0, 65535], "Int16": [-32768, 32767],
    "UInt32": [0, 4294967295], "Int32": [-2147483648, 2147483647],
}


def _client_kwargs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        name = _V1_NAMES.get(key, key)
        if name not in _READ_ONLY and name not in out:
            out[name] = value
    return out


def _v1_attrs(version: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes in v1 names (v2 records: ``resolution {value, unit}`` -> ``resolution`` + unit...)."""
    if version == V2:
        resolution = attrs.get(DL_RESOLUTION)
        if isinstance(resolution, Mapping):
            attrs[DL_RESOLUTION] = resolution.get(V2_VALUE)
            attrs[DL_RESOLUTION_UNIT] = resolution.get(V2_UNIT)
        for field in (DL_WAVELENGTH_NM_CENTER, DL_WAVELENGTH_NM_FWHM, "wavelength_nm_min", "wavelength_nm_max"):
            if field in attrs:
                attrs.setdefault(DL_WAVELENGTH_UNIT, NANOMETRES)
        if DL_BAND_INDEX in attrs and isinstance(attrs[DL_BAND_INDEX], int):
            attrs.setdefault(DL_SRCBAND, attrs[DL_BAND_INDEX] + 1)
    return attrs


def _split_bucket(attrs: dict[str, Any]) -> None:
    """Turn full ``gs://bucket/...`` hrefs (v2 ``files``) into v1 ``bucket`` + ``files`` names."""
    files = attrs.get(DL_FILES)
    if DL_BUCKET in attrs or not isinstance(files, list) or not files:
        return
    if not all(isinstance(f, str) and f.startswith(GS_SCHEME) and f.count("/") >= 3 for f in files):
        return
    buckets = {f.split("/", 3)[2] for f in files}
    if len(buckets) == 1:
        prefix = f"{GS_SCHEME}{buckets.pop()}/"
        attrs[DL_BUCKET] = prefix
        attrs[DL_FILES] = [f[len(prefix):] for f in files]


def stac_to_client_calls(
    collection: pystac.Collection | Mapping[str, Any],
    items: Iterable[pystac.Item | Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Give the DL client calls that recreate a Collection and its Items in a DL catalog.

    The result is JSON-able and shaped for the REST client of descarteslabs 1.12.1
    (``descarteslabs.client.services.catalog.Catalog``)::

        calls = descartes.stac_to_client_calls(collection, items)
        catalog.add_product(**calls["add_product"])
        for kwargs in calls["add_band"]:
            catalog.add_band(**kwargs)
        for kwargs in calls["add_image"]:
            catalog.add_image(**kwargs)

    Signatures followed: ``add_product(product_id, title, description, **kwargs)`` (dates as
    ``start_datetime``/``end_datetime``), ``add_band(product_id, name, srcband, dtype, data_range, type,
    **kwargs)`` (``nbits`` is refused by 1.12.1 and left out) and ``add_image(product_id, image_id,
    storage_state="available", **kwargs)`` where ``image_id`` is the image name without the product prefix.
    ``add_namespace`` is deprecated in 1.12.1 and never passed; the client prefixes your namespace to a product
    id that has none. v2 records are renamed to the v1 names (``x_pixels``/``y_pixels`` -> ``raster_size``,
    ``files`` objects -> ``files``/``file_sizes``/``file_md5s``, ``wavelength_nm_*`` -> ``wavelength_*`` with
    ``wavelength_unit: nm``...). Fields the server sets itself (``id``, ``owner_type``, ``modified``...) are
    left out.

    Args:
        collection: The product's Collection.
        items: Its Items.

    Returns:
        ``{"add_product": {...}, "add_band": [{...}, ...], "add_image": [{...}, ...]}``.

    Raises:
        TransformError: a band lacks what ``add_band`` requires and cannot be derived (its data type).

    """
    coll = _collection_dict(collection)
    product_id = _str_id(coll.get(ID))
    if product_id is None:
        raise TransformError(PROVIDER, None, ID, "is missing")
    obj = _flat_collection(coll)
    source_version, _, _ = _read_wire(coll, PRODUCT, product_id)
    ctx = _Ctx(V1, None, product_id, product_id)
    product_attrs = _v1_attrs(source_version, _backward(_product_rules(source_version), obj, ctx))
    product_attrs.pop(DL_START_DATETIME, None)
    product_attrs.pop(DL_END_DATETIME, None)
    start, end = (obj.get(_TEMPORAL) or [None, None])[:2]
    product_call: dict[str, Any] = {
        "product_id": product_id,
        DL_TITLE: coll.get(TITLE) or product_attrs.get(DL_NAME) or product_id,
        DL_DESCRIPTION: coll.get(DESCRIPTION) or product_id,
        **{k: v for k, v in _client_kwargs(product_attrs).items() if k not in (DL_TITLE, DL_NAME, DL_DESCRIPTION)},
    }
    if start:
        product_call[DL_START_DATETIME] = start
    if end:
        product_call[DL_END_DATETIME] = end

    band_calls = []
    for entry in (coll.get(SUMMARIES) or {}).get(BANDS) or []:
        version, _, _ = _read_wire(entry, BAND, product_id)
        name = str(entry.get(NAME))
        band_ctx = _Ctx(version, None, product_id, _band_id(product_id, name))
        attrs = _v1_attrs(version, _backward(_band_rules(version, ATTRIBUTES), entry, band_ctx))
        kwargs = _client_kwargs(attrs)
        dtype = kwargs.get(DL_DTYPE)
        if not isinstance(dtype, str):
            raise TransformError(PROVIDER, _band_id(product_id, name), DL_DTYPE, "is missing; add_band needs it")
        kwargs.setdefault(DL_SRCBAND, 1)
        kwargs.setdefault(DL_BAND_TYPE, "spectral" if EO_CENTER_WAVELENGTH in entry else "other")
        if DL_DATA_RANGE not in kwargs:
            if dtype not in _INT_RANGES:
                raise TransformError(PROVIDER, _band_id(product_id, name), DL_DATA_RANGE,
                                     "is missing; add_band needs it and a float band has no natural range")
            kwargs[DL_DATA_RANGE] = list(_INT_RANGES[dtype])
        band_calls.append({"product_id": product_id, NAME: name, **kwargs})

    image_calls = []
    for item in items:
        stac = _item_dict(item)
        item_id = str(stac.get(ID))
        properties = stac.get(PROPERTIES) or {}
        version, _, _ = _read_wire(properties, IMAGE, item_id)
        image_obj = {k: v for k, v in properties.items() if k not in PROVENANCE_FIELDS}
        image_obj.update({GEOMETRY: stac.get(GEOMETRY), ASSETS: stac.get(ASSETS) or {}})
        image_ctx = _Ctx(V1, None, product_id, item_id)
        attrs = _backward(_image_rules(V1, ATTRIBUTES), image_obj, image_ctx)
        if version == V2:
            attrs = {k: v for k, v in attrs.items() if k not in (DL_X_PIXELS, DL_Y_PIXELS, DL_NAME)}
            _split_bucket(attrs)
        image_name = item_id[len(product_id) + 1:] if item_id.startswith(product_id + ":") else item_id
        kwargs = _client_kwargs(attrs)
        image_calls.append({"product_id": product_id, "image_id": image_name, **kwargs})
    return {"add_product": product_call, "add_band": band_calls, "add_image": image_calls}


# --- the adapter -------------------------------------------------------------------------------------------

#: What :meth:`DescartesAdapter.link` reads: classified records, and raw ones it passes through.
_Raw = ProviderRecord | Mapping[str, Any]
#: One line of :meth:`DescartesAdapter.export_records`: ``{"call": "add_band", "kwargs": {...}}``.
CALL: Final = "call"
KWARGS: Final = "kwargs"

_IMAGE_HINTS: Final = frozenset({DL_ACQUIRED, DL_GEOTRANS, DL_CS_CODE, DL_FILES, DL_RASTER_SIZE, DL_X_PIXELS})
_BAND_HINTS: Final = frozenset({DL_DTYPE, DL_DATA_TYPE, DL_SRCBAND, DL_BAND_INDEX, DL_DATA_RANGE,
                                DL_JPX_LAYER, DL_JPX_LAYER_INDEX, DL_WAVELENGTH_CENTER, DL_WAVELENGTH_NM_CENTER})


class DescartesAdapter:
    """DL Catalog products, bands and images (v1 and v2) under the :class:`~stac_bridge.registry.Adapter` API."""

    name = PROVIDER
    title = "Descartes Labs Catalog (v1 and v2)"

    def classify(self, raw: Mapping[str, Any]) -> ProviderRecord:
        """Say whether a raw record is a ``product``, a ``band`` or an ``image``.

        The JSON:API ``type`` decides when there is one; a metadata-search feature is an image; bare
        attributes are told apart by their fields.

        Raises:
            TransformError: the record is none of them.

        """
        wire = _unwrap(raw, IMAGE)
        resource = wire.envelope.get(RESOURCE) or {}
        declared = resource.get(TYPE)
        if declared in (PRODUCT, BAND, IMAGE):
            return ProviderRecord(str(declared), raw)
        if wire.shape == FEATURE or any(k in wire.attrs for k in _IMAGE_HINTS):
            return ProviderRecord(IMAGE, raw)
        if any(k in wire.attrs for k in _BAND_HINTS):
            return ProviderRecord(BAND, raw)
        if any(k in wire.attrs for k in (DL_TITLE, DL_NAME, DL_DESCRIPTION)):
            return ProviderRecord(PRODUCT, raw)
        raise TransformError(PROVIDER, wire.record_id, None, "is not a DL product, band or image")

    def to_stac(self, record: ProviderRecord) -> dict[str, Any]:
        """Translate a product (with ``context["bands"]``) or an image (``context["product"/"bands"]``).

        Raises:
            TransformError: the record cannot be translated, or it is a band (bands belong to their product's
                Collection: pass them in the product's ``context["bands"]``).

        """
        if record.kind == IMAGE:
            item = image_to_stac(record.data, record.context.get(PRODUCT), record.context.get(BANDS))
            return item.to_dict(include_self_link=False, transform_hrefs=False)
        if record.kind == PRODUCT:
            coll = product_to_stac(record.data, record.context.get(BANDS) or [])
            return coll.to_dict(include_self_link=False, transform_hrefs=False)
        raise TransformError(PROVIDER, record.id, None,
                             f"a {record.kind} has no STAC object of its own; pass bands with their product")

    def from_stac(self, stac: Mapping[str, Any]) -> dict[str, Any]:
        """Translate an Item to its DL image, or a Collection to its DL product (bands: :func:`stac_to_product`).

        Raises:
            TransformError: the object is neither an Item nor a Collection.

        """
        if stac.get(TYPE) == _FEATURE_TYPE:
            return stac_to_image(stac)
        if stac.get(TYPE) == "Collection":
            return stac_to_product(stac)[0]
        raise TransformError(PROVIDER, _str_id(stac.get(ID)), TYPE, "must be Feature or Collection")

    def export_records(self, stac: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The DL client calls that recreate a STAC object, one ``{"call", "kwargs"}`` dict per call.

        A Collection gives ``add_product`` then one ``add_band`` per band, an Item its ``add_image`` (its
        ``collection`` is the product id): the keyword arguments of :func:`stac_to_client_calls`, for
        ``getattr(catalog, line["call"])(**line["kwargs"])`` with descarteslabs 1.12.1's ``Catalog``.

        Raises:
            TransformError: the object is neither an Item with a collection nor a Collection, or a band lacks
                what ``add_band`` requires.

        """
        if stac.get(TYPE) == "Collection":
            calls = stac_to_client_calls(stac)
            return [{CALL: "add_product", KWARGS: calls["add_product"]},
                    *({CALL: "add_band", KWARGS: kwargs} for kwargs in calls["add_band"])]
        if stac.get(TYPE) == _FEATURE_TYPE:
            product_id = _str_id(stac.get(COLLECTION))
            if product_id is None:
                raise TransformError(PROVIDER, _str_id(stac.get(ID)), COLLECTION,
                                     "is missing; add_image needs the product id")
            calls = stac_to_client_calls({ID: product_id}, [stac])
            return [{CALL: "add_image", KWARGS: kwargs} for kwargs in calls["add_image"]]
        raise TransformError(PROVIDER, _str_id(stac.get(ID)), TYPE, "must be Feature or Collection")

    def link(self, records: Iterable[_Raw]) -> Iterator[_Raw]:
        """Give products read from files their bands, and images their product and bands.

        Products and bands are held back until the next image (or the end); then each product is yielded with
        ``context["bands"]`` (the bands read for it), and each image with ``context["product"]`` and
        ``context["bands"]`` of its product (by its ``product``/``product_id``, or by its id's prefix). Bands
        are consumed, not yielded. So list products and bands before images. An image whose product was not
        read, and records that are not classified, pass through unchanged.
        """
        pending: dict[str, ProviderRecord] = {}
        products: dict[str, Mapping[str, Any]] = {}
        bands: dict[str, list[Mapping[str, Any]]] = {}

        def release() -> Iterator[ProviderRecord]:
            for product_id, record in pending.items():
                products[product_id] = record.data
                yield ProviderRecord(PRODUCT, record.data, {**record.context, BANDS: bands.get(product_id, [])})
            pending.clear()

        for record in records:
            if not isinstance(record, ProviderRecord) or record.kind not in (PRODUCT, BAND, IMAGE):
                yield record
                continue
            known = [*products, *pending]
            product_id = _product_of(record, known)
            if record.kind == PRODUCT and product_id is not None:
                pending[product_id] = record
            elif record.kind == BAND:
                if product_id is None and len(pending) == 1:
                    product_id = next(iter(pending))
                if product_id is None:
                    log.warning("band %s names no product read before it: left out", record.id)
                    continue
                if product_id in products:
                    log.warning("band %s comes after the Collection of %s was written: only its images list it",
                                record.id, product_id)
                bands.setdefault(product_id, []).append(record.data)
            else:
                yield from release()
                if record.kind == IMAGE and product_id in products and PRODUCT not in record.context:
                    context = {PRODUCT: products[product_id], BANDS: bands.get(product_id, []), **record.context}
                    record = ProviderRecord(IMAGE, record.data, context)
                yield record
        yield from release()


def _product_of(record: ProviderRecord, known: Sequence[str]) -> str | None:
    """The product id of a product (its id), band or image (its ``product``/``product_id``, or its id's prefix)."""
    try:
        wire = _unwrap(record.data, record.kind)
    except TransformError:
        return None
    own_id = wire.record_id or _str_id(wire.attrs.get(DL_ID))
    if record.kind == PRODUCT:
        return own_id
    named = _str_id(wire.attrs.get(DL_PRODUCT)) or _str_id(wire.attrs.get(DL_PRODUCT_ID))
    if named is not None:
        return named
    prefixed = [p for p in known if own_id is not None and own_id.startswith(p + ":")]
    return max(prefixed, key=len) if prefixed else None


ADAPTER: Final = DescartesAdapter()
