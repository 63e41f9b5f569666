"""Sentinel Hub BYOC (Bring Your Own COG) collections and tiles <-> STAC Collections and Items.

The inputs are the camelCase JSON objects the BYOC API sends (``GET /api/v1/byoc/collections/{id}`` and
``.../tiles/{id}``), or sentinelhub's own ``ByocCollection``/``ByocTile`` (read through their ``to_dict()``;
sentinelhub is never imported here). The mapping is :data:`TABLES` (also in ``docs/providers/byoc.md``) plus
what is this provider's own: the footprint (:mod:`stac_bridge.transforms.byoc_geometry`), the date of a tile
without a sensing time, the band formats and one asset per band.

The way back is exact. Each STAC object made here carries ``stac_bridge:source`` and, when the way back from
the STAC fields alone would not give the record exactly, a ledger (``stac_bridge:ledger``) of what it would
get wrong; for a typical record there is none. STAC objects made elsewhere come back as the payload that
creates them (``POST .../collections``, ``POST .../tiles``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

import pystac
from pystac.extensions.projection import BBOX_PROP, CODE_PROP, GEOM_PROP

from stac_bridge.errors import TransformError
from stac_bridge.transforms import byoc_geometry as geo
from stac_bridge.transforms._common import epsg_code
from stac_bridge.transforms._plain import copy_json, parse_datetime
from stac_bridge.transforms.byoc_back import (
    BAND_PLACEHOLDER,
    BYOC_FORMATS,
    CANONICAL,
    PROVIDER,
    UTC_AS_SENT,
    ByocAdapter,
    as_record,
    create_collection_payload,
    create_tile_payload,
    made_here,
    quoted,
    settle,
    stac_dict,
    via,
)
from stac_bridge.transforms.kernel import (
    SOURCE,
    Codec,
    Field,
    Ledger,
    Reader,
    Table,
    schemas_of,
    source_tag,
)

__all__ = [
    "ADAPTER",
    "TABLES",
    "collection_to_stac",
    "stac_to_collection",
    "stac_to_tile",
    "tile_to_stac",
]

#: Bumped whenever the STAC this module writes changes.
TRANSFORM_VERSION: Final = 2
PREFIX: Final = "byoc:"
COLLECTION_ID_PREFIX: Final = "byoc-"
INGESTED: Final = "INGESTED"
STAC_VERSION: Final = "1.1.0"
#: A collection without ``additionalData.extent`` (no tile ingested yet): the loader computes it from the items.
GLOBE: Final = (-180.0, -90.0, 180.0, 90.0)
SENTINEL_HUB: Final = {
    "name": "Sentinel Hub",
    "description": "Hosts the collection's Cloud Optimized GeoTIFFs for its APIs (Bring Your Own COG)",
    "roles": ["host"],
    "url": "https://www.sentinel-hub.com/",
}
KEYWORDS: Final = ("Sentinel Hub", "BYOC", "Cloud Optimized GeoTIFF")
#: A tile's ``additionalData.maxMetersPerPixel``, on its data assets: the pixel size of the coarsest overview.
MAX_METERS_PER_PIXEL: Final = PREFIX + "maxMetersPerPixel"
#: The BYOC API's defaults for a band that leaves them out.
DEFAULT_FORMAT: Final = (8, "UINT")

#: (bitDepth, sampleFormat) -> STAC ``data_type``.
DATA_TYPES: Final[dict[tuple[int, str], str]] = {v: k for k, v in BYOC_FORMATS.items()}

COLLECTION_TABLE: Final = Table(
    PROVIDER,
    "collection",
    (
        Field("name", "title", kind=str),
        Field("created", "created", UTC_AS_SENT, kind=str),
    ),
    PREFIX,
    own=(
        ("id", "id", "byoc- + id, the name Sentinel Hub's own STAC catalog gives it; also the via link"),
        ("additionalData.bands", "item_assets, summaries.bands", "one entry per band, key = band name (bands table)"),
        ("additionalData.extent", "extent.spatial.bbox", "its bounds; absent: the whole globe until loaded"),
        ("additionalData.fromSensingTime", "extent.temporal.interval", "start; RFC 3339, UTC; absent: open"),
        ("additionalData.toSensingTime", "extent.temporal.interval", "end; RFC 3339, UTC; absent: open"),
    ),
)

BAND_TABLE: Final = Table(
    PROVIDER,
    "band",
    (Field("noData", "nodata", kind=(int, float)),),
    PREFIX,
    own=(
        ("(the band's key)", "name", "also the key of its item asset and of the tiles' data assets"),
        ("bitDepth", "data_type", "with sampleFormat: 8/16/32 UINT -> uint8/16/32, INT -> int8/16/32, "
         "16/32 FLOAT -> float16/32; absent: 8, UINT"),
        ("sampleFormat", "data_type", "see bitDepth"),
    ),
)

TILE_TABLE: Final = Table(
    PROVIDER,
    "tile",
    (
        Field("path", "title", kind=str, note="Sentinel Hub lists tiles by path; also the asset hrefs"),
        Field("created", "created", UTC_AS_SENT, kind=str),
        Field("ingestionStart", "processing:datetime", UTC_AS_SENT, kind=str,
              note="when Sentinel Hub began ingesting the tile"),
        Field("additionalData.minMetersPerPixel", "gsd", kind=(int, float),
              note="the pixel size of the full-resolution COG, in metres"),
    ),
    PREFIX,
    own=(
        ("id", "id", "also the via link"),
        ("sensingTime", "datetime", "null: the collection's fromSensingTime/toSensingTime as "
         "start_datetime/end_datetime, else the tile's created as datetime"),
        ("coverGeometry", "geometry, bbox; proj:geometry of the data assets",
         "reprojected to WGS84, edges densified, cut at the antimeridian; the crs member gives proj:code"),
        ("tileGeometry", "proj:bbox, proj:code", "its bounds; the footprint when there is no coverGeometry"),
        ("status", "byoc:status", "only when not INGESTED: an Item without it is an ingested tile"),
        ("additionalData.maxMetersPerPixel", "byoc:maxMetersPerPixel of the data assets",
         "the pixel size of the coarsest overview, in metres"),
        ("path + the collection's s3Bucket and bands", "assets",
         "one per band: s3:// + bucket + / + path, (BAND) replaced by the band's source (no (BAND): a folder "
         "of source.tiff files)"),
    ),
)

TABLES: Final = (COLLECTION_TABLE, BAND_TABLE, TILE_TABLE)


# --- the way in: collections --------------------------------------------------------------------------------

def collection_to_stac(collection: Any) -> pystac.Collection:
    """Translate a BYOC collection to a STAC Collection.

    Args:
        collection: The collection as the BYOC API sends it (a dict), or a sentinelhub ``ByocCollection``.

    Returns:
        A STAC 1.1 Collection ``byoc-<uuid>`` (the name Sentinel Hub's own catalog gives it): ``title`` =
        ``name``, Sentinel Hub as host in ``providers``, one ``item_assets`` entry per band (``data_type`` from
        ``bitDepth`` + ``sampleFormat``, ``nodata`` from ``noData``), ``extent.spatial`` from
        ``additionalData.extent`` and ``extent.temporal`` from ``fromSensingTime``/``toSensingTime``.

    Caveats:
        BYOC has no description or license terms: ``description`` is made from the name and ``license`` is
        ``other``. Without ``additionalData.extent`` (no tile ingested yet) the spatial extent is the whole
        globe, which the loader replaces with the items' extent. ``s3Bucket`` and the fields with no STAC home
        stay visible under ``byoc:``.

    Raises:
        TransformError: the record has no id, or a field has the wrong type or an unparsable value.
    """
    return pystac.Collection.from_dict(_collection_dict(as_record(collection)), migrate=False)


def _collection_dict(record: Any) -> dict[str, Any]:
    reader = Reader(PROVIDER, record)
    uuid = reader.require("id", str)
    additional = reader.get("additionalData", Mapping)
    ledger = Ledger()
    fields = COLLECTION_TABLE.encode(reader, ledger)
    bands = _bands(reader, additional)
    title = fields.get("title") or uuid
    stac: dict[str, Any] = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "id": COLLECTION_ID_PREFIX + uuid,
        **fields,
        "description": f"{title}: a Sentinel Hub BYOC (Bring Your Own COG) collection",
        "license": "other",
        "keywords": list(KEYWORDS),
        "providers": [copy_json(SENTINEL_HUB)],
        "extent": {
            "spatial": {"bbox": [_extent_bbox(reader, additional)]},
            "temporal": {"interval": [[_sensing_bound(reader, "fromSensingTime"),
                                       _sensing_bound(reader, "toSensingTime")]]},
        },
        SOURCE: source_tag(PROVIDER, "collection", TRANSFORM_VERSION),
        "links": [via(f"/collections/{quoted(uuid)}", "Sentinel Hub BYOC collection")],
    }
    if bands:
        stac["item_assets"] = {
            name: {"title": name, "type": pystac.MediaType.COG, "roles": ["data"], "bands": [band]}
            for name, band in bands.items()
        }
        stac["summaries"] = {"bands": [copy_json(band) for band in bands.values()]}
    settle(record, _collection_record(stac), ledger)
    ledger.attach(stac)
    return stac


def _bands(reader: Reader, additional: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The collection's bands as STAC band objects keyed by BYOC band name (empty when none)."""
    raw = additional.get("bands") if additional is not None else None
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise reader.error("additionalData.bands", f"must be an object of bands, got {type(raw).__name__}")
    bands = {}
    for name, spec in raw.items():
        band = Reader(PROVIDER, spec, record_id=reader.record_id, at=f"additionalData.bands.{name}")
        bands[str(name)] = _band(band, str(name))
    return bands


def _band(reader: Reader, name: str) -> dict[str, Any]:
    band: dict[str, Any] = {"name": name}
    bit_depth = reader.get("bitDepth", int, DEFAULT_FORMAT[0])
    sample_format = reader.get("sampleFormat", str, DEFAULT_FORMAT[1])
    data_type = DATA_TYPES.get((bit_depth, sample_format.upper()))
    if data_type is not None:
        band["data_type"] = data_type
    return BAND_TABLE.encode(reader, Ledger(), band)


def _extent_bbox(reader: Reader, additional: Mapping[str, Any] | None) -> list[float]:
    extent = additional.get("extent") if additional is not None else None
    if extent is None:
        return list(GLOBE)
    try:
        if not isinstance(extent, Mapping):
            raise TypeError(f"expected a GeoJSON geometry, got {type(extent).__name__}")
        return geo.footprint(extent, geo.WGS84)[1]
    except Exception as exc:  # shapely raises many types for malformed GeoJSON
        raise reader.error("additionalData.extent", f"is not a GeoJSON geometry: {exc}") from exc


def _sensing_bound(reader: Reader, field: str) -> str | None:
    return _datetime(reader, f"additionalData.{field}", CANONICAL)


def _datetime(reader: Reader, path: str, codec: Codec) -> str | None:
    raw = reader.get(path, str)
    if raw is None:
        return None
    try:
        return str(codec.to_stac(raw))
    except ValueError as exc:
        raise reader.error(path, f"is not an RFC 3339 datetime: {raw!r:.80}") from exc


# --- the way in: tiles ---------------------------------------------------------------------------------------

def tile_to_stac(tile: Any, collection: Any) -> pystac.Item:
    """Translate a BYOC tile to a STAC Item of its collection.

    Args:
        tile: The tile as the BYOC API sends it (a dict), or a sentinelhub ``ByocTile``.
        collection: The tile's collection (a dict or a ``ByocCollection``): it holds the bucket and the bands.

    Returns:
        A STAC 1.1 Item in collection ``byoc-<collection uuid>``, titled by its ``path``: ``geometry`` is
        ``coverGeometry`` (else ``tileGeometry``) reprojected from the tile's CRS to WGS84 with densified
        edges, cut at the antimeridian into a MultiPolygon when it crosses it (then ``bbox`` has west > east);
        ``proj:code`` and ``proj:bbox`` (``tileGeometry``'s bounds) are properties, the native
        ``coverGeometry`` is ``proj:geometry`` of each data asset. One asset per band,
        ``s3://<bucket>/`` + ``path`` with ``(BAND)`` replaced by the band's ``source``.

    Caveats:
        A tile without ``sensingTime`` takes the collection's ``fromSensingTime``/``toSensingTime`` as
        ``start_datetime``/``end_datetime``, or, when the collection has none (timeless data such as a DEM),
        its ``created`` as ``datetime``. ``status`` is ``byoc:status`` when it is not ``INGESTED``. A tile that
        is not ``INGESTED`` may have no geometry yet: its Item has ``geometry: null`` and no ``bbox``
        (pgstac cannot load it; the harvester sends it to the dead letters).

    Raises:
        TransformError: the tile has no id or path, an ``INGESTED`` tile has no geometry, a datetime is not
            RFC 3339, a CRS is unknown, or a field has the wrong type.
    """
    return pystac.Item.from_dict(_tile_dict(as_record(tile), as_record(collection)), migrate=False)


def _tile_dict(record: Any, collection: Any) -> dict[str, Any]:
    reader = Reader(PROVIDER, record)
    tile_id = reader.require("id", str)
    path = reader.require("path", str)
    status = reader.get("status", str)
    reader.get("additionalData", Mapping)
    parent = Reader(PROVIDER, collection)
    collection_id = parent.require("id", str)
    ledger = Ledger()
    properties: dict[str, Any] = {"title": path, "datetime": None}
    TILE_TABLE.encode(reader, ledger, properties)
    _dates(reader, parent, properties)
    if status is not None and status != INGESTED:
        properties[PREFIX + "status"] = status
    geometry, bbox, native = _footprint(reader, status, properties)
    coarsest = reader.get("additionalData.maxMetersPerPixel", (int, float))
    assets = _assets(parent, path)
    for asset in assets.values():
        asset.update(native)  # copied once the ledger is settled
        if coarsest is not None:
            asset[MAX_METERS_PER_PIXEL] = coarsest
    if coarsest is not None and not assets:
        properties[PREFIX + "additionalData.maxMetersPerPixel"] = coarsest
    properties[SOURCE] = source_tag(PROVIDER, "tile", TRANSFORM_VERSION)
    stac: dict[str, Any] = {"type": "Feature", "stac_version": STAC_VERSION, "id": tile_id, "geometry": geometry}
    if bbox is not None:
        stac["bbox"] = bbox
    tile_path = f"/collections/{quoted(collection_id)}/tiles/{quoted(tile_id)}"
    stac.update(
        properties=properties,
        links=[{"rel": "collection", "href": "../collection.json", "type": "application/json"},
               via(tile_path, "Sentinel Hub BYOC tile")],
        assets=assets,
        collection=COLLECTION_ID_PREFIX + collection_id,
    )
    # The tile's extension fields are all in its properties (the assets' proj:geometry comes with proj:code).
    stac["stac_extensions"] = schemas_of(properties)
    settle(record, _tile_record(stac, copy=False), ledger)
    for asset in assets.values():
        asset.update({key: geo.copy_geometry(value) for key, value in native.items()})
    ledger.attach(stac)
    return stac


def _dates(reader: Reader, parent: Reader, properties: dict[str, Any]) -> None:
    """``datetime``: the sensing time, else the collection's sensing range, else the tile's ``created``."""
    sensed = _datetime(reader, "sensingTime", CANONICAL)
    if sensed is not None:
        properties["datetime"] = sensed
        return
    start = _sensing_bound(parent, "fromSensingTime")
    end = _sensing_bound(parent, "toSensingTime")
    if start is not None and end is not None:
        properties["start_datetime"], properties["end_datetime"] = start, end
        return
    created = properties.get("created")
    if created is None:
        raise reader.error("sensingTime", "is null, and the tile has no created time to date it by")
    properties["datetime"] = CANONICAL.to_stac(created)


def _footprint(
    reader: Reader, status: str | None, properties: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[float] | None, dict[str, Any]]:
    """The WGS84 geometry and bbox; ``proj:code``/``proj:bbox`` into ``properties``; the data assets' fields."""
    cover = reader.get("coverGeometry", Mapping)
    tile = reader.get("tileGeometry", Mapping)
    if cover is None and tile is None:
        if status == INGESTED:
            raise reader.error("coverGeometry", "is missing, and so is tileGeometry: an ingested tile needs one")
        return None, None, {}
    field, source = ("coverGeometry", cover) if cover is not None else ("tileGeometry", tile)
    epsg = _epsg(reader, field, source)
    try:
        geometry, bbox = geo.footprint(_without_crs(source), epsg)
    except Exception as exc:  # numpy, shapely and pyproj raise many types for malformed input
        raise reader.error(field, f"cannot be reprojected to WGS84: {exc}") from exc
    properties[CODE_PROP] = f"EPSG:{epsg}"
    if tile is not None and _epsg(reader, "tileGeometry", tile) == epsg:
        try:
            properties[BBOX_PROP] = geo.native_bbox(tile)
        except ValueError as exc:
            raise reader.error("tileGeometry", f"is not a GeoJSON geometry: {exc}") from exc
    return geometry, bbox, ({GEOM_PROP: _without_crs(cover)} if cover is not None else {})


def _epsg(reader: Reader, field: str, geometry: Mapping[str, Any]) -> int:
    """The EPSG code of a geometry's ``crs`` member; WGS84 (GeoJSON's default) when it has none."""
    if geometry.get("crs") is None:
        return geo.WGS84
    path = f"{field}.crs.properties.name"
    name = reader.require(path, str)
    try:
        return _epsg_code(name)
    except ValueError as exc:
        raise reader.error(path, f"is no known CRS: {exc}") from exc


@lru_cache(maxsize=256)
def _epsg_code(name: str) -> int:
    return epsg_code(name)


def _without_crs(geometry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in geometry.items() if k != "crs"}


#: The last collection's bands as ``(bands object, its copy, bucket, [(name, source, STAC band)])``.
_LAST_BANDS: list[tuple[Any, Any, str, list[tuple[str, str, dict[str, Any]]]]] = []


def _collection_bands(parent: Reader) -> tuple[str, list[tuple[str, str, dict[str, Any]]]]:
    """The bucket and bands of a tile's collection, translated once for all the tiles of that collection."""
    additional = parent.record.get("additionalData")
    raw = additional.get("bands") if isinstance(additional, Mapping) else None
    if not raw:
        return "", []
    bucket: str = parent.require("s3Bucket", str)
    if _LAST_BANDS:
        last = _LAST_BANDS[0]
        if last[0] is raw and last[2] == bucket and last[1] == raw:
            return bucket, last[3]
    entries: list[tuple[str, str, dict[str, Any]]] = []
    for name, band in _bands(parent, additional).items():
        source = band.get(PREFIX + "source")
        short: dict[str, Any] = {k: band[k] for k in ("name", "data_type", "nodata") if k in band}
        entries.append((name, source if isinstance(source, str) else name, short))
    _LAST_BANDS[:] = [(raw, copy_json(raw), bucket, entries)]
    return bucket, entries


def _assets(parent: Reader, tile_path: str) -> dict[str, dict[str, Any]]:
    """One asset per band of the collection; none when the collection has no bands (yet)."""
    bucket, bands = _collection_bands(parent)
    return {
        name: {
            "href": f"s3://{bucket}/{_band_path(tile_path, source)}",
            "type": pystac.MediaType.COG,
            "title": name,
            "roles": ["data"],
            "bands": [dict(band)],
        }
        for name, source, band in bands
    }


def _band_path(tile_path: str, source: str) -> str:
    """One band's object key: BYOC replaces ``(BAND)``; a path without it is a folder of band files."""
    if BAND_PLACEHOLDER in tile_path:
        return tile_path.replace(BAND_PLACEHOLDER, source)
    folder = tile_path.rstrip("/")
    return f"{folder}/{source}.tiff" if folder else f"{source}.tiff"


# --- the way back ------------------------------------------------------------------------------------------

def stac_to_collection(collection: pystac.Collection | Mapping[str, Any]) -> dict[str, Any]:
    """Translate a STAC Collection back to a BYOC collection.

    Args:
        collection: A ``pystac.Collection`` or its dict.

    Returns:
        For a Collection made by :func:`collection_to_stac`, the exact BYOC record (its ledger applied; a
        typical one has none). For any other Collection, the body that creates it (``POST
        /api/v1/byoc/collections``): ``name`` (its title or id), ``s3Bucket`` (``byoc:s3Bucket``) and one BYOC
        band per STAC band of its data ``item_assets`` (``source`` = the asset key, ``bandIndex`` = its place in
        the asset, ``bitDepth``/``sampleFormat`` from ``data_type``).

    Raises:
        TransformError: it is not a Collection; a Collection of another origin has no ``byoc:s3Bucket`` or a
            band whose ``data_type`` BYOC cannot store.
    """
    stac = stac_dict(collection, "Collection")
    if not made_here(stac):
        return create_collection_payload(stac)
    return Ledger.of(stac).apply(_collection_record(stac))


def _collection_record(stac: Mapping[str, Any]) -> dict[str, Any]:
    """The BYOC collection that the STAC fields alone give (the ledger aside)."""
    stac_id = stac.get("id")
    record: dict[str, Any] = {}
    if isinstance(stac_id, str) and stac_id.startswith(COLLECTION_ID_PREFIX):
        record["id"] = stac_id[len(COLLECTION_ID_PREFIX):]
    COLLECTION_TABLE.decode(stac, record)
    additional: dict[str, Any] = {}
    item_assets = stac.get("item_assets")
    if isinstance(item_assets, Mapping) and item_assets:
        additional["bands"] = {key: _band_record(definition) for key, definition in item_assets.items()}
    extent = stac.get("extent") or {}
    bbox = ((extent.get("spatial") or {}).get("bbox") or [None])[0]
    if isinstance(bbox, list) and len(bbox) == 4 and tuple(bbox) != GLOBE:
        west, south, east, north = bbox
        ring = [[west, south], [west, north], [east, north], [east, south], [west, south]]
        additional["extent"] = {"type": "Polygon", "coordinates": [ring]}
    interval = ((extent.get("temporal") or {}).get("interval") or [[None, None]])[0]
    for field, value in zip(("fromSensingTime", "toSensingTime"), interval, strict=False):
        if value is not None:
            additional[field] = value
    target = record.get("additionalData")
    if isinstance(target, dict):
        target.update(additional)
    elif additional and "additionalData" not in record:
        record["additionalData"] = additional
    return record


def _band_record(definition: Any) -> dict[str, Any]:
    bands = definition.get("bands") if isinstance(definition, Mapping) else None
    band = bands[0] if isinstance(bands, list) and bands and isinstance(bands[0], Mapping) else {}
    spec = BAND_TABLE.decode(band)
    fmt = BYOC_FORMATS.get(band.get("data_type"))  # type: ignore[arg-type]
    if fmt is not None:
        spec["bitDepth"], spec["sampleFormat"] = fmt
    return spec


def stac_to_tile(item: pystac.Item | Mapping[str, Any]) -> dict[str, Any]:
    """Translate a STAC Item back to a BYOC tile.

    Args:
        item: A ``pystac.Item`` or its dict.

    Returns:
        For an Item made by :func:`tile_to_stac`, the exact BYOC tile (its ledger applied; a typical one has
        none). For any other Item, the body that creates the tile (``POST .../collections/{id}/tiles``):
        ``path`` (the template ``(BAND)`` makes of its ``s3://`` data assets, each asset key being the band
        source), ``coverGeometry`` (``proj:geometry`` in ``proj:code``, else the WGS84 ``geometry``) and
        ``sensingTime`` (``datetime``, when not null).

    Raises:
        TransformError: it is not an Item; an Item of another origin has no ``s3://`` data assets in one bucket
            that share a path template, or a ``proj:geometry`` without ``proj:code``.
    """
    stac = stac_dict(item, "Feature")
    properties = stac.get("properties")
    if not isinstance(properties, Mapping):
        item_id = stac.get("id")
        raise TransformError(PROVIDER, item_id if isinstance(item_id, str) else None, "properties", "must be an object")
    if not made_here(stac):
        return create_tile_payload(stac, properties)
    return Ledger.of(stac).apply(_tile_record(stac))


def _tile_record(stac: Mapping[str, Any], *, copy: bool = True) -> dict[str, Any]:
    """The BYOC tile that the STAC fields alone give (the ledger aside); ``copy=False`` shares its geometry."""
    properties = stac["properties"]
    record: dict[str, Any] = {"id": stac.get("id")}
    TILE_TABLE.decode(properties, record)
    record.setdefault("status", INGESTED)
    record["sensingTime"] = _sensing_time(properties)
    data = next((a for a in (stac.get("assets") or {}).values() if "data" in (a.get("roles") or ())), None)
    code = properties.get(CODE_PROP)
    epsg = _epsg_of(code) if isinstance(code, str) else None
    if epsg is not None and data is not None and isinstance(data.get(GEOM_PROP), Mapping):
        native = data[GEOM_PROP]
        record["coverGeometry"] = {"crs": geo.crs_member(epsg), **(copy_json(native) if copy else native)}
    bbox = properties.get(BBOX_PROP)
    if epsg is not None and isinstance(bbox, list) and len(bbox) == 4:
        record["tileGeometry"] = geo.rectangle(copy_json(bbox), epsg)
    if data is not None and MAX_METERS_PER_PIXEL in data:
        additional = record.setdefault("additionalData", {})
        if isinstance(additional, dict):
            additional["maxMetersPerPixel"] = data[MAX_METERS_PER_PIXEL]
    return record


def _sensing_time(properties: Mapping[str, Any]) -> Any:
    """``datetime``, unless it is null (the collection's range) or the tile's ``created`` (no sensing time)."""
    when, created = properties.get("datetime"), properties.get("created")
    if when is None:
        return None
    if isinstance(when, str) and isinstance(created, str):
        try:
            if parse_datetime(when) == parse_datetime(created):
                return None
        except ValueError:
            pass
    return when


def _epsg_of(code: str) -> int | None:
    try:
        return _epsg_code(code)
    except ValueError:
        return None


ADAPTER: Final = ByocAdapter(_collection_dict, _tile_dict, stac_to_collection, stac_to_tile)
