"""BYOC beside the tables: its datetime codecs, the ledger's settling, payloads for STAC made elsewhere, the adapter.

:mod:`stac_bridge.transforms.byoc` holds the mapping; this module holds what it leans on and what the
registry calls, so that each stays small.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final
from urllib.parse import quote

import pystac
from pystac.extensions.projection import CODE_PROP, GEOM_PROP

from stac_bridge.errors import TransformError
from stac_bridge.registry import AdapterBase, ProviderRecord
from stac_bridge.transforms import byoc_geometry as geo
from stac_bridge.transforms._common import epsg_code
from stac_bridge.transforms._plain import copy_json, format_datetime, parse_datetime
from stac_bridge.transforms.kernel import DATETIME, Codec, Ledger, source_of

__all__ = [
    "API_BASE",
    "CANONICAL",
    "UTC_AS_SENT",
    "ByocAdapter",
    "as_record",
    "create_collection_payload",
    "create_tile_payload",
    "made_here",
    "quoted",
    "settle",
    "stac_dict",
    "via",
]

PROVIDER: Final = "byoc"
#: The documented API base, for the ``via`` links (other deployments answer under the same paths).
API_BASE: Final = "https://services.sentinel-hub.com/api/v1/byoc"
BAND_PLACEHOLDER: Final = "(BAND)"
#: STAC ``data_type`` -> (bitDepth, sampleFormat).
BYOC_FORMATS: Final[dict[str, tuple[int, str]]] = {
    "uint8": (8, "UINT"),
    "uint16": (16, "UINT"),
    "uint32": (32, "UINT"),
    "int8": (8, "INT"),
    "int16": (16, "INT"),
    "int32": (32, "INT"),
    "float16": (16, "FLOAT"),
    "float32": (32, "FLOAT"),
}


# --- datetimes ------------------------------------------------------------------------------------------------

def _spelling_kept(pattern: str) -> Callable[[Any], str]:
    """RFC 3339 -> UTC with ``Z``; a value already spelled as ``pattern`` is kept as sent (and not re-formatted)."""
    spelled = re.compile(pattern)

    def to_stac(value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"expected an RFC 3339 string, got {value!r:.40}")
        when = parse_datetime(value)  # checks it is a datetime
        return value if spelled.fullmatch(value) else format_datetime(when)

    return to_stac


#: RFC 3339 in UTC: a value in UTC (``Z``, any fraction: ``.814Z``) keeps its spelling, another zone is converted.
UTC_AS_SENT: Final = Codec(
    "RFC 3339, UTC (a UTC value as sent)", _spelling_kept(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z"), copy_json
)
#: The kernel's ``DATETIME`` (pystac's spelling, which a round trip through pystac keeps), faster on a value
#: already spelled so.
CANONICAL: Final = Codec(
    DATETIME.name, _spelling_kept(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(?!000000)\d{6})?Z"), DATETIME.from_stac
)


def as_record(obj: Any) -> Any:
    """A BYOC record as plain JSON: a mapping as given, a sentinelhub dataclass by ``to_dict()``."""
    to_dict = getattr(obj, "to_dict", None)
    if isinstance(obj, Mapping) or not callable(to_dict):
        return obj  # the reader names the record when it is not an object
    data = copy_json(geo.as_lists(to_dict()))
    # ByocCollection serialises its catch-all as a literal "otherData": {}, which is no BYOC field.
    if isinstance(data, dict) and data.get("otherData") == {}:
        del data["otherData"]
    return data


# --- provenance -----------------------------------------------------------------------------------------------

_URL_SAFE: Final = re.compile(r"[A-Za-z0-9_.~-]*")
_RECORDS: Final = API_BASE + "/collections/"


def quoted(segment: str) -> str:
    """A path segment percent-encoded (BYOC's ids are UUIDs, which need none: the check is cheaper)."""
    return segment if _URL_SAFE.fullmatch(segment) else quote(segment, safe="")


def via(path: str, title: str) -> dict[str, str]:
    """The ``via`` link to a record at the BYOC API (``path`` under ``/api/v1/byoc``)."""
    return {"rel": "via", "href": API_BASE + path, "type": "application/json", "title": title}


def made_here(stac: Mapping[str, Any]) -> bool:
    """Whether the BYOC transform made the object: its ``stac_bridge:source`` says so, or, as served, its ``via`` link.

    The database keeps the tag with the ledger, out of the API: a served object still links to its BYOC record.
    """
    source = source_of(stac)
    if source is not None:
        return source[0] == PROVIDER
    return any(
        isinstance(link, Mapping) and link.get("rel") == "via" and str(link.get("href")).startswith(_RECORDS)
        for link in stac.get("links") or ()
    )


# --- the ledger -----------------------------------------------------------------------------------------------

def settle(record: Mapping[str, Any], rebuilt: Mapping[str, Any], ledger: Ledger, at: str = "") -> Ledger:
    """Put in ``ledger`` what the way back from the STAC fields alone (``rebuilt``) gets wrong about ``record``.

    Objects are compared member by member (so a geometry whose ``crs`` member alone is spelled differently
    keeps only that member), anything else as JSON (``600`` is not ``600.0``). A member the way back adds is
    listed as absent.
    """
    for key, value in record.items():
        path = f"{at}.{key}" if at else key
        if key not in rebuilt:
            ledger.keep[path] = copy_json(value)
            continue
        other = rebuilt[key]
        if other is value:
            continue
        if type(value) is dict and type(other) is dict and _plain_keys(value):
            settle(value, other, ledger, path)
        elif not same_json_fast(value, other):
            ledger.keep[path] = copy_json(value)
    for key in rebuilt:
        if key not in record:
            ledger.absent.append(f"{at}.{key}" if at else key)
    return ledger


def same_json_fast(a: Any, b: Any) -> bool:
    """:func:`~stac_bridge.transforms.kernel.same_json` for parsed JSON, taking shared objects as the same."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is list:
        return len(a) == len(b) and all(map(same_json_fast, a, b))
    if kind is dict:
        return a.keys() == b.keys() and all(same_json_fast(v, b[k]) for k, v in a.items())
    return bool(a == b)


def _plain_keys(obj: Mapping[str, Any]) -> bool:
    """Whether every key can be part of a dotted ledger path (no dot, not a list index)."""
    return all(type(key) is str and "." not in key and not key.isdigit() for key in obj)


# --- STAC input ---------------------------------------------------------------------------------------------

def stac_dict(stac: Any, kind: str) -> dict[str, Any]:
    """A STAC object (pystac or dict) as a dict, checked to be of ``kind`` (``Feature`` or ``Collection``)."""
    if isinstance(stac, pystac.STACObject):
        data = stac.to_dict(include_self_link=False, transform_hrefs=False)
    elif isinstance(stac, Mapping):
        data = dict(stac)
    else:
        raise TransformError(PROVIDER, None, None, f"expected a STAC {kind}, got {type(stac).__name__}")
    if data.get("type") != kind:
        stac_id = data.get("id") if isinstance(data.get("id"), str) else None
        raise TransformError(PROVIDER, stac_id, "type", f"is {data.get('type')!r}, not {kind!r}")
    return data


# --- STAC made elsewhere: the payloads that create it in BYOC ------------------------------------------------

def create_collection_payload(stac: Mapping[str, Any]) -> dict[str, Any]:
    """``{"name", "s3Bucket", "additionalData": {"bands"}}`` of a Collection made elsewhere.

    Raises:
        TransformError: it has no ``byoc:s3Bucket``, or a band's ``data_type`` BYOC cannot store.
    """
    stac_id = stac.get("id")
    record_id = stac_id if isinstance(stac_id, str) else None
    bucket = stac.get("byoc:s3Bucket")
    if not isinstance(bucket, str):
        raise TransformError(PROVIDER, record_id, "byoc:s3Bucket", "is missing: BYOC needs a bucket")
    record: dict[str, Any] = {"name": stac.get("title") or record_id, "s3Bucket": bucket}
    bands: dict[str, Any] = {}
    for key, definition in (stac.get("item_assets") or {}).items():
        if "data" not in (definition.get("roles") or ["data"]):
            continue
        for index, band in enumerate(definition.get("bands") or [{"name": key}], start=1):
            where = f"item_assets.{key}.bands.{index - 1}"
            bands[band.get("name") or key] = {"source": key, "bandIndex": index, **_format(record_id, where, band)}
    if bands:
        record["additionalData"] = {"bands": bands}
    return record


def _format(record_id: str | None, where: str, band: Mapping[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    data_type = band.get("data_type")
    if data_type is not None:
        if data_type not in BYOC_FORMATS:
            raise TransformError(PROVIDER, record_id, f"{where}.data_type",
                                 f"is {data_type!r}, which BYOC cannot store")
        spec["bitDepth"], spec["sampleFormat"] = BYOC_FORMATS[data_type]
    nodata = band.get("nodata")
    if isinstance(nodata, int | float) and not isinstance(nodata, bool):
        spec["noData"] = nodata
    return spec


def create_tile_payload(stac: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """``{"path", "coverGeometry", "sensingTime"}`` of an Item made elsewhere.

    Raises:
        TransformError: its ``s3://`` data assets share no bucket and ``(BAND)`` template, or a
            ``proj:geometry`` has no ``proj:code`` beside it.
    """
    item_id = stac.get("id") if isinstance(stac.get("id"), str) else None
    assets = stac.get("assets") or {}
    record: dict[str, Any] = {"path": _path_template(item_id, assets)}
    native = properties.get(GEOM_PROP)
    if native is None:
        native = next((a.get(GEOM_PROP) for a in assets.values() if isinstance(a, Mapping) and GEOM_PROP in a), None)
    if isinstance(native, Mapping):
        record["coverGeometry"] = {"crs": geo.crs_member(_proj_epsg(item_id, properties)), **copy_json(native)}
    elif isinstance(stac.get("geometry"), Mapping):
        record["coverGeometry"] = copy_json(dict(stac["geometry"]))
    if isinstance(properties.get("datetime"), str):
        record["sensingTime"] = properties["datetime"]
    return record


def _path_template(item_id: str | None, assets: Mapping[str, Any]) -> str:
    """The BYOC ``path`` of the Item's ``s3://`` data assets (each asset key a band source)."""
    templates: set[str] = set()
    buckets: set[str] = set()
    for key, asset in assets.items():
        href = asset.get("href") if isinstance(asset, Mapping) else None
        if not isinstance(href, str) or not href.startswith("s3://"):
            continue
        if "data" not in (asset.get("roles") or ["data"]):
            continue
        bucket, _, object_key = href[len("s3://"):].partition("/")
        head, found, tail = object_key.rpartition(key)
        if not found:
            raise TransformError(PROVIDER, item_id, f"assets.{key}.href",
                                 f"{href!r} does not name its band {key!r}, so no (BAND) path template fits it")
        buckets.add(bucket)
        templates.add(head + BAND_PLACEHOLDER + tail)
    if not templates:
        raise TransformError(PROVIDER, item_id, "assets", "has no s3:// data asset to make a path of")
    if len(buckets) > 1 or len(templates) > 1:
        raise TransformError(PROVIDER, item_id, "assets", "the s3:// data assets do not share one bucket and one "
                             f"(BAND) path template: {sorted(buckets)} {sorted(templates)}")
    return templates.pop()


def _proj_epsg(item_id: str | None, properties: Mapping[str, Any]) -> int:
    code = properties.get(CODE_PROP)
    if not isinstance(code, str):
        raise TransformError(PROVIDER, item_id, f"properties.{CODE_PROP}", "is missing beside proj:geometry")
    try:
        return epsg_code(code)
    except ValueError as exc:
        raise TransformError(PROVIDER, item_id, f"properties.{CODE_PROP}", f"is no known CRS: {exc}") from exc


# --- the adapter -------------------------------------------------------------------------------------------

_Raw = ProviderRecord | Mapping[str, Any]
_ToStac = Callable[..., dict[str, Any]]
_FromStac = Callable[[Mapping[str, Any]], dict[str, Any]]


class ByocAdapter(AdapterBase):
    """The BYOC transforms under the registry's interface: records are collections or tiles.

    Args:
        collection_to_dict: A BYOC collection -> its STAC Collection as a dict.
        tile_to_dict: A BYOC tile and its collection -> its STAC Item as a dict.
        stac_to_collection: The way back of a Collection.
        stac_to_tile: The way back of an Item.
    """

    name = PROVIDER
    title = "Sentinel Hub BYOC"

    def __init__(self, collection_to_dict: _ToStac, tile_to_dict: _ToStac, stac_to_collection: _FromStac,
                 stac_to_tile: _FromStac) -> None:
        self._collection = collection_to_dict
        self._tile = tile_to_dict
        self._stac_to_collection = stac_to_collection
        self._stac_to_tile = stac_to_tile

    def classify(self, raw: Mapping[str, Any]) -> ProviderRecord:
        """Tell a tile (it has a ``path``) from a collection (it has ``s3Bucket`` or ``name``).

        Raises:
            TransformError: the record is neither.
        """
        if not isinstance(raw, Mapping):
            raise TransformError(PROVIDER, None, None, f"expected a JSON object, got {type(raw).__name__}")
        if "path" in raw:
            return ProviderRecord("tile", raw)
        if "s3Bucket" in raw or "name" in raw:
            return ProviderRecord("collection", raw)
        raw_id = raw.get("id")
        raise TransformError(PROVIDER, str(raw_id) if raw_id is not None else None, None,
                             "is neither a BYOC tile (no 'path') nor a collection (no 's3Bucket' or 'name')")

    def to_stac(self, record: ProviderRecord) -> dict[str, Any]:
        """Translate a record to its STAC Collection or Item (a dict); a tile needs ``context["collection"]``.

        Raises:
            TransformError: the record cannot be translated, or a tile comes without its collection.
        """
        if record.kind == "collection":
            return self._collection(record.data)
        if record.kind == "tile":
            collection = record.context.get("collection")
            if collection is None:
                raise TransformError(PROVIDER, record.id, "context.collection", "is missing for a tile")
            return self._tile(record.data, collection)
        raise TransformError(PROVIDER, record.id, None, f"kind {record.kind!r} is no BYOC kind")

    def link(self, records: Iterable[_Raw]) -> Iterator[_Raw]:
        """Give each tile read from a file the collection read last before it (tiles do not name theirs).

        Collections pass through; tiles that already carry a collection, and unclassified records, are left
        as they are.
        """
        collection: Mapping[str, Any] | None = None
        for record in records:
            if isinstance(record, ProviderRecord):
                if record.kind == "collection":
                    collection = record.data
                elif record.kind == "tile" and collection is not None and "collection" not in record.context:
                    record = ProviderRecord("tile", record.data, {**record.context, "collection": collection})
            yield record

    def from_stac(self, stac: Mapping[str, Any]) -> dict[str, Any]:
        """Translate a STAC Item (a tile) or Collection back to its BYOC record.

        Raises:
            TransformError: the object is neither, or cannot be expressed as a BYOC record.
        """
        if stac.get("type") == "Collection":
            return self._stac_to_collection(stac)
        return self._stac_to_tile(stac)
