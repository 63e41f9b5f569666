"""Capella Space <-> STAC: catalog items (STAC with vendor habits) and tasking requests (not STAC at all).

Catalog items are normalised to valid STAC 1.1: every extension whose fields are used is declared in its
current version (sar v1.3, sat v1.2, view v1.1, projection v2, processing v1.2), projection v1 ``proj:epsg``
becomes ``proj:code``, ``view:look_angle`` (no such field in the view extension) becomes ``view:off_nadir``
(the same angle: between nadir and the line of sight at the sensor), and fields of no published extension
(``locale:*``) or unknown to their extension go under ``capella:`` (``locale:time`` ->
``capella:locale_time``). Datetimes are rewritten in UTC with a ``Z``. What was changed is recorded in
``capella:normalization``, so the way back gives Capella's own form exactly.

Tasking requests (``POST /task`` bodies and answers) become Items of the ``capella-tasking`` collection: the
AOI is the geometry, ``windowOpen``/``windowClose`` the ``start_datetime``/``end_datetime``, name and
description the ``title``/``description``, ``submissionTime`` ``created``, and everything else (status
history, constraints, processing config, ids) ``capella:`` fields in snake case; ``capella:status`` is the
latest status code.

The docs page ``docs/providers/capella.md`` has the full table.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

import pystac

from stac_bridge.errors import TransformError
from stac_bridge.registry import ProviderRecord
from stac_bridge.transforms import _common
from stac_bridge.transforms._common import Fields, copy_json, json_type_problem

__all__ = [
    "ADAPTER",
    "ARCHIVE_COLLECTION_ID",
    "TASKING_COLLECTION_ID",
    "catalog_collection",
    "item_to_stac",
    "stac_to_item",
    "stac_to_tasking_request",
    "tasking_collection",
    "tasking_request_to_stac",
]

PROVIDER: Final = "capella"
#: Bumped whenever the STAC this module writes changes.
TRANSFORM_VERSION: Final = 1
STAC_VERSION: Final = "1.1.0"
TASKING_COLLECTION_ID: Final = "capella-tasking"
#: The collection of Capella's own archive, which its catalog search returns by default.
ARCHIVE_COLLECTION_ID: Final = "capella-archive"

# --- field names ------------------------------------------------------------------------------------------

TYPE: Final = "type"
ID: Final = "id"
GEOMETRY: Final = "geometry"
BBOX: Final = "bbox"
PROPERTIES: Final = "properties"
ASSETS: Final = "assets"
LINKS: Final = "links"
COLLECTION: Final = "collection"
STAC_VERSION_KEY: Final = "stac_version"
STAC_EXTENSIONS: Final = "stac_extensions"
FEATURE: Final = "Feature"

DATETIME: Final = "datetime"
START_DATETIME: Final = "start_datetime"
END_DATETIME: Final = "end_datetime"
CREATED: Final = "created"
UPDATED: Final = "updated"
TITLE: Final = "title"
DESCRIPTION: Final = "description"

PROJ_EPSG: Final = "proj:epsg"
PROJ_CODE: Final = "proj:code"
VIEW_LOOK_ANGLE: Final = "view:look_angle"
VIEW_OFF_NADIR: Final = "view:off_nadir"

CAPELLA_PREFIX: Final = "capella:"
CAPELLA_STATUS: Final = "capella:status"
#: Where an output records what was changed, so that the way back is exact.
NORMALIZATION: Final = "capella:normalization"

# Keys of the NORMALIZATION record.
REC_KIND: Final = "record"
REC_STAC_VERSION: Final = "stac_version"
REC_STAC_EXTENSIONS: Final = "stac_extensions"
REC_ADDED: Final = "added"
REC_COLLECTION_LINK: Final = "collection_link"
REC_RENAMED: Final = "renamed"
REC_DISPLACED: Final = "displaced"
REC_REFORMATTED: Final = "reformatted"
REC_ASSETS: Final = "assets"
REC_FEATURE: Final = "feature"
KIND_ITEM: Final = "item"
KIND_TASKING: Final = "tasking_request"
#: A STAC Collection document, passed through (Capella's catalog serves its collections as STAC already).
KIND_COLLECTION: Final = "collection"

# Tasking request (Capella wire names).
TR_ID: Final = "taskingrequestId"
TR_NAME: Final = "taskingrequestName"
TR_DESCRIPTION: Final = "taskingrequestDescription"
TR_WINDOW_OPEN: Final = "windowOpen"
TR_WINDOW_CLOSE: Final = "windowClose"
TR_SUBMISSION_TIME: Final = "submissionTime"
TR_STATUS_HISTORY: Final = "statusHistory"
TR_COLLECT_CONSTRAINTS: Final = "collectConstraints"

# --- extensions -------------------------------------------------------------------------------------------

#: prefix -> (schema URL written, fields that version defines). Versions are the newest the schemas hold.
_EXTENSIONS: Final[dict[str, tuple[str, frozenset[str]]]] = {
    "sar": (
        "https://stac-extensions.github.io/sar/v1.3.0/schema.json",
        frozenset({
            "sar:instrument_mode", "sar:frequency_band", "sar:center_frequency", "sar:bandwidth",
            "sar:polarizations", "sar:product_type", "sar:resolution_range", "sar:resolution_azimuth",
            "sar:pixel_spacing_range", "sar:pixel_spacing_azimuth", "sar:looks_range", "sar:looks_azimuth",
            "sar:looks_equivalent_number", "sar:observation_direction", "sar:beam_ids",
        }),
    ),
    "sat": (
        "https://stac-extensions.github.io/sat/v1.2.0/schema.json",
        frozenset({
            "sat:platform_international_designator", "sat:orbit_state", "sat:absolute_orbit",
            "sat:relative_orbit", "sat:anx_datetime", "sat:orbit_cycle", "sat:orbit_state_vectors",
            "sat:acquisition_station",
        }),
    ),
    "view": (
        "https://stac-extensions.github.io/view/v1.1.0/schema.json",
        frozenset({
            "view:off_nadir", "view:incidence_angle", "view:azimuth", "view:sun_azimuth",
            "view:sun_elevation", "view:moon_azimuth", "view:moon_elevation",
        }),
    ),
    "proj": (
        "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
        frozenset({
            "proj:code", "proj:wkt2", "proj:projjson", "proj:geometry", "proj:bbox", "proj:centroid",
            "proj:shape", "proj:transform",
        }),
    ),
    "processing": (
        "https://stac-extensions.github.io/processing/v1.2.0/schema.json",
        frozenset({
            "processing:expression", "processing:lineage", "processing:level", "processing:facility",
            "processing:version", "processing:datetime", "processing:software",
        }),
    ),
}

#: Renames with a standard home (source field -> STAC field).
_ITEM_RENAMES: Final[dict[str, str]] = {PROJ_EPSG: PROJ_CODE, VIEW_LOOK_ANGLE: VIEW_OFF_NADIR}

_NUMBER: Final = (float,)
#: JSON types of the fields this module knows (a wrong type is a TransformError naming the field).
_FIELD_KINDS: Final[dict[str, type | tuple[type, ...]]] = {
    "platform": str, "constellation": str, "instruments": list, "gsd": _NUMBER, TITLE: str, DESCRIPTION: str,
    "sar:instrument_mode": str, "sar:frequency_band": str, "sar:center_frequency": _NUMBER,
    "sar:bandwidth": _NUMBER, "sar:polarizations": list, "sar:product_type": str,
    "sar:resolution_range": _NUMBER, "sar:resolution_azimuth": _NUMBER, "sar:pixel_spacing_range": _NUMBER,
    "sar:pixel_spacing_azimuth": _NUMBER, "sar:looks_range": int, "sar:looks_azimuth": int,
    "sar:looks_equivalent_number": _NUMBER, "sar:observation_direction": str, "sar:beam_ids": list,
    "sat:platform_international_designator": str, "sat:orbit_state": str, "sat:absolute_orbit": int,
    "sat:relative_orbit": int, "sat:orbit_cycle": int, "sat:orbit_state_vectors": dict,
    "sat:acquisition_station": str,
    "view:off_nadir": _NUMBER, "view:incidence_angle": _NUMBER, "view:azimuth": _NUMBER,
    "view:sun_azimuth": _NUMBER, "view:sun_elevation": _NUMBER, "view:look_angle": _NUMBER,
    "view:moon_azimuth": _NUMBER, "view:moon_elevation": _NUMBER,
    PROJ_EPSG: int, PROJ_CODE: str, "proj:wkt2": str, "proj:projjson": dict, "proj:geometry": dict,
    "proj:bbox": list, "proj:centroid": dict, "proj:shape": list, "proj:transform": list,
    "processing:level": str, "processing:lineage": str, "processing:facility": str, "processing:version": str,
    "processing:software": dict, "processing:expression": dict,
}

#: Fields holding an RFC 3339 datetime: parsed (a TransformError when they are not) and written in UTC with Z.
_DATETIME_FIELDS: Final = frozenset(
    {DATETIME, START_DATETIME, END_DATETIME, CREATED, UPDATED, "sat:anx_datetime", "processing:datetime"}
)

_GEOMETRY_TYPES: Final = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}
)

# --- tasking requests -------------------------------------------------------------------------------------

#: Tasking request properties with a standard STAC home.
_TASKING_STANDARD: Final[dict[str, str]] = {
    TR_WINDOW_OPEN: START_DATETIME,
    TR_WINDOW_CLOSE: END_DATETIME,
    TR_SUBMISSION_TIME: CREATED,
    TR_NAME: TITLE,
    TR_DESCRIPTION: DESCRIPTION,
}
#: Capella names whose snake case is not the mechanical one (``taskingrequestId`` is two words to Capella),
#: and the homes of an empty name or description.
_TASKING_CAPELLA: Final[dict[str, str]] = {
    TR_ID: "capella:tasking_request_id",
    TR_NAME: "capella:tasking_request_name",
    TR_DESCRIPTION: "capella:tasking_request_description",
    "repeatrequestId": "capella:repeat_request_id",
    "customAttribute1": "capella:custom_attribute_1",
    "customAttribute2": "capella:custom_attribute_2",
}
_TASKING_KINDS: Final[dict[str, type | tuple[type, ...]]] = {
    TR_ID: str, TR_NAME: str, TR_DESCRIPTION: str, TR_STATUS_HISTORY: list, TR_COLLECT_CONSTRAINTS: dict,
}

_RESERVED: Final = frozenset({NORMALIZATION})
_TEXT_FIELDS: Final = (TR_NAME, TR_DESCRIPTION)
_CAMEL: Final = re.compile(r"(?<=[a-z0-9])([A-Z])")


# --- public functions -------------------------------------------------------------------------------------

def item_to_stac(item: Mapping[str, Any]) -> pystac.Item:
    """Normalise a Capella catalog item to schema-valid STAC 1.1.

    Args:
        item: One item as Capella's ``/catalog/search`` returns it (a feature of the ItemCollection).

    Returns:
        The normalised Item, with provenance (``stac_bridge:*``) and a ``capella:normalization`` record of
        what was changed. A ``collection`` link (``../collection.json``) is added when the item names a
        collection.

    Raises:
        TransformError: the item has no geometry, an unparsable datetime, an unknown ``proj:epsg`` or a field
            of the wrong JSON type; the error names the record id and the field.

    Caveats:
        Values are type-checked, not range-checked (an incidence angle of 120 passes through and fails schema
        validation). Extension URLs Capella declares but whose family this module does not know are dropped
        from ``stac_extensions`` (they are kept in the record for the way back); their fields stay as they
        are.

    """
    fields = Fields(PROVIDER, item)
    _require_feature(fields)
    source = fields.record
    props_in = fields.require(PROPERTIES, dict)
    geometry = _require_geometry(fields, GEOMETRY)
    assets_in = fields.get(ASSETS, dict, {})
    fields.require(ID, str)
    for key, asset in assets_in.items():
        _check_mapping(fields, key, asset)
    links_in = fields.get(LINKS, list)
    collection = fields.get(COLLECTION, str)

    record: dict[str, Any] = {REC_KIND: KIND_ITEM}
    added: list[str] = []
    props, props_record = _place(fields, PROPERTIES, props_in, _item_target, reserved=_RESERVED)
    _check_when(fields, props)
    record.update(props_record)

    assets: dict[str, Any] = {}
    assets_record: dict[str, Any] = {}
    for key, asset in assets_in.items():
        assets[key], asset_record = _place(fields, f"{ASSETS}.{key}", asset, _item_target)
        if asset_record:
            assets_record[key] = asset_record
    if assets_record:
        record[REC_ASSETS] = assets_record

    out: dict[str, Any] = {}
    for key, value in source.items():
        if key == PROPERTIES:
            out[key] = props
        elif key == ASSETS:
            out[key] = assets
        else:
            out[key] = copy_json(value)
    for key in (STAC_VERSION_KEY, STAC_EXTENSIONS):
        if key in source:
            record[key] = copy_json(source[key])
        else:
            added.append(key)
    out[STAC_VERSION_KEY] = STAC_VERSION
    out[STAC_EXTENSIONS] = _extensions_used(props, assets)
    if BBOX in source:
        _check_bbox(fields, source[BBOX])
    else:
        out[BBOX] = _bbox(fields, GEOMETRY, geometry)
        added.append(BBOX)
    for key, default in ((ASSETS, assets), (LINKS, [])):
        if key not in source:
            out[key] = default
            added.append(key)
    if collection is not None and not _has_collection_link(links_in or []):
        out[LINKS].append(_collection_link())
        record[REC_COLLECTION_LINK] = True
    if added:
        record[REC_ADDED] = added
    props.update(_common.provenance(PROVIDER, str(fields.record_id), TRANSFORM_VERSION))
    props[NORMALIZATION] = record
    return _to_pystac(fields, out)


def stac_to_item(item: pystac.Item | Mapping[str, Any]) -> dict[str, Any]:
    """Give back a catalog item in Capella's own form.

    Args:
        item: An Item made by :func:`item_to_stac` (a ``pystac.Item`` or its dict).

    Returns:
        The Capella item; for an Item made by :func:`item_to_stac`, exactly the item it was made from.

    Raises:
        TransformError: the Item is a tasking request, or is not an Item.

    Caveats:
        An Item without a ``capella:normalization`` record (made elsewhere) is written with Capella's habits:
        ``proj:code`` ``EPSG:n`` as ``proj:epsg``, ``view:off_nadir`` as ``view:look_angle``,
        ``capella:locale_*`` as ``locale:*``, STAC 1.0.0 and Capella's extension versions.

    """
    stac = _stac_dict(item)
    fields = Fields(PROVIDER, stac)
    props = dict(fields.require(PROPERTIES, dict))
    record = props.pop(NORMALIZATION, None)
    if record is None:
        record = _default_item_record(props)
    elif not isinstance(record, Mapping) or record.get(REC_KIND) != KIND_ITEM:
        raise fields.error(f"{PROPERTIES}.{NORMALIZATION}", "does not record a Capella catalog item")
    for key in _common.PROVENANCE_FIELDS:
        props.pop(key, None)

    out: dict[str, Any] = {}
    for key, value in stac.items():
        if key == PROPERTIES:
            out[key] = _restore(props, record)
        elif key == ASSETS and isinstance(value, Mapping):
            asset_records = record.get(REC_ASSETS, {})
            out[key] = {k: _restore(a, asset_records.get(k, {})) for k, a in value.items()}
        else:
            out[key] = value
    for key in (STAC_VERSION_KEY, STAC_EXTENSIONS):
        if key in record:
            out[key] = record[key]
    for key in record.get(REC_ADDED, []):
        out.pop(key, None)
    if record.get(REC_COLLECTION_LINK) and isinstance(out.get(LINKS), list):
        out[LINKS] = _without_last_collection_link(out[LINKS])
    return out


def tasking_request_to_stac(request: Mapping[str, Any]) -> pystac.Item:
    """Translate a Capella tasking request (a ``POST /task`` body or the API's answer) to a STAC Item.

    Args:
        request: The GeoJSON Feature whose ``properties`` hold ``windowOpen``, ``windowClose`` and the rest.

    Returns:
        An Item of the ``capella-tasking`` collection (see :func:`tasking_collection`): geometry = the AOI,
        ``datetime`` null with ``start_datetime``/``end_datetime`` = the window, ``title``/``description``/
        ``created`` from name, description and ``submissionTime``, ``capella:status`` = the latest status
        code, and every other property under ``capella:`` in snake case (``collectConstraints`` ->
        ``capella:collect_constraints``).

    Raises:
        TransformError: no geometry, no or unparsable window, or a field of the wrong JSON type.

    Caveats:
        The Item id is ``taskingrequestId``; a request not yet submitted has none, and gets
        ``capella-tasking-<16 hex digits of the SHA-256 of its canonical JSON>`` (stable, but a different
        request body gives a different id). An empty name or description stays under ``capella:`` (STAC
        refuses an empty description).

    """
    fields = _tasking_fields(request)
    _require_feature(fields)
    props_in = fields.require(PROPERTIES, dict)
    geometry = _require_geometry(fields, GEOMETRY)
    for key, kind in _TASKING_KINDS.items():
        fields.get(f"{PROPERTIES}.{key}", kind)
    for key in (TR_WINDOW_OPEN, TR_WINDOW_CLOSE):
        fields.datetime(f"{PROPERTIES}.{key}")

    props, record = _place(fields, PROPERTIES, props_in, _tasking_target, reserved=_RESERVED)
    record = {REC_KIND: KIND_TASKING, **record}
    status = _latest_status(props_in.get(TR_STATUS_HISTORY))
    if status is not None and CAPELLA_STATUS not in props:
        props[CAPELLA_STATUS] = status
        record[REC_ADDED] = [CAPELLA_STATUS]
    props[DATETIME] = None
    extra = {k: copy_json(v) for k, v in fields.record.items() if k not in (TYPE, GEOMETRY, PROPERTIES)}
    if extra:
        record[REC_FEATURE] = extra
    props.update(_common.provenance(PROVIDER, _tasking_id(fields), TRANSFORM_VERSION))
    props[NORMALIZATION] = record
    bbox = fields.record.get(BBOX)
    if bbox is not None:
        _check_bbox(fields, bbox)
    out: dict[str, Any] = {
        TYPE: FEATURE,
        STAC_VERSION_KEY: STAC_VERSION,
        STAC_EXTENSIONS: [],
        ID: _tasking_id(fields),
        GEOMETRY: copy_json(geometry),
        BBOX: copy_json(bbox) if bbox is not None else _bbox(fields, GEOMETRY, geometry),
        PROPERTIES: props,
        LINKS: [_collection_link()],
        ASSETS: {},
        COLLECTION: TASKING_COLLECTION_ID,
    }
    return _to_pystac(fields, out)


def stac_to_tasking_request(item: pystac.Item | Mapping[str, Any]) -> dict[str, Any]:
    """Give back a tasking request in Capella's wire form (a GeoJSON Feature).

    Args:
        item: An Item made by :func:`tasking_request_to_stac` (a ``pystac.Item`` or its dict).

    Returns:
        The request; for an Item made by :func:`tasking_request_to_stac`, exactly the request it was made
        from.

    Raises:
        TransformError: the Item has no geometry or window.

    Caveats:
        An Item made elsewhere (no ``capella:normalization`` record) is written with Capella's names:
        ``start_datetime``/``end_datetime`` as ``windowOpen``/``windowClose``, ``title`` as
        ``taskingrequestName``, ``capella:collect_constraints`` as ``collectConstraints`` and so on;
        ``capella:status`` is dropped (Capella derives it from ``statusHistory``).

    """
    stac = _stac_dict(item)
    fields = Fields(PROVIDER, stac)
    geometry = _require_geometry(fields, GEOMETRY)
    props = dict(fields.require(PROPERTIES, dict))
    record = props.pop(NORMALIZATION, None)
    if record is None:
        fields.require(f"{PROPERTIES}.{START_DATETIME}", str)
        fields.require(f"{PROPERTIES}.{END_DATETIME}", str)
        record = _default_tasking_record(props)
    elif not isinstance(record, Mapping) or record.get(REC_KIND) != KIND_TASKING:
        raise fields.error(f"{PROPERTIES}.{NORMALIZATION}", "does not record a Capella tasking request")
    for key in (*_common.PROVENANCE_FIELDS, DATETIME, *record.get(REC_ADDED, [])):
        props.pop(key, None)
    out: dict[str, Any] = {TYPE: FEATURE, GEOMETRY: geometry, PROPERTIES: _restore(props, record)}
    out.update(record.get(REC_FEATURE, {}))
    return out


def tasking_collection() -> pystac.Collection:
    """Build the Collection that holds the Items of :func:`tasking_request_to_stac`.

    Returns:
        ``capella-tasking``: global extent, open time range, Capella Space as producer.

    """
    return _collection(
        TASKING_COLLECTION_ID,
        "Capella Space tasking requests",
        "Requests to task a Capella Space SAR satellite: the area of interest as geometry, the collection "
        "window as start_datetime/end_datetime, status and collect constraints under capella:.",
        ["Capella Space", "SAR", "tasking"],
        "other",
    )


#: Titles, descriptions and licenses of the catalog collections Capella names in its documentation.
_CATALOG_COLLECTIONS: Final[dict[str, tuple[str, str, str]]] = {
    ARCHIVE_COLLECTION_ID: (
        "Capella Space SAR archive",
        "X-band SAR images of the Capella Space constellation (SLC, GEO, GEC, SICD, SIDD, CPHD products), "
        "as Capella's catalog serves them, normalised to STAC 1.1 by stac-bridge.",
        "other",
    ),
    "capella-open-data": (
        "Capella Space open data",
        "Capella Space SAR images released under Capella's open data programme.",
        "CC-BY-4.0",
    ),
}


def catalog_collection(collection_id: str = ARCHIVE_COLLECTION_ID) -> pystac.Collection:
    """Build the Collection of a Capella catalog collection (``capella-archive``, ``capella-open-data``...).

    Capella's console API searches its catalog by collection id but does not hand out Collection documents,
    so this one is made here, for the items of :func:`item_to_stac` to have a collection to be loaded into.

    Args:
        collection_id: The id the items name in their ``collection`` field.

    Returns:
        The Collection: global extent, open time range, Capella Space as producer; title, description and
        license of the collections Capella documents, the id as title for others.

    """
    title, description, license_ = _CATALOG_COLLECTIONS.get(
        collection_id, (collection_id, f"The Capella Space catalog collection {collection_id}.", "other")
    )
    return _collection(collection_id, title, description, ["Capella Space", "SAR", "X-band"], license_)


def _collection(
    collection_id: str, title: str, description: str, keywords: list[str], license_: str
) -> pystac.Collection:
    return pystac.Collection.from_dict(
        {
            TYPE: "Collection",
            STAC_VERSION_KEY: STAC_VERSION,
            STAC_EXTENSIONS: [],
            ID: collection_id,
            TITLE: title,
            DESCRIPTION: description,
            "keywords": keywords,
            "license": license_,
            "providers": [{"name": "Capella Space", "roles": ["producer"], "url": "https://www.capellaspace.com"}],
            "extent": {
                "spatial": {BBOX: [[-180.0, -90.0, 180.0, 90.0]]},
                "temporal": {"interval": [[None, None]]},
            },
            LINKS: [],
            **_common.provenance(PROVIDER, collection_id, TRANSFORM_VERSION),
        },
        migrate=False,
        preserve_dict=False,
    )


# --- placing fields ---------------------------------------------------------------------------------------

def _place(
    fields: Fields,
    where: str,
    source: Mapping[str, Any],
    target_of: Callable[[str, Any], str],
    *,
    reserved: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Move each field of ``source`` to where ``target_of`` says, checking types and normalising values.

    Returns the new mapping and a record of what changed: ``renamed`` (new -> original name), ``displaced``
    (original name -> value, for a field whose new name was taken) and ``reformatted`` (new name -> original
    value, for datetimes rewritten in UTC).
    """
    out: dict[str, Any] = {}
    renamed: dict[str, str] = {}
    displaced: dict[str, Any] = {}
    reformatted: dict[str, Any] = {}
    for key, value in source.items():
        target = target_of(key, value)
        if key in reserved or (target != key and (target in source or target in out or target in reserved)):
            displaced[key] = copy_json(value)
            continue
        path = f"{where}.{key}"
        kind = _FIELD_KINDS.get(key)
        if kind is not None and value is not None:
            _check(fields, path, value, kind)
        new_value = _convert(fields, path, key, target, value)
        if target != key:
            renamed[target] = key
        if target in _DATETIME_FIELDS and value is not None:
            new_value = _normalise_datetime(fields, path, value)
            if new_value != value:
                reformatted[target] = value
        out[target] = new_value
    record: dict[str, Any] = {}
    for name, part in ((REC_RENAMED, renamed), (REC_DISPLACED, displaced), (REC_REFORMATTED, reformatted)):
        if part:
            record[name] = part
    return out, record


def _restore(mapping: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """Undo :func:`_place` with its record."""
    renamed: Mapping[str, str] = record.get(REC_RENAMED, {})
    reformatted: Mapping[str, Any] = record.get(REC_REFORMATTED, {})
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        original = renamed.get(key, key)
        if key in reformatted:
            value = reformatted[key]
        out[original] = _convert_back(original, key, value)
    out.update(record.get(REC_DISPLACED, {}))
    return out


def _item_target(key: str, value: Any) -> str:
    """Where a Capella item field goes: its standard home, itself, or ``capella:<prefix>_<name>``."""
    if key in _ITEM_RENAMES:
        return _ITEM_RENAMES[key]
    prefix, colon, name = key.partition(":")
    if not colon or prefix == "capella":
        return key
    known = _EXTENSIONS.get(prefix)
    if known is not None and key in known[1]:
        return key
    return f"{CAPELLA_PREFIX}{prefix}_{name}"


def _tasking_target(key: str, value: Any) -> str:
    """Where a tasking request property goes: its STAC home, or ``capella:<snake_case>``."""
    # STAC has no room for an empty (or null) title or description: those stay Capella's.
    if key in _TASKING_STANDARD and (key not in _TEXT_FIELDS or (isinstance(value, str) and value)):
        return _TASKING_STANDARD[key]
    if key in _TASKING_CAPELLA:
        return _TASKING_CAPELLA[key]
    return CAPELLA_PREFIX + _CAMEL.sub(r"_\1", key).lower()


def _convert(fields: Fields, path: str, key: str, target: str, value: Any) -> Any:
    if key == PROJ_EPSG and target == PROJ_CODE:
        if value is None:
            return None
        try:
            return f"EPSG:{_common.epsg_code(value)}"
        except ValueError as exc:
            raise fields.error(path, f"is not a known CRS: {exc}") from exc
    return copy_json(value)


def _convert_back(original: str, key: str, value: Any) -> Any:
    if original == PROJ_EPSG and key == PROJ_CODE and isinstance(value, str):
        return int(value.rpartition(":")[2])
    return value


def _normalise_datetime(fields: Fields, path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise fields.error(path, f"must be an RFC 3339 datetime string, got {value!r:.80}")
    try:
        return _common.format_datetime(_common.parse_datetime(value))
    except ValueError as exc:
        raise fields.error(path, f"is not an RFC 3339 datetime: {value!r}") from exc


# --- checks -----------------------------------------------------------------------------------------------

def _require_feature(fields: Fields) -> None:
    kind = fields.require(TYPE, str)
    if kind != FEATURE:
        raise fields.error(TYPE, f"is {kind!r}, not 'Feature'")


def _require_geometry(fields: Fields, path: str) -> Mapping[str, Any]:
    geometry: Mapping[str, Any] = fields.require(path, dict)
    kind = geometry.get(TYPE)
    if kind not in _GEOMETRY_TYPES:
        raise fields.error(path, f"is not a GeoJSON geometry (type {kind!r})")
    member = "geometries" if kind == "GeometryCollection" else "coordinates"
    if not isinstance(geometry.get(member), list) or not geometry[member]:
        raise fields.error(f"{path}.{member}", "must be a non-empty array")
    return geometry


def _check_mapping(fields: Fields, key: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise fields.error(f"{ASSETS}.{key}", f"must be an object, got {value!r:.80}")


def _check(fields: Fields, path: str, value: Any, kind: type | tuple[type, ...]) -> None:
    problem = json_type_problem(value, kind)
    if problem is not None:
        raise fields.error(path, problem)


def _check_bbox(fields: Fields, bbox: Any) -> None:
    if not (
        isinstance(bbox, list)
        and len(bbox) in (4, 6)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox)
    ):
        raise fields.error(BBOX, f"must be an array of 4 or 6 numbers, got {bbox!r:.80}")


def _check_when(fields: Fields, props: Mapping[str, Any]) -> None:
    if props.get(DATETIME) is None and not (props.get(START_DATETIME) and props.get(END_DATETIME)):
        raise fields.error(f"{PROPERTIES}.{DATETIME}", "is missing (and there is no start/end_datetime)")


def _bbox(fields: Fields, path: str, geometry: Mapping[str, Any]) -> list[float]:
    try:
        return _common.bbox_of(geometry)
    except Exception as exc:  # shapely raises several unrelated types for malformed coordinates
        raise fields.error(path, f"is not a valid GeoJSON geometry: {exc}") from exc


# --- small helpers ----------------------------------------------------------------------------------------

def _extensions_used(props: Mapping[str, Any], assets: Mapping[str, Any]) -> list[str]:
    used = {key.partition(":")[0] for key in props}
    for asset in assets.values():
        used.update(key.partition(":")[0] for key in asset)
    return [url for prefix, (url, _) in _EXTENSIONS.items() if prefix in used]


def _collection_link() -> dict[str, Any]:
    return {"rel": "collection", "href": "../collection.json", TYPE: "application/json"}


def _has_collection_link(links: list[Any]) -> bool:
    return any(isinstance(link, Mapping) and link.get("rel") == "collection" for link in links)


def _without_last_collection_link(links: list[Any]) -> list[Any]:
    for index in range(len(links) - 1, -1, -1):
        if isinstance(links[index], Mapping) and links[index].get("rel") == "collection":
            return links[:index] + links[index + 1:]
    return links


def _latest_status(history: Any) -> str | None:
    if not isinstance(history, list):
        return None
    entries = [e for e in history if isinstance(e, Mapping) and isinstance(e.get("code"), str)]
    if not entries:
        return None
    # Capella lists the newest first, but sort by time to be sure; ISO strings in UTC sort as times.
    latest = max(entries, key=lambda e: str(e.get("time", "")))
    return str(latest["code"])


def _tasking_fields(request: Any) -> Fields:
    record_id = None
    if isinstance(request, Mapping) and isinstance(request.get(PROPERTIES), Mapping):
        raw = request[PROPERTIES].get(TR_ID)
        record_id = str(raw) if raw is not None else None
    return Fields(PROVIDER, request, record_id=record_id or _derived_id(request))


def _tasking_id(fields: Fields) -> str:
    return str(fields.record_id)


def _derived_id(request: Any) -> str | None:
    if not isinstance(request, Mapping):
        return None
    if isinstance(request.get(ID), str) and request[ID]:
        return str(request[ID])
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return f"{TASKING_COLLECTION_ID}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def _default_item_record(props: Mapping[str, Any]) -> dict[str, Any]:
    """Build the record an Item made elsewhere is read with: Capella's habits, nothing else."""
    renamed = {new: old for old, new in _ITEM_RENAMES.items() if new in props and old not in props}
    for key in props:
        if key.startswith(f"{CAPELLA_PREFIX}locale_"):
            renamed[key] = "locale:" + key[len(CAPELLA_PREFIX) + len("locale_"):]
    used = {key.partition(":")[0] for key in renamed.values()} | {key.partition(":")[0] for key in props}
    capella_urls = {
        "sar": "https://stac-extensions.github.io/sar/v1.0.0/schema.json",
        "sat": "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
        "view": "https://stac-extensions.github.io/view/v1.0.0/schema.json",
        "proj": "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    }
    return {
        REC_KIND: KIND_ITEM,
        REC_STAC_VERSION: "1.0.0",
        REC_STAC_EXTENSIONS: [url for prefix, url in capella_urls.items() if prefix in used],
        REC_RENAMED: renamed,
    }


def _default_tasking_record(props: Mapping[str, Any]) -> dict[str, Any]:
    inverse = {v: k for table in (_TASKING_STANDARD, _TASKING_CAPELLA) for k, v in table.items()}
    renamed: dict[str, str] = {}
    for key in props:
        if key in inverse:
            renamed[key] = inverse[key]
        elif key.startswith(CAPELLA_PREFIX):
            head, *rest = key[len(CAPELLA_PREFIX):].split("_")
            renamed[key] = head + "".join(part.capitalize() for part in rest)
    return {REC_KIND: KIND_TASKING, REC_RENAMED: renamed, REC_ADDED: [CAPELLA_STATUS]}


def _stac_dict(item: pystac.Item | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(item, pystac.Item):
        # pystac's dict shares the Item's properties: copy, so the result never aliases the Item.
        stac: dict[str, Any] = copy_json(item.to_dict(include_self_link=True, transform_hrefs=False))
        return stac
    if isinstance(item, Mapping):
        # One copy here; everything after it works on this copy, so the helpers copy nothing again.
        return {key: copy_json(value) for key, value in item.items()}
    raise TransformError(PROVIDER, None, None, f"expected a pystac.Item or a dict, got {type(item).__name__}")


def _to_pystac(fields: Fields, stac: dict[str, Any]) -> pystac.Item:
    try:
        return pystac.Item.from_dict(stac, migrate=False, preserve_dict=False)
    except (ValueError, TypeError, KeyError) as exc:
        raise fields.error(None, f"pystac refused the Item: {exc}") from exc


# --- the adapter ------------------------------------------------------------------------------------------

class CapellaAdapter:
    """Capella catalog items and tasking requests under the :class:`~stac_bridge.registry.Adapter` API."""

    name = PROVIDER
    title = "Capella Space"

    def classify(self, raw: Mapping[str, Any]) -> ProviderRecord:
        """Tell a catalog ``item`` from a ``tasking_request`` and a STAC ``collection``.

        Items are STAC-like (``stac_version`` or ``properties.datetime``); tasking requests have
        ``properties.windowOpen`` or ``properties.taskingrequestId``; a ``type: Collection`` document (such as
        :func:`catalog_collection` makes) is a collection, passed through as it is.
        """
        if isinstance(raw, Mapping) and raw.get(TYPE) == "Collection":
            return ProviderRecord(KIND_COLLECTION, raw)
        props = raw.get(PROPERTIES) if isinstance(raw, Mapping) else None
        if isinstance(props, Mapping):
            if TR_WINDOW_OPEN in props or TR_ID in props:
                return ProviderRecord(KIND_TASKING, raw)
            if STAC_VERSION_KEY in raw or DATETIME in props:
                return ProviderRecord(KIND_ITEM, raw)
        record_id = raw.get(ID) if isinstance(raw, Mapping) else None
        raise TransformError(
            PROVIDER,
            str(record_id) if record_id is not None else None,
            PROPERTIES,
            "is neither a catalog item (stac_version, properties.datetime) nor a tasking request "
            "(properties.windowOpen)",
        )

    def to_stac(self, record: ProviderRecord) -> dict[str, Any]:
        """Translate the record to a STAC Item dict (a collection comes out as it came in, checked by pystac)."""
        if record.kind == KIND_ITEM:
            stac = item_to_stac(record.data)
        elif record.kind == KIND_COLLECTION:
            return _collection_dict(record.data)
        elif record.kind == KIND_TASKING:
            stac = tasking_request_to_stac(record.data)
        else:
            raise TransformError(PROVIDER, record.id, None, f"unknown record kind {record.kind!r}")
        return stac.to_dict(include_self_link=True, transform_hrefs=False)

    def from_stac(self, stac: Mapping[str, Any]) -> dict[str, Any]:
        """Give back the Capella item or tasking request an Item was made from (a Collection as it is)."""
        if stac.get(TYPE) == "Collection":
            return _collection_dict(stac)
        props = stac.get(PROPERTIES)
        record = props.get(NORMALIZATION) if isinstance(props, Mapping) else None
        kind = record.get(REC_KIND) if isinstance(record, Mapping) else None
        if kind == KIND_TASKING or (kind is None and stac.get(COLLECTION) == TASKING_COLLECTION_ID):
            return stac_to_tasking_request(stac)
        return stac_to_item(stac)


def _collection_dict(collection: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a STAC Collection document, refused when pystac cannot read it."""
    copied: dict[str, Any] = copy_json(dict(collection))
    record_id = copied.get(ID)
    try:
        pystac.Collection.from_dict(copied, migrate=False, preserve_dict=True)
    except (ValueError, TypeError, KeyError, pystac.STACError, pystac.STACTypeError) as exc:
        raise TransformError(PROVIDER, str(record_id) if record_id is not None else None, None,
                             f"is not a STAC Collection: {exc}") from exc
    return copied


ADAPTER: Final = CapellaAdapter()
