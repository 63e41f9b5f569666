"""Capella Space <-> STAC: catalog items (STAC with vendor habits) and, in :mod:`.capella_tasking`, tasking requests.

Catalog items are already STAC; they are normalised to valid STAC 1.1 by :data:`ITEM_TABLE`, whose entries are
renames (``proj:epsg`` -> ``proj:code``, ``view:look_angle`` -> ``view:off_nadir``, ``locale:*`` ->
``capella:locale_*``) and datetimes written in UTC with a ``Z``. A field of an extension that extension does not
define (``sar:image_length``) or of an extension stac-bridge does not write goes under ``capella:`` as
``capella:<prefix>_<name>``; ``capella:`` fields and STAC's own stay as they are. Object-valued extension fields
(``proj:centroid``, ``processing:software``) move to the data assets, where the extensions allow them, so that no
property is an object. ``stac_extensions`` is set from the fields used.

The way back is the table read backwards plus Capella's habits (STAC 1.0.0, the four extension URLs Capella
declares); what it cannot rebuild for one item (an unusual datetime spelling, a missing ``bbox``) is in the item's
ledger (:data:`~stac_bridge.transforms.kernel.LEDGER`), absent for a typical item. The docs page
``docs/providers/capella.md`` shows the tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson
import pystac
import pystac.extensions.projection as proj
import pystac.extensions.sar as sar
import pystac.extensions.sat as sat
import pystac.extensions.view as view

from stac_bridge.errors import TransformError
from stac_bridge.registry import AdapterBase, ProviderRecord
from stac_bridge.transforms import _common, kernel
from stac_bridge.transforms._plain import copy_json
from stac_bridge.transforms.capella_collections import (
    ARCHIVE_COLLECTION_ID,
    KIND_COLLECTION,
    catalog_collection,
    tasking_collection,
)
from stac_bridge.transforms.capella_tasking import (
    API_URL,
    KIND_TASKING,
    PREFIX,
    PROVIDER,
    SAR_SCHEMA,
    STAC_VERSION,
    TASKING_COLLECTION_ID,
    TASKING_TABLE,
    TRANSFORM_VERSION,
    UTC_DATETIME,
    check_bbox,
    declare,
    flattenable,
    geometry_bbox,
    require_geometry,
    stac_dict,
    stac_to_tasking_request,
    tasking_request_dict,
    tasking_request_to_stac,
    to_pystac_item,
    via_link,
)
from stac_bridge.transforms.capella_tasking import VIA_TITLE as TASKING_VIA_TITLE
from stac_bridge.transforms.kernel import SOURCE, Codec, Field, Ledger, Reader, Table

__all__ = [
    "ADAPTER",
    "ARCHIVE_COLLECTION_ID",
    "ITEM_TABLE",
    "KIND_ITEM",
    "PROVIDER",
    "SAR_SCHEMA",
    "TABLES",
    "TASKING_COLLECTION_ID",
    "catalog_collection",
    "item_to_stac",
    "kind_of",
    "stac_to_item",
    "stac_to_tasking_request",
    "tasking_collection",
    "tasking_request_to_stac",
]

KIND_ITEM: Final = "item"
ITEM_SOURCE: Final = kernel.source_tag(PROVIDER, KIND_ITEM, TRANSFORM_VERSION)
VIA_TITLE: Final = "Capella catalog item"

#: What Capella writes and the way back gives when the ledger says nothing else.
CAPELLA_STAC_VERSION: Final = "1.0.0"
CAPELLA_EXTENSIONS: Final = (
    "https://stac-extensions.github.io/sar/v1.0.0/schema.json",
    "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
    "https://stac-extensions.github.io/view/v1.0.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
)


# --- the table --------------------------------------------------------------------------------------------

def _epsg_to_code(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer EPSG code, got {value!r:.40}")
    return f"EPSG:{_common.epsg_code(value)}"


def _code_to_epsg(value: Any) -> Any:
    prefix, _, number = str(value).partition(":")
    return int(number) if prefix.upper() == "EPSG" and number.isdigit() else value


#: ``proj:epsg`` (projection v1) as ``proj:code`` (v2); an EPSG code pyproj does not know is an error.
EPSG_CODE: Final = Codec("EPSG number -> \"EPSG:n\"", _epsg_to_code, _code_to_epsg)

_TIMES: Final = ("start_datetime", "end_datetime", "created", "updated", "published",
                 sat.ANX_DATETIME_PROP, "processing:datetime")

ITEM_TABLE: Final = Table(
    PROVIDER,
    "catalog item",
    (
        Field(proj.EPSG_PROP, proj.CODE_PROP, EPSG_CODE, int, "also in assets; null stays null"),
        Field("view:look_angle", view.OFF_NADIR_PROP, kernel.NUMBER, float,
              "the same angle: nadir to the line of sight at the sensor"),
        Field("locale:datetime", "capella:locale_datetime", kind=str, note="no published locale extension"),
        Field("locale:timezone", "capella:locale_timezone", kind=str),
        Field("locale:time", "capella:locale_time", kind=str),
        # pystac writes datetime back in this one spelling: the others are kept in the ledger.
        Field("datetime", "datetime", kernel.DATETIME, str),
        *(Field(name, name, UTC_DATETIME, str) for name in _TIMES),
    ),
    prefix="",
    own=(
        ("stac_version", "stac_version", "1.0.0 -> 1.1.0"),
        ("stac_extensions", "stac_extensions", "the extensions of the fields used"),
        ("<prefix>:<name>", "capella:<prefix>_<name>", "a field its extension does not define"),
        ("proj:centroid, processing:software, ... (objects)", "the same field on the data assets",
         "no property is an object"),
        ("links", "links + via (Capella API) + collection", "the two added links go on the way back"),
    ),
)
TABLES: Final = (ITEM_TABLE, TASKING_TABLE)

_BY_SOURCE: Final = {f.source: f for f in ITEM_TABLE.fields}
_BY_TARGET: Final = {f.target: f for f in ITEM_TABLE.fields}
#: Flattens and unflattens objects without a STAC home (``capella:x`` -> ``capella:x.y``).
_FLAT: Final = Table(PROVIDER, "nested", (), prefix="")


def _props(*modules: Any) -> frozenset[str]:
    return frozenset(v for m in modules for k, v in vars(m).items() if k.endswith("_PROP") and isinstance(v, str))


#: The fields each extension written defines (pystac's names; processing has no pystac class).
_KNOWN: Final = (_props(sar, sat, view, proj) - {proj.EPSG_PROP}) | {
    "processing:level", "processing:lineage", "processing:facility", "processing:version",
    "processing:software", "processing:expression", "processing:datetime",
}
_NUMBER: Final = (float,)
#: JSON types of the known fields (a wrong type is a TransformError naming the field).
_KINDS: Final[dict[str, type | tuple[type, ...]]] = {
    **dict.fromkeys((sar.CENTER_FREQUENCY_PROP, sar.RESOLUTION_RANGE_PROP, sar.RESOLUTION_AZIMUTH_PROP,
                     sar.PIXEL_SPACING_RANGE_PROP, sar.PIXEL_SPACING_AZIMUTH_PROP, sar.LOOKS_EQUIVALENT_NUMBER_PROP,
                     view.OFF_NADIR_PROP, view.INCIDENCE_ANGLE_PROP, view.AZIMUTH_PROP, view.SUN_AZIMUTH_PROP,
                     view.SUN_ELEVATION_PROP, "gsd"), _NUMBER),
    **dict.fromkeys((sar.LOOKS_RANGE_PROP, sar.LOOKS_AZIMUTH_PROP, sat.ABSOLUTE_ORBIT_PROP,
                     sat.RELATIVE_ORBIT_PROP), int),
    **dict.fromkeys((sar.INSTRUMENT_MODE_PROP, sar.FREQUENCY_BAND_PROP, sar.PRODUCT_TYPE_PROP,
                     sar.OBSERVATION_DIRECTION_PROP, sat.ORBIT_STATE_PROP, "platform", "constellation", "title",
                     "description"), str),
    **dict.fromkeys((sar.POLARIZATIONS_PROP, "instruments", proj.SHAPE_PROP, proj.TRANSFORM_PROP, proj.BBOX_PROP),
                    list),
    **dict.fromkeys((proj.GEOM_PROP, proj.CENTROID_PROP, proj.PROJJSON_PROP), dict),
}
_TOP: Final = frozenset({"type", "stac_version", "stac_extensions", "id", "geometry", "bbox", "properties",
                         "assets", "links", "collection"})


# --- catalog items ----------------------------------------------------------------------------------------

def item_to_stac(item: Mapping[str, Any]) -> pystac.Item:
    """Normalise a Capella catalog item to schema-valid STAC 1.1.

    Args:
        item: One item as Capella's ``/catalog/search`` returns it (a feature of the ItemCollection).

    Returns:
        The normalised Item (see the module docstring), with ``stac_bridge:source`` ``capella/item/2``, a
        ``via`` link to the item at Capella's API and, when the item names a collection without linking it, a
        ``collection`` link (``../collection.json``).

    Raises:
        TransformError: the item has no geometry, an unparsable datetime, an unknown ``proj:epsg`` or a field
            of the wrong JSON type; the error names the record id and the field.

    Caveats:
        Values are type-checked, not range-checked (an incidence angle of 120 passes through and fails schema
        validation).

    """
    return to_pystac_item(item_dict(item), item)


def item_dict(item: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`item_to_stac` as a plain dict (the adapter's hot path: no pystac object)."""
    # One private copy of the whole item: everything below may take its values as they are.
    reader = Reader(PROVIDER, _private(item))
    kind = reader.require("type", str)
    if kind != "Feature":
        raise reader.error("type", f"is {kind!r}, not 'Feature'")
    item_id = reader.require("id", str)
    geometry = require_geometry(reader)
    ledger = Ledger()
    props = _place(reader.nested("properties"), ledger, flatten=True)
    if props.get("datetime") is None and not (props.get("start_datetime") and props.get("end_datetime")):
        raise reader.error("properties.datetime", "is missing (and there is no start/end_datetime)")
    assets_in = reader.get("assets", dict)
    assets = {key: _place(reader.nested(f"assets.{key}"), ledger) for key in assets_in or {}}
    _move_objects(props, assets, ledger)
    props[SOURCE] = ITEM_SOURCE

    out: dict[str, Any] = {"type": "Feature", "stac_version": STAC_VERSION, "id": item_id,
                           "geometry": geometry}
    source = reader.record
    bbox = source.get("bbox")
    if bbox is None:
        out["bbox"] = geometry_bbox(reader, geometry)
        ledger.absent.append("bbox")
    else:
        check_bbox(reader, bbox)
        out["bbox"] = bbox
    out["properties"] = props
    out["assets"] = assets
    if assets_in is None:
        ledger.absent.append("assets")
    links_in = reader.get("links", list)
    collection = reader.get("collection", str)
    out["links"] = links = _links(links_in or [], item_id, collection)
    if links_in is None:
        ledger.absent.append("links")
    elif not kernel.same_json(_links_back(links), links_in):
        ledger.keep["links"] = copy_json(links_in)
    if collection is not None:
        out["collection"] = collection
    for key, value in source.items():
        if key not in _TOP:
            out[key] = value
    _habit(source, "stac_version", CAPELLA_STAC_VERSION, ledger)
    _habit(source, "stac_extensions", list(CAPELLA_EXTENSIONS), ledger)
    declare(out)
    ledger.attach(out)
    return out


def stac_to_item(item: pystac.Item | Mapping[str, Any]) -> dict[str, Any]:
    """Give back a catalog item in Capella's own form.

    Args:
        item: An Item made by :func:`item_to_stac` (a ``pystac.Item`` or its dict), with or without its
            ledger.

    Returns:
        The Capella item; for an Item made by :func:`item_to_stac`, exactly the item it was made from (without
        the ledger: exactly for a typical item).

    Raises:
        TransformError: the Item is a tasking request, or is not an Item.

    Caveats:
        An Item made elsewhere is written with Capella's habits: ``proj:code`` ``EPSG:n`` as ``proj:epsg``,
        ``view:off_nadir`` as ``view:look_angle``, ``capella:locale_*`` as ``locale:*``, STAC 1.0.0 and
        Capella's extension URLs.

    """
    stac = stac_dict(item)
    reader = Reader(PROVIDER, stac)
    found = kernel.source_of(stac)
    if found is not None and found[:2] != (PROVIDER, KIND_ITEM):
        raise reader.error(f"properties.{SOURCE}", f"is {found[0]}/{found[1]}, not a Capella catalog item")
    props = _place_back(reader.require("properties", dict), flatten=True)
    props.pop(SOURCE, None)
    assets = {key: _place_back(asset) for key, asset in (reader.get("assets", dict) or {}).items()}
    _move_objects_back(props, assets)
    out: dict[str, Any] = {}
    for key, value in stac.items():
        if key == "properties":
            out[key] = props
        elif key == "assets":
            out[key] = assets
        elif key == "links" and isinstance(value, list):
            out[key] = _links_back(value)
        elif key not in ("stac_version", "stac_extensions") and not key.startswith("stac_bridge:"):
            out[key] = copy_json(value)
    out["stac_version"] = CAPELLA_STAC_VERSION
    out["stac_extensions"] = list(CAPELLA_EXTENSIONS)
    return Ledger.of(stac).apply(out)


def kind_of(stac: Mapping[str, Any]) -> str | None:
    """``"item"`` or ``"tasking_request"`` for an Item made here, else ``None``.

    Its ``stac_bridge:source`` says so or, as the API serves it (the database keeps the tag with the ledger, out
    of the API), its ``via`` link to Capella.
    """
    found = kernel.source_of(stac)
    if found is not None:
        return found[1] if found[0] == PROVIDER and found[1] in (KIND_ITEM, KIND_TASKING) else None
    titles = {link.get("title") for link in stac.get("links") or () if isinstance(link, Mapping)
              and link.get("rel") == "via"}
    if VIA_TITLE in titles:
        return KIND_ITEM
    return KIND_TASKING if TASKING_VIA_TITLE in titles else None


# --- placing fields ---------------------------------------------------------------------------------------

_PLAIN: Final = 0
_RENAMED: Final = 1
_FOREIGN: Final = 2
#: The JSON types that pass each kind without a closer look.
_FAST: Final[dict[Any, tuple[type, ...]]] = {
    str: (str,), int: (int,), list: (list,), dict: (dict,), float: (int, float), _NUMBER: (int, float),
}
#: What :func:`_place` does with a key: ``(action, target, field or JSON kind, a rename source it shadows)``.
_PLANS: dict[str, tuple[int, str, Any, str | None]] = {}


def _plan(key: str) -> tuple[int, str, Any, str | None]:
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    entry = _BY_SOURCE.get(key)
    prefix, colon, name = key.partition(":")
    if entry is not None:
        plan = (_RENAMED, entry.target, entry, None)
    elif colon and prefix != "capella" and key not in _KNOWN:
        # A field its extension does not define, or of an extension not written: Capella's own.
        plan = (_FOREIGN, f"{PREFIX}{prefix}_{name}", None, None)
    else:
        shadowed = _BY_TARGET.get(key)
        plan = (_PLAIN, key, _KINDS.get(key), shadowed.source if shadowed is not None else None)
    if len(_PLANS) < 10_000:  # the keys Capella uses, not every key a broken record may hold
        _PLANS[key] = plan
    return plan


def _check(reader: Reader, key: str, value: Any, kind: Any) -> None:
    if kind is not None and value is not None and type(value) not in _FAST.get(kind, ()):
        reader.check(key, value, kind)


def _private(item: Any) -> Any:
    """A deep copy of a JSON record (orjson's round trip is several times faster than a copy in Python)."""
    try:
        return orjson.loads(orjson.dumps(item))
    except (TypeError, orjson.JSONEncodeError):
        return copy_json(item)


def _place(reader: Reader, ledger: Ledger, *, flatten: bool = False) -> dict[str, Any]:
    """The STAC fields of one Capella object (properties or an asset), values as they are: renamed, checked."""
    record = reader.record
    out: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for key, value in record.items():
        action, target, how, shadowed = _plan(key)
        if action == _RENAMED:
            if target != key and target in record:
                # Both spellings sent: the STAC one stays, both are kept for the way back.
                ledger.keep[reader.path(key)] = copy_json(value)
                ledger.keep[reader.path(target)] = copy_json(record[target])
            elif value is None:
                out[target] = None
            else:
                out[target] = _encode(reader, key, value, how, ledger)
            continue
        if action == _FOREIGN:
            ledger.keep[reader.path(key)] = copy_json(value)
            if target in record:
                continue
            ledger.absent.append(reader.path(target))
        else:
            _check(reader, key, value, how)
            if shadowed is not None and shadowed not in record:
                # Capella's own field under a name the way back reads as a rename's: the ledger says it is not.
                ledger.keep[reader.path(key)] = copy_json(value)
                ledger.absent.append(reader.path(shadowed))
        if flatten and isinstance(value, dict) and target not in _KNOWN:
            if flattenable(value):
                nested[target] = value
            elif action != _FOREIGN:
                ledger.keep[reader.path(key)] = copy_json(value)  # keys no dotted path can hold
        else:
            out[target] = value
    if nested:
        _FLAT.encode(Reader(PROVIDER, nested, record_id=reader.record_id, at=reader.at), ledger, out)
        for key in [k for k, v in out.items() if v == {} and k not in _KNOWN]:
            ledger.keep[reader.path(key)] = out.pop(key)  # an empty object has no flat form
    return out


def _encode(reader: Reader, key: str, value: Any, entry: Field, ledger: Ledger) -> Any:
    _check(reader, key, value, entry.kind)
    try:
        stac_value = entry.codec.to_stac(value)
    except (ValueError, TypeError) as exc:
        raise reader.error(key, f"cannot be read ({entry.codec.name or 'copy'}): {exc}") from exc
    if not kernel.same_json(entry.codec.from_stac(stac_value), value):
        ledger.keep[reader.path(key)] = copy_json(value)
    return stac_value


def _place_back(stac: Mapping[str, Any], *, flatten: bool = False) -> dict[str, Any]:
    """Undo :func:`_place` (the ledger aside)."""
    out: dict[str, Any] = {}
    dotted: dict[str, Any] = {}
    for key, value in stac.items():
        entry = _BY_TARGET.get(key)
        if entry is not None:
            out[entry.source] = None if value is None else entry.codec.from_stac(value)
        elif flatten and "." in key:
            dotted[key] = value
        else:
            out[key] = copy_json(value)
    if dotted:
        _FLAT.decode(dotted, into=out)
    return out


def _data_assets(assets: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [a for a in assets.values() if isinstance(a, dict) and "data" in (a.get("roles") or ())]


def _move_objects(props: dict[str, Any], assets: dict[str, Any], ledger: Ledger) -> None:
    """Object-valued extension fields of the properties go to the data assets (flattened when there are none)."""
    movable = [key for key, value in props.items() if isinstance(value, dict) and key in _KNOWN]
    if not movable:
        return
    data = _data_assets(assets)
    for key in movable:
        value = props.pop(key)
        if data and not any(key in asset for asset in data):
            for asset in data:
                asset[key] = copy_json(value)
        else:
            ledger.keep[f"properties.{key}"] = copy_json(value)
            _FLAT.encode(Reader(PROVIDER, {key: value}, at="properties"), ledger, props)
    for name, asset in assets.items():
        if asset in data:
            for key in _KNOWN.intersection(asset):
                if isinstance(asset[key], dict) and key not in movable:
                    # The asset's own object: the way back would take it for a property's.
                    ledger.keep[f"assets.{name}.{key}"] = copy_json(asset[key])
                    ledger.absent.append(f"properties.{key}")


def _move_objects_back(props: dict[str, Any], assets: dict[str, Any]) -> None:
    data = _data_assets(assets)
    if not data:
        return
    for key in [k for k, v in data[0].items() if isinstance(v, dict) and k in _KNOWN]:
        props[key] = data[0][key]
        for asset in data:
            asset.pop(key, None)


def _habit(source: Mapping[str, Any], key: str, usual: Any, ledger: Ledger) -> None:
    """Keep a top-level member in the ledger when Capella did not write it as it usually does."""
    if key not in source:
        ledger.absent.append(key)
    elif not kernel.same_json(source[key], usual):
        ledger.keep[key] = copy_json(source[key])


# --- links ------------------------------------------------------------------------------------------------

_COLLECTION_LINK: Final = {"rel": "collection", "href": "../collection.json", "type": "application/json"}


def _links(links: list[Any], item_id: str, collection: str | None) -> list[Any]:
    """The item's links, a ``via`` link to it at Capella's API and, when missing, a ``collection`` link."""
    out: list[Any] = list(links)
    own = [str(link["href"]) for link in links if isinstance(link, Mapping)
           and link.get("rel") in ("self", "canonical") and str(link.get("href", "")).startswith("https://")]
    href = own[0] if own else f"{API_URL}/catalog/collections/{collection or ARCHIVE_COLLECTION_ID}/items/{item_id}"
    out.append(via_link(href, VIA_TITLE))
    if collection is not None and not any(isinstance(link, Mapping) and link.get("rel") == "collection"
                                          for link in links):
        out.append(dict(_COLLECTION_LINK))
    return out


def _links_back(links: list[Any]) -> list[Any]:
    """The links without the two :func:`_links` adds (the last ``collection`` link like ours, our ``via``)."""
    out = [copy_json(link) for link in links
           if not (isinstance(link, Mapping) and link.get("rel") == "via" and link.get("title") == VIA_TITLE)]
    for index in range(len(out) - 1, -1, -1):
        if out[index] == _COLLECTION_LINK:
            return out[:index] + out[index + 1:]
    return out


# --- the adapter ------------------------------------------------------------------------------------------

class CapellaAdapter(AdapterBase):
    """Capella catalog items and tasking requests under the :class:`~stac_bridge.registry.Adapter` API."""

    name = PROVIDER
    title = "Capella Space"

    def classify(self, raw: Mapping[str, Any]) -> ProviderRecord:
        """Tell a catalog ``item`` from a ``tasking_request`` and a STAC ``collection``.

        Items are STAC-like (``stac_version`` or ``properties.datetime``); tasking requests have
        ``properties.windowOpen`` or ``properties.taskingrequestId``; a ``type: Collection`` document (such as
        :func:`catalog_collection` makes) is a collection, passed through as it is.
        """
        if isinstance(raw, Mapping) and raw.get("type") == "Collection":
            return ProviderRecord(KIND_COLLECTION, raw)
        props = raw.get("properties") if isinstance(raw, Mapping) else None
        if isinstance(props, Mapping):
            if "windowOpen" in props or "taskingrequestId" in props:
                return ProviderRecord(KIND_TASKING, raw)
            if "stac_version" in raw or "datetime" in props:
                return ProviderRecord(KIND_ITEM, raw)
        record_id = raw.get("id") if isinstance(raw, Mapping) else None
        raise TransformError(
            PROVIDER,
            str(record_id) if record_id is not None else None,
            "properties",
            "is neither a catalog item (stac_version, properties.datetime) nor a tasking request "
            "(properties.windowOpen)",
        )

    def to_stac(self, record: ProviderRecord) -> dict[str, Any]:
        """Translate the record to a STAC Item dict (a collection comes out as it came in, checked by pystac)."""
        if record.kind == KIND_ITEM:
            return item_dict(record.data)
        if record.kind == KIND_TASKING:
            return tasking_request_dict(record.data)
        if record.kind == KIND_COLLECTION:
            return _collection_dict(record.data)
        raise TransformError(PROVIDER, record.id, None, f"unknown record kind {record.kind!r}")

    def from_stac(self, stac: Mapping[str, Any]) -> dict[str, Any]:
        """Give back the Capella item or tasking request an Item was made from (a Collection as it is)."""
        if stac.get("type") == "Collection":
            return _collection_dict(stac)
        kind = kind_of(stac)
        if kind == KIND_TASKING or (kind is None and stac.get("collection") == TASKING_COLLECTION_ID):
            return stac_to_tasking_request(stac)
        return stac_to_item(stac)


def _collection_dict(collection: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a STAC Collection document, refused when pystac cannot read it."""
    copied: dict[str, Any] = copy_json(dict(collection))
    record_id = copied.get("id")
    try:
        pystac.Collection.from_dict(copied, migrate=False, preserve_dict=True)
    except (ValueError, TypeError, KeyError, pystac.STACError, pystac.STACTypeError) as exc:
        raise TransformError(PROVIDER, str(record_id) if record_id is not None else None, None,
                             f"is not a STAC Collection: {exc}") from exc
    return copied


ADAPTER: Final = CapellaAdapter()
