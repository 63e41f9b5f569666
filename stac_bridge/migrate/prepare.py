"""STAC from one provider (or from rasters) made ready for another provider's way back, and what is lost.

The provider transforms already turn STAC made elsewhere into the payloads that create it
(:func:`stac_bridge.transforms.byoc.stac_to_tile`, :func:`~stac_bridge.transforms.descartes.stac_to_client_calls`).
What they need is the STAC in the shape they read: for BYOC, ``s3://`` data assets keyed by their band source
that share one ``(BAND)`` template, ``proj:geometry`` in the tile's CRS and a ``byoc:s3Bucket``; for DL, data
assets ``file-0``, ``file-1``... with the grid as Item properties and product bands that say their file and band
index. This module puts the STAC in that shape (no second mapping) and says, field by field, what the target
has no place for.

Everything here is pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from stac_bridge.errors import ConfigError, TransformError
from stac_bridge.transforms._plain import copy_json
from stac_bridge.transforms.kernel import LEDGER, SOURCE, source_of

__all__ = ["Bucket", "Loss", "Move", "Prepared", "for_byoc", "for_descartes", "parse_bucket"]

#: What a BYOC tile payload carries of an Item's properties (and the bookkeeping that is not data).
_BYOC_TILE_KEEPS: Final = frozenset({"datetime", "proj:code", "proj:geometry", "proj:bbox", "proj:shape",
                                     "proj:transform", SOURCE, LEDGER})
#: What a BYOC collection payload carries of a Collection.
_BYOC_COLLECTION_KEEPS: Final = frozenset({"type", "stac_version", "stac_extensions", "id", "title", "links",
                                           "item_assets", "byoc:s3Bucket", SOURCE, LEDGER, "extent"})
_BYOC_BAND_KEEPS: Final = frozenset({"name", "data_type", "nodata", "statistics", "byoc:source", "byoc:bandIndex"})
#: What DL's v1 image attributes hold of an Item's properties (the image table's STAC fields and the grid).
_DL_IMAGE_KEEPS: Final = frozenset({
    "datetime", "published", "eo:cloud_cover", "view:sun_azimuth", "view:sun_elevation", "view:incidence_angle",
    "view:azimuth", "sat:absolute_orbit", "sat:relative_orbit", "sat:orbit_state", "keywords", "title", "platform",
    "processing:datetime", "processing:version", "proj:code", "proj:transform", "proj:shape", "instruments",
    SOURCE, LEDGER,
})
_DL_COLLECTION_KEEPS: Final = frozenset({"type", "stac_version", "stac_extensions", "id", "title", "description",
                                         "keywords", "extent", "summaries", "item_assets", "links", "license",
                                         "providers", SOURCE, LEDGER})
_SAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Bucket:
    """Where the files go in S3: ``s3://<name>/<prefix>``."""

    name: str
    prefix: str = ""

    def href(self, key: str) -> str:
        """The ``s3://`` URL of an object key under the prefix."""
        return f"s3://{self.name}/{self.prefix}{key}"


def parse_bucket(text: str) -> Bucket:
    """``s3://bucket/prefix/`` (or ``bucket/prefix``) as a :class:`Bucket`.

    Raises:
        ConfigError: it names no bucket, or another scheme.
    """
    parts = urlsplit(text if "://" in text else f"s3://{text}")
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError(f"--bucket {text!r}: expected s3://BUCKET/PREFIX")
    prefix = parts.path.strip("/")
    return Bucket(parts.netloc, f"{prefix}/" if prefix else "")


@dataclass(frozen=True)
class Loss:
    """A field that the target provider has no place for.

    Attributes:
        field: The STAC field (``properties.eo:cloud_cover``, ``item_assets.*.bands.eo:center_wavelength``).
        reason: Why it is not carried over.
    """

    field: str
    reason: str


@dataclass(frozen=True)
class Move:
    """A file to copy where the target provider reads it (BYOC reads S3).

    Attributes:
        source: Where the file is.
        destination: Where the target reads it.
        action: ``copy``, or ``to-cog`` for a file that is not a GeoTIFF (a DL JPEG 2000) and must be made a COG
            on the way (``gdal_translate -of COG``).
    """

    source: str
    destination: str
    action: str = "copy"


@dataclass
class Prepared:
    """A STAC object ready for the target's way back, the files to copy and what is not carried over."""

    stac: dict[str, Any]
    moves: list[Move] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)


def _id(stac: Mapping[str, Any]) -> str | None:
    value = stac.get("id")
    return value if isinstance(value, str) else None


def _from(stac: Mapping[str, Any], provider: str) -> bool:
    found = source_of(stac)
    return found is not None and found[0] == provider


def _data_assets(item: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for key, asset in (item.get("assets") or {}).items():
        if isinstance(asset, Mapping) and isinstance(asset.get("href"), str) and \
                "data" in (asset.get("roles") or ["data"]):
            found.append((str(key), dict(asset)))
    return found


def _lost_keys(obj: Mapping[str, Any], keeps: frozenset[str], where: str, reason: str) -> list[Loss]:
    return [Loss(f"{where}{key}", reason) for key in obj if key not in keeps and not key.startswith("stac_bridge:")]


# --- to BYOC ---------------------------------------------------------------------------------------------------

_TILE_REASON: Final = "a BYOC tile has only a path, a cover geometry and a sensing time"
_COLLECTION_REASON: Final = "a BYOC collection has only a name, a bucket and its bands"


def _native_cover(item: Mapping[str, Any], epsg: int) -> dict[str, Any] | None:  # noqa: C901
    """The footprint in ``EPSG:<epsg>``: the grid's rectangle when it crosses the antimeridian, else the geometry."""
    properties = item.get("properties") or {}
    transform, shape = properties.get("proj:transform"), properties.get("proj:shape")
    bbox = item.get("bbox")
    crosses = isinstance(bbox, list) and len(bbox) >= 4 and bbox[0] > bbox[2]
    geometry = item.get("geometry")
    if isinstance(transform, list) and len(transform) >= 6 and isinstance(shape, list) and len(shape) == 2 and (
            crosses or not isinstance(geometry, Mapping)):
        a, b, c, d, e, f = transform[:6]
        rows, cols = shape
        xs = [c, c + a * cols + b * rows, c + b * rows, c + a * cols]
        ys = [f, f + d * cols + e * rows, f + e * rows, f + d * cols]
        minx, miny, maxx, maxy = min(xs), min(ys), max(xs), max(ys)
        return {"type": "Polygon", "coordinates": [[[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy],
                                                     [minx, miny]]]}
    if not isinstance(geometry, Mapping) or crosses:
        return None
    import pyproj
    import shapely
    import shapely.geometry
    import shapely.ops

    transformer = pyproj.Transformer.from_crs(4326, epsg, always_xy=True)
    projected = shapely.ops.transform(transformer.transform, shapely.geometry.shape(geometry))
    return dict(shapely.geometry.mapping(projected))


def _epsg(code: Any) -> int | None:
    from stac_bridge.transforms._common import epsg_code

    try:
        return epsg_code(code) if isinstance(code, str) else None
    except ValueError:
        return None


def _byoc_item(item: dict[str, Any], bucket: Bucket | None) -> Prepared:
    item_id = _id(item)
    properties = dict(item.get("properties") or {})
    out = Prepared({**item, "properties": properties})
    out.losses += _lost_keys(properties, _BYOC_TILE_KEEPS, "properties.", _TILE_REASON)
    data = _data_assets(item)
    out.losses += [Loss(f"assets.{key}", "a BYOC tile has no assets besides its band files")
                   for key in (item.get("assets") or {}) if key not in dict(data)]
    if not data:
        raise TransformError("byoc", item_id, "assets", "has no data asset (a GeoTIFF) to register")
    assets: dict[str, Any] = {}
    name = _SAFE.sub("_", str(item_id).rsplit(":", 1)[-1] if item.get("collection") else str(item_id))
    for key, asset in data:
        href = asset["href"]
        keep = href.startswith("s3://") and key in href.rsplit("/", 1)[-1] and (
            bucket is None or href.startswith(f"s3://{bucket.name}/"))
        if not keep:
            if bucket is None:
                raise TransformError("byoc", item_id, f"assets.{key}.href",
                                     f"{href!r} is not in S3, where BYOC reads files: give --bucket s3://BUCKET/PREFIX "
                                     "to say where they will be copied")
            destination = bucket.href(f"{name}/{_SAFE.sub('_', key)}.tif")
            tiff = "image/tiff" in str(asset.get("type") or "") or href.lower().split("?")[0].endswith(
                (".tif", ".tiff"))
            out.moves.append(Move(href, destination, "copy" if tiff else "to-cog"))
            if not tiff:
                out.losses.append(Loss(f"assets.{key}.type", f"{asset.get('type') or 'not a GeoTIFF'}: BYOC ingests "
                                       "only COGs; the copy plan says to convert it (gdal_translate -of COG)"))
            asset["type"] = "image/tiff; application=geotiff; profile=cloud-optimized"
            asset["href"] = destination
        assets[_SAFE.sub("_", key)] = asset
    out.stac["assets"] = assets
    epsg = _epsg(properties.get("proj:code"))
    has_native = "proj:geometry" in properties or any("proj:geometry" in a for a in assets.values())
    if epsg is None:
        out.losses.append(Loss("properties.proj:code", "missing: the cover geometry is given in WGS84"))
    elif not has_native:
        native = _native_cover(item, epsg)
        if native is not None:
            properties["proj:geometry"] = native
    if properties.get("datetime") is None:
        out.losses.append(Loss("properties.datetime", "null (a time range): BYOC takes the collection's range"))
    return out


def _byoc_collection(collection: dict[str, Any], bucket: Bucket | None) -> Prepared:
    out = Prepared(dict(collection))
    out.losses += _lost_keys(collection, _BYOC_COLLECTION_KEEPS, "", _COLLECTION_REASON)
    if bucket is not None:
        out.stac["byoc:s3Bucket"] = bucket.name
    elif not isinstance(collection.get("byoc:s3Bucket"), str):
        raise TransformError("byoc", _id(collection), "byoc:s3Bucket",
                             "is missing: give --bucket s3://BUCKET/PREFIX, where the files will be")
    item_assets = {}
    for key, definition in (collection.get("item_assets") or {}).items():
        if not isinstance(definition, Mapping) or "data" not in (definition.get("roles") or ["data"]):
            out.losses.append(Loss(f"item_assets.{key}", "a BYOC collection has only band files"))
            continue
        definition = dict(definition)
        bands = []
        for band in definition.get("bands") or []:
            bands.append({k: v for k, v in band.items() if k in _BYOC_BAND_KEEPS})
            out.losses += [Loss(f"item_assets.*.bands.{k}", "a BYOC band has only a name, a format and noData")
                           for k in band if k not in _BYOC_BAND_KEEPS and not k.startswith("byoc:")]
        if bands:
            definition["bands"] = bands
        item_assets[_SAFE.sub("_", str(key))] = definition
    out.stac["item_assets"] = item_assets
    return out


def for_byoc(stac: Mapping[str, Any], bucket: Bucket | None = None) -> Prepared:
    """A Collection or Item of any origin in the shape BYOC's way back reads (one from BYOC is left as it is).

    Args:
        stac: The STAC object.
        bucket: Where the files will be in S3 (``--bucket``): data assets not already there are given hrefs
            ``s3://<bucket>/<prefix><item>/<asset key>.tif`` (the copies to make are the :class:`Move` list),
            and the Collection's ``byoc:s3Bucket``.

    Raises:
        TransformError: an Item has no data asset, or files outside S3 and no bucket; a Collection has no
            bucket.
    """
    obj: dict[str, Any] = copy_json(dict(stac))
    if _from(obj, "byoc"):
        return Prepared(obj)
    if obj.get("type") == "Collection":
        return _byoc_collection(obj, bucket)
    return _byoc_item(obj, bucket)


# --- to Descartes Labs -----------------------------------------------------------------------------------------

_DL_REASON: Final = "a DL image has no field for it"


def _file_of(key: str, band: Mapping[str, Any]) -> str:
    source = band.get("byoc:source")
    return str(source) if isinstance(source, str) else key


def _dl_collection(collection: dict[str, Any]) -> Prepared:
    out = Prepared(dict(collection))
    out.losses += _lost_keys(collection, _DL_COLLECTION_KEEPS, "", "a DL product has no field for it")
    files: list[str] = []
    entries = []
    for key, definition in (collection.get("item_assets") or {}).items():
        if not isinstance(definition, Mapping) or "data" not in (definition.get("roles") or ["data"]):
            continue
        for position, band in enumerate(definition.get("bands") or [{"name": key}]):
            file_key = _file_of(str(key), band)
            if file_key not in files:
                files.append(file_key)
            index = band.get("byoc:bandIndex", position + 1)
            entry = {k: v for k, v in band.items() if ":" not in k or k.startswith(("eo:", "raster:"))}
            entry.pop("statistics", None)
            entry.setdefault("name", key)
            entry["dl:srcfile"], entry["dl:srcband"] = files.index(file_key), index
            statistics = band.get("statistics") or {}
            if not str(band.get("data_type", "")).startswith(("uint", "int")) and \
                    isinstance(statistics.get("minimum"), int | float) and isinstance(statistics.get("maximum"),
                                                                                      int | float):
                entry["dl:data_range"] = [statistics["minimum"], statistics["maximum"]]
            entries.append(entry)
    summaries = dict(collection.get("summaries") or {})
    if entries:
        summaries["bands"] = entries
    out.stac["summaries"] = summaries
    return out


def _dl_item(item: dict[str, Any]) -> Prepared:
    properties = dict(item.get("properties") or {})
    out = Prepared({**item, "properties": properties})
    data = _data_assets(item)
    hrefs: list[str] = []
    assets: dict[str, Any] = {}
    for _key, asset in data:
        for name in ("proj:code", "proj:shape", "proj:transform"):
            if name in asset and name not in properties:
                properties[name] = asset[name]
        if asset["href"] in hrefs:
            continue  # another band of the same file (a BYOC band with its bandIndex)
        hrefs.append(asset["href"])
        assets[f"file-{len(assets)}"] = {k: v for k, v in asset.items() if k in ("href", "type", "roles", "title",
                                                                                 "file:size", "file:checksum")}
    out.losses += [Loss(f"assets.{key}", "a DL image has only its files")
                   for key in (item.get("assets") or {}) if key not in dict(data)]
    out.losses += _lost_keys(properties, _DL_IMAGE_KEEPS, "properties.", _DL_REASON)
    for name, dl in (("proj:transform", "geotrans"), ("proj:shape", "raster_size"), ("proj:code", "cs_code")):
        if name not in properties:
            out.losses.append(Loss(f"properties.{name}", f"missing, so the image has no {dl}: harvest or convert "
                                   "with --enrich to read it from the COG headers"))
    out.stac["assets"] = assets
    return out


def for_descartes(stac: Mapping[str, Any]) -> Prepared:
    """A Collection or Item of any origin in the shape DL's way back reads (one from DL is left as it is).

    A Collection's bands (from its data ``item_assets``) say their file (``dl:srcfile``: the asset's place, or
    the BYOC band source's) and band index (``dl:srcband``: the place in the asset, or the BYOC ``bandIndex``);
    a float band takes its ``data_range`` from its statistics. An Item's data assets become ``file-0``,
    ``file-1``... (one per file), its grid Item properties.
    """
    obj: dict[str, Any] = copy_json(dict(stac))
    if _from(obj, "descartes"):
        return Prepared(obj)
    if obj.get("type") == "Collection":
        return _dl_collection(obj)
    return _dl_item(obj)


def summarise(losses: Sequence[Loss]) -> list[tuple[str, str, int]]:
    """``(field, reason, how many records)`` of the losses, most frequent first."""
    from collections import Counter

    counted = Counter((loss.field, loss.reason) for loss in losses)
    return [(f, r, n) for (f, r), n in counted.most_common()]
