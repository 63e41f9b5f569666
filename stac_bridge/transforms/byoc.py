"""Sentinel Hub BYOC (Bring Your Own COG) collections and tiles <-> STAC Collections and Items.

The inputs are the camelCase JSON objects the BYOC API sends (``GET /api/v1/byoc/collections/{id}`` and
``.../tiles/{id}``), or sentinelhub's own ``ByocCollection``/``ByocTile`` objects (read through their
``to_dict()``; sentinelhub is never imported here). The mapping table is in ``docs/providers/byoc.md``.

Two rules keep the way back exact:

* a BYOC field goes to its STAC home when it has a value that home holds exactly; otherwise (a null, a
  datetime not in STAC's canonical UTC form, a geometry whose CRS member is spelled differently) the BYOC
  value is also kept verbatim under ``byoc:<field>``, and the way back prefers it;
* a field with no STAC meaning is kept verbatim under ``byoc:<field>``, never dropped.

Objects this module made carry ``stac_bridge:provider = "byoc"`` and come back as the exact BYOC record. Other
STAC objects come back as the payload that creates them (``POST .../collections``, ``POST .../tiles``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

import pystac
import pystac.utils
import shapely
import shapely.geometry
from pystac.extensions.projection import ProjectionExtension

from stac_bridge.errors import TransformError
from stac_bridge.registry import ProviderRecord
from stac_bridge.transforms._common import (
    PROVENANCE_PROVIDER,
    Fields,
    bbox_of,
    copy_json,
    epsg_code,
    finite,
    native_bbox,
    provenance,
    reproject_to_wgs84,
    strip_crs,
)

__all__ = ["ADAPTER", "collection_to_stac", "stac_to_collection", "stac_to_tile", "tile_to_stac"]

# --- constants ---------------------------------------------------------------------------------------------

PROVIDER: Final = "byoc"
#: Bumped whenever the STAC this module writes changes.
TRANSFORM_VERSION: Final = 1
PREFIX: Final = "byoc:"
COLLECTION_ID_PREFIX: Final = "byoc-"
BAND_PLACEHOLDER: Final = "(BAND)"
STATUS_INGESTED: Final = "INGESTED"
COG_MEDIA_TYPE: Final = "image/tiff; application=geotiff; profile=cloud-optimized"
COLLECTION_LINK_HREF: Final = "../collection.json"
#: Sentinel Hub matches a tile without a sensing time to any time range; STAC needs two datetimes for that.
OPEN_START: Final = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
OPEN_END: Final = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
#: The BYOC API's defaults for a band that leaves them out.
DEFAULT_BIT_DEPTH: Final = 8
DEFAULT_SAMPLE_FORMAT: Final = "UINT"
SENTINEL_HUB: Final = pystac.Provider(
    "Sentinel Hub", roles=[pystac.ProviderRole.HOST], url="https://www.sentinel-hub.com/"
)

# BYOC wire fields.
ID: Final = "id"
NAME: Final = "name"
S3_BUCKET: Final = "s3Bucket"
CREATED: Final = "created"
ADDITIONAL_DATA: Final = "additionalData"
BANDS: Final = "bands"
FROM_SENSING_TIME: Final = "fromSensingTime"
TO_SENSING_TIME: Final = "toSensingTime"
PATH: Final = "path"
STATUS: Final = "status"
TILE_GEOMETRY: Final = "tileGeometry"
COVER_GEOMETRY: Final = "coverGeometry"
SENSING_TIME: Final = "sensingTime"
SOURCE: Final = "source"
BAND_INDEX: Final = "bandIndex"
BIT_DEPTH: Final = "bitDepth"
SAMPLE_FORMAT: Final = "sampleFormat"
NO_DATA: Final = "noData"

# STAC fields with no pystac accessor that fits (1.1 bands; common metadata).
STAC_BANDS: Final = "bands"
STAC_NAME: Final = "name"
STAC_DATA_TYPE: Final = "data_type"
STAC_NODATA: Final = "nodata"
STAC_CREATED: Final = "created"
PROJ_CODE: Final = "proj:code"
PROJ_GEOMETRY: Final = "proj:geometry"
PROJ_BBOX: Final = "proj:bbox"

#: (bitDepth, sampleFormat) -> STAC ``data_type``.
DATA_TYPES: Final[dict[tuple[int, str], str]] = {
    (8, "UINT"): "uint8",
    (16, "UINT"): "uint16",
    (32, "UINT"): "uint32",
    (8, "INT"): "int8",
    (16, "INT"): "int16",
    (32, "INT"): "int32",
    (16, "FLOAT"): "float16",
    (32, "FLOAT"): "float32",
}
BYOC_FORMATS: Final[dict[str, tuple[int, str]]] = {v: k for k, v in DATA_TYPES.items()}


def _key(field: str) -> str:
    return PREFIX + field


# --- the way in: collections -------------------------------------------------------------------------------

def collection_to_stac(collection: Any) -> pystac.Collection:
    """Translate a BYOC collection to a STAC Collection.

    Args:
        collection: The collection as the BYOC API sends it (a dict), or a sentinelhub ``ByocCollection``.

    Returns:
        A STAC 1.1 Collection with id ``byoc-<uuid>`` (the name Sentinel Hub's own catalog gives it),
        ``title`` = ``name``, one ``item_assets`` entry per band and the same bands in ``summaries.bands``
        (``data_type`` from ``bitDepth`` + ``sampleFormat``, ``nodata`` from the band's ``noData``),
        ``extent.spatial`` from ``additionalData.extent`` (the whole globe when absent) and
        ``extent.temporal`` from ``fromSensingTime``/``toSensingTime`` (open when absent).

    Caveats:
        BYOC has no description or license: ``description`` is made from the name and ``license`` is
        ``other``. ``s3Bucket``, ``noData`` and every field with no STAC home are kept under ``byoc:``;
        ``additionalData`` minus the bands and sensing range is kept whole as ``byoc:additionalData`` (its
        ``extent`` polygon included: the STAC bbox alone would lose it). A band keeps its BYOC fields under
        ``byoc:`` too (``source``, ``bandIndex``, ``bitDepth``, ``sampleFormat`` as sent), so a band that left
        ``sampleFormat`` to the API's default still comes back without it.

    Raises:
        TransformError: the record has no id, or a field has the wrong type or an unparsable value.

    """
    record = _as_record(collection)
    f = Fields(PROVIDER, record)
    uuid = f.require(ID, str)
    name = f.get(NAME, str)
    extra: dict[str, Any] = {}
    rest = {k: v for k, v in record.items() if k not in (ID, NAME)}
    if NAME in record and name is None:
        extra[_key(NAME)] = None

    created = _take_datetime(f, CREATED, rest, extra)
    if created is not None:
        extra[STAC_CREATED] = created

    bands: dict[str, dict[str, Any]] = {}
    spatial = [-180.0, -90.0, 180.0, 90.0]
    interval: list[dt.datetime | None] = [None, None]
    if ADDITIONAL_DATA in rest:
        additional = f.get(ADDITIONAL_DATA, Mapping)
        residual: dict[str, Any] | None = None
        if additional is not None:
            residual = dict(additional)
            bands = _bands_to_stac(f, additional.get(BANDS))
            if bands:
                del residual[BANDS]
            extent = additional.get("extent")
            if extent is not None:
                spatial = _extent_bbox(f, extent)
            for index, field in enumerate((FROM_SENSING_TIME, TO_SENSING_TIME)):
                path = f"{ADDITIONAL_DATA}.{field}"
                when = _utc_datetime(f, path)
                if when is not None:
                    interval[index] = when
                    if _canonical(when) == additional[field]:
                        del residual[field]
        rest.pop(ADDITIONAL_DATA)
        extra[_key(ADDITIONAL_DATA)] = copy_json(residual)

    for field, value in rest.items():
        extra[_key(field)] = copy_json(value)
    extra.update(provenance(PROVIDER, uuid, TRANSFORM_VERSION))

    title = name if name is not None else uuid
    stac = pystac.Collection(
        id=COLLECTION_ID_PREFIX + uuid,
        description=f"Sentinel Hub BYOC collection {title}",
        extent=pystac.Extent(
            pystac.SpatialExtent([spatial]),
            pystac.TemporalExtent([interval]),
        ),
        title=name,
        license="other",
        providers=[copy_json(SENTINEL_HUB)],
        extra_fields=extra,
    )
    if bands:
        stac.item_assets = {key: _asset_definition(band) for key, band in bands.items()}
        stac.summaries.add(STAC_BANDS, [copy_json(b) for b in bands.values()])
    return stac


def _bands_to_stac(f: Fields, raw: Any) -> dict[str, dict[str, Any]]:
    """Return the collection's bands as STAC band objects keyed by BYOC band name (empty when none)."""
    path = f"{ADDITIONAL_DATA}.{BANDS}"
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise f.error(path, f"must be an object of bands, got {type(raw).__name__}")
    return {str(name): _band_to_stac(f, f"{path}.{name}", str(name), spec) for name, spec in raw.items()}


def _band_to_stac(f: Fields, path: str, name: str, spec: Any) -> dict[str, Any]:
    with _nested(f, path):
        bf = Fields(PROVIDER, spec, record_id=f.record_id)
        bf.get(SOURCE, str)
        bf.get(BAND_INDEX, int)
        bit_depth = bf.get(BIT_DEPTH, int, DEFAULT_BIT_DEPTH)
        sample_format = bf.get(SAMPLE_FORMAT, str, DEFAULT_SAMPLE_FORMAT)
        nodata = bf.get(NO_DATA, float)
    band: dict[str, Any] = {STAC_NAME: name}
    data_type = DATA_TYPES.get((bit_depth, sample_format.upper()))
    if data_type is not None:
        band[STAC_DATA_TYPE] = data_type
    if nodata is not None and finite(nodata):
        band[STAC_NODATA] = nodata
    for field, value in spec.items():
        if field != NO_DATA or STAC_NODATA not in band:
            band[_key(field)] = copy_json(value)
    return band


def _asset_definition(band: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": band[STAC_NAME],
        "type": COG_MEDIA_TYPE,
        "roles": ["data"],
        STAC_BANDS: [copy_json(band)],
    }


def _extent_bbox(f: Fields, extent: Any) -> list[float]:
    path = f"{ADDITIONAL_DATA}.extent"
    try:
        if not isinstance(extent, Mapping):
            raise TypeError(f"expected a GeoJSON geometry, got {type(extent).__name__}")
        bbox = bbox_of(extent)
    except TransformError:
        raise
    except Exception as exc:  # shapely raises many types for malformed GeoJSON
        raise f.error(path, f"is not a GeoJSON geometry: {exc}") from exc
    return bbox


# --- the way in: tiles -------------------------------------------------------------------------------------

def tile_to_stac(tile: Any, collection: Any) -> pystac.Item:
    """Translate a BYOC tile to a STAC Item of its collection.

    Args:
        tile: The tile as the BYOC API sends it (a dict), or a sentinelhub ``ByocTile``.
        collection: The tile's collection (a dict or a ``ByocCollection``): it holds the bucket and the bands.

    Returns:
        A STAC 1.1 Item in collection ``byoc-<collection uuid>``: ``geometry`` is ``coverGeometry`` (or,
        without it, ``tileGeometry``) reprojected from the tile's CRS to WGS84 with densified edges, split at
        the antimeridian into a MultiPolygon when it crosses it (then ``bbox`` has west > east); the native
        geometry is ``proj:geometry``, ``tileGeometry``'s bounds ``proj:bbox`` and the CRS ``proj:code``.
        One asset per band, ``s3://<bucket>/`` + ``path`` with ``(BAND)`` replaced by the band's ``source``
        (a path without ``(BAND)`` is a folder of ``<source>.tiff`` files).

    Caveats:
        ``sensingTime`` null (or absent) gives ``datetime: null`` with the collection's
        ``fromSensingTime``/``toSensingTime`` as ``start_datetime``/``end_datetime``; a bound the collection
        lacks is ``0001-01-01T00:00:00Z`` / ``9999-12-31T23:59:59Z``, because Sentinel Hub matches a tile
        without a sensing time to any time range. ``status`` (also when not ``INGESTED``), ``path``,
        ``ingestionStart``, ``additionalData`` (with ``failedIngestionCause``) and any other field are kept
        under ``byoc:``. A tile that is not ``INGESTED`` may have no geometry yet: its Item has
        ``geometry: null`` and no ``bbox`` (pgstac cannot load it; the harvester can skip such tiles).

    Raises:
        TransformError: the tile has no id or path, an ``INGESTED`` tile has no geometry, a datetime is not
            RFC 3339, a CRS is unknown, or a field has the wrong type.

    """
    record = _as_record(tile)
    coll = _as_record(collection)
    f = Fields(PROVIDER, record)
    tile_id = f.require(ID, str)
    tile_path = f.require(PATH, str)
    status = f.get(STATUS, str)
    cf = Fields(PROVIDER, coll)
    collection_id = COLLECTION_ID_PREFIX + cf.require(ID, str)

    rest = {k: v for k, v in record.items() if k != ID}
    properties: dict[str, Any] = {}
    created = _take_datetime(f, CREATED, rest, properties)
    if created is not None:
        properties[STAC_CREATED] = created
    sensed = _utc_datetime(f, SENSING_TIME)
    if sensed is not None and _canonical(sensed) == rest[SENSING_TIME]:
        del rest[SENSING_TIME]

    geometry, projection = _geometries(f, rest, ingested=status == STATUS_INGESTED)
    for field, value in rest.items():
        properties[_key(field)] = copy_json(value)
    properties.update(provenance(PROVIDER, tile_id, TRANSFORM_VERSION))

    start = end = None
    if sensed is None:
        start, end = _sensing_range(cf)
    item = pystac.Item(
        id=tile_id,
        geometry=geometry,
        bbox=bbox_of(geometry) if geometry is not None else None,
        datetime=sensed,
        properties=properties,
        start_datetime=start,
        end_datetime=end,
        collection=collection_id,
        assets=_assets(cf, tile_path),
    )
    item.add_link(pystac.Link(pystac.RelType.COLLECTION, COLLECTION_LINK_HREF, pystac.MediaType.JSON))
    if projection:
        proj = ProjectionExtension.ext(item, add_if_missing=True)
        proj.code = projection[PROJ_CODE]
        proj.geometry = projection.get(PROJ_GEOMETRY)
        proj.bbox = projection.get(PROJ_BBOX)
    return item


def _geometries(
    f: Fields, rest: dict[str, Any], *, ingested: bool
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Return the WGS84 footprint and ``proj:`` fields; drop from ``rest`` the geometries they give back."""
    cover = f.get(COVER_GEOMETRY, Mapping)
    tile = f.get(TILE_GEOMETRY, Mapping)
    if cover is None and tile is None:
        if ingested:
            raise f.error(COVER_GEOMETRY, "is missing, and so is tileGeometry: an ingested tile needs one")
        return None, {}

    projection: dict[str, Any] = {}
    footprint_field, footprint = (COVER_GEOMETRY, cover) if cover is not None else (TILE_GEOMETRY, tile)
    epsg = _geometry_epsg(f, footprint_field, footprint)
    projection[PROJ_CODE] = f"EPSG:{epsg}"
    try:
        # JSON round trip: shapely's mappings hold tuples, which are no JSON arrays to a schema validator.
        geometry = json.loads(json.dumps(reproject_to_wgs84(_counterclockwise(strip_crs(footprint)), epsg)))
    except Exception as exc:  # shapely and pyproj raise many types for malformed input
        raise f.error(footprint_field, f"cannot be reprojected to WGS84: {exc}") from exc

    if cover is not None:
        projection[PROJ_GEOMETRY] = copy_json(strip_crs(cover))
        if _same_json(_with_crs(projection[PROJ_GEOMETRY], epsg), cover):
            del rest[COVER_GEOMETRY]
    if tile is not None:
        tile_epsg = _geometry_epsg(f, TILE_GEOMETRY, tile)
        if tile_epsg == epsg:
            try:
                projection[PROJ_BBOX] = native_bbox(strip_crs(tile))
            except Exception as exc:  # shapely raises many types for malformed GeoJSON
                raise f.error(TILE_GEOMETRY, f"is not a GeoJSON geometry: {exc}") from exc
            if _same_json(_rectangle(projection[PROJ_BBOX], epsg), tile):
                del rest[TILE_GEOMETRY]
    return geometry, projection


def _counterclockwise(geometry: Mapping[str, Any]) -> dict[str, Any]:
    """Wind polygon rings counterclockwise, as RFC 7946 asks.

    BYOC's ``tileGeometry`` runs clockwise, which the antimeridian splitter would take for a polygon around a
    pole (and warn about).
    """
    shape = shapely.geometry.shape(geometry)
    if shape.geom_type not in ("Polygon", "MultiPolygon"):
        return dict(geometry)
    return dict(shapely.geometry.mapping(shapely.orient_polygons(shape)))


def _geometry_epsg(f: Fields, field: str, geometry: Mapping[str, Any]) -> int:
    """Return the EPSG code of a geometry's ``crs`` member; WGS84 (GeoJSON's default) when it has none."""
    crs = geometry.get("crs")
    if crs is None:
        return 4326
    path = f"{field}.crs.properties.name"
    name = f.require(path, str)
    return f.convert(path, lambda _: epsg_code(name), "a known CRS")


def _sensing_range(cf: Fields) -> tuple[dt.datetime, dt.datetime]:
    start = _utc_datetime(cf, f"{ADDITIONAL_DATA}.{FROM_SENSING_TIME}")
    end = _utc_datetime(cf, f"{ADDITIONAL_DATA}.{TO_SENSING_TIME}")
    return start or OPEN_START, end or OPEN_END


def _assets(cf: Fields, tile_path: str) -> dict[str, pystac.Asset]:
    """One asset per band of the collection; none when the collection has no bands (yet)."""
    bands = _bands_to_stac(cf, cf.get(f"{ADDITIONAL_DATA}.{BANDS}"))
    if not bands:
        return {}
    bucket = cf.require(S3_BUCKET, str)
    assets = {}
    for name, band in bands.items():
        source = band.get(_key(SOURCE))
        href = f"s3://{bucket}/{_band_path(tile_path, source if isinstance(source, str) else name)}"
        assets[name] = pystac.Asset(
            href,
            title=name,
            media_type=COG_MEDIA_TYPE,
            roles=["data"],
            extra_fields={STAC_BANDS: [band]},
        )
    return assets


def _band_path(tile_path: str, source: str) -> str:
    """Return one band's object key: BYOC replaces ``(BAND)``; a path without it is a folder of band files."""
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
        For a Collection made by :func:`collection_to_stac`, the exact BYOC record it came from. For any other
        Collection, the body that creates it (``POST /api/v1/byoc/collections``): ``name`` (its title or id),
        ``s3Bucket`` (from ``byoc:s3Bucket``) and the bands of its ``item_assets``: one BYOC band per STAC
        band, ``source`` = the asset key, ``bandIndex`` = its place in the asset,
        ``bitDepth``/``sampleFormat`` from ``data_type``.

    Raises:
        TransformError: it is not a Collection; a Collection of another origin has no ``byoc:s3Bucket`` or a
            band whose ``data_type`` BYOC cannot store.

    """
    stac = _stac_dict(collection, "Collection")
    stac_id = stac.get("id")
    if not _made_here(stac):
        return _create_collection_payload(stac)

    record: dict[str, Any] = {}
    if isinstance(stac_id, str) and stac_id.startswith(COLLECTION_ID_PREFIX):
        record[ID] = stac_id[len(COLLECTION_ID_PREFIX):]
    if isinstance(stac.get("title"), str):
        record[NAME] = stac["title"]
    if isinstance(stac.get(STAC_CREATED), str):
        record[CREATED] = stac[STAC_CREATED]
    record.update(_unprefixed(stac))

    additional = record.get(ADDITIONAL_DATA)
    if isinstance(additional, dict):
        bands = {
            key: _band_from_stac(definition[STAC_BANDS][0])
            for key, definition in (stac.get("item_assets") or {}).items()
        }
        if bands:
            additional[BANDS] = bands
        interval = stac["extent"]["temporal"]["interval"][0]
        for field, value in zip((FROM_SENSING_TIME, TO_SENSING_TIME), interval, strict=True):
            if value is not None and field not in additional:
                additional[field] = value
    return record


def _band_from_stac(band: Mapping[str, Any]) -> dict[str, Any]:
    spec = _unprefixed(band)
    if NO_DATA not in spec and STAC_NODATA in band:
        spec[NO_DATA] = band[STAC_NODATA]
    return spec


def _create_collection_payload(stac: Mapping[str, Any]) -> dict[str, Any]:
    stac_id = stac.get("id")
    record_id = stac_id if isinstance(stac_id, str) else None
    bucket = stac.get(_key(S3_BUCKET))
    if not isinstance(bucket, str):
        raise TransformError(PROVIDER, record_id, _key(S3_BUCKET), "is missing: BYOC needs a bucket")
    record: dict[str, Any] = {NAME: stac.get("title") or record_id, S3_BUCKET: bucket}
    bands: dict[str, Any] = {}
    for key, definition in (stac.get("item_assets") or {}).items():
        if "data" not in (definition.get("roles") or ["data"]):
            continue
        stac_bands = definition.get(STAC_BANDS) or [{STAC_NAME: key}]
        for index, band in enumerate(stac_bands, start=1):
            name = band.get(STAC_NAME) or key
            where = f"item_assets.{key}.bands.{index - 1}"
            bands[name] = {SOURCE: key, BAND_INDEX: index, **_byoc_format(record_id, where, band)}
    if bands:
        record[ADDITIONAL_DATA] = {BANDS: bands}
    return record


def _byoc_format(record_id: str | None, where: str, band: Mapping[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    data_type = band.get(STAC_DATA_TYPE)
    if data_type is not None:
        if data_type not in BYOC_FORMATS:
            raise TransformError(
                PROVIDER, record_id, f"{where}.data_type", f"is {data_type!r}, which BYOC cannot store"
            )
        spec[BIT_DEPTH], spec[SAMPLE_FORMAT] = BYOC_FORMATS[data_type]
    nodata = band.get(STAC_NODATA)
    if isinstance(nodata, int | float) and not isinstance(nodata, bool):
        spec[NO_DATA] = nodata
    return spec


def stac_to_tile(item: pystac.Item | Mapping[str, Any]) -> dict[str, Any]:
    """Translate a STAC Item back to a BYOC tile.

    Args:
        item: A ``pystac.Item`` or its dict.

    Returns:
        For an Item made by :func:`tile_to_stac`, the exact BYOC tile it came from. For any other Item, the
        body that creates the tile (``POST .../collections/{id}/tiles``): ``path`` (``byoc:path``, or the
        template ``(BAND)`` makes of its ``s3://`` data assets, each asset key being the band source),
        ``coverGeometry`` (``proj:geometry`` in ``proj:code``, else the WGS84 ``geometry``) and
        ``sensingTime`` (``datetime``, when not null).

    Raises:
        TransformError: it is not an Item; a ``proj:`` field is missing that the way back needs; an Item of
            another origin has no ``s3://`` data assets in one bucket that share a path template.

    """
    stac = _stac_dict(item, "Feature")
    item_id = stac.get("id") if isinstance(stac.get("id"), str) else None
    properties = stac.get("properties")
    if not isinstance(properties, Mapping):
        raise TransformError(PROVIDER, item_id, "properties", "must be an object")
    if not _made_here(properties):
        return _create_tile_payload(stac, item_id, properties)

    record: dict[str, Any] = {}
    if item_id is not None:
        record[ID] = item_id
    record.update(_unprefixed(properties))
    if CREATED not in record and isinstance(properties.get(STAC_CREATED), str):
        record[CREATED] = properties[STAC_CREATED]
    if SENSING_TIME not in record and isinstance(properties.get("datetime"), str):
        record[SENSING_TIME] = properties["datetime"]
    if COVER_GEOMETRY not in record and PROJ_GEOMETRY in properties:
        record[COVER_GEOMETRY] = _with_crs(properties[PROJ_GEOMETRY], _proj_epsg(item_id, properties))
    if TILE_GEOMETRY not in record and PROJ_BBOX in properties:
        record[TILE_GEOMETRY] = _rectangle(properties[PROJ_BBOX], _proj_epsg(item_id, properties))
    return record


def _create_tile_payload(
    stac: Mapping[str, Any], item_id: str | None, properties: Mapping[str, Any]
) -> dict[str, Any]:
    record: dict[str, Any] = {}
    path = properties.get(_key(PATH))
    record[PATH] = path if isinstance(path, str) else _path_template(item_id, stac.get("assets") or {})
    if PROJ_GEOMETRY in properties:
        record[COVER_GEOMETRY] = _with_crs(properties[PROJ_GEOMETRY], _proj_epsg(item_id, properties))
    elif isinstance(stac.get("geometry"), Mapping):
        record[COVER_GEOMETRY] = copy_json(dict(stac["geometry"]))
    if isinstance(properties.get("datetime"), str):
        record[SENSING_TIME] = properties["datetime"]
    return record


def _path_template(item_id: str | None, assets: Mapping[str, Any]) -> str:
    """Return the BYOC ``path`` of the Item's ``s3://`` data assets (each asset key a band source)."""
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
            raise TransformError(
                PROVIDER, item_id, f"assets.{key}.href", f"{href!r} does not name its band {key!r}, so no "
                "(BAND) path template fits it"
            )
        buckets.add(bucket)
        templates.add(head + BAND_PLACEHOLDER + tail)
    if not templates:
        raise TransformError(PROVIDER, item_id, "assets", "has no s3:// data asset to make a path of")
    if len(buckets) > 1 or len(templates) > 1:
        raise TransformError(
            PROVIDER, item_id, "assets", f"the s3:// data assets do not share one bucket and one (BAND) path "
            f"template: {sorted(buckets)} {sorted(templates)}"
        )
    return templates.pop()


def _proj_epsg(item_id: str | None, properties: Mapping[str, Any]) -> int:
    code = properties.get(PROJ_CODE)
    if not isinstance(code, str):
        raise TransformError(PROVIDER, item_id, f"properties.{PROJ_CODE}", "is missing beside proj:geometry")
    try:
        return epsg_code(code)
    except ValueError as exc:
        raise TransformError(PROVIDER, item_id, f"properties.{PROJ_CODE}", f"is no known CRS: {exc}") from exc


# --- shared helpers ----------------------------------------------------------------------------------------

def _as_record(obj: Any) -> Any:
    """Return a BYOC record as plain JSON: a mapping as given, a sentinelhub dataclass by ``to_dict()``."""
    to_dict = getattr(obj, "to_dict", None)
    if isinstance(obj, Mapping) or not callable(to_dict):
        return obj  # Fields names the record when it is not an object
    # JSON-normalise: the SDK's geometries come back with tuples, which are no JSON arrays to a validator.
    data = json.loads(json.dumps(to_dict()))
    # ByocCollection serialises its catch-all as a literal "otherData": {}, which is no BYOC field.
    if isinstance(data, dict) and data.get("otherData") == {}:
        del data["otherData"]
    return data


def _stac_dict(stac: Any, kind: str) -> dict[str, Any]:
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


def _made_here(fields: Mapping[str, Any]) -> bool:
    return fields.get(PROVENANCE_PROVIDER) == PROVIDER


def _unprefixed(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k[len(PREFIX):]: copy_json(v) for k, v in fields.items() if k.startswith(PREFIX)}


def _utc_datetime(f: Fields, path: str) -> dt.datetime | None:
    """Read an optional datetime field in UTC (STAC wants UTC; pystac writes the zone it is given)."""
    when = f.datetime(path, required=False)
    return when.astimezone(dt.UTC) if when is not None else None


def _canonical(when: dt.datetime) -> str:
    """Spell a datetime as the STAC output does (pystac's form, in UTC)."""
    return pystac.utils.datetime_to_str(when.astimezone(dt.UTC))


def _take_datetime(f: Fields, field: str, rest: dict[str, Any], extra: dict[str, Any]) -> str | None:
    """Return a datetime field's STAC form; drop it from ``rest`` (the verbatim ``byoc:`` fields) if exact."""
    when = _utc_datetime(f, field)
    if when is None:
        return None
    text = _canonical(when)
    if text == rest[field]:
        del rest[field]
    return text


def _same_json(a: Any, b: Any) -> bool:
    """Tell whether two values serialise to the same JSON (``==`` takes ``1 == 1.0``, JSON does not)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _crs_member(epsg: int) -> dict[str, Any]:
    return {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}


def _with_crs(geometry: Mapping[str, Any], epsg: int) -> dict[str, Any]:
    """Write a geometry as BYOC sends it, with a ``crs`` member naming its CRS first."""
    return {"crs": _crs_member(epsg), **copy_json(dict(geometry))}


def _rectangle(bbox: list[float], epsg: int) -> dict[str, Any]:
    """Write the ``tileGeometry`` BYOC gives a bounding box: clockwise from the upper-left corner."""
    minx, miny, maxx, maxy = bbox
    ring = [[minx, maxy], [maxx, maxy], [maxx, miny], [minx, miny], [minx, maxy]]
    return {"crs": _crs_member(epsg), "type": "Polygon", "coordinates": [ring]}


@contextmanager
def _nested(f: Fields, prefix: str) -> Iterator[None]:
    """Re-raise a nested object's errors with the field path from the record's root."""
    try:
        yield
    except TransformError as exc:
        field = f"{prefix}.{exc.field}" if exc.field else prefix
        raise f.error(field, exc.reason) from exc


# --- the adapter -------------------------------------------------------------------------------------------

_Raw = ProviderRecord | Mapping[str, Any]


class ByocAdapter:
    """The BYOC transforms under the registry's interface: records are collections or tiles."""

    name = PROVIDER
    title = "Sentinel Hub BYOC"

    def classify(self, raw: Mapping[str, Any]) -> ProviderRecord:
        """Tell a tile (it has a ``path``) from a collection (it has ``s3Bucket`` or ``name``).

        Raises:
            TransformError: the record is neither.

        """
        if not isinstance(raw, Mapping):
            raise TransformError(PROVIDER, None, None, f"expected a JSON object, got {type(raw).__name__}")
        if PATH in raw:
            return ProviderRecord("tile", raw)
        if S3_BUCKET in raw or NAME in raw:
            return ProviderRecord("collection", raw)
        raw_id = raw.get(ID)
        raise TransformError(
            PROVIDER, str(raw_id) if raw_id is not None else None, None,
            "is neither a BYOC tile (no 'path') nor a collection (no 's3Bucket' or 'name')",
        )

    def to_stac(self, record: ProviderRecord) -> dict[str, Any]:
        """Translate a record to its STAC Collection or Item; a tile needs ``context["collection"]``.

        Raises:
            TransformError: the record cannot be translated, or a tile comes without its collection.

        """
        stac: pystac.STACObject
        if record.kind == "collection":
            stac = collection_to_stac(record.data)
        elif record.kind == "tile":
            collection = record.context.get("collection")
            if collection is None:
                raise TransformError(PROVIDER, record.id, "context.collection", "is missing for a tile")
            stac = tile_to_stac(record.data, collection)
        else:
            raise TransformError(PROVIDER, record.id, None, f"kind {record.kind!r} is no BYOC kind")
        return stac.to_dict(include_self_link=False, transform_hrefs=False)

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
            return stac_to_collection(stac)
        return stac_to_tile(stac)


ADAPTER: Final = ByocAdapter()
