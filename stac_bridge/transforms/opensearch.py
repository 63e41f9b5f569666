"""Terrascope / VITO OpenSearch (OGC 17-047r1 GeoJSON, OGC 17-003r1 EO metadata) <-> curated STAC 1.1.

A product Feature becomes an Item, a collection Feature a Collection (:mod:`.opensearch_collection`); the way
back gives the same GeoJSON Feature. The mapping is :data:`TABLES` on the kernel
(:mod:`stac_bridge.transforms.kernel`), documented in ``docs/providers/opensearch.md``: acquisition
parameters become ``sat:``/``sar:``/``view:``/``grid:`` fields, product information ``eo:``/``product:``/
``processing:``/``proj:`` fields, the link groups assets. A member with no STAC home stays visible under
``opensearch:`` (``opensearch:status``, ``opensearch:acquisitionParameters.<name>`` for a member of the one
``acquisitionInformation`` entry); what the table cannot rebuild exactly (an unusual spelling, a split
``acquisitionInformation``) goes to the record's ledger, for a typical Terrascope product: nothing.

Transforms are pure: no network, no files, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

import pystac
from pystac.extensions.eo import CLOUD_COVER_PROP, SNOW_COVER_PROP
from pystac.extensions.grid import CODE_PROP as GRID_CODE_PROP
from pystac.extensions.projection import CODE_PROP as PROJ_CODE_PROP
from pystac.extensions.sar import (
    FREQUENCY_BAND_PROP,
    INSTRUMENT_MODE_PROP,
    POLARIZATIONS_PROP,
    PRODUCT_TYPE_PROP,
    Polarization,
)
from pystac.extensions.sat import ABSOLUTE_ORBIT_PROP, ORBIT_STATE_PROP, RELATIVE_ORBIT_PROP, OrbitState
from pystac.extensions.view import INCIDENCE_ANGLE_PROP, SUN_AZIMUTH_PROP, SUN_ELEVATION_PROP

from stac_bridge.errors import TransformError
from stac_bridge.registry import AdapterBase, ProviderRecord
from stac_bridge.transforms._plain import copy_json
from stac_bridge.transforms.kernel import (
    IDENTITY,
    SOURCE,
    Codec,
    Field,
    Ledger,
    Reader,
    json_type_problem,
    lower_case,
    one_of_list,
    schemas_of,
    source_of,
    source_tag,
    split,
)
from stac_bridge.transforms.opensearch_collection import (
    BAND_TABLE,
    COLLECTION_TABLE,
    OS_DATETIME,
    PREFIX,
    PROVIDER,
    STAC_VERSION,
    TRANSFORM_VERSION,
    as_dict,
    as_pystac,
    collection_dict,
    collection_to_stac,
    keep_members,
    open_feature,
    stac_to_collection,
    table,
    via_link,
)
from stac_bridge.transforms.opensearch_links import CRS, LINK_TABLE, assets_of, links_of, ok_crs
from stac_bridge.transforms.tablewalk import fast_decode, fast_encode

__all__ = [
    "ADAPTER",
    "PROVIDER",
    "TABLES",
    "TRANSFORM_VERSION",
    "collection_to_stac",
    "product_to_stac",
    "stac_to_collection",
    "stac_to_product",
]

VIA_PRODUCT: Final = "Terrascope OpenSearch product"
_ACQ: Final = "acquisitionInformation"
#: The groups of an ``acquisitionInformation`` entry; the table reads them as members of ``properties``.
_GROUPS: Final = ("platform", "instrument", "acquisitionParameters", "acquisitionAngles")
_NUMBER: Final = (int, float)
_MGRS: Final = re.compile(r"^(0?[1-9]|[1-5]\d|60)[C-HJ-NP-X][A-HJ-NP-Z][A-HJ-NP-V]$")
_DURATION: Final = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_CATEGORY: Final = re.compile(r"^([A-Za-z]+)-(\d+)h$")
_POLARISATION_MODES: Final = {1: "S", 2: "D", 4: "Q"}
#: The kernel's schemas, but product v1.0.0: v0.1.0 refuses ``product:acquisition_type``.


GRID: Final = Codec("`29SMC` -> `MGRS-29SMC`", lambda v: f"MGRS-{v}", lambda v: str(v).removeprefix("MGRS-"))


ITEM_TABLE: Final = table(
    "product",
    (
        Field("title", "title", kind=str),
        Field("updated", "updated", OS_DATETIME, kind=str),
        Field("published", "published", OS_DATETIME, kind=str),
        Field("creationDate", "created", OS_DATETIME, kind=str),
        Field("platform.platformShortName", "constellation", kind=str, note="spelling kept: `Sentinel-2`"),
        Field("platform.platformSerialIdentifier", "platform", kind=str),
        Field("instrument.instrumentShortName", "instruments", one_of_list(), kind=str),
        Field("acquisitionParameters.beginningDateTime", "start_datetime", OS_DATETIME, kind=str),
        Field("acquisitionParameters.endingDateTime", "end_datetime", OS_DATETIME, kind=str),
        Field("acquisitionParameters.acquisitionType", "product:acquisition_type", lower_case(), kind=str),
        Field("acquisitionParameters.orbitDirection", ORBIT_STATE_PROP, lower_case(), kind=str),
        Field("acquisitionParameters.orbitNumber", ABSOLUTE_ORBIT_PROP, kind=int, note=">= 1"),
        Field("acquisitionParameters.relativeOrbitNumber", RELATIVE_ORBIT_PROP, kind=int, note=">= 1"),
        Field("acquisitionParameters.tileId", GRID_CODE_PROP, GRID, kind=str, note="MGRS tiles only"),
        Field("acquisitionParameters.operationalMode", INSTRUMENT_MODE_PROP, kind=str),
        Field("acquisitionParameters.polarisationChannels", POLARIZATIONS_PROP, split(", "), kind=str),
        Field("acquisitionAngles.incidenceAngle", INCIDENCE_ANGLE_PROP, kind=_NUMBER),
        Field("acquisitionAngles.illuminationAzimuthAngle", SUN_AZIMUTH_PROP, kind=_NUMBER),
        Field("acquisitionAngles.illuminationElevationAngle", SUN_ELEVATION_PROP, kind=_NUMBER),
        Field("productInformation.cloudCover", CLOUD_COVER_PROP, kind=_NUMBER, note="0-100"),
        Field("productInformation.snowCover", SNOW_COVER_PROP, kind=_NUMBER, note="0-100"),
        Field("productInformation.productType", "product:type", kind=str),
        Field("productInformation.processingLevel", "processing:level", kind=str),
        Field("productInformation.productVersion", "processing:version", kind=str),
        Field("productInformation.processingCenter", "processing:facility", kind=str),
        Field("productInformation.processingDate", "processing:datetime", OS_DATETIME, kind=str),
        Field("productInformation.referenceSystemIdentifier", PROJ_CODE_PROP, CRS, kind=str),
        Field("additionalAttributes.resolution", "gsd", kind=_NUMBER, note="metres"),
    ),
    (
        ("identifier", "id", "kept as `opensearch:identifier` when it differs from the feature id"),
        ("parentIdentifier", "collection", "+ a `collection` link"),
        ("date", "datetime", "an interval `start/end` gives `datetime: null` (and the range when there is none)"),
        ("acquisitionAngles.illuminationZenithAngle", SUN_ELEVATION_PROP, "90 - z, without an elevation angle"),
        ("acquisitionParameters.polarisationMode", "(from `sar:polarizations`)",
         "`S`/`D`/`Q` for 1/2/4 channels; another value: `opensearch:acquisitionParameters.polarisationMode`"),
        ("productInformation.timeliness", "product:timeliness",
         "an ISO 8601 duration as it is; `NRT-3h`: `PT3H` + `product:timeliness_category` `NRT`"),
        ("productInformation.availabilityTime", "(= `opensearch:available`)", "shown only when it differs"),
        ("links", "assets", "`data`, `previews`, `alternates`, `related`: see the link table"),
        ("(Sentinel-1)", f"{FREQUENCY_BAND_PROP}, {PRODUCT_TYPE_PROP}", "`C`, the product type: SAR products only"),
    ),
)

TABLES: Final = (ITEM_TABLE, LINK_TABLE, COLLECTION_TABLE, BAND_TABLE)


def _ok_range(low: float, high: float) -> Callable[[Any], bool]:
    return lambda v: not isinstance(v, _NUMBER) or isinstance(v, bool) or low <= v <= high


def _ok_orbit(value: Any) -> bool:
    return not isinstance(value, int) or isinstance(value, bool) or value >= 1


def _ok_in(*allowed: str) -> Callable[[Any], bool]:
    return lambda v: not isinstance(v, str) or v.lower() in allowed


def _ok_text(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    return lambda v: not isinstance(v, str) or bool(pattern.match(v))


def _ok_polarizations(value: Any) -> bool:
    parts = split(", ").to_stac(value) if isinstance(value, str) else []
    return not isinstance(value, str) or bool(parts) and all(p in Polarization.__members__ for p in parts)


#: Values of the right type that STAC cannot hold stay visible under ``opensearch:`` instead.
_GUARDS: Final[dict[str, dict[str, Callable[[Any], bool]]]] = {
    "acquisitionParameters": {
        "acquisitionType": _ok_in("nominal", "calibration", "other"),
        "orbitDirection": _ok_in(*(s.value for s in OrbitState)),
        "orbitNumber": _ok_orbit,
        "relativeOrbitNumber": _ok_orbit,
        "tileId": _ok_text(_MGRS),
        "polarisationChannels": _ok_polarizations,
    },
    "acquisitionAngles": {
        "incidenceAngle": _ok_range(0, 90),
        "illuminationAzimuthAngle": _ok_range(0, 360),
        "illuminationElevationAngle": _ok_range(-90, 90),
    },
    "additionalAttributes": {"resolution": lambda v: not isinstance(v, _NUMBER) or isinstance(v, bool) or v > 0},
    "productInformation": {
        "cloudCover": _ok_range(0, 100),
        "snowCover": _ok_range(0, 100),
        "referenceSystemIdentifier": ok_crs,
    },
}


# --- products -------------------------------------------------------------------------------------------------

def product_to_stac(feature: Mapping[str, Any]) -> pystac.Item:
    """Translate an OpenSearch product (an OGC 17-047 GeoJSON Feature) to a curated STAC 1.1 Item.

    Args:
        feature: One element of the ``features`` of a ``products`` answer.

    Returns:
        The Item, extensions declared where their fields occur; see :data:`TABLES`.

    Caveats:
        ``illuminationZenithAngle`` z becomes ``view:sun_elevation`` = 90 - z. Values STAC cannot hold (a
        cloud cover of -1, an orbit number 0, a non-MGRS ``tileId``) stay under ``opensearch:`` rather than
        failing the record. A Sentinel-1 product gets ``sar:frequency_band`` ``C`` and ``sar:product_type``.

    Raises:
        TransformError: the feature has no id or geometry, a date does not parse, or a member has the wrong
            JSON type; the error names the provider, the record id and the member's path.
    """
    return as_pystac(pystac.Item, product_dict(feature))


def product_dict(feature: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`product_to_stac`'s Item as a dict, built without pystac (the adapter's hot path)."""
    reader, item_id, props = open_feature(feature)
    geometry = reader.get("geometry", dict)
    if geometry is None:
        raise reader.error("geometry", "is missing (a STAC Item from OpenSearch needs a footprint)")
    ledger = Ledger()
    out: dict[str, Any] = {}
    view, where = _view(reader, props, ledger, out)
    try:
        fast_encode(ITEM_TABLE, view, "properties", item_id, ledger, out)
    except TransformError as exc:
        raise TransformError(PROVIDER, item_id, _real_path(exc.field, where), exc.reason) from exc
    if where:
        _real_ledger(ledger, where)
    _sar(out)
    _own(reader, props, view, out, ledger)
    _date(reader, props, out, ledger)
    if f"properties.{_ACQ}" in ledger.keep:  # kept whole: nothing inside it needs a word of its own
        inside = f"properties.{_ACQ}."
        ledger.keep = {k: v for k, v in ledger.keep.items() if not k.startswith(inside)}
        ledger.absent = [p for p in ledger.absent if not p.startswith(inside)]
    collection = reader.get("properties.parentIdentifier", str)
    query = f"collection={collection}&uid={item_id}" if collection is not None else f"uid={item_id}"
    links = [via_link("products", query, VIA_PRODUCT)]
    if collection is not None:
        links.insert(0, {"rel": "collection", "href": "../collection.json", "type": "application/json"})
    out[SOURCE] = source_tag(PROVIDER, "product", TRANSFORM_VERSION)
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "id": item_id,
        "geometry": copy_json(geometry),
        "bbox": _bbox(reader, feature, geometry, ledger),
        "properties": out,
        "links": links,
        "assets": assets_of(reader, props.get("links"), ledger),
    }
    if collection is not None:
        item["collection"] = collection
    keep_members(feature, ledger)
    ledger.attach(item)
    return _declare(item)


def _declare(item: dict[str, Any]) -> dict[str, Any]:
    """``declare_extensions`` for the Items made here, whose fields sit in properties and assets only."""
    keys = set(item["properties"])
    for asset in item["assets"].values():
        keys.update(asset)
    item["stac_extensions"] = schemas_of(keys)  # present even when empty, as pystac writes it
    return item


def _view(
    reader: Reader, props: Mapping[str, Any], ledger: Ledger, out: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, int]]:
    """``properties`` with the groups of the ``acquisitionInformation`` entry as members, guarded values out.

    Returns the view and, for each group, the index of the entry it came from (empty: no entries).
    """
    view = {k: v for k, v in props.items() if k != _ACQ}
    where: dict[str, int] = {}
    entries = props.get(_ACQ)
    if entries is not None:
        reader.check(f"properties.{_ACQ}", entries, list)
        for i, entry in enumerate(entries):
            reader.check(f"properties.{_ACQ}.{i}", entry, dict)
            for group, value in entry.items():
                if group in _GROUPS and group not in where and group not in props:
                    reader.check(f"properties.{_ACQ}.{i}.{group}", value, dict)
                    view[group] = value
                    where[group] = i
        plain = len(entries) == 1 and len(where) == len(entries[0]) and all(entries[0][g] for g in where)
        if not plain:
            ledger.keep[f"properties.{_ACQ}"] = copy_json(entries)
    for group, guards in _GUARDS.items():
        values = view.get(group)
        if isinstance(values, dict):
            failed = [key for key, ok in guards.items() if key in values and not ok(values[key])]
            if failed:
                view[group] = {k: v for k, v in values.items() if k not in failed}
                for key in failed:
                    out[f"{PREFIX}{group}.{key}"] = copy_json(values[key])
    info = props.get("productInformation")
    if info is not None:
        reader.check("properties.productInformation", info, dict)
        if not info:
            ledger.keep["properties.productInformation"] = {}
    return view, where


def _real_path(path: str | None, where: Mapping[str, int]) -> str | None:
    """A view path (``properties.acquisitionParameters.x``) as the feature's (``...acquisitionInformation[0]...``)."""
    if path is None:
        return None
    head, _, rest = path.removeprefix("properties.").partition(".")
    if head in where:
        return f"properties.{_ACQ}.{where[head]}.{head}" + (f".{rest}" if rest else "")
    return path


def _real_ledger(ledger: Ledger, where: Mapping[str, int]) -> None:
    whole = f"properties.{_ACQ}" in ledger.keep
    for path in [p for p in ledger.keep if p.partition(".")[2].partition(".")[0] in where]:
        value = ledger.keep.pop(path)
        if not whole:
            head, _, rest = path.removeprefix("properties.").partition(".")
            ledger.keep[f"properties.{_ACQ}.{where[head]}.{head}.{rest}"] = value


def _own(reader: Reader, props: Mapping[str, Any], view: Mapping[str, Any], out: dict[str, Any],
         ledger: Ledger) -> None:
    """The members the table leaves to this module (see ``ITEM_TABLE.own``)."""
    at = f"properties.{_ACQ}.0"
    if "identifier" not in props:
        ledger.absent.append("properties.identifier")
    elif props["identifier"] != reader.record_id:
        out[PREFIX + "identifier"] = copy_json(props["identifier"])
    angles = view.get("acquisitionAngles") or {}
    if "illuminationZenithAngle" in angles:
        zenith = angles["illuminationZenithAngle"]
        reader.check(f"{at}.acquisitionAngles.illuminationZenithAngle", zenith, _NUMBER)
        if SUN_ELEVATION_PROP not in out and 0 <= zenith <= 180:
            out[SUN_ELEVATION_PROP] = 90 - zenith
            ledger.keep[f"{at}.acquisitionAngles.illuminationZenithAngle"] = zenith
            ledger.absent.append(f"{at}.acquisitionAngles.illuminationElevationAngle")
        else:
            out[f"{PREFIX}acquisitionAngles.illuminationZenithAngle"] = zenith
    parameters = view.get("acquisitionParameters") or {}
    mode = parameters.get("polarisationMode")
    expected = _POLARISATION_MODES.get(len(out.get(POLARIZATIONS_PROP) or ()))
    if mode is not None and (mode != expected or POLARIZATIONS_PROP not in out):
        out[f"{PREFIX}acquisitionParameters.polarisationMode"] = copy_json(mode)
    elif mode is None and expected is not None:
        ledger.absent.append(f"{at}.acquisitionParameters.polarisationMode")
    info = view.get("productInformation") or {}
    timeliness = info.get("timeliness")
    if timeliness is not None:
        reader.check("properties.productInformation.timeliness", timeliness, str)
        category = _CATEGORY.match(timeliness)
        if _DURATION.match(timeliness):
            out["product:timeliness"] = timeliness
        elif category:  # Terrascope's "NRT-3h", "Fast-24h"
            out["product:timeliness"] = f"PT{int(category.group(2))}H"
            out["product:timeliness_category"] = category.group(1)
            if _timeliness_text(out) != timeliness:
                ledger.keep["properties.productInformation.timeliness"] = timeliness
        else:
            out[f"{PREFIX}productInformation.timeliness"] = timeliness
    if "availabilityTime" in info:
        if info["availabilityTime"] != props.get("available"):
            out[f"{PREFIX}productInformation.availabilityTime"] = copy_json(info["availabilityTime"])
    elif "available" in props:
        inside = ".availabilityTime" if "productInformation" in props else ""
        ledger.absent.append(f"properties.productInformation{inside}")


def _timeliness_text(stac: Mapping[str, Any]) -> Any:
    """``productInformation.timeliness`` of the ``product:`` fields: ``NRT-3h`` or the duration as it is."""
    duration, category = stac.get("product:timeliness"), stac.get("product:timeliness_category")
    hours = re.match(r"^PT(\d+)H$", duration) if isinstance(duration, str) else None
    return f"{category}-{hours.group(1)}h" if category and hours else duration


def _date(reader: Reader, props: Mapping[str, Any], out: dict[str, Any], ledger: Ledger) -> None:
    """``date`` (an instant or ``start/end``) -> ``datetime``, filling ``start_/end_datetime`` when absent."""
    begin, end = "start_datetime", "end_datetime"
    if "date" not in props:
        ledger.absent.append("properties.date")
        if begin not in out:
            raise reader.error("properties.date", "is missing, and so is acquisitionParameters.beginningDateTime")
        out["datetime"] = out[begin] if out[begin] == out.get(end, out[begin]) else None
    else:
        text = reader.require("properties.date", str)
        first, slash, second = text.partition("/")
        try:
            start = OS_DATETIME.to_stac(first)
            stop = OS_DATETIME.to_stac(second) if slash else start
        except ValueError as exc:
            raise reader.error("properties.date", f"is not an RFC 3339 datetime: {text!r:.80}") from exc
        out["datetime"] = None if slash else start
        if slash and begin not in out and end not in out:
            out[begin], out[end] = start, stop
            ledger.absent += [f"properties.{_ACQ}.0.acquisitionParameters.{k}" for k in ("beginningDateTime",
                                                                                       "endingDateTime")]
        elif slash and (begin not in out or end not in out):
            raise reader.error("properties.date", "is an interval but acquisitionParameters has one bound only")
        if _date_text(out) != text:
            ledger.keep["properties.date"] = text
    for have, missing, key in ((begin, end, "endingDateTime"), (end, begin, "beginningDateTime")):
        if have in out and missing not in out:
            out[missing] = out["datetime"] if out.get("datetime") is not None else out[have]
            ledger.absent.append(f"properties.{_ACQ}.0.acquisitionParameters.{key}")


def _date_text(stac: Mapping[str, Any]) -> str:
    if stac.get("datetime") is not None:
        return str(OS_DATETIME.from_stac(stac["datetime"]))
    return f"{OS_DATETIME.from_stac(stac['start_datetime'])}/{OS_DATETIME.from_stac(stac['end_datetime'])}"


def _sar(out: dict[str, Any]) -> None:
    """The two fields the sar extension requires, for Sentinel-1 products (the only SAR of the catalogue)."""
    if INSTRUMENT_MODE_PROP not in out and POLARIZATIONS_PROP not in out:
        return
    names = f"{out.get('constellation', '')} {out.get('platform', '')}".upper()
    complete = INSTRUMENT_MODE_PROP in out and POLARIZATIONS_PROP in out and "product:type" in out
    if complete and ("SENTINEL-1" in names or " S1" in names):
        out[FREQUENCY_BAND_PROP] = "C"
        out[PRODUCT_TYPE_PROP] = out["product:type"]
    else:  # no sar extension without its required fields: the values stay visible under the prefix
        for key, source in ((INSTRUMENT_MODE_PROP, "operationalMode"), (POLARIZATIONS_PROP, "polarisationChannels")):
            if key in out:
                value = out.pop(key)
                out[f"{PREFIX}acquisitionParameters.{source}"] = ", ".join(value) if isinstance(value, list) else value


def _bbox(reader: Reader, feature: Mapping[str, Any], geometry: Mapping[str, Any], ledger: Ledger) -> list[float]:
    raw = feature.get("bbox")
    if raw is None:
        from stac_bridge.transforms._common import bbox_of

        ledger.absent.append("bbox")
        try:
            return bbox_of(geometry)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise reader.error("geometry", f"is not a GeoJSON geometry: {exc}") from exc
    reader.check("bbox", raw, list)
    if len(raw) not in (4, 6):
        raise reader.error("bbox", f"must have 4 or 6 numbers, got {len(raw)}")
    for i, value in enumerate(raw):
        reader.check(f"bbox.{i}", value, _NUMBER)
    return list(raw)


# --- STAC -> product ------------------------------------------------------------------------------------------

def stac_to_product(item: pystac.Item | Mapping[str, Any]) -> dict[str, Any]:
    """Translate a STAC Item back to an OpenSearch product (an OGC 17-047 GeoJSON Feature).

    An Item made by :func:`product_to_stac` gives back exactly the feature it was made from (its ledger
    applied; a typical product needs none). Any other Item gives a plain product: one ``acquisitionInformation``
    entry, assets sorted into the four link groups by role.

    Caveats:
        STAC fields with no OpenSearch member (``gsd``, other providers' fields) are left out; so are
        placeholder datetimes (year 1 or 9999), which OpenSearch clients cannot read.

    Raises:
        TransformError: the Item has no id.
    """
    stac = as_dict(item)
    item_id = stac.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise TransformError(PROVIDER, None, "id", "is missing")
    props = {k: v for k, v in (stac.get("properties") or {}).items() if not _placeholder(v)}
    tag = source_of(stac)  # the API serves neither the tag nor the ledger; the via link tells it too
    ours = tag is not None and tag[0] == PROVIDER or any(
        isinstance(link, Mapping) and link.get("rel") == "via" and link.get("title") == VIA_PRODUCT
        for link in stac.get("links") or ())
    view = fast_decode(ITEM_TABLE, props)
    for entry in _TYPED_FIELDS:  # another provider's Item may hold values OpenSearch clients cannot read
        value = props.get(entry.target)
        if value is not None and json_type_problem(value, entry.kind or object) is not None:
            raise TransformError(PROVIDER, item_id, f"properties.{entry.target}",
                                 f"cannot be written back: {json_type_problem(value, entry.kind or object)}")
    view.setdefault("identifier", item_id)
    if stac.get("collection") is not None:
        view["parentIdentifier"] = stac["collection"]
    if props.get("datetime") is not None or props.get("start_datetime") and props.get("end_datetime"):
        view["date"] = _date_text(props)
    timeliness = _timeliness_text(props)
    if timeliness is not None:
        view.setdefault("productInformation", {})["timeliness"] = timeliness
    mode = _POLARISATION_MODES.get(len(props.get(POLARIZATIONS_PROP) or ()))
    if mode is not None:
        view.setdefault("acquisitionParameters", {}).setdefault("polarisationMode", mode)
    if ours and "available" in view:
        view.setdefault("productInformation", {}).setdefault("availabilityTime", view["available"])
    instruments = view.get("instrument", {}).get("instrumentShortName")
    extra = instruments[1:] if isinstance(instruments, list) else []
    if isinstance(instruments, list):
        view["instrument"]["instrumentShortName"] = instruments[0]
    groups = {g: view.pop(g) for g in _GROUPS if g in view}
    if groups or extra:
        view[_ACQ] = [groups, *({"instrument": {"instrumentShortName": name}} for name in extra)]
    view["links"] = links_of(stac.get("assets") or {})
    feature: dict[str, Any] = {"type": "Feature", "id": item_id, "geometry": copy_json(stac.get("geometry"))}
    if stac.get("bbox") is not None:
        feature["bbox"] = list(stac["bbox"])
    feature["properties"] = view
    return Ledger.of(stac).apply(feature)


#: The fields whose STAC value is the provider's as it is (a copy), so of the provider's JSON type.
_TYPED_FIELDS: Final = tuple(f for f in ITEM_TABLE.fields if f.kind is not None and f.codec is IDENTITY)


def _placeholder(value: Any) -> bool:
    """A year-1 or year-9999 datetime: a placeholder, not a time (terracatalogueclient cannot parse year 1)."""
    return isinstance(value, str) and len(value) > 10 and value[4:5] == "-" and value[:4] in ("0001", "9999")


# --- the adapter ----------------------------------------------------------------------------------------------

_COLLECTION_MARKERS: Final = frozenset({"abstract", "keyword", "rights", "categories", "contactPoint"})


class OpenSearchAdapter(AdapterBase):
    """The OpenSearch transforms under the :class:`~stac_bridge.registry.Adapter` interface."""

    name = PROVIDER
    title = "Terrascope / VITO OpenSearch (OGC 17-047)"

    def classify(self, raw: Mapping[str, Any]) -> ProviderRecord:
        """Classify a feature: a collection (``abstract``, no ``parentIdentifier``...) or a product."""
        record_id = str(raw["id"]) if isinstance(raw, Mapping) and raw.get("id") is not None else None
        if not isinstance(raw, Mapping) or raw.get("type") != "Feature":
            kind = raw.get("type") if isinstance(raw, Mapping) else type(raw).__name__
            raise TransformError(PROVIDER, record_id, "type", f"is {kind!r}, not a GeoJSON Feature")
        props = raw.get("properties")
        if not isinstance(props, Mapping):
            raise TransformError(PROVIDER, record_id, "properties", "is missing or not an object")
        if "parentIdentifier" not in props and _COLLECTION_MARKERS & set(props):
            return ProviderRecord("collection", raw)
        if {"parentIdentifier", _ACQ, "productInformation", "links"} & set(props):
            return ProviderRecord("product", raw)
        raise TransformError(PROVIDER, record_id, "properties", "is neither a collection nor a product")

    def to_stac(self, record: ProviderRecord) -> dict[str, Any]:
        """Translate the record to a STAC Collection or Item dict (no pystac on the way)."""
        if record.kind == "collection":
            return collection_dict(record.data)
        if record.kind == "product":
            return product_dict(record.data)
        raise TransformError(PROVIDER, record.id, None, f"unknown record kind {record.kind!r}")

    def from_stac(self, stac: Mapping[str, Any]) -> dict[str, Any]:
        """Translate a STAC Collection or Item back to an OpenSearch Feature."""
        kind = stac.get("type")
        if kind == "Collection":
            return stac_to_collection(stac)
        if kind == "Feature":
            return stac_to_product(stac)
        raise TransformError(PROVIDER, str(stac.get("id")), "type", f"is {kind!r}, not Feature or Collection")


ADAPTER: Final = OpenSearchAdapter()
