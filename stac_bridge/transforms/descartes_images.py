"""Descartes Labs images <-> STAC Items: the image tables and the functions that are DL's own.

DL's own: the GDAL ``geotrans`` (-> affine ``proj:transform``), ``raster_size`` ``[width, height]`` (->
``proj:shape`` ``[rows, cols]``), the CRS given as ``cs_code``, PROJ.4 or WKT (-> ``proj:code`` where pyproj
finds an EPSG code, else ``proj:wkt2``), and the files (v1 names joined to their per-image or per-file
``bucket``/``directory`` into absolute ``gs://`` hrefs; v2 ``{href, size_bytes, hash}``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

import pyproj
import pyproj.exceptions
from pystac.extensions.eo import CLOUD_COVER_PROP
from pystac.extensions.projection import CODE_PROP, SHAPE_PROP, TRANSFORM_PROP, WKT2_PROP
from pystac.extensions.sat import ABSOLUTE_ORBIT_PROP, ORBIT_STATE_PROP, RELATIVE_ORBIT_PROP
from pystac.extensions.view import AZIMUTH_PROP, INCIDENCE_ANGLE_PROP, SUN_AZIMUTH_PROP, SUN_ELEVATION_PROP

from stac_bridge.transforms._common import (
    affine_to_gdal_geotransform,
    bbox_of,
    copy_json,
    epsg_code,
    finite,
    format_datetime,
    gdal_geotransform_to_affine,
    md5_to_multihash,
    multihash_to_md5,
    parse_datetime,
)
from stac_bridge.transforms.descartes_bands import PREFIX, prepare
from stac_bridge.transforms.descartes_forms import NOTHING, PROVIDER, V1
from stac_bridge.transforms.kernel import (
    DATETIME,
    IDENTITY,
    NUMBER,
    PERCENT,
    Codec,
    Field,
    Ledger,
    Reader,
    Table,
    lower_case,
    same_json,
)

ASSET_KEY: Final = "file-{}"
_MEDIA_TYPES: Final = {
    ".jp2": "image/jp2",
    ".tif": "image/tiff; application=geotiff",
    ".tiff": "image/tiff; application=geotiff",
    ".png": "image/png",
    ".jpg": "image/jpeg",
}
_WKT_STARTS: Final = ("PROJCRS[", "GEOGCRS[", "GEODCRS[", "COMPOUNDCRS[", "BOUNDCRS[", "PROJCS[", "GEOGCS[")


def _iso(value: Any) -> str:
    return parse_datetime(value).isoformat() if isinstance(value, str) else str(value)


#: v2 images write datetimes as Python's ``isoformat()`` (``+00:00``); STAC gets them in UTC with ``Z``.
ISO_DATETIME: Final = Codec("RFC 3339, UTC (DL writes +00:00)", DATETIME.to_stac, _iso)


def _unix_in(value: Any) -> str:
    if isinstance(value, str):
        return str(DATETIME.to_stac(value))
    if isinstance(value, bool) or not isinstance(value, int | float) or not finite(value):
        raise TypeError(f"expected Unix seconds or a datetime, got {value!r:.40}")
    return format_datetime(dt.datetime.fromtimestamp(value, dt.UTC))


def _unix_out(value: Any) -> Any:
    return NUMBER.from_stac(parse_datetime(value).timestamp())


#: v1 ``processed`` is Unix seconds (later records: a datetime string, kept in the ledger).
UNIX_TIME: Final = Codec("Unix seconds -> RFC 3339", _unix_in, _unix_out)


def _common(when: Codec) -> tuple[Field, ...]:
    return (
        Field("acquired", "datetime", when, str),
        Field("published", "published", when, str),
        Field("cloud_fraction", CLOUD_COVER_PROP, PERCENT, note="0-1 -> 0-100; outside 0-1: `dl:`"),
        Field("solar_azimuth_angle", SUN_AZIMUTH_PROP, NUMBER),
        Field("solar_elevation_angle", SUN_ELEVATION_PROP, NUMBER),
        Field("incidence_angle", INCIDENCE_ANGLE_PROP, NUMBER),
        Field("azimuth_angle", AZIMUTH_PROP, NUMBER),
        Field("absolute_orbit", ABSOLUTE_ORBIT_PROP, NUMBER, int),
        Field("relative_orbit", RELATIVE_ORBIT_PROP, NUMBER, int),
        Field("pass", ORBIT_STATE_PROP, lower_case(), str, note="ASCENDING/DESCENDING only"),
        Field("tags", "keywords", IDENTITY, list),
    )


_OWN: Final = (
    ("geometry", "geometry, bbox", "a GeoJSON string is parsed"),
    ("geotrans", TRANSFORM_PROP, "GDAL order -> affine order"),
    ("cs_code / proj4 / projcs", f"{CODE_PROP}, or {WKT2_PROP}", "EPSG where pyproj finds one; PROJ.4 kept "
     "in the ledger; `projcs` is the CRS name"),
    ("files", "assets file-<i>", "one data asset per file"),
)
IMAGE_V1: Final = Table(PROVIDER, "v1 image", (
    *_common(DATETIME),
    Field("key", "title", IDENTITY, str, note="the image name; also the end of the id"),
    Field("sat_id", "platform", IDENTITY, str),
    Field("processed", "processing:datetime", UNIX_TIME),
    Field("descartes_version", "processing:version", IDENTITY, str),
), PREFIX, own=(
    *_OWN,
    ("raster_size", SHAPE_PROP, "[width, height] -> [rows, cols]"),
    ("file_sizes, file_md5s", "assets file:size, file:checksum", "md5 -> multihash d510..."),
    ("bucket, directory", "asset hrefs gs://<bucket>/<directory>/<file>", "one value or one per file"),
    ("id, product", "id, collection", "rebuilt"),
))
IMAGE_V2: Final = Table(PROVIDER, "v2 image", (
    *_common(ISO_DATETIME),
    Field("name", "title", IDENTITY, str, note="the image name; also the end of the id"),
    Field("satellite_id", "platform", IDENTITY, str),
    Field("created", "created", ISO_DATETIME, str),
    Field("modified", "updated", ISO_DATETIME, str),
), PREFIX, own=(
    *_OWN,
    ("x_pixels, y_pixels", SHAPE_PROP, "[rows, cols] = [y_pixels, x_pixels]"),
    ("product_id", "collection", "rebuilt"),
))
TABLES: Final = {V1: IMAGE_V1, "v2": IMAGE_V2}

_RANGES: Final = {
    "cloud_fraction": (0.0, 1.0), "solar_azimuth_angle": (0.0, 360.0), "solar_elevation_angle": (-90.0, 90.0),
    "incidence_angle": (0.0, 90.0), "azimuth_angle": (0.0, 360.0), "absolute_orbit": (1, 1e18),
    "relative_orbit": (1, 1e18),
}
_GUARDED: Final = frozenset({*_RANGES, "pass", "tags"})
_ORBIT_STATES: Final = frozenset({"ascending", "descending", "geostationary"})


def _fits(name: str, value: Any, attrs: Mapping[str, Any]) -> bool:
    if name == "pass":
        return not isinstance(value, str) or value.lower() in _ORBIT_STATES
    if name == "tags":
        return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True  # the wrong JSON type: the table names the error
    low, high = _RANGES[name]
    return finite(value) and low <= value <= high


def prepare_image(attrs: Mapping[str, Any]) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """The attributes for the image table, and the values whose STAC home cannot hold them (kept as ``dl:``)."""
    return prepare(attrs, _GUARDED, _fits, {})


# --- geometry ------------------------------------------------------------------------------------------------

def _copy(coords: Any, xs: list[float], ys: list[float]) -> list[Any]:
    """A copy of GeoJSON coordinates, collecting the positions' x and y on the way."""
    if not isinstance(coords, list) or not coords:
        raise ValueError("coordinates must be nested arrays of positions")
    first = coords[0]
    if isinstance(first, int | float) and not isinstance(first, bool):
        if len(coords) < 2 or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords):
            raise ValueError(f"a position must be numbers, got {coords!r:.60}")
        xs.append(coords[0])
        ys.append(coords[1])
        return list(coords)
    return [_copy(inner, xs, ys) for inner in coords]


def _polygon(raw: Mapping[str, Any]) -> list[Any] | None:
    """A copy of a plain Polygon's rings (the usual DL footprint), or ``None`` for anything else."""
    rings = raw.get("coordinates")
    if raw.get("type") != "Polygon" or type(rings) is not list or not rings:
        return None
    copied = []
    for ring in rings:
        if type(ring) is not list or not ring:
            return None
        for position in ring:
            if type(position) is not list or len(position) != 2 or type(position[0]) not in _NUMBERS or type(
                    position[1]) not in _NUMBERS:
                return None
        copied.append([[x, y] for x, y in ring])
    return copied


_NUMBERS: Final = (int, float)


def geometry(reader: Reader, raw: Any, path: str, ledger: Ledger) -> tuple[dict[str, Any], list[float]]:
    """The footprint and its bounding box (a geometry sent as a GeoJSON string is parsed; the string kept)."""
    if isinstance(raw, str):
        ledger.keep[path] = raw
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise reader.error("geometry", "is a string but not GeoJSON") from exc
    if not isinstance(raw, Mapping) or raw.get("type") not in (
            "Polygon", "MultiPolygon", "Point", "MultiPoint", "LineString", "MultiLineString"):
        raise reader.error("geometry", f"must be a GeoJSON geometry, got {raw!r:.80}")
    xs: list[float] = []
    ys: list[float] = []
    try:
        coordinates = _polygon(raw) or _copy(raw.get("coordinates"), xs, ys)
    except ValueError as exc:
        raise reader.error("geometry", f"is not a GeoJSON geometry: {exc}") from exc
    if not xs:
        xs = [p[0] for ring in coordinates for p in ring]
        ys = [p[1] for ring in coordinates for p in ring]
    bbox = [min(xs), min(ys), max(xs), max(ys)]
    if bbox[0] < -180 or bbox[2] > 180 or bbox[1] < -90 or bbox[3] > 90:
        raise reader.error("geometry", "has coordinates outside longitude/latitude")
    footprint = {k: copy_json(v) for k, v in raw.items() if k != "coordinates"}
    footprint["coordinates"] = coordinates
    if bbox[0] <= -180 and bbox[2] >= 180 and raw.get("type") == "MultiPolygon":
        bbox = bbox_of(footprint)  # parts cut at the antimeridian: west > east, not the whole globe
    return footprint, bbox


# --- CRS -----------------------------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def _crs_name(code: str) -> str | None:
    try:
        return str(pyproj.CRS.from_user_input(code).name)
    except pyproj.exceptions.CRSError:
        return None


@lru_cache(maxsize=256)
def _crs_of(text: str) -> tuple[str | None, str | None]:
    """``(proj:code, proj:wkt2)`` of a PROJ.4 or WKT CRS: an EPSG code where pyproj finds one, else WKT2."""
    try:
        crs = pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError as exc:
        raise ValueError(str(exc)) from exc
    code = crs.to_epsg()
    if code is not None:
        return f"EPSG:{code}", None
    return None, str(crs.to_wkt(pyproj.enums.WktVersion.WKT2_2019))


@lru_cache(maxsize=256)
def _epsg(text: str) -> str:
    return f"EPSG:{epsg_code(text)}"


def _is_wkt(value: str) -> bool:
    return value.lstrip().upper().startswith(_WKT_STARTS)


def crs_to_stac(reader: Reader, attrs: Mapping[str, Any], out: dict[str, Any], ledger: Ledger) -> None:
    """``cs_code`` / ``proj4`` / ``projcs`` -> ``proj:code`` or ``proj:wkt2``.

    What the way back cannot rebuild (a PROJ.4 text, an unusual ``projcs``) goes to the ledger.
    """
    given = tuple(attrs.get(name, NOTHING) for name in _CRS_FIELDS)
    for name, value in zip(_CRS_FIELDS, given, strict=True):
        if value is not NOTHING and value is not None:
            reader.check(name, value, str)
    try:
        stac, kept, absent = _crs(given, reader_version(attrs))
    except (ValueError, TypeError):
        _crs_errors(reader)
        raise
    out.update(stac)
    ledger.keep.update({reader.path(name): attrs[name] for name in kept})
    ledger.absent.extend(reader.path(name) for name in absent)


_CRS_FIELDS: Final = ("cs_code", "proj4", "projcs")


@lru_cache(maxsize=1024)
def _crs(given: tuple[Any, ...], version: str) -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """The STAC CRS fields of DL's ``(cs_code, proj4, projcs)``, and what the ledger must say of them.

    Which fields the way back cannot rebuild (kept) or would add (absent); the same CRS fields give the same
    answer, so it is computed once.
    """
    values = dict(zip(_CRS_FIELDS, given, strict=True))
    out: dict[str, str] = {}
    if isinstance(values["cs_code"], str):
        out[CODE_PROP] = _epsg(values["cs_code"])
    for name in ("proj4", "projcs"):
        text = values[name]
        if not isinstance(text, str) or (name == "projcs" and not _is_wkt(text)):
            continue
        if not out:
            code, wkt = _crs_of(text)
            out.update({CODE_PROP: code} if code else {WKT2_PROP: str(wkt)})
    back = crs_from_stac(out, version)
    kept = tuple(n for n, v in values.items() if v is not NOTHING and not same_json(back.get(n, NOTHING), v))
    absent = tuple(n for n, v in values.items() if v is NOTHING and n in back)
    return out, kept, absent


def _crs_errors(reader: Reader) -> None:
    """Raise the named error of the CRS field that cannot be read."""
    if reader.get("cs_code", str) is not None:
        reader.convert("cs_code", _epsg, "a known CRS (EPSG:<code>)")
    for name in ("proj4", "projcs"):
        text = reader.get(name, str)
        if text is not None and (name == "proj4" or _is_wkt(text)):
            reader.convert(name, _crs_of, "a CRS pyproj reads")


def reader_version(attrs: Mapping[str, Any]) -> str:
    """``v2`` for v2 attributes (they carry ``product_id``, ``x_pixels`` or ``name``), else ``v1``."""
    return V1 if _V2_KEYS.isdisjoint(attrs) else "v2"


_V2_KEYS: Final = frozenset({"product_id", "x_pixels", "satellite_id", "name"})


def crs_from_stac(stac: Mapping[str, Any], version: str) -> dict[str, Any]:
    """The usual DL CRS fields of a STAC object: ``cs_code``, and (v1) ``projcs``, the CRS's name."""
    code = stac.get(CODE_PROP)
    out: dict[str, Any] = {}
    if isinstance(code, str):
        out["cs_code"] = code
        if version == V1:
            name = _crs_name(code)
            if name:
                out["projcs"] = name
    return out


# --- the raster grid -----------------------------------------------------------------------------------------

def _pixels(reader: Reader, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise reader.error(name, f"must be a pixel count (a non-negative integer), got {value!r:.80}")
    return value


def geotrans_to_transform(reader: Reader) -> list[float] | None:
    """The GDAL ``geotrans`` ``[x0, xres, xrot, y0, yrot, yres]`` as ``proj:transform`` ``[xres, xrot, x0, ...]``."""
    raw = reader.get("geotrans", list)
    if raw is None:
        return None
    if len(raw) != 6 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
        raise reader.error("geotrans", f"must be 6 numbers (a GDAL geotransform), got {raw!r:.80}")
    return gdal_geotransform_to_affine(raw)


def transform_to_geotrans(transform: Any) -> list[float] | None:
    """``proj:transform`` back as DL's GDAL ``geotrans``."""
    if isinstance(transform, list) and len(transform) in (6, 9):
        return affine_to_gdal_geotransform(transform)
    return None


def raster_size_to_shape(reader: Reader, version: str) -> list[int] | None:
    """v1 ``raster_size`` ``[width, height]`` or v2 ``x_pixels``/``y_pixels`` as ``proj:shape`` ``[rows, cols]``."""
    if version == V1:
        raw = reader.get("raster_size", list)
        if raw is None:
            return None
        if len(raw) != 2:
            raise reader.error("raster_size", f"must be [width, height], got {raw!r:.80}")
        width, height = (_pixels(reader, "raster_size", v) for v in raw)
        return [height, width]
    x, y = reader.get("x_pixels"), reader.get("y_pixels")
    if x is None or y is None:
        return None
    return [_pixels(reader, "y_pixels", y), _pixels(reader, "x_pixels", x)]


def shape_to_raster_size(shape: Any, version: str) -> dict[str, Any]:
    """``proj:shape`` back as v1 ``raster_size`` or v2 ``x_pixels``/``y_pixels``."""
    if not (isinstance(shape, list) and len(shape) == 2):
        return {}
    if version == V1:
        return {"raster_size": [shape[1], shape[0]]}
    return {"x_pixels": shape[1], "y_pixels": shape[0]}


# --- files -> assets -----------------------------------------------------------------------------------------

def data_asset(href: str, size: Any, md5: Any) -> dict[str, Any]:
    """A data asset of one DL file."""
    name = href.rsplit("/", 1)[-1]
    asset: dict[str, Any] = {"href": href, "title": name, "roles": ["data"]}
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    if suffix in _MEDIA_TYPES:
        asset["type"] = _MEDIA_TYPES[suffix]
    if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
        asset["file:size"] = size
    if isinstance(md5, str):
        with contextlib.suppress(ValueError):
            asset["file:checksum"] = md5_to_multihash(md5)
    return asset


def _each(value: Any, index: int) -> Any:
    if isinstance(value, list):
        return value[index] if index < len(value) else None
    return value


def gs_href(bucket: Any, directory: Any, name: str) -> str:
    """``gs://<bucket>/<directory>/<name>`` (a bucket may already say ``gs://``; a name may be a whole URL)."""
    if "://" in name or not isinstance(bucket, str) or not bucket:
        return name
    root = (bucket if "://" in bucket else "gs://" + bucket).rstrip("/") + "/"
    if isinstance(directory, str) and directory.strip("/"):
        root += directory.strip("/") + "/"
    return root + name


def files_v1_to_assets(reader: Reader) -> dict[str, dict[str, Any]]:
    """v1 ``files`` + ``file_sizes`` + ``file_md5s`` + ``bucket``/``directory`` (one or one per file)."""
    files = reader.get("files", list) or []
    sizes = reader.get("file_sizes", list) or []
    md5s = reader.get("file_md5s", list) or []
    bucket, directory = reader.get("bucket"), reader.get("directory")
    assets = {}
    for index, name in enumerate(files):
        if not isinstance(name, str):
            raise reader.error(f"files.{index}", f"must be a file name, got {name!r:.80}")
        href = gs_href(_each(bucket, index), _each(directory, index), name)
        assets[ASSET_KEY.format(index)] = data_asset(href, _each(sizes, index), _each(md5s, index))
    return assets


def data_assets(assets: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The data assets ``file-0``, ``file-1``... in order."""
    found: list[Mapping[str, Any]] = []
    while ASSET_KEY.format(len(found)) in assets:
        found.append(assets[ASSET_KEY.format(len(found))])
    return found


def assets_to_files_v1(assets: Mapping[str, Any]) -> dict[str, Any]:
    """The data assets back as v1 file fields: one ``gs://<bucket>/`` for all, names relative to it."""
    found = data_assets(assets)
    if not found:
        return {}
    hrefs = [str(a.get("href", "")) for a in found]
    buckets = {h.split("/", 3)[2] for h in hrefs if h.startswith("gs://") and h.count("/") >= 3}
    out: dict[str, Any] = {}
    if len(buckets) == 1 and all(h.startswith("gs://") for h in hrefs):
        prefix = f"gs://{buckets.pop()}/"
        out["bucket"] = prefix
        hrefs = [h[len(prefix):] for h in hrefs]
    out["files"] = hrefs
    if all("file:size" in a for a in found):
        out["file_sizes"] = [a["file:size"] for a in found]
    if all("file:checksum" in a for a in found):
        with contextlib.suppress(ValueError):
            out["file_md5s"] = [multihash_to_md5(a["file:checksum"]) for a in found]
    return out


def files_v2_to_assets(reader: Reader) -> dict[str, dict[str, Any]]:
    """v2 ``files``: ``{href, size_bytes, hash}`` objects; other members stay on the asset under ``dl:``."""
    assets = {}
    for index, entry in enumerate(reader.get("files", list) or []):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("href"), str):
            raise reader.error(f"files.{index}", f"must be an object with an href, got {entry!r:.80}")
        asset = data_asset(entry["href"], entry.get("size_bytes"), entry.get("hash"))
        asset.update({PREFIX + k: copy_json(v) for k, v in entry.items() if k not in ("href", "size_bytes", "hash")})
        assets[ASSET_KEY.format(index)] = asset
    return assets


def assets_to_files_v2(assets: Mapping[str, Any]) -> dict[str, Any]:
    """The data assets back as v2 ``files``."""
    found = data_assets(assets)
    if not found:
        return {}
    files = []
    for asset in found:
        entry: dict[str, Any] = {"href": asset.get("href")}
        if "file:size" in asset:
            entry["size_bytes"] = asset["file:size"]
        if "file:checksum" in asset:
            entry["hash"] = multihash_to_md5(asset["file:checksum"])
        entry.update({k[len(PREFIX):]: v for k, v in asset.items() if k.startswith(PREFIX)})
        files.append(entry)
    return {"files": files}
