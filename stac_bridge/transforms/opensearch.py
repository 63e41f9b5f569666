"""Terrascope / VITO OpenSearch (OGC 17-047r1 GeoJSON, OGC 17-003r1 EO metadata) <-> STAC 1.1.

A product Feature becomes an Item, a collection Feature becomes a Collection; the way back gives the same
GeoJSON Feature. Every field with a STAC home is mapped (the table is in ``docs/providers/opensearch.md``);
every field without one is kept under ``opensearch:<name>``, so ``stac_to_product(product_to_stac(f)) == f``.

Bookkeeping members, present only when the source needs them for an exact way back:

- ``opensearch:acquisitionInformation`` / ``opensearch:productInformation``: what is left of those objects
  once the mapped fields are taken out, when it is not the plain shape the way back would build anyway (e.g.
  platform and acquisition parameters in two separate entries, or unmapped fields such as ``sensorType``);
- ``opensearch:verbatim``: the original spelling of a value whose STAC form would be written back differently
  (a datetime with an offset or nine fractional digits, an orbit direction in mixed case, a zenith angle whose
  ``90 - (90 - z)`` is not ``z`` in floating point). It is used only while it still denotes the STAC value, so
  an edit on the STAC side wins;
- ``opensearch:absent``: OpenSearch members the transform filled in for STAC (a computed ``bbox``, ...) and
  that the way back leaves out;
- ``opensearch:links``: the link group and position of each asset (a JSON object does not keep key order in
  every store, e.g. PostgreSQL ``jsonb``).

Transforms are pure: no network, no files, no clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import pystac

from stac_bridge.errors import TransformError
from stac_bridge.registry import ProviderRecord
from stac_bridge.transforms import _common

__all__ = [
    "ADAPTER",
    "PROVIDER",
    "TRANSFORM_VERSION",
    "collection_to_stac",
    "product_to_stac",
    "stac_to_collection",
    "stac_to_product",
]

PROVIDER: Final = "opensearch"
#: Bumped whenever the STAC output of a transform changes.
TRANSFORM_VERSION: Final = 1
PREFIX: Final = "opensearch:"

STAC_VERSION: Final = "1.1.0"
EXT_EO: Final = "https://stac-extensions.github.io/eo/v2.0.0/schema.json"
EXT_FILE: Final = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
EXT_GRID: Final = "https://stac-extensions.github.io/grid/v1.1.0/schema.json"
EXT_PROCESSING: Final = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"
EXT_PRODUCT: Final = "https://stac-extensions.github.io/product/v1.0.0/schema.json"
EXT_PROJ: Final = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
EXT_SAT: Final = "https://stac-extensions.github.io/sat/v1.2.0/schema.json"
EXT_TIMESTAMPS: Final = "https://stac-extensions.github.io/timestamps/v1.1.0/schema.json"
EXT_VIEW: Final = "https://stac-extensions.github.io/view/v1.1.0/schema.json"
_EXTENSION_BY_PREFIX: Final = {
    "eo": EXT_EO,
    "file": EXT_FILE,
    "grid": EXT_GRID,
    "processing": EXT_PROCESSING,
    "product": EXT_PRODUCT,
    "proj": EXT_PROJ,
    "sat": EXT_SAT,
    "view": EXT_VIEW,
}
_TIMESTAMP_FIELDS: Final = frozenset({"published", "expires", "unpublished"})

# --- OpenSearch member names (OGC 17-047r1 / 17-003r1) ------------------------------------------------------
OS_ID: Final = "id"
OS_TYPE: Final = "type"
OS_GEOMETRY: Final = "geometry"
OS_BBOX: Final = "bbox"
OS_PROPERTIES: Final = "properties"
OS_TITLE: Final = "title"
OS_IDENTIFIER: Final = "identifier"
OS_PARENT: Final = "parentIdentifier"
OS_DATE: Final = "date"
OS_UPDATED: Final = "updated"
OS_PUBLISHED: Final = "published"
OS_CREATED: Final = "creationDate"
OS_ACQ_INFO: Final = "acquisitionInformation"
OS_PRODUCT_INFO: Final = "productInformation"
OS_LINKS: Final = "links"
OS_PLATFORM: Final = "platform"
OS_INSTRUMENT: Final = "instrument"
OS_ACQ_PARAMS: Final = "acquisitionParameters"
OS_ACQ_ANGLES: Final = "acquisitionAngles"
OS_SHORT_NAME: Final = "platformShortName"
OS_SERIAL: Final = "platformSerialIdentifier"
OS_INSTRUMENT_NAME: Final = "instrumentShortName"
OS_BEGIN: Final = "beginningDateTime"
OS_END: Final = "endingDateTime"
OS_ZENITH: Final = "illuminationZenithAngle"
OS_ELEVATION: Final = "illuminationElevationAngle"
OS_ABSTRACT: Final = "abstract"
OS_RIGHTS: Final = "rights"
OS_KEYWORD: Final = "keyword"
OS_HREF: Final = "href"
OS_LENGTH: Final = "length"
OS_CATEGORY: Final = "category"
OS_CONFORMS_TO: Final = "conformsTo"
OS_MEDIA_TYPE: Final = "type"
GROUP_DATA: Final = "data"
GROUP_PREVIEWS: Final = "previews"
GROUP_ALTERNATES: Final = "alternates"
GROUP_RELATED: Final = "related"

# --- STAC field names ---------------------------------------------------------------------------------------
DATETIME: Final = "datetime"
START: Final = "start_datetime"
END: Final = "end_datetime"
TITLE: Final = "title"
UPDATED: Final = "updated"
PUBLISHED: Final = "published"
CREATED: Final = "created"
CONSTELLATION: Final = "constellation"
PLATFORM: Final = "platform"
INSTRUMENTS: Final = "instruments"
CLOUD_COVER: Final = "eo:cloud_cover"
SNOW_COVER: Final = "eo:snow_cover"
PRODUCT_TYPE: Final = "product:type"
TIMELINESS: Final = "product:timeliness"
ACQUISITION_TYPE: Final = "product:acquisition_type"
PROCESSING_LEVEL: Final = "processing:level"
PROCESSING_VERSION: Final = "processing:version"
PROCESSING_FACILITY: Final = "processing:facility"
PROCESSING_DATETIME: Final = "processing:datetime"
ORBIT_STATE: Final = "sat:orbit_state"
ABSOLUTE_ORBIT: Final = "sat:absolute_orbit"
RELATIVE_ORBIT: Final = "sat:relative_orbit"
GRID_CODE: Final = "grid:code"
INCIDENCE_ANGLE: Final = "view:incidence_angle"
SUN_AZIMUTH: Final = "view:sun_azimuth"
SUN_ELEVATION: Final = "view:sun_elevation"
FILE_SIZE: Final = "file:size"
PROJ_CODE: Final = "proj:code"

# Bookkeeping members (see the module docstring).
KEEP_ACQ_INFO: Final = PREFIX + OS_ACQ_INFO
KEEP_PRODUCT_INFO: Final = PREFIX + OS_PRODUCT_INFO
KEEP_VERBATIM: Final = PREFIX + "verbatim"
KEEP_ABSENT: Final = PREFIX + "absent"
KEEP_LINKS: Final = PREFIX + "links"
KEEP_IDENTIFIER: Final = PREFIX + OS_IDENTIFIER
KEEP_MEMBERS: Final = PREFIX + "members"
KEEP_RIGHTS: Final = PREFIX + OS_RIGHTS
KEEP_GEOMETRY: Final = PREFIX + OS_GEOMETRY
ASSET_CATEGORY: Final = PREFIX + OS_CATEGORY
_PRODUCT_BOOKKEEPING: Final = frozenset(
    {KEEP_ACQ_INFO, KEEP_PRODUCT_INFO, KEEP_VERBATIM, KEEP_ABSENT, KEEP_LINKS, KEEP_IDENTIFIER, KEEP_MEMBERS}
)
_COLLECTION_BOOKKEEPING: Final = frozenset(
    {KEEP_VERBATIM, KEEP_ABSENT, KEEP_IDENTIFIER, KEEP_MEMBERS, KEEP_RIGHTS, KEEP_GEOMETRY}
)
_FEATURE_MEMBERS: Final = frozenset({OS_TYPE, OS_ID, OS_GEOMETRY, OS_BBOX, OS_PROPERTIES})

_ACQ_GROUPS: Final = (OS_PLATFORM, OS_INSTRUMENT, OS_ACQ_PARAMS, OS_ACQ_ANGLES)
_LINK_GROUPS: Final = (GROUP_DATA, GROUP_PREVIEWS, GROUP_ALTERNATES, GROUP_RELATED)
_THUMBNAIL_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
#: STAC link relations that a catalog or API adds itself; never an OpenSearch link group.
_STRUCTURAL_RELS: Final = frozenset(
    {"self", "root", "parent", "child", "item", "items", "collection", "queryables", "aggregate",
     "aggregations", "next", "prev", "previous", "first", "last"}
)
_COLLECTION_REL: Final = {GROUP_PREVIEWS: "preview", GROUP_ALTERNATES: "alternate"}
_COLLECTION_GROUP: Final = {rel: group for group, rel in _COLLECTION_REL.items()}
_CRS_URL: Final = "http://www.opengis.net/def/crs/EPSG/0/"
_MGRS: Final = re.compile(r"^(0?[1-9]|[1-5]\d|60)[C-HJ-NP-X][A-HJ-NP-Z][A-HJ-NP-V]$")
_GRID_MGRS: Final = "MGRS-"
_DURATION: Final = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_LICENSE: Final = re.compile(r"^[\w\-.+]+$")
_NOT_SPDX: Final = frozenset({"other", "proprietary", "various"})


class _Unmappable(Exception):
    """A value of the right JSON type that STAC cannot hold (out of range, not in the enum): kept as it is."""


# --- small typed readers ------------------------------------------------------------------------------------

def _open_feature(feature: Any) -> tuple[_Reader, str, dict[str, Any]]:
    """The reader, id and (copied) properties of an OpenSearch feature, products and collections alike."""
    reader = _Reader(_record_id(feature))
    if not isinstance(feature, Mapping):
        raise reader.error(None, f"expected a JSON object, got {type(feature).__name__}")
    feature_id = feature.get(OS_ID)
    if not feature_id:
        raise reader.error(OS_ID, "is missing")
    reader.check(feature_id, str, OS_ID)
    raw_props = feature.get(OS_PROPERTIES)
    if raw_props is None:
        raise reader.error(OS_PROPERTIES, "is missing")
    return reader, feature_id, _common.copy_json(dict(reader.check(raw_props, dict, OS_PROPERTIES)))


class _Reader:
    """Type checks that raise a :class:`TransformError` naming the provider, the record and the full path."""

    def __init__(self, record_id: str | None) -> None:
        self.record_id = record_id

    def error(self, path: str | None, reason: str) -> TransformError:
        return TransformError(PROVIDER, self.record_id, path, reason)

    def check(self, value: Any, kind: type | tuple[type, ...], path: str) -> Any:
        problem = _common.json_type_problem(value, kind)
        if problem is not None:
            raise self.error(path, problem)
        return value

    def datetime(self, value: Any, path: str) -> str:
        """Check and normalise a datetime as STAC writes it (RFC 3339, UTC, ``Z``)."""
        text = self.check(value, str, path)
        try:
            return _common.format_datetime(_common.parse_datetime(text))
        except ValueError as exc:
            raise self.error(path, f"is not an RFC 3339 datetime: {text!r}") from exc


def _os_datetime(stac_text: str) -> str:
    """Write a STAC datetime as OpenSearch does: UTC, ``Z``, fractional seconds without trailing zeros."""
    text = _common.format_datetime(_common.parse_datetime(stac_text))
    if "." in text:
        whole, frac = text[:-1].split(".")
        frac = frac.rstrip("0")
        text = f"{whole}.{frac}Z" if frac else f"{whole}Z"
    return text


# --- field codecs: one OpenSearch value <-> one STAC value --------------------------------------------------

@dataclass(frozen=True)
class _Codec:
    """How one OpenSearch member maps to one STAC field.

    ``to_stac`` raises :class:`TransformError` for a wrong JSON type and :class:`_Unmappable` for a value STAC
    cannot hold; ``to_os`` is its inverse on every value ``to_stac`` returns.
    """

    os_key: str
    stac_key: str
    to_stac: Callable[[_Reader, Any, str], Any]
    to_os: Callable[[Any], Any]


def _text(os_key: str, stac_key: str) -> _Codec:
    return _Codec(os_key, stac_key, lambda r, v, p: _non_empty(r.check(v, str, p)), lambda s: s)


def _non_empty(text: str) -> str:
    if not text:
        raise _Unmappable
    return text


def _when(os_key: str, stac_key: str) -> _Codec:
    return _Codec(os_key, stac_key, lambda r, v, p: r.datetime(v, p), _os_datetime)


def _number(os_key: str, stac_key: str, low: float, high: float) -> _Codec:
    def to_stac(reader: _Reader, value: Any, path: str) -> Any:
        number = reader.check(value, float, path)
        if not (math.isfinite(number) and low <= number <= high):
            raise _Unmappable
        return number

    return _Codec(os_key, stac_key, to_stac, lambda s: s)


def _orbit(os_key: str, stac_key: str) -> _Codec:
    def to_stac(reader: _Reader, value: Any, path: str) -> Any:
        number = reader.check(value, int, path)
        if number < 1:
            raise _Unmappable
        return number

    return _Codec(os_key, stac_key, to_stac, lambda s: s)


def _enum(os_key: str, stac_key: str, allowed: Iterable[str]) -> _Codec:
    values = frozenset(allowed)

    def to_stac(reader: _Reader, value: Any, path: str) -> Any:
        lower = reader.check(value, str, path).lower()
        if lower not in values:
            raise _Unmappable
        return lower

    return _Codec(os_key, stac_key, to_stac, lambda s: str(s).upper())


def _tile(reader: _Reader, value: Any, path: str) -> str:
    tile = str(reader.check(value, str, path))
    if not _MGRS.match(tile):
        raise _Unmappable
    return _GRID_MGRS + tile


def _grid_to_tile(code: Any) -> Any:
    text = str(code)
    return text[len(_GRID_MGRS):] if text.startswith(_GRID_MGRS) else text


def _timeliness(reader: _Reader, value: Any, path: str) -> str:
    text = str(reader.check(value, str, path))
    if not _DURATION.match(text):
        raise _Unmappable
    return text


def _zenith(reader: _Reader, value: Any, path: str) -> Any:
    zenith = reader.check(value, float, path)
    if not (math.isfinite(zenith) and 0 <= zenith <= 180):
        raise _Unmappable
    return 90 - zenith


_PLATFORM_CODECS: Final = (_text(OS_SHORT_NAME, CONSTELLATION), _text(OS_SERIAL, PLATFORM))
_INSTRUMENT_CODECS: Final = (
    _Codec(OS_INSTRUMENT_NAME, INSTRUMENTS, lambda r, v, p: [_non_empty(r.check(v, str, p))],
           lambda s: s[0] if isinstance(s, list) and s else s),
)
_PARAMETER_CODECS: Final = (
    _enum("acquisitionType", ACQUISITION_TYPE, ("nominal", "calibration", "other")),
    _enum("orbitDirection", ORBIT_STATE, ("ascending", "descending", "geostationary")),
    _orbit("orbitNumber", ABSOLUTE_ORBIT),
    _orbit("relativeOrbitNumber", RELATIVE_ORBIT),
    _when(OS_BEGIN, START),
    _when(OS_END, END),
    _Codec("tileId", GRID_CODE, _tile, _grid_to_tile),
)
_ANGLE_CODECS: Final = (
    _number("incidenceAngle", INCIDENCE_ANGLE, 0, 90),
    _number("illuminationAzimuthAngle", SUN_AZIMUTH, 0, 360),
    _number(OS_ELEVATION, SUN_ELEVATION, -90, 90),
)
# Used only when the source gives the zenith angle and no elevation angle (17-003 allows either).
_ZENITH_CODEC: Final = _Codec(OS_ZENITH, SUN_ELEVATION, _zenith, lambda s: 90 - s)
_ACQ_CODECS: Final[dict[str, tuple[_Codec, ...]]] = {
    OS_PLATFORM: _PLATFORM_CODECS,
    OS_INSTRUMENT: _INSTRUMENT_CODECS,
    OS_ACQ_PARAMS: _PARAMETER_CODECS,
    OS_ACQ_ANGLES: _ANGLE_CODECS,
}
_PRODUCT_INFO_CODECS: Final = (
    _number("cloudCover", CLOUD_COVER, 0, 100),
    _number("snowCover", SNOW_COVER, 0, 100),
    _text("productType", PRODUCT_TYPE),
    _Codec("timeliness", TIMELINESS, _timeliness, lambda s: s),
    _text("processingLevel", PROCESSING_LEVEL),
    _text("productVersion", PROCESSING_VERSION),
    _text("processingCenter", PROCESSING_FACILITY),
    _when("processingDate", PROCESSING_DATETIME),
)
_TOP_CODECS: Final = (
    _text(OS_TITLE, TITLE),
    _when(OS_UPDATED, UPDATED),
    _when(OS_PUBLISHED, PUBLISHED),
    _when(OS_CREATED, CREATED),
)


class _Book:
    """What one forward transform records for the way back: verbatim spellings and absent members."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.verbatim: dict[str, Any] = {}
        self.absent: list[str] = []

    def apply(
        self,
        codec: _Codec,
        source: dict[str, Any],
        path: str,
        out: dict[str, Any],
        *,
        shown: str | None = None,
    ) -> None:
        """Move ``codec.os_key`` of ``source`` to ``out[codec.stac_key]`` (removing it from ``source``).

        ``path`` keys the verbatim spelling; ``shown`` (default ``path``) is the path an error names.
        """
        if codec.os_key not in source or codec.stac_key in out:
            return
        value = source[codec.os_key]
        where = f"{path}.{codec.os_key}"
        if value is None:
            return
        try:
            stac_value = codec.to_stac(self.reader, value, f"{shown or path}.{codec.os_key}")
        except _Unmappable:
            return
        del source[codec.os_key]
        out[codec.stac_key] = stac_value
        if codec.to_os(stac_value) != value or type(codec.to_os(stac_value)) is not type(value):
            self.verbatim[where] = value

    def record(self, stac: dict[str, Any]) -> None:
        if self.verbatim:
            stac[KEEP_VERBATIM] = self.verbatim
        if self.absent:
            stac[KEEP_ABSENT] = self.absent


def _from_stac(codec: _Codec, stac: Mapping[str, Any], verbatim: Mapping[str, Any], path: str) -> Any:
    """Give the OpenSearch value of one field: the kept spelling while it still denotes the STAC value."""
    value = stac[codec.stac_key]
    where = f"{path}.{codec.os_key}"
    if where in verbatim:
        kept = verbatim[where]
        try:
            if codec.to_stac(_Reader(None), kept, where) == value:
                return kept
        except (TransformError, _Unmappable):
            pass
    return codec.to_os(value)


# --- products -----------------------------------------------------------------------------------------------

def product_to_stac(feature: Mapping[str, Any]) -> pystac.Item:
    """Translate an OpenSearch product (an OGC 17-047 GeoJSON Feature) to a STAC 1.1 Item.

    Args:
        feature: One element of the ``features`` of a ``products`` answer.

    Returns:
        The Item, with the ``eo``/``sat``/``view``/``product``/``processing``/``grid``/``file``/
        ``projection``/``timestamps`` extensions declared where their fields occur. Each of the link groups
        ``data``/``previews``/``alternates``/``related`` becomes assets (roles ``data``, ``thumbnail`` or
        ``overview``, ``metadata``, the lower-cased ``category``), ``length`` becoming ``file:size``.

    Caveats:
        ``illuminationZenithAngle`` z becomes ``view:sun_elevation`` = 90 - z. ``tileId`` becomes
        ``grid:code`` only for an MGRS tile (``MGRS-29SMC``); any other tile id stays in
        ``opensearch:acquisitionInformation``. Values STAC cannot hold (a cloud cover of -1, an orbit
        number 0) stay under ``opensearch:`` rather than failing the record. ``constellation`` keeps the
        provider's spelling (``Sentinel-2``).

    Raises:
        TransformError: the feature has no id or geometry, a date does not parse, or a member has the wrong
            JSON type; the error names the provider, the record id and the member's path.
    """
    item = _product_item(feature)
    try:
        return pystac.Item.from_dict(item, migrate=False, preserve_dict=False)
    except (ValueError, TypeError, KeyError) as exc:
        raise TransformError(PROVIDER, item["id"], None, f"does not make a STAC Item: {exc}") from exc


def _keep_the_rest(feature: Mapping[str, Any], props: Mapping[str, Any], out: dict[str, Any], book: _Book,
                   record_id: str) -> None:
    """Close a translation into ``out``.

    Untranslated properties go under ``opensearch:``, other feature members are kept, then the book of
    normalisations and the provenance are written.
    """
    for key, value in props.items():
        out[PREFIX + key] = value
    members = {k: _common.copy_json(v) for k, v in feature.items() if k not in _FEATURE_MEMBERS}
    if members:
        out[KEEP_MEMBERS] = members
    book.record(out)
    out.update(_common.provenance(PROVIDER, record_id, TRANSFORM_VERSION))


def _product_item(feature: Mapping[str, Any]) -> dict[str, Any]:
    """The STAC Item of :func:`product_to_stac` as a dict, as ``pystac.Item.to_dict`` would give it."""
    reader, item_id, props = _open_feature(feature)
    geometry = feature.get(OS_GEOMETRY)
    if geometry is None:
        raise reader.error(OS_GEOMETRY, "is missing (a STAC Item from OpenSearch needs a footprint)")
    reader.check(geometry, dict, OS_GEOMETRY)
    book = _Book(reader)
    stac: dict[str, Any] = {}

    bbox = _feature_bbox(reader, feature, geometry, book)
    _identifier(props, item_id, stac, book)
    collection = props.pop(OS_PARENT, None)
    if collection is not None:
        reader.check(collection, str, f"{OS_PROPERTIES}.{OS_PARENT}")
    for codec in _TOP_CODECS:
        book.apply(codec, props, OS_PROPERTIES, stac)
    _acquisition_to_stac(reader, props, stac, book)
    _product_info_to_stac(reader, props, stac, book)
    _date_to_stac(reader, props, stac, book)
    assets, layout = _links_to_assets(reader, props.pop(OS_LINKS, None))
    if layout is not None:
        stac[KEEP_LINKS] = layout
    _keep_the_rest(feature, props, stac, book, item_id)

    item = {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": _extensions(stac, assets),
        "id": item_id,
        "geometry": _common.copy_json(geometry),
        "bbox": bbox,
        "properties": stac,
        "links": [{"rel": "collection", "href": "../collection.json", "type": "application/json"}]
        if collection is not None else [],
        "assets": assets,
    }
    if collection is not None:
        item["collection"] = collection
    return item


def _record_id(feature: Any) -> str | None:
    if isinstance(feature, Mapping) and feature.get(OS_ID) is not None:
        return str(feature[OS_ID])
    return None


def _feature_bbox(reader: _Reader, feature: Mapping[str, Any], geometry: Any, book: _Book) -> list[float]:
    raw = feature.get(OS_BBOX)
    if raw is not None:
        reader.check(raw, list, OS_BBOX)
        if len(raw) not in (4, 6):
            raise reader.error(OS_BBOX, f"must have 4 or 6 numbers, got {len(raw)}")
        for i, value in enumerate(raw):
            reader.check(value, float, f"{OS_BBOX}[{i}]")
        return list(raw)
    try:
        bbox = _common.bbox_of(geometry)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise reader.error(OS_GEOMETRY, f"is not a GeoJSON geometry: {exc}") from exc
    book.absent.append(OS_BBOX)
    return bbox


def _identifier(props: dict[str, Any], record_id: str, stac: dict[str, Any], book: _Book) -> None:
    if OS_IDENTIFIER not in props:
        book.absent.append(OS_IDENTIFIER)
        return
    identifier = props.pop(OS_IDENTIFIER)
    if identifier != record_id:
        stac[KEEP_IDENTIFIER] = identifier


def _acquisition_to_stac(reader: _Reader, props: dict[str, Any], stac: dict[str, Any], book: _Book) -> None:
    """Take the mapped members out of ``acquisitionInformation``; keep the rest unless it is the plain shape.

    Each group (platform, instrument, parameters, angles) is read from the first entry that has it; the way
    back puts it into the first entry of the kept shape that has it, or into one entry when nothing is kept.
    """
    if OS_ACQ_INFO not in props:
        return
    path = f"{OS_PROPERTIES}.{OS_ACQ_INFO}"
    entries = reader.check(props.pop(OS_ACQ_INFO), list, path)
    rest: list[Any] = _common.copy_json(entries)
    used: list[str] = []
    for group, codecs in _ACQ_CODECS.items():
        index = next((i for i, e in enumerate(rest) if isinstance(e, dict) and group in e), None)
        if index is None:
            continue
        where = f"{path}[{index}].{group}"
        source = reader.check(rest[index][group], dict, where)
        before = len(stac)
        for codec in codecs:
            book.apply(codec, source, f"{OS_ACQ_INFO}.{group}", stac, shown=where)
        if group == OS_ACQ_ANGLES and OS_ELEVATION not in entries[index][group] and OS_ZENITH in source:
            zenith = source[OS_ZENITH]
            book.apply(_ZENITH_CODEC, source, f"{OS_ACQ_INFO}.{group}", stac, shown=where)
            if OS_ZENITH not in source:
                # The form the source used: the way back writes a zenith angle, not an elevation.
                book.verbatim[f"{OS_ACQ_INFO}.{group}.{OS_ZENITH}"] = zenith
        if len(stac) > before:
            used.append(group)
    if rest != [{group: {} for group in _ACQ_GROUPS if group in used}] or not used:
        stac[KEEP_ACQ_INFO] = rest


def _product_info_to_stac(reader: _Reader, props: dict[str, Any], stac: dict[str, Any], book: _Book) -> None:
    if OS_PRODUCT_INFO not in props:
        return
    source = dict(reader.check(props.pop(OS_PRODUCT_INFO), dict, f"{OS_PROPERTIES}.{OS_PRODUCT_INFO}"))
    before = len(stac)
    for codec in _PRODUCT_INFO_CODECS:
        book.apply(codec, source, OS_PRODUCT_INFO, stac, shown=f"{OS_PROPERTIES}.{OS_PRODUCT_INFO}")
    if source or len(stac) == before:
        stac[KEEP_PRODUCT_INFO] = source


def _date_to_stac(reader: _Reader, props: dict[str, Any], stac: dict[str, Any], book: _Book) -> None:
    """``date`` (an instant or ``start/end``) -> ``datetime``, filling ``start_/end_datetime`` when absent."""
    path = f"{OS_PROPERTIES}.{OS_DATE}"
    if OS_DATE not in props:
        book.absent.append(OS_DATE)
        if START not in stac:
            raise reader.error(path, f"is missing, and so is {OS_ACQ_PARAMS}.{OS_BEGIN}")
        same = stac[START] == stac.get(END, stac[START])
        stac[DATETIME] = stac[START] if same else None
        _complete_range(stac, book)
        return
    text = reader.check(props.pop(OS_DATE), str, path)
    if "/" not in text:
        stac[DATETIME] = reader.datetime(text, path)
        canonical = _os_datetime(stac[DATETIME])
    else:
        first, _, second = text.partition("/")
        start = reader.datetime(first, path)
        end = reader.datetime(second, path)
        stac[DATETIME] = None
        if START not in stac and END not in stac:
            stac[START], stac[END] = start, end
            book.absent += [f"{OS_ACQ_INFO}.{OS_ACQ_PARAMS}.{key}" for key in (OS_BEGIN, OS_END)]
        elif START not in stac or END not in stac:
            raise reader.error(path, f"is an interval but {OS_ACQ_PARAMS} has one of {OS_BEGIN}/{OS_END}")
        canonical = f"{_os_datetime(stac[START])}/{_os_datetime(stac[END])}"
    if canonical != text:
        book.verbatim[OS_DATE] = text
    _complete_range(stac, book)


def _complete_range(stac: dict[str, Any], book: _Book) -> None:
    """Fill in the missing end of a range (STAC wants both or neither); the way back leaves it out."""
    for have, missing, key in ((START, END, OS_END), (END, START, OS_BEGIN)):
        if have in stac and missing not in stac:
            stac[missing] = stac[DATETIME] if stac.get(DATETIME) is not None else stac[have]
            book.absent.append(f"{OS_ACQ_INFO}.{OS_ACQ_PARAMS}.{key}")


def _links_to_assets(
    reader: _Reader, links: Any
) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]] | None]:
    """Make the link groups assets; also return each group's asset keys in order (``None``: no links)."""
    if links is None:
        return {}, None
    path = f"{OS_PROPERTIES}.{OS_LINKS}"
    reader.check(links, dict, path)
    assets: dict[str, dict[str, Any]] = {}
    layout: dict[str, list[str]] = {}
    for group, entries in links.items():
        layout[group] = []
        for i, link in enumerate(reader.check(entries, list, f"{path}.{group}")):
            where = f"{path}.{group}[{i}]"
            asset = _link_to_asset(reader, group, reader.check(link, dict, where), where)
            key = _unique_key(assets, _asset_key(link, asset))
            assets[key] = asset
            layout[group].append(key)
    return assets, layout


def _link_to_asset(reader: _Reader, group: str, link: Mapping[str, Any], path: str) -> dict[str, Any]:
    if link.get(OS_HREF) is None:
        raise reader.error(f"{path}.{OS_HREF}", "is missing")
    asset: dict[str, Any] = {"href": reader.check(link[OS_HREF], str, f"{path}.{OS_HREF}")}
    category = link.get(OS_CATEGORY)
    for key, value in link.items():
        where = f"{path}.{key}"
        if key == OS_HREF:
            continue
        if key in (OS_MEDIA_TYPE, OS_TITLE) and isinstance(value, str):
            asset[key] = value
        elif key == OS_LENGTH and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            asset[FILE_SIZE] = value
        elif key == OS_LENGTH:
            reader.check(value, int, where)
            asset[PREFIX + key] = value
        elif key == OS_CONFORMS_TO and isinstance(value, str) and value.startswith(_CRS_URL) \
                and value[len(_CRS_URL):].isdigit():
            asset[PROJ_CODE] = f"EPSG:{value[len(_CRS_URL):]}"
        elif key == OS_CATEGORY:
            asset[ASSET_CATEGORY] = value
        else:
            asset[PREFIX + key] = value
    asset["roles"] = _roles(group, link.get(OS_MEDIA_TYPE), category)
    return asset


def _roles(group: str, media_type: Any, category: Any) -> list[str]:
    if group == GROUP_DATA:
        roles = ["data"]
    elif group == GROUP_PREVIEWS:
        roles = ["thumbnail" if media_type in _THUMBNAIL_TYPES else "overview"]
    elif group == GROUP_ALTERNATES:
        roles = ["metadata"]
    elif group == GROUP_RELATED:
        roles = [] if isinstance(category, str) and category else ["related"]
    else:
        roles = [group]
    if isinstance(category, str) and category and category.lower() not in roles:
        roles.append(category.lower())
    return roles


def _asset_key(link: Mapping[str, Any], asset: Mapping[str, Any]) -> str:
    title = link.get(OS_TITLE)
    if isinstance(title, str) and title.strip():
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", title.strip())
    return str(asset["roles"][0])


def _unique_key(taken: Mapping[str, Any], key: str) -> str:
    if key not in taken:
        return key
    n = 2
    while f"{key}-{n}" in taken:
        n += 1
    return f"{key}-{n}"


def _extensions(fields: Mapping[str, Any], assets: Mapping[str, Mapping[str, Any]]) -> list[str]:
    prefixes = {key.split(":", 1)[0] for key in fields if ":" in key}
    for asset in assets.values():
        prefixes.update(key.split(":", 1)[0] for key in asset if ":" in key)
    urls = [url for prefix, url in _EXTENSION_BY_PREFIX.items() if prefix in prefixes]
    if _TIMESTAMP_FIELDS & set(fields):
        urls.append(EXT_TIMESTAMPS)
    return sorted(urls)


def stac_to_product(item: pystac.Item | Mapping[str, Any]) -> dict[str, Any]:
    """Translate a STAC Item back to an OpenSearch product (an OGC 17-047 GeoJSON Feature).

    An Item made by :func:`product_to_stac` gives back exactly the feature it was made from. Any other Item
    gives a plain product: one ``acquisitionInformation`` entry, assets sorted into link groups by role
    (``data``; ``thumbnail``/``overview``/``visual`` -> ``previews``; ``metadata`` -> ``alternates``; the rest
    ``related``).

    Caveats:
        STAC fields with no OpenSearch member (``gsd``, ``proj:*`` at item level, other providers' fields) are
        left out. With several ``instruments``, each after the first gets its own ``acquisitionInformation``
        entry.

    Raises:
        TransformError: the Item has no id.
    """
    stac = _as_dict(item)
    item_id = stac.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise TransformError(PROVIDER, None, "id", "is missing")
    props: Mapping[str, Any] = stac.get("properties") or {}
    verbatim: Mapping[str, Any] = props.get(KEEP_VERBATIM) or {}
    absent = set(props.get(KEEP_ABSENT) or ())
    out: dict[str, Any] = {}

    for codec in _TOP_CODECS:
        if props.get(codec.stac_key) is not None:
            out[codec.os_key] = _from_stac(codec, props, verbatim, OS_PROPERTIES)
    if OS_IDENTIFIER not in absent:
        out[OS_IDENTIFIER] = props.get(KEEP_IDENTIFIER, item_id)
    if stac.get("collection") is not None:
        out[OS_PARENT] = stac["collection"]
    if OS_DATE not in absent:
        out[OS_DATE] = _date_from_stac(props, verbatim)
    acquisition = _acquisition_from_stac(props, verbatim, absent)
    if acquisition is not None:
        out[OS_ACQ_INFO] = acquisition
    info = _product_info_from_stac(props, verbatim)
    if info is not None:
        out[OS_PRODUCT_INFO] = info
    links = _assets_to_links(stac.get("assets") or {}, props.get(KEEP_LINKS))
    if links is not None:
        out[OS_LINKS] = links
    for key, value in props.items():
        if key.startswith(PREFIX) and key not in _PRODUCT_BOOKKEEPING:
            out[key[len(PREFIX):]] = _common.copy_json(value)

    feature: dict[str, Any] = {
        OS_TYPE: "Feature",
        OS_ID: item_id,
        OS_GEOMETRY: _common.copy_json(stac.get("geometry")),
    }
    if OS_BBOX not in absent and stac.get("bbox") is not None:
        feature[OS_BBOX] = list(stac["bbox"])
    feature[OS_PROPERTIES] = out
    feature.update(_common.copy_json(props.get(KEEP_MEMBERS) or {}))
    return feature


def _as_dict(obj: pystac.STACObject | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(obj, pystac.STACObject):
        return obj.to_dict(include_self_link=False, transform_hrefs=False)
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TransformError(PROVIDER, None, None, f"expected a STAC object, got {type(obj).__name__}")


def _date_from_stac(props: Mapping[str, Any], verbatim: Mapping[str, Any]) -> str:
    kept = verbatim.get(OS_DATE)
    value = props.get(DATETIME)
    if value is not None:
        if isinstance(kept, str) and "/" not in kept and _same_instant(kept, value):
            return kept
        return _os_datetime(value)
    if isinstance(kept, str) and "/" in kept:
        return kept
    return f"{_os_datetime(props[START])}/{_os_datetime(props[END])}"


def _same_instant(text: str, stac_value: str) -> bool:
    try:
        return _common.parse_datetime(text) == _common.parse_datetime(stac_value)
    except ValueError:
        return False


def _acquisition_from_stac(
    props: Mapping[str, Any], verbatim: Mapping[str, Any], absent: set[str]
) -> list[Any] | None:
    groups: dict[str, dict[str, Any]] = {}
    for group, codecs in _ACQ_CODECS.items():
        values: dict[str, Any] = {}
        path = f"{OS_ACQ_INFO}.{group}"
        for codec in codecs:
            if props.get(codec.stac_key) is not None and f"{path}.{codec.os_key}" not in absent:
                values[codec.os_key] = _from_stac(codec, props, verbatim, path)
        if group == OS_ACQ_ANGLES and f"{path}.{OS_ZENITH}" in verbatim and OS_ELEVATION in values:
            del values[OS_ELEVATION]
            values[OS_ZENITH] = _from_stac(_ZENITH_CODEC, props, verbatim, path)
        if values:
            groups[group] = values
    extra_instruments: list[str] = []
    instruments = props.get(INSTRUMENTS)
    if isinstance(instruments, list) and len(instruments) > 1:
        extra_instruments = [str(i) for i in instruments[1:]]
    kept = props.get(KEEP_ACQ_INFO)
    if kept is None:
        if not groups:
            return None
        entries: list[Any] = [{g: groups[g] for g in _ACQ_GROUPS if g in groups}]
    else:
        entries = _common.copy_json(kept)
        for group, values in groups.items():
            target = next((e for e in entries if isinstance(e, dict) and group in e), None)
            if target is None:
                if not entries or not isinstance(entries[0], dict):
                    entries.insert(0, {})
                target = entries[0]
            target.setdefault(group, {}).update(values)
    entries += [{OS_INSTRUMENT: {OS_INSTRUMENT_NAME: name}} for name in extra_instruments]
    return entries


def _product_info_from_stac(props: Mapping[str, Any], verbatim: Mapping[str, Any]) -> dict[str, Any] | None:
    kept = props.get(KEEP_PRODUCT_INFO)
    info: dict[str, Any] = _common.copy_json(dict(kept)) if isinstance(kept, Mapping) else {}
    for codec in _PRODUCT_INFO_CODECS:
        if props.get(codec.stac_key) is not None:
            info[codec.os_key] = _from_stac(codec, props, verbatim, OS_PRODUCT_INFO)
    return info if info or kept is not None else None


def _assets_to_links(
    assets: Mapping[str, Mapping[str, Any]], layout: Mapping[str, list[str]] | None
) -> dict[str, list[dict[str, Any]]] | None:
    if layout is None and not assets:
        return None
    links: dict[str, list[dict[str, Any]]] = {}
    placed: set[str] = set()
    for group, keys in (layout or {}).items():
        links[group] = [_asset_to_link(assets[k]) for k in keys if k in assets]
        placed.update(keys)
    for key, asset in assets.items():
        if key not in placed:
            links.setdefault(_group_of(asset.get("roles") or []), []).append(_asset_to_link(asset))
    return links


def _group_of(roles: list[str]) -> str:
    if "data" in roles:
        return GROUP_DATA
    if {"thumbnail", "overview", "visual"} & set(roles):
        return GROUP_PREVIEWS
    if "metadata" in roles:
        return GROUP_ALTERNATES
    return GROUP_RELATED


def _asset_to_link(asset: Mapping[str, Any]) -> dict[str, Any]:
    link: dict[str, Any] = {OS_HREF: asset["href"]}
    for key, value in asset.items():
        if key in (OS_MEDIA_TYPE, OS_TITLE):
            link[key] = value
        elif key == FILE_SIZE:
            link[OS_LENGTH] = value
        elif key == PROJ_CODE and isinstance(value, str) and value.upper().startswith("EPSG:"):
            link[OS_CONFORMS_TO] = _CRS_URL + value.split(":", 1)[1]
        elif key == ASSET_CATEGORY:
            link[OS_CATEGORY] = value
        elif key.startswith(PREFIX):
            link[key[len(PREFIX):]] = _common.copy_json(value)
    return link


# --- collections --------------------------------------------------------------------------------------------

def collection_to_stac(feature: Mapping[str, Any]) -> pystac.Collection:
    """Translate an OpenSearch collection (an OGC 17-047 GeoJSON Feature) to a STAC 1.1 Collection.

    Args:
        feature: One element of the ``features`` of a ``collections`` answer.

    Returns:
        The Collection: ``abstract`` -> ``description``, ``keyword`` -> ``keywords``, ``date`` ->
        ``extent.temporal``, ``bbox`` -> ``extent.spatial``, the link groups -> links (``previews`` as rel
        ``preview``, ``alternates`` as ``alternate``, the others under their own name), and ``summaries`` of
        ``constellation``/``platform``/``instruments`` read from ``acquisitionInformation``.

    Caveats:
        ``rights`` is free text: it becomes ``license`` only when it is an SPDX-like identifier; otherwise
        ``license`` is ``other`` and the text stays in ``opensearch:rights``. ``acquisitionInformation``,
        ``bands``, ``distribution``, ``contactPoint``... are kept whole under ``opensearch:``; the summaries
        are read from them and are not used on the way back while they are there.

    Raises:
        TransformError: the feature has no id, neither bbox nor geometry, an unparsable ``date``, or a member
            of the wrong JSON type; the error names the provider, the record id and the member's path.
    """
    reader, collection_id, props = _open_feature(feature)
    book = _Book(reader)
    out: dict[str, Any] = {}

    _identifier(props, collection_id, out, book)
    title = props.pop(OS_TITLE, None)
    description = props.pop(OS_ABSTRACT, None)
    if description is None:
        book.absent.append(OS_ABSTRACT)
        description = title if isinstance(title, str) and title else collection_id
    reader.check(description, str, f"{OS_PROPERTIES}.{OS_ABSTRACT}")
    license_id = _license(reader, props, out)
    # pystac writes no empty ``keywords``: an empty list stays in ``opensearch:keyword``.
    keywords = props.pop(OS_KEYWORD) if props.get(OS_KEYWORD) else None
    if keywords is not None:
        for i, word in enumerate(reader.check(keywords, list, f"{OS_PROPERTIES}.{OS_KEYWORD}")):
            reader.check(word, str, f"{OS_PROPERTIES}.{OS_KEYWORD}[{i}]")
    if OS_UPDATED in props:
        book.apply(_when(OS_UPDATED, UPDATED), props, OS_PROPERTIES, out)
    interval = _collection_date(reader, props, book)
    bbox = _collection_bbox(reader, feature, book, out)
    summaries = _summaries(reader, props.get(OS_ACQ_INFO))
    links = _collection_links(reader, props.pop(OS_LINKS, None))
    _keep_the_rest(feature, props, out, book, collection_id)

    collection: dict[str, Any] = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": collection_id,
        "description": description,
        "license": license_id,
        "extent": {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [interval]}},
        "links": links,
    }
    if title is not None:
        collection[TITLE] = reader.check(title, str, f"{OS_PROPERTIES}.{OS_TITLE}")
    if keywords is not None:
        collection["keywords"] = keywords
    if summaries:
        collection["summaries"] = summaries
    collection.update(out)
    try:
        return pystac.Collection.from_dict(collection, migrate=False, preserve_dict=False)
    except (ValueError, TypeError, KeyError) as exc:
        raise reader.error(None, f"does not make a STAC Collection: {exc}") from exc


def _license(reader: _Reader, props: dict[str, Any], out: dict[str, Any]) -> str:
    rights = props.pop(OS_RIGHTS, None)
    if rights is None:
        return "other"
    reader.check(rights, str, f"{OS_PROPERTIES}.{OS_RIGHTS}")
    if _LICENSE.match(rights) and rights.lower() not in _NOT_SPDX:
        return str(rights)
    out[KEEP_RIGHTS] = rights
    return "other"


def _collection_date(reader: _Reader, props: dict[str, Any], book: _Book) -> list[str | None]:
    path = f"{OS_PROPERTIES}.{OS_DATE}"
    if OS_DATE not in props:
        book.absent.append(OS_DATE)
        return [None, None]
    text = reader.check(props.pop(OS_DATE), str, path)
    first, slash, second = text.partition("/")
    start = reader.datetime(first, path) if first not in ("", "..") else None
    end = reader.datetime(second, path) if second not in ("", "..") else None
    if _interval_text(start, end) != text:
        book.verbatim[OS_DATE] = text
    return [start, end]


def _interval_text(start: str | None, end: str | None) -> str:
    return f"{_os_datetime(start) if start else ''}/{_os_datetime(end) if end else ''}"


def _collection_bbox(
    reader: _Reader, feature: Mapping[str, Any], book: _Book, out: dict[str, Any]
) -> list[float]:
    geometry = feature.get(OS_GEOMETRY)
    if geometry is None and feature.get(OS_BBOX) is None:
        raise reader.error(OS_GEOMETRY, "is missing, and so is bbox")
    if geometry is None:
        book.absent.append(OS_GEOMETRY)
    else:
        reader.check(geometry, dict, OS_GEOMETRY)
    bbox = _feature_bbox(reader, feature, geometry, book)
    if geometry is not None and geometry != _bbox_polygon(bbox):
        out[KEEP_GEOMETRY] = _common.copy_json(geometry)
    return bbox


def _bbox_polygon(bbox: list[float]) -> dict[str, Any]:
    west, south, east, north = (bbox[0], bbox[1], bbox[3], bbox[4]) if len(bbox) == 6 else bbox
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


def _summaries(reader: _Reader, entries: Any) -> dict[str, list[str]]:
    if entries is None:
        return {}
    path = f"{OS_PROPERTIES}.{OS_ACQ_INFO}"
    reader.check(entries, list, path)
    found: dict[str, list[str]] = {CONSTELLATION: [], PLATFORM: [], INSTRUMENTS: []}
    sources = ((OS_PLATFORM, OS_SHORT_NAME, CONSTELLATION), (OS_PLATFORM, OS_SERIAL, PLATFORM),
               (OS_INSTRUMENT, OS_INSTRUMENT_NAME, INSTRUMENTS))
    for i, entry in enumerate(entries):
        reader.check(entry, dict, f"{path}[{i}]")
        for group, key, field in sources:
            value = entry.get(group, {}).get(key) if isinstance(entry.get(group), dict) else None
            if value is not None:
                reader.check(value, str, f"{path}[{i}].{group}.{key}")
                if value and value not in found[field]:
                    found[field].append(value)
    return {k: v for k, v in found.items() if v}


def _collection_links(reader: _Reader, groups: Any) -> list[dict[str, Any]]:
    if groups is None:
        return []
    path = f"{OS_PROPERTIES}.{OS_LINKS}"
    reader.check(groups, dict, path)
    links: list[dict[str, Any]] = []
    for group, entries in groups.items():
        if group in _STRUCTURAL_RELS:
            raise reader.error(f"{path}.{group}", "is a link relation STAC reserves for its own structure")
        for i, link in enumerate(reader.check(entries, list, f"{path}.{group}")):
            where = f"{path}.{group}[{i}]"
            reader.check(link, dict, where)
            if link.get(OS_HREF) is None:
                raise reader.error(f"{where}.{OS_HREF}", "is missing")
            out: dict[str, Any] = {"rel": _COLLECTION_REL.get(group, group),
                                   "href": reader.check(link[OS_HREF], str, f"{where}.{OS_HREF}")}
            for key, value in link.items():
                if key in (OS_MEDIA_TYPE, OS_TITLE) and isinstance(value, str):
                    out[key] = value
                elif key != OS_HREF:
                    out[PREFIX + key] = value
            links.append(out)
    return links


def stac_to_collection(collection: pystac.Collection | Mapping[str, Any]) -> dict[str, Any]:
    """Translate a STAC Collection back to an OpenSearch collection (an OGC 17-047 GeoJSON Feature).

    A Collection made by :func:`collection_to_stac` gives back exactly the feature it was made from. For any
    other Collection, ``acquisitionInformation`` is built from the ``constellation``/``platform``/
    ``instruments`` summaries, and the geometry is the first spatial extent box as a polygon.

    Caveats:
        Links a STAC catalog or API adds itself (``self``, ``root``, ``parent``, ``items``...) are not
        OpenSearch link groups and are left out.

    Raises:
        TransformError: the Collection has no id or no spatial extent.
    """
    stac = _as_dict(collection)
    collection_id = stac.get("id")
    if not isinstance(collection_id, str) or not collection_id:
        raise TransformError(PROVIDER, None, "id", "is missing")
    verbatim: Mapping[str, Any] = stac.get(KEEP_VERBATIM) or {}
    absent = set(stac.get(KEEP_ABSENT) or ())
    props: dict[str, Any] = {}
    if stac.get(TITLE) is not None:
        props[OS_TITLE] = stac[TITLE]
    if OS_IDENTIFIER not in absent:
        props[OS_IDENTIFIER] = stac.get(KEEP_IDENTIFIER, collection_id)
    if OS_ABSTRACT not in absent and stac.get("description") is not None:
        props[OS_ABSTRACT] = stac["description"]
    if KEEP_RIGHTS in stac:
        props[OS_RIGHTS] = stac[KEEP_RIGHTS]
    elif stac.get("license") and str(stac["license"]).lower() not in _NOT_SPDX:
        props[OS_RIGHTS] = stac["license"]
    if OS_DATE not in absent:
        props[OS_DATE] = _collection_date_from_stac(stac, verbatim)
    if stac.get(UPDATED) is not None:
        props[OS_UPDATED] = _from_stac(_when(OS_UPDATED, UPDATED), stac, verbatim, OS_PROPERTIES)
    if stac.get("keywords") is not None:
        props[OS_KEYWORD] = list(stac["keywords"])
    if KEEP_ACQ_INFO not in stac:
        acquisition = _acquisition_from_summaries(stac.get("summaries") or {})
        if acquisition:
            props[OS_ACQ_INFO] = acquisition
    links = _links_from_stac(stac.get("links") or [])
    if links:
        props[OS_LINKS] = links
    for key, value in stac.items():
        if key.startswith(PREFIX) and key not in _COLLECTION_BOOKKEEPING:
            props[key[len(PREFIX):]] = _common.copy_json(value)

    bboxes = ((stac.get("extent") or {}).get("spatial") or {}).get("bbox") or []
    if not bboxes:
        raise TransformError(PROVIDER, collection_id, "extent.spatial.bbox", "is missing")
    bbox = list(bboxes[0])
    feature: dict[str, Any] = {OS_TYPE: "Feature", OS_ID: collection_id}
    if OS_GEOMETRY not in absent:
        feature[OS_GEOMETRY] = _common.copy_json(stac.get(KEEP_GEOMETRY) or _bbox_polygon(bbox))
    if OS_BBOX not in absent:
        feature[OS_BBOX] = bbox
    feature[OS_PROPERTIES] = props
    feature.update(_common.copy_json(stac.get(KEEP_MEMBERS) or {}))
    return feature


def _collection_date_from_stac(stac: Mapping[str, Any], verbatim: Mapping[str, Any]) -> str:
    intervals = ((stac.get("extent") or {}).get("temporal") or {}).get("interval") or [[None, None]]
    start, end = intervals[0]
    kept = verbatim.get(OS_DATE)
    if isinstance(kept, str):
        first, _, second = kept.partition("/")
        if _same_bound(first, start) and _same_bound(second, end):
            return kept
    return _interval_text(start, end)


def _same_bound(text: str, value: str | None) -> bool:
    if text in ("", ".."):
        return value is None
    return value is not None and _same_instant(text, value)


def _acquisition_from_summaries(summaries: Mapping[str, Any]) -> list[dict[str, Any]]:
    platforms = list(summaries.get(PLATFORM) or [])
    constellations = list(summaries.get(CONSTELLATION) or [])
    instruments = list(summaries.get(INSTRUMENTS) or [])
    entries: list[dict[str, Any]] = []
    for i in range(max(len(platforms), len(constellations), 1 if instruments else 0)):
        entry: dict[str, Any] = {}
        platform: dict[str, Any] = {}
        if constellations:
            platform[OS_SHORT_NAME] = constellations[min(i, len(constellations) - 1)]
        if i < len(platforms):
            platform[OS_SERIAL] = platforms[i]
        if platform:
            entry[OS_PLATFORM] = platform
        if instruments:
            entry[OS_INSTRUMENT] = {OS_INSTRUMENT_NAME: instruments[0]}
        entries.append(entry)
    return entries


def _links_from_stac(links: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for link in links:
        rel = str(link.get("rel"))
        if rel in _STRUCTURAL_RELS or rel == "license":
            continue
        out: dict[str, Any] = {OS_HREF: link.get("href")}
        for key, value in link.items():
            if key in (OS_MEDIA_TYPE, OS_TITLE):
                out[key] = value
            elif key.startswith(PREFIX):
                out[key[len(PREFIX):]] = _common.copy_json(value)
        groups.setdefault(_COLLECTION_GROUP.get(rel, rel), []).append(out)
    return groups


# --- the adapter --------------------------------------------------------------------------------------------

_COLLECTION_MARKERS: Final = frozenset({OS_ABSTRACT, OS_KEYWORD, OS_RIGHTS, "categories", "contactPoint"})


class OpenSearchAdapter:
    """The OpenSearch transforms under the :class:`~stac_bridge.registry.Adapter` interface."""

    name = PROVIDER
    title = "Terrascope / VITO OpenSearch (OGC 17-047)"

    def classify(self, raw: Mapping[str, Any]) -> ProviderRecord:
        """Classify a feature: a collection (``abstract``, no ``parentIdentifier``...) or a product."""
        record_id = _record_id(raw)
        if not isinstance(raw, Mapping) or raw.get(OS_TYPE) != "Feature":
            kind = raw.get(OS_TYPE) if isinstance(raw, Mapping) else type(raw).__name__
            raise TransformError(PROVIDER, record_id, OS_TYPE, f"is {kind!r}, not a GeoJSON Feature")
        props = raw.get(OS_PROPERTIES)
        if not isinstance(props, Mapping):
            raise TransformError(PROVIDER, record_id, OS_PROPERTIES, "is missing or not an object")
        if OS_PARENT not in props and _COLLECTION_MARKERS & set(props):
            return ProviderRecord("collection", raw)
        if OS_PARENT in props or OS_ACQ_INFO in props or OS_PRODUCT_INFO in props or OS_LINKS in props:
            return ProviderRecord("product", raw)
        raise TransformError(PROVIDER, record_id, OS_PROPERTIES, "is neither a collection nor a product")

    def to_stac(self, record: ProviderRecord) -> dict[str, Any]:
        """Translate the record to a STAC Collection or Item dict."""
        if record.kind == "collection":
            return collection_to_stac(record.data).to_dict(include_self_link=False, transform_hrefs=False)
        if record.kind == "product":
            return _product_item(record.data)  # product_to_stac's dict, without a pystac round trip
        raise TransformError(PROVIDER, record.id, None, f"unknown record kind {record.kind!r}")

    def from_stac(self, stac: Mapping[str, Any]) -> dict[str, Any]:
        """Translate a STAC Collection or Item back to an OpenSearch Feature."""
        kind = stac.get("type")
        if kind == "Collection":
            return stac_to_collection(stac)
        if kind == "Feature":
            return stac_to_product(stac)
        raise TransformError(PROVIDER, _record_id(stac), "type", f"is {kind!r}, not Feature or Collection")


ADAPTER: Final = OpenSearchAdapter()
