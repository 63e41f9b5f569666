"""Capella Space tasking requests <-> STAC Items of the ``capella-tasking`` collection (:data:`TASKING_TABLE`).

A tasking request (a ``POST /task`` body, or the API's answer, which adds ``taskingrequestId``, ``userId``,
``statusHistory``...) is not STAC. Its AOI becomes the geometry, ``windowOpen``/``windowClose`` the
``start_datetime``/``end_datetime``, name and description the ``title``/``description``, ``submissionTime``
``created``, ``collectionType`` ``sar:instrument_mode``; the latest status is ``order:status`` and its time
``updated``. Everything else stays visible under ``capella:`` with Capella's own names, nested objects flattened
(``capella:collectConstraints.offNadirMax``). The status history, which the two derived fields sum up, is kept
in the ledger only, and ``windowDuration``, the window's length, is rebuilt from the window.

Also here: the helpers the catalog items of :mod:`stac_bridge.transforms.capella` share with the tasking
requests (geometry checks, the ``via`` link, pystac at the edge).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

import pystac
from pystac.extensions.sar import (
    FREQUENCY_BAND_PROP,
    INSTRUMENT_MODE_PROP,
    OBSERVATION_DIRECTION_PROP,
    POLARIZATIONS_PROP,
)
from pystac.extensions.sat import ORBIT_STATE_PROP

from stac_bridge.errors import TransformError
from stac_bridge.transforms import _common
from stac_bridge.transforms._plain import copy_json, format_datetime, parse_datetime
from stac_bridge.transforms.kernel import (
    EXTENSION_SCHEMAS,
    SOURCE,
    Codec,
    Field,
    Ledger,
    Reader,
    Table,
    one_of_list,
    same_json,
    schemas_of,
    source_of,
    source_tag,
)

__all__ = [
    "TASKING_TABLE", "UTC_DATETIME", "stac_to_tasking_request", "tasking_request_dict", "tasking_request_to_stac",
]

PROVIDER: Final = "capella"
#: Bumped whenever the STAC this package writes for Capella changes.
TRANSFORM_VERSION: Final = 2
STAC_VERSION: Final = "1.1.0"
PREFIX: Final = "capella:"
TASKING_COLLECTION_ID: Final = "capella-tasking"
#: Capella's console API, where the ``via`` links point.
API_URL: Final = "https://api.capellaspace.com"
KIND_TASKING: Final = "tasking_request"
TASKING_SOURCE: Final = source_tag(PROVIDER, KIND_TASKING, TRANSFORM_VERSION)
VIA_TITLE: Final = "Capella tasking request"
#: The latest status code, in the order extension (a tasking request is an order for a collect).
STATUS: Final = "order:status"
#: What every tasking request is for: a collect by Capella's X-band SAR constellation.
CONSTANTS: Final = {"constellation": "capella", FREQUENCY_BAND_PROP: "X"}

def _utc(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected an RFC 3339 string, got {value!r:.40}")
    parsed = parse_datetime(value)
    # Capella writes UTC with a Z and milliseconds or microseconds: valid RFC 3339, kept as written.
    return value if value.endswith("Z") and "T" in value else format_datetime(parsed)


#: RFC 3339 in UTC: Capella's ``...T22:18:57.936Z`` stays as it is; another offset is written in UTC with ``Z``
#: (the original in the ledger).
UTC_DATETIME: Final = Codec("RFC 3339, UTC with Z", _utc, lambda v: v)

def _sided(value: Any) -> bool:
    return value in ("left", "right")


def _passing(value: Any) -> bool:
    return value in ("ascending", "descending")


TASKING_TABLE: Final = Table(
    PROVIDER,
    "tasking request",
    (
        Field("windowOpen", "start_datetime", UTC_DATETIME, str),
        Field("windowClose", "end_datetime", UTC_DATETIME, str),
        Field("submissionTime", "created", UTC_DATETIME, str),
        Field("taskingrequestName", "title", kind=str),
        Field("taskingrequestDescription", "description", kind=str,
              note="an empty one stays `capella:taskingrequestDescription` (STAC refuses it)"),
        Field("collectionType", INSTRUMENT_MODE_PROP, kind=str),
        Field("collectConstraints.polarization", POLARIZATIONS_PROP, one_of_list(), str),
        Field("collectConstraints.lookDirection", OBSERVATION_DIRECTION_PROP, kind=str, accepts=_sided,
              note="`left`/`right`; `either` stays `capella:collectConstraints.lookDirection`"),
        Field("collectConstraints.ascDsc", ORBIT_STATE_PROP, kind=str, accepts=_passing,
              note="`ascending`/`descending`; `either` stays `capella:collectConstraints.ascDsc`"),
    ),
    prefix=PREFIX,
    own=(
        ("geometry", "geometry, computed bbox", "the AOI"),
        ("taskingrequestId", "Item id, via link .../task/{id}",
         "a body without one: `capella-tasking-<16 hex of the SHA-256 of its JSON>`"),
        ("statusHistory", "order:status, updated",
         "code and time of the latest entry; the history itself in the ledger"),
        ("windowDuration", "-", "the window's length in seconds, rebuilt from the window"),
        ("type", "sar:instrument_mode", "an answer's name for `collectionType`"),
    ),
)
_KINDS: Final[dict[str, type]] = {
    "taskingrequestId": str, "statusHistory": list, "collectConstraints": dict, "processingConfig": dict,
}
_GEOMETRY_TYPES: Final = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}
)
_COLLECTION_LINK: Final = {"rel": "collection", "href": "../collection.json", "type": "application/json"}


def tasking_request_to_stac(request: Mapping[str, Any]) -> pystac.Item:
    """Translate a Capella tasking request (a ``POST /task`` body or the API's answer) to a STAC Item.

    Args:
        request: The GeoJSON Feature whose ``properties`` hold ``windowOpen``, ``windowClose`` and the rest.

    Returns:
        An Item of the ``capella-tasking`` collection (see the module docstring), ``datetime`` null.

    Raises:
        TransformError: no geometry, no or unparsable window, or a field of the wrong JSON type.

    Caveats:
        The Item id is ``taskingrequestId``; a request not yet submitted has none, and gets
        ``capella-tasking-<16 hex digits of the SHA-256 of its canonical JSON>`` (stable, but a different
        request body gives a different id). An answer's status history is in the ledger only.

    """
    return to_pystac_item(tasking_request_dict(request), request)


def tasking_request_dict(request: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`tasking_request_to_stac` as a plain dict (the adapter's path)."""
    reader = Reader(PROVIDER, request, record_id=_tasking_id(request))
    kind = reader.require("type", str)
    if kind != "Feature":
        raise reader.error("type", f"is {kind!r}, not 'Feature'")
    geometry = require_geometry(reader)
    record = reader.nested("properties")
    for key, json_kind in _KINDS.items():
        record.get(key, json_kind)
    opens = record.datetime("windowOpen", required=True)
    closes = record.datetime("windowClose", required=True)
    ledger = Ledger()
    props = TASKING_TABLE.encode(unflattenable(record, ledger), ledger)
    if props.get("description") == "":
        props[PREFIX + "taskingrequestDescription"] = props.pop("description")
    for key in [k for k, v in props.items() if isinstance(v, dict)]:
        ledger.keep[f"properties.{key.removeprefix(PREFIX)}"] = props.pop(key)  # an empty object
    fields = record.record
    if fields.get("collectConstraints") == {}:
        # An empty object that holds a mapped path leaves no field behind: the ledger has it.
        ledger.keep["properties.collectConstraints"] = {}
    submitted = "taskingrequestId" in fields
    if "statusHistory" in fields:
        ledger.keep["properties.statusHistory"] = copy_json(fields["statusHistory"])
        _status(fields["statusHistory"], props)
    duration = (closes - opens).total_seconds() if opens and closes else None
    if "windowDuration" in fields:
        if not (submitted and same_json(fields["windowDuration"], _whole(duration))):
            props[PREFIX + "windowDuration"] = copy_json(fields["windowDuration"])
    elif submitted:
        ledger.absent.append("properties.windowDuration")
    _mode(fields, submitted, props, ledger)
    _echoes(reader.record_id, props, ledger)
    props.update(CONSTANTS)
    props["datetime"] = None
    props[SOURCE] = TASKING_SOURCE
    bbox = reader.get("bbox")
    if bbox is not None:
        check_bbox(reader, bbox)
    for key, value in reader.record.items():
        if key not in ("type", "geometry", "properties"):
            ledger.keep[key] = copy_json(value)
    links: list[dict[str, Any]] = [dict(_COLLECTION_LINK)]
    if submitted:
        links.append(via_link(f"{API_URL}/task/{reader.record_id}", VIA_TITLE))
    out: dict[str, Any] = {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "id": str(reader.record_id),
        "geometry": copy_json(geometry),
        "bbox": copy_json(bbox) if bbox is not None else geometry_bbox(reader, geometry),
        "properties": props,
        "links": links,
        "assets": {},
        "collection": TASKING_COLLECTION_ID,
    }
    declare(out)
    ledger.attach(out)
    return out


def stac_to_tasking_request(item: pystac.Item | Mapping[str, Any]) -> dict[str, Any]:
    """Give back a tasking request in Capella's wire form (a GeoJSON Feature).

    Args:
        item: An Item made by :func:`tasking_request_to_stac` (a ``pystac.Item`` or its dict).

    Returns:
        The request; exactly the one the Item was made from when the Item carries its ledger (an answer's
        status history is only there), and for a request body without it.

    Raises:
        TransformError: the Item is a catalog item, or has no geometry or window.

    Caveats:
        An Item made elsewhere is written with Capella's names (``start_datetime`` as ``windowOpen``...);
        ``order:status`` and ``updated`` are dropped (Capella derives them from ``statusHistory``).

    """
    stac = stac_dict(item)
    reader = Reader(PROVIDER, stac)
    found = source_of(stac)
    if found is not None and found[:2] != (PROVIDER, KIND_TASKING):
        raise reader.error(f"properties.{SOURCE}", f"is {found[0]}/{found[1]}, not a Capella tasking request")
    geometry = require_geometry(reader)
    reader.require("properties.start_datetime", str)
    reader.require("properties.end_datetime", str)
    derived = ("datetime", "updated", STATUS, SOURCE)
    stac_props = {k: v for k, v in reader.require("properties", dict).items() if k not in derived}
    props = TASKING_TABLE.decode(stac_props)
    submitted = any(isinstance(link, Mapping) and link.get("rel") == "via" and link.get("title") == VIA_TITLE
                    for link in stac.get("links") or ())
    if submitted:
        props["taskingrequestId"] = stac["id"]
        if "collectionType" in props and "type" not in props:
            props["type"] = props.pop("collectionType")
        if "windowDuration" not in props:
            opens, closes = parse_datetime(props["windowOpen"]), parse_datetime(props["windowClose"])
            props["windowDuration"] = _whole((closes - opens).total_seconds())
    out = {"type": "Feature", "geometry": copy_json(geometry), "properties": props}
    return Ledger.of(stac).apply(out)


def _mode(fields: Mapping[str, Any], submitted: bool, props: dict[str, Any], ledger: Ledger) -> None:
    """An answer names the instrument mode ``type``, a request body ``collectionType``; both are sar's.

    The way back writes the mode as ``type`` for a submitted request (one with an id) and ``collectionType``
    otherwise; the ledger says so when a record does otherwise.
    """
    mode = fields.get("type")
    if "collectionType" in fields:
        if "type" in fields:
            props[PREFIX + "type"] = copy_json(mode)
        elif submitted:
            ledger.keep["properties.collectionType"] = copy_json(fields["collectionType"])
            ledger.absent.append("properties.type")
    elif "type" in fields:
        if submitted and isinstance(mode, str):
            props[INSTRUMENT_MODE_PROP] = mode
        else:
            props[PREFIX + "type"] = copy_json(mode)


def _echoes(request_id: str | None, props: dict[str, Any], ledger: Ledger) -> None:
    """Move to the ledger the order's echoes of what the page already shows.

    Its line items' ``taskId`` (the request's own id) and its ``archiveHoldback`` (the request's): the way back
    needs them, a reader does not.
    """
    holdback = PREFIX + "archiveHoldback"
    echoes = [key for key, value in props.items() if key.startswith(_ORDER_LINES) and key.endswith(".taskId")
              and value == request_id]
    if holdback in props and props.get(_ORDER_HOLDBACK) == props[holdback]:
        echoes.append(_ORDER_HOLDBACK)
    for key in echoes:
        ledger.keep["properties." + key.removeprefix(PREFIX)] = props.pop(key)


_ORDER_LINES: Final = PREFIX + "order.lineItems."
_ORDER_HOLDBACK: Final = PREFIX + "order.archiveHoldback"


def _status(history: list[Any], props: dict[str, Any]) -> None:
    """``order:status`` and ``updated``: the code and time of the latest status (Capella lists it first)."""
    entries = [e for e in history if isinstance(e, Mapping) and isinstance(e.get("code"), str)]
    if not entries or STATUS in props:
        return
    latest = max(entries, key=lambda e: str(e.get("time", "")))  # ISO strings in UTC sort as times
    props[STATUS] = latest["code"]
    try:
        props["updated"] = format_datetime(parse_datetime(str(latest.get("time"))))
    except ValueError:
        return


def _whole(seconds: float | None) -> Any:
    return int(seconds) if seconds is not None and float(seconds).is_integer() else seconds


def _tasking_id(request: Any) -> str | None:
    if not isinstance(request, Mapping):
        return None
    props = request.get("properties")
    if isinstance(props, Mapping) and props.get("taskingrequestId") is not None:
        return str(props["taskingrequestId"])
    if isinstance(request.get("id"), str) and request["id"]:
        return str(request["id"])
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return f"{TASKING_COLLECTION_ID}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


# --- helpers shared with the catalog items ----------------------------------------------------------------

def flattenable(value: Any) -> bool:
    """Whether the kernel can flatten an object to dotted paths and split them again.

    No key is empty or holds a ``.``, a digit is a list index (``"¹"`` is not), and an object with a number
    key has only number keys (the kernel reads those as list indexes).
    """
    stack = [value]
    while stack:
        current = stack.pop()
        if type(current) is dict:
            numbers = 0
            for key, inner in current.items():
                if not key or "." in key:
                    return False
                if key.isdigit():
                    if not key.isdecimal():
                        return False
                    numbers += 1
                if type(inner) is dict or type(inner) is list:
                    stack.append(inner)
            if numbers and numbers != len(current):
                return False
        elif type(current) is list:
            stack.extend(inner for inner in current if type(inner) is dict or type(inner) is list)
    return True


def unflattenable(reader: Reader, ledger: Ledger) -> Reader:
    """A reader without the fields :func:`flattenable` refuses; they go to the ledger (Capella sends none)."""
    record = reader.record
    odd = [key for key, value in record.items() if isinstance(value, dict | list) and not flattenable(value)]
    if not odd:
        return reader
    for key in odd:
        ledger.keep[reader.path(key)] = copy_json(record[key])
    kept = {key: value for key, value in record.items() if key not in odd}
    return Reader(PROVIDER, kept, record_id=reader.record_id, at=reader.at)


#: pystac's SAR schema (v1.0.0) requires four fields a tasking request or a partial item lacks; v1.3.0 (the
#: current one) requires none and defines the same fields.
SAR_SCHEMA: Final = "https://stac-extensions.github.io/sar/v1.3.0/schema.json"


def declare(stac: dict[str, Any]) -> dict[str, Any]:
    """Set ``stac_extensions`` from the prefixes of the properties' and assets' fields.

    :func:`~stac_bridge.transforms.kernel.declare_extensions` walks every object of the Item; a Capella Item has
    its fields in these two places only, so this one looks there (a quarter of the translation's time saved),
    with the current SAR schema.
    """
    keys = set(stac["properties"])
    for asset in stac["assets"].values():
        keys.update(asset)
    uris = schemas_of(keys)
    if uris:
        stac["stac_extensions"] = sorted(SAR_SCHEMA if u == EXTENSION_SCHEMAS["sar"] else u for u in uris)
    return stac


def via_link(href: str, title: str) -> dict[str, Any]:
    """The ``via`` link to a record at Capella's API."""
    return {"rel": "via", "href": href, "type": "application/json", "title": title}


def require_geometry(reader: Reader) -> Mapping[str, Any]:
    """The record's GeoJSON ``geometry``, or a named error."""
    geometry: Mapping[str, Any] = reader.require("geometry", dict)
    kind = geometry.get("type")
    if kind not in _GEOMETRY_TYPES:
        raise reader.error("geometry", f"is not a GeoJSON geometry (type {kind!r})")
    member = "geometries" if kind == "GeometryCollection" else "coordinates"
    if not isinstance(geometry.get(member), list) or not geometry[member]:
        raise reader.error(f"geometry.{member}", "must be a non-empty array")
    return geometry


def check_bbox(reader: Reader, bbox: Any) -> None:
    """A named error unless ``bbox`` is 4 or 6 numbers."""
    if not (
        isinstance(bbox, list)
        and len(bbox) in (4, 6)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox)
    ):
        raise reader.error("bbox", f"must be an array of 4 or 6 numbers, got {bbox!r:.80}")


def geometry_bbox(reader: Reader, geometry: Mapping[str, Any]) -> list[float]:
    """The bbox of a geometry, or a named error (plain min/max unless the geometry may cross the antimeridian)."""
    xs: list[float] = []
    ys: list[float] = []
    if _positions(geometry.get("coordinates"), xs, ys) and xs and max(xs) - min(xs) < 180:
        return [float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys))]
    try:
        return _common.bbox_of(geometry)
    except Exception as exc:  # shapely raises several unrelated types for malformed coordinates
        raise reader.error("geometry", f"is not a valid GeoJSON geometry: {exc}") from exc


def _positions(coordinates: Any, xs: list[float], ys: list[float]) -> bool:
    """Collect the positions of GeoJSON coordinates; False when they are not nested lists of numbers."""
    if not isinstance(coordinates, list) or not coordinates:
        return False
    first = coordinates[0]
    if isinstance(first, int | float) and not isinstance(first, bool):
        if len(coordinates) < 2 or not all(isinstance(v, int | float) for v in coordinates[:2]):
            return False
        xs.append(coordinates[0])
        ys.append(coordinates[1])
        return True
    return all(_positions(inner, xs, ys) for inner in coordinates)


def stac_dict(item: pystac.STACObject | Mapping[str, Any]) -> dict[str, Any]:
    """A STAC object as a dict that shares nothing with a pystac object."""
    if isinstance(item, pystac.Item | pystac.Collection):
        stac: dict[str, Any] = copy_json(item.to_dict(include_self_link=True, transform_hrefs=False))
        return stac
    if isinstance(item, Mapping):
        return dict(item)
    raise TransformError(PROVIDER, None, None, f"expected a pystac.Item or a dict, got {type(item).__name__}")


def to_pystac_item(stac: dict[str, Any], source: Any) -> pystac.Item:
    """The public functions' pystac Item of a dict made here."""
    try:
        return pystac.Item.from_dict(stac, migrate=False, preserve_dict=False)
    except (ValueError, TypeError, KeyError) as exc:
        record_id = stac.get("id") or (source.get("id") if isinstance(source, Mapping) else None)
        raise TransformError(PROVIDER, str(record_id), None, f"pystac refused the Item: {exc}") from exc
