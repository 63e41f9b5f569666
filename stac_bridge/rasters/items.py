"""STAC Items from GeoTIFFs with rio-stac, in STAC 1.1 (``bands``, ``proj:code``), and the Collection of them.

rio-stac's ``create_stac_item`` reads each file (projection, raster and eo information); what it writes in
STAC 1.0 terms (``raster:bands``, ``eo:bands``, ``proj:epsg``) is spoken as STAC 1.1 here, and the footprint
is the projected bounds reprojected by the BYOC footprint code (densified, cut at the antimeridian), so that
an Item made from a file and the same file registered in BYOC have the same footprint.

One file makes one Item with one asset (``data``); several single-band files whose names match one id pattern
(``--group``) make one Item with one asset per band file, keyed by the band.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from stac_bridge.errors import ConfigError, StacBridgeError
from stac_bridge.rasters.cog import COG_FIX, cog_problems
from stac_bridge.rasters.gdal import HEADER_READ_CONFIG, vsi_path
from stac_bridge.transforms._plain import copy_json, format_datetime, parse_datetime
from stac_bridge.transforms.kernel import SOURCE, declare_extensions, source_tag

__all__ = [
    "DATA_ASSET",
    "RasterError",
    "bands_of",
    "collection_for",
    "group_files",
    "item_from_files",
]

STAC_VERSION: Final = "1.1.0"
PROVIDER: Final = "raster"
TRANSFORM_VERSION: Final = 1
COG_MEDIA_TYPE: Final = "image/tiff; application=geotiff; profile=cloud-optimized"
#: The asset key of an Item made from one file.
DATA_ASSET: Final = "data"
_PROJ_KEYS: Final = ("proj:code", "proj:wkt2", "proj:projjson", "proj:bbox", "proj:shape", "proj:transform",
                     "proj:geometry")
_STATISTICS: Final = ("minimum", "maximum", "mean", "stddev", "valid_percent")


class RasterError(StacBridgeError):
    """A raster cannot be read or described: the message names the file and what is wrong."""


@dataclass(frozen=True)
class RasterFile:
    """One file of an Item: its href, and the band it holds when it is one of several files."""

    href: str
    band: str | None = None


# --- grouping -------------------------------------------------------------------------------------------------

def _name(href: str) -> str:
    return Path(urlsplit(href).path if "://" in href else href).name


def _stem(href: str) -> str:
    name = _name(href)
    return name[: name.rfind(".")] if "." in name else name


def group_files(hrefs: Sequence[str], pattern: str | None = None) -> dict[str, list[RasterFile]]:
    """The Items to make: ``{item id: [files]}``, in the order the files were given.

    Args:
        hrefs: Paths or URLs of GeoTIFFs.
        pattern: A regular expression searched in each file name, with the groups ``id`` and ``band`` (named,
            or the first two): files with the same id make one Item, one asset per band; a file whose name does
            not match is an Item of its own. ``None``: one Item per file, named by the file's stem.

    Raises:
        ConfigError: the pattern is not a regular expression or lacks the groups, two files of one Item hold
            the same band, or two Items would have one id.
    """
    if pattern is None:
        grouped: dict[str, list[RasterFile]] = {}
        for href in hrefs:
            stem = _stem(href)
            if stem in grouped:
                raise ConfigError(f"{href}: another file is also named {stem!r}; each Item needs its own id "
                                  "(rename one, or group band files with --group)")
            grouped[stem] = [RasterFile(href)]
        return grouped
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"--group {pattern!r} is not a regular expression: {exc}") from None
    names = regex.groupindex
    if not ({"id", "band"} <= set(names) or regex.groups >= 2):
        raise ConfigError(f"--group {pattern!r} needs the groups (?P<id>...) and (?P<band>...), or two groups")
    grouped = {}
    for href in hrefs:
        match = regex.search(_name(href))
        if match is None:  # a file of its own: an Item by its stem
            if _stem(href) in grouped:
                raise ConfigError(f"{href}: another item is also named {_stem(href)!r}")
            grouped[_stem(href)] = [RasterFile(href)]
            continue
        item_id, band = (match.group("id"), match.group("band")) if "id" in names else (match.group(1),
                                                                                       match.group(2))
        files = grouped.setdefault(item_id, [])
        if any(f.band == band for f in files):
            raise ConfigError(f"{href}: item {item_id!r} has band {band!r} twice")
        files.append(RasterFile(href, band))
    return grouped


# --- one file -----------------------------------------------------------------------------------------------

def _open(href: str) -> Any:
    import rasterio

    try:
        return rasterio.open(vsi_path(href))
    except rasterio.errors.RasterioIOError as exc:
        raise RasterError(f"{href}: cannot be read as a raster: {exc}") from None


def _when(dataset: Any, href: str, given: str | None) -> dt.datetime:
    if given is not None:
        return parse_datetime(given)
    for key, domain in (("ACQUISITIONDATETIME", "IMAGERY"), ("TIFFTAG_DATETIME", None)):
        text = dataset.get_tag_item(key, domain) if domain else dataset.get_tag_item(key)
        if text:
            for layout in ("%Y:%m:%d %H:%M:%S", None):
                try:
                    when = dt.datetime.strptime(text, layout) if layout else parse_datetime(text)
                except ValueError:
                    continue
                return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    raise RasterError(f"{href}: has no acquisition time (no TIFFTAG_DATETIME or IMAGERY ACQUISITIONDATETIME): "
                      "give one with --datetime")


def bands_of(raster_bands: Sequence[Mapping[str, Any]], eo_bands: Sequence[Mapping[str, Any]],
             names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """rio-stac's ``raster:bands`` and ``eo:bands`` of one asset as STAC 1.1 ``bands``.

    Args:
        raster_bands: ``raster:bands`` as rio-stac gives them (data type, nodata, scale, offset, statistics).
        eo_bands: ``eo:bands`` (``b1``... or the band description).
        names: The band names to use instead (the band of a band file).
    """
    bands = []
    for index, raster in enumerate(raster_bands):
        eo = eo_bands[index] if index < len(eo_bands) else {}
        name = names[index] if names and index < len(names) else None
        description = eo.get("description")
        band: dict[str, Any] = {"name": name or _band_name(description, index)}
        if description and description != band["name"] and description.lower() not in ("gray", "undefined"):
            band["description"] = description
        for key in ("data_type", "nodata", "unit"):
            if raster.get(key) is not None:
                band[key] = raster[key]
        if "nodata" in band:
            band["nodata"] = plain_nodata(band["nodata"], band.get("data_type"))
        statistics = raster.get("statistics") or {}
        statistics = {k: statistics[k] for k in _STATISTICS if isinstance(statistics.get(k), int | float)}
        if statistics:
            band["statistics"] = statistics
        if raster.get("scale") not in (None, 1, 1.0):
            band["raster:scale"] = raster["scale"]
        if raster.get("offset") not in (None, 0, 0.0):
            band["raster:offset"] = raster["offset"]
        if raster.get("sampling"):
            band["raster:sampling"] = raster["sampling"]
        bands.append(band)
    return bands


def _band_name(description: Any, index: int) -> str:
    if isinstance(description, str) and re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", description) and \
            description.lower() not in ("gray", "undefined"):
        return description
    return f"b{index + 1}"


def plain_nodata(value: Any, data_type: Any) -> Any:
    """A nodata value as STAC writes it: an integer for integer data (``0``, not ``0.0``); NaN as ``"nan"``."""
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        if value.is_integer() and isinstance(data_type, str) and "int" in data_type:
            return int(value)
    return value


def header_statistics(dataset: Any, band: int) -> dict[str, float]:
    """The statistics GDAL keeps in a GeoTIFF's header (``STATISTICS_*`` of the band's metadata), if any."""
    tags = dataset.tags(band)
    found = {}
    for name in ("minimum", "maximum", "mean", "stddev", "valid_percent"):
        text = tags.get(f"STATISTICS_{name.upper()}")
        try:
            number = float(text) if text is not None else None
        except ValueError:
            number = None
        if number is not None and number == number:
            found[name] = int(number) if number.is_integer() and name in ("minimum", "maximum") else number
    return found


def _epsg(projection: Mapping[str, Any]) -> int | None:
    code = projection.get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:"):
        return int(code.split(":", 1)[1])
    return None


def _read(file: RasterFile, key: str, *, when: str | None, check_cog: bool) -> tuple[dict[str, Any], Any]:
    """``(asset, projection fields)`` of one file, and its acquisition time."""
    import rasterio
    from rio_stac import create_stac_item

    with rasterio.Env(**HEADER_READ_CONFIG), _open(file.href) as dataset:
        problems = cog_problems(dataset)
        if check_cog and problems:
            raise RasterError(f"{file.href}: is not a cloud-optimized GeoTIFF ({'; '.join(problems)}): "
                              f"{COG_FIX}; or pass --allow-non-cog")
        acquired = _when(dataset, file.href, when)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # rio-stac's own date parsing of TIFF tags: the time is given
                made = create_stac_item(dataset, input_datetime=acquired, id="x", asset_name=key,
                                        asset_href=file.href, asset_roles=["data"], with_proj=True,
                                        with_raster=True, with_eo=True)
        except Exception as exc:  # rio-stac raises what rasterio and numpy raise
            raise RasterError(f"{file.href}: rio-stac could not describe it: {exc}") from exc
        in_header = [header_statistics(dataset, index) for index in dataset.indexes]
        names = [file.band] if file.band is not None else [
            _band_name(d, i) for i, d in enumerate(dataset.descriptions)]
    item = made.to_dict(include_self_link=False, transform_hrefs=False)
    properties = item["properties"]
    projection: dict[str, Any] = {}
    epsg = properties.get("proj:epsg")
    if isinstance(epsg, int):
        projection["proj:code"] = f"EPSG:{epsg}"
    for key_name in _PROJ_KEYS:
        if properties.get(key_name) is not None:
            projection[key_name] = properties[key_name]
    raw = item["assets"][key]
    raster_bands = raw.get("raster:bands") or []
    for band, exact in zip(raster_bands, in_header, strict=False):
        if exact:  # the header's statistics are of every pixel; rio-stac's of a decimated read
            band["statistics"] = exact
    media_type = COG_MEDIA_TYPE if not problems else raw.get("type") or "image/tiff; application=geotiff"
    asset: dict[str, Any] = {"href": raw["href"], "type": media_type,
                             "title": file.band or _name(file.href), "roles": ["data"],
                             "bands": bands_of(raster_bands, raw.get("eo:bands") or [], names)}
    projection["_wgs84"] = (item["geometry"], item["bbox"])
    projection["_when"] = acquired
    return asset, projection


def _footprint(projection: Mapping[str, Any]) -> tuple[dict[str, Any], list[float]]:
    from stac_bridge.transforms import byoc_geometry as geo

    epsg = _epsg(projection)
    native = projection.get("proj:geometry")
    if epsg is not None and isinstance(native, Mapping):
        try:
            return geo.footprint(native, epsg)
        except (ValueError, TypeError):
            pass
    geometry, bbox = projection["_wgs84"]
    return copy_json(geometry), list(bbox)


def _union(footprints: Sequence[tuple[dict[str, Any], list[float]]]) -> tuple[dict[str, Any], list[float]]:
    if len(footprints) == 1:
        return footprints[0]
    import shapely.geometry

    shapes = [shapely.geometry.shape(g) for g, _ in footprints]
    merged = shapely.union_all(shapes)
    return shapely.geometry.mapping(merged), union_bbox([b for _, b in footprints])


def union_bbox(bboxes: Iterable[Sequence[float]]) -> list[float]:
    """The bbox that covers ``bboxes``; west > east when they cross the antimeridian."""
    spans: list[tuple[float, float]] = []
    south, north = 90.0, -90.0
    for west, s, east, n in (list(b)[:4] for b in bboxes):
        south, north = min(south, s), max(north, n)
        spans.extend([(west, 180.0), (-180.0, east)] if west > east else [(west, east)])
    spans.sort()
    merged: list[list[float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    # The bbox leaves out the widest gap between the longitudes covered, the one across 180 degrees included.
    gaps = [(merged[0][0] + 360.0 - merged[-1][1], len(merged) - 1)]
    gaps += [(merged[i + 1][0] - merged[i][1], i) for i in range(len(merged) - 1)]
    _, after = max(gaps)
    west, east = merged[(after + 1) % len(merged)][0], merged[after][1]
    return [west, south, east, north]


def item_from_files(item_id: str, files: Sequence[RasterFile], collection_id: str | None = None, *,
                    when: str | None = None, check_cog: bool = True) -> dict[str, Any]:
    """A STAC 1.1 Item (a dict) of one file, or of several band files of one scene.

    Args:
        item_id: The Item's id.
        files: Its files: one (asset ``data``), or one per band (assets keyed by band).
        collection_id: Its Collection.
        when: Its datetime (RFC 3339) when the files do not say (``TIFFTAG_DATETIME``).
        check_cog: Refuse a file that is not a cloud-optimized GeoTIFF.

    Returns:
        The Item: WGS84 footprint of the projected bounds (cut at the antimeridian), ``proj:code`` (or WKT2),
        ``proj:bbox``, ``proj:shape``, ``proj:transform`` and ``proj:geometry`` as properties (an asset on
        another grid carries its own), one ``data`` asset per file with ``bands`` (``data_type``, ``nodata``,
        ``statistics``, ``unit``, ``raster:scale``/``offset``).

    Raises:
        RasterError: a file cannot be read, is not a COG (with ``check_cog``) or has no acquisition time.
    """
    if not files:
        raise RasterError(f"item {item_id!r}: no files")
    assets: dict[str, Any] = {}
    first: dict[str, Any] | None = None
    footprints = []
    for file in files:
        key = file.band if file.band is not None else (DATA_ASSET if len(files) == 1 else _stem(file.href))
        asset, projection = _read(file, key, when=when, check_cog=check_cog)
        footprints.append(_footprint(projection))
        grid = {k: v for k, v in projection.items() if not k.startswith("_")}
        if first is None:
            first = projection
        else:
            asset.update({k: v for k, v in grid.items()
                          if k != "proj:geometry" and first.get(k) != v})
        assets[key] = asset
    assert first is not None
    geometry, bbox = _union(footprints)
    properties: dict[str, Any] = {"datetime": format_datetime(first["_when"])}
    properties.update({k: v for k, v in first.items() if not k.startswith("_")})
    properties[SOURCE] = source_tag(PROVIDER, "cog", TRANSFORM_VERSION)
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "id": item_id,
        "geometry": geometry,
        "bbox": bbox,
        "properties": properties,
        "links": [],
        "assets": assets,
    }
    if collection_id is not None:
        item["collection"] = collection_id
        item["links"].append({"rel": "collection", "href": "../collection.json", "type": "application/json"})
    return declare_extensions(item)


def _widen(span: list[float], statistics: Mapping[str, Any]) -> None:
    """Widen ``[low, high]`` (empty: not yet known) to a band's ``minimum`` and ``maximum``."""
    low, high = statistics.get("minimum"), statistics.get("maximum")
    if not (isinstance(low, int | float) and isinstance(high, int | float)):
        return
    if span:
        span[:] = [min(span[0], low), max(span[1], high)]
    else:
        span[:] = [low, high]


# --- the Collection -----------------------------------------------------------------------------------------

def collection_for(collection_id: str, items: Sequence[Mapping[str, Any]], *, title: str | None = None,
                   description: str | None = None, license: str = "other") -> dict[str, Any]:
    """The Collection of Items made from rasters: extents, ``item_assets`` (bands with their range over every Item).

    Raises:
        RasterError: there are no Items.
    """
    if not items:
        raise RasterError(f"collection {collection_id!r}: no items")
    times = sorted(parse_datetime(i["properties"]["datetime"]) for i in items)
    item_assets: dict[str, Any] = {}
    ranges: dict[tuple[str, int], list[float]] = {}
    for item in items:
        for key, asset in item["assets"].items():
            for index, band in enumerate(asset.get("bands") or []):
                _widen(ranges.setdefault((key, index), []), band.get("statistics") or {})
            if key in item_assets:
                continue
            bands = [{k: v for k, v in band.items() if k in ("name", "description", "data_type", "nodata", "unit",
                                                               "raster:scale", "raster:offset")}
                     for band in asset.get("bands") or []]
            item_assets[key] = {"title": asset.get("title", key), "type": asset.get("type"), "roles": ["data"],
                                **({"bands": bands} if bands else {})}
    for (key, index), (low, high) in ((k, v) for k, v in ranges.items() if len(v) == 2):
        bands = item_assets[key].get("bands") or []
        if index < len(bands):
            bands[index]["statistics"] = {"minimum": low, "maximum": high}  # over every item
    codes = sorted({str(i["properties"]["proj:code"]) for i in items if i["properties"].get("proj:code")})
    summaries: dict[str, Any] = {}
    if codes:
        summaries["proj:code"] = codes
    collection: dict[str, Any] = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "id": collection_id,
        "title": title or collection_id,
        "description": description or f"{collection_id}: {len(items)} items made from cloud-optimized GeoTIFFs",
        "license": license,
        "extent": {
            "spatial": {"bbox": [union_bbox(i["bbox"] for i in items)]},
            "temporal": {"interval": [[format_datetime(times[0]), format_datetime(times[-1])]]},
        },
        "item_assets": item_assets,
        "links": [],
        SOURCE: source_tag(PROVIDER, "collection", TRANSFORM_VERSION),
    }
    if summaries:
        collection["summaries"] = summaries
    return declare_extensions(collection)
