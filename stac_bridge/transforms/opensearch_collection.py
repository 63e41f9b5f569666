"""Terrascope / VITO OpenSearch collections (OGC 17-047r1 GeoJSON Features) <-> curated STAC 1.1 Collections.

The collection page a STAC client shows is made of STAC fields: ``abstract`` is the description, ``keyword`` the
keywords, ``rights`` the license (a ``license`` link to the terms named in the text), ``contactPoint`` the
providers (VITO, hosted by Terrascope), ``categories`` ``about`` links, ``bands`` ``summaries.bands`` and the
platforms and instruments of ``acquisitionInformation`` summaries. The raw contact, distribution and
acquisition objects, which those fields already show, go to the ledger; the way back gives the exact feature.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Final, TypeVar

import pystac

from stac_bridge.errors import TransformError
from stac_bridge.transforms._common import bbox_of
from stac_bridge.transforms._plain import copy_json, format_datetime, parse_datetime
from stac_bridge.transforms.kernel import (
    DATETIME,
    SOURCE,
    Codec,
    Field,
    Ledger,
    Reader,
    Table,
    same_json,
    schemas_of,
    source_tag,
)
from stac_bridge.transforms.tablewalk import fast_decode, fast_encode

__all__ = ["BAND_TABLE", "COLLECTION_TABLE", "collection_to_stac", "stac_to_collection"]

PROVIDER: Final = "opensearch"
PREFIX: Final = "opensearch:"
#: Bumped whenever the STAC output of a transform changes.
TRANSFORM_VERSION: Final = 2
STAC_VERSION: Final = "1.1.0"
#: The catalogue's documented base; the ``via`` links point at the record there.
API_BASE: Final = "https://services.terrascope.be/catalogue/"
VIA_COLLECTION: Final = "Terrascope OpenSearch collection"
TERRASCOPE: Final = {"name": "Terrascope", "roles": ["host"], "url": "https://terrascope.be/"}


def os_datetime(stac_text: Any) -> str:
    """A STAC datetime as OpenSearch writes it: UTC, ``Z``, fractional seconds without trailing zeros."""
    text = format_datetime(parse_datetime(str(stac_text)))
    if "." in text:
        whole, frac = text[:-1].split(".")
        frac = frac.rstrip("0")
        text = f"{whole}.{frac}Z" if frac else f"{whole}Z"
    return text


#: RFC 3339 in UTC (``...21.024000Z``) and back in OpenSearch's shorter spelling (``...21.024Z``); a product's
#: few datetimes repeat (``date`` = ``beginningDateTime``...), so both ways are cached.
OS_DATETIME: Final = Codec(
    "RFC 3339, UTC", functools.lru_cache(maxsize=4096)(DATETIME.to_stac), functools.lru_cache(maxsize=4096)(os_datetime)
)
_NUMBER: Final = (int, float)

def table(kind: str, fields: tuple[Field, ...], own: tuple[tuple[str, str, str], ...] = ()) -> Table:
    """An OpenSearch table: unnamed members stay visible under ``opensearch:``."""
    return Table(provider=PROVIDER, kind=kind, prefix=PREFIX, fields=fields, own=own)


BAND_TABLE: Final = table(
    "collection band",
    (
        Field("title", "name", kind=str),
        Field("description", "description", kind=str),
        Field("resolution", "raster:spatial_resolution", kind=_NUMBER),
        Field("bitPerValue", "raster:bits_per_sample", kind=int),
        Field("scaleFactor", "raster:scale", kind=_NUMBER),
        Field("offset", "raster:offset", kind=_NUMBER),
    ),
)

COLLECTION_TABLE: Final = table(
    "collection",
    (
        Field("title", "title", kind=str),
        Field("abstract", "description", kind=str, note="no abstract: the title, not written back"),
        Field("keyword", "keywords", kind=list),
        Field("updated", "updated", OS_DATETIME, kind=str),
    ),
    (
        ("identifier", "id", "kept as `opensearch:identifier` when it differs from the feature id"),
        ("rights", "license + a `license` link",
         "an SPDX id is the license; other text is the link's title, its URL (or `distribution`'s) the href"),
        ("contactPoint", "providers", "VITO (producer, processor, licensor; contact e-mails) + Terrascope (host)"),
        ("authors", "providers", "the objects: ledger"),
        ("publisher", "providers", "ledger"),
        ("distribution", "(the license link)", "ledger"),
        ("categories", "links rel `about`", "`term` the href, `label` the title"),
        ("bands", "summaries.bands", "see the band table"),
        ("acquisitionInformation", "summaries.constellation / platform / instruments", "the objects: ledger"),
        ("date", "extent.temporal", "`start/`, `start/end`, `start`"),
        ("links", "links", "rel = group (`previews` -> `preview`, `alternates` -> `alternate`)"),
        ("bbox, geometry (feature)", "extent.spatial.bbox", "a geometry other than the bbox polygon: ledger"),
    ),
)

_RELS: Final = {"previews": "preview", "alternates": "alternate"}
_GROUPS: Final = {rel: group for group, rel in _RELS.items()}
#: Links a STAC catalog or API adds itself; never an OpenSearch link group.
_STRUCTURAL: Final = frozenset(
    {"self", "root", "parent", "child", "item", "items", "collection", "queryables", "aggregate",
     "aggregations", "next", "prev", "previous", "first", "last", "license", "about"}
)
_SPDX: Final = re.compile(r"^[A-Za-z0-9][\w\-.+]*$")
_NOT_SPDX: Final = frozenset({"other", "proprietary", "various"})
_S = TypeVar("_S", pystac.Item, pystac.Collection)
_URL: Final = re.compile(r"https?://[^\s\"'<>]+")
_RAW_MEMBERS: Final = ("publisher", "authors", "contactPoint", "distribution", "acquisitionInformation")


def via_link(kind: str, query: str, title: str) -> dict[str, Any]:
    """The ``via`` link to the record at the catalogue (``kind``: ``collections`` or ``products``)."""
    return {"rel": "via", "href": f"{API_BASE}{kind}?{query}", "type": "application/json", "title": title}


def as_dict(obj: Any) -> dict[str, Any]:
    """A STAC object as a dict (pystac objects through ``to_dict``)."""
    if isinstance(obj, pystac.STACObject):
        return obj.to_dict(include_self_link=False, transform_hrefs=False)
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TransformError(PROVIDER, None, None, f"expected a STAC object, got {type(obj).__name__}")


def open_feature(feature: Any) -> tuple[Reader, str, Mapping[str, Any]]:
    """The reader, id and properties of an OpenSearch feature (products and collections alike)."""
    reader = Reader(PROVIDER, feature)
    feature_id = reader.require("id", str)
    return reader, feature_id, reader.require("properties", dict)


# --- collection -> STAC ---------------------------------------------------------------------------------------

def collection_to_stac(feature: Mapping[str, Any]) -> pystac.Collection:
    """Translate an OpenSearch collection (an OGC 17-047 GeoJSON Feature) to a curated STAC 1.1 Collection.

    Args:
        feature: One element of the ``features`` of a ``collections`` answer.

    Returns:
        The Collection (see the module docstring and ``docs/providers/opensearch.md``).

    Raises:
        TransformError: the feature has no id, neither bbox nor geometry, an unparsable ``date``, or a member
            of the wrong JSON type; the error names the provider, the record id and the member's path.
    """
    return as_pystac(pystac.Collection, collection_dict(feature))


def as_pystac(kind: type[_S], stac: dict[str, Any]) -> _S:
    """The pystac object of a STAC dict made here (a failure is a :class:`TransformError`)."""
    try:
        return kind.from_dict(stac, migrate=False, preserve_dict=False)
    except (ValueError, TypeError, KeyError) as exc:
        raise TransformError(PROVIDER, stac["id"], None, f"does not make a STAC {kind.__name__}: {exc}") from exc


def collection_dict(feature: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`collection_to_stac`'s Collection as a dict."""
    reader, collection_id, props = open_feature(feature)
    props_reader = reader.nested("properties")
    ledger = Ledger()
    out: dict[str, Any] = {}
    fast_encode(COLLECTION_TABLE, props, "properties", collection_id, ledger, out)
    if "description" not in out:
        out["description"] = out.get("title") or collection_id
        ledger.absent.append("properties.abstract")
    if props.get("keyword") == []:
        del out["keywords"]  # pystac writes no empty keywords
        ledger.keep["properties.keyword"] = []
    _identifier(props, collection_id, out, ledger)
    links = _links(props_reader, props.get("links"), ledger)
    out["license"] = _license(props_reader, props, links, ledger)
    for key in _RAW_MEMBERS:
        if key in props:
            ledger.keep[f"properties.{key}"] = copy_json(props[key])
    providers = _providers(props)
    summaries = _summaries(props_reader, props.get("acquisitionInformation"))
    bands = _bands(props_reader, props.get("bands"), ledger)
    if bands is not None:
        summaries["bands"] = bands
    links += _categories(props_reader, props.get("categories"))
    links.append(via_link("collections", f"uid={collection_id}", VIA_COLLECTION))
    stac: dict[str, Any] = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "id": collection_id,
        **out,
        "extent": {"spatial": {"bbox": [_bbox(reader, feature, ledger)]},
                   "temporal": {"interval": [_interval(props_reader, props, ledger)]}},
        "links": links,
        SOURCE: source_tag(PROVIDER, "collection", TRANSFORM_VERSION),
    }
    if providers:
        stac["providers"] = providers
    if summaries:
        stac["summaries"] = summaries
    keep_members(feature, ledger)
    ledger.attach(stac)
    return _declare(stac)


def _declare(stac: dict[str, Any]) -> dict[str, Any]:
    """``declare_extensions`` for the Collections made here: fields at the top, in summaries and their bands."""
    summaries = stac.get("summaries") or {}
    uris = schemas_of([*stac, *summaries, *(k for band in summaries.get("bands") or () for k in band)])
    if uris:  # pystac writes a Collection's empty list not at all
        stac["stac_extensions"] = uris
    return stac


def _identifier(props: Mapping[str, Any], record_id: str, out: dict[str, Any], ledger: Ledger) -> None:
    if "identifier" not in props:
        ledger.absent.append("properties.identifier")
    elif props["identifier"] != record_id:
        out[PREFIX + "identifier"] = copy_json(props["identifier"])


def _license(reader: Reader, props: Mapping[str, Any], links: list[dict[str, Any]], ledger: Ledger) -> str:
    rights = reader.get("rights", str)
    if rights is None:
        if "rights" in props:
            ledger.keep["properties.rights"] = None
        return "other"
    if _SPDX.match(rights) and rights.lower() not in _NOT_SPDX:
        return str(rights)
    found = _URL.search(rights)
    href = found.group(0).rstrip(".,;)") if found else _distribution_license(props.get("distribution"))
    if href is None:
        ledger.keep["properties.rights"] = rights
        return "other"
    links.insert(0, {"rel": "license", "href": href, "title": rights})
    return "other"


def _distribution_license(distribution: Any) -> str | None:
    if not isinstance(distribution, Mapping) or not isinstance(distribution.get("license"), list):
        return None
    for entry in distribution["license"]:
        if isinstance(entry, Mapping) and isinstance(entry.get("label"), str) and _URL.match(entry["label"]):
            return str(entry["label"])
    return None


def _providers(props: Mapping[str, Any]) -> list[dict[str, Any]]:
    contacts = [c for c in props.get("contactPoint") or () if isinstance(c, Mapping) and c.get("name")]
    authors = [a for a in props.get("authors") or () if isinstance(a, Mapping) and a.get("name")]
    publisher = props.get("publisher")
    names = [str(c["name"]) for c in contacts + authors] + ([publisher] if isinstance(publisher, str) else [])
    providers: list[dict[str, Any]] = []
    for name in dict.fromkeys(names):
        provider: dict[str, Any] = {"name": name, "roles": ["producer", "processor", "licensor"]}
        emails = [str(c["email"]) for c in contacts + authors if c.get("name") == name and c.get("email")]
        if emails:
            provider["description"] = "Contact: " + ", ".join(dict.fromkeys(emails))
        url = next((c["uri"] for c in contacts if c.get("name") == name and isinstance(c.get("uri"), str)), None)
        if url:
            provider["url"] = url
        providers.append(provider)
    return [*providers, dict(TERRASCOPE, roles=list(TERRASCOPE["roles"]))] if providers else []


def _summaries(reader: Reader, entries: Any) -> dict[str, Any]:
    if entries is None:
        return {}
    reader.check("acquisitionInformation", entries, list)
    found: dict[str, list[str]] = {"constellation": [], "platform": [], "instruments": []}
    sources = (("platform", "platformShortName", "constellation"), ("platform", "platformSerialIdentifier", "platform"),
               ("instrument", "instrumentShortName", "instruments"))
    for i, entry in enumerate(entries):
        reader.check(f"acquisitionInformation.{i}", entry, dict)
        for group, key, target in sources:
            value = entry.get(group, {}).get(key) if isinstance(entry.get(group), Mapping) else None
            if value is not None:
                reader.check(f"acquisitionInformation.{i}.{group}.{key}", value, str)
                if value and value not in found[target]:
                    found[target].append(value)
    return {k: v for k, v in found.items() if v}


def _bands(reader: Reader, bands: Any, ledger: Ledger) -> list[dict[str, Any]] | None:
    if bands is None:
        return None
    reader.check("bands", bands, list)
    if not bands:
        ledger.keep["properties.bands"] = []
        return None
    for i, band in enumerate(bands):
        reader.check(f"bands.{i}", band, dict)
    return [fast_encode(BAND_TABLE, band, f"properties.bands.{i}", reader.record_id, ledger)
            for i, band in enumerate(bands)]


def _categories(reader: Reader, categories: Any) -> list[dict[str, Any]]:
    if categories is None:
        return []
    reader.check("categories", categories, list)
    links = []
    for i, category in enumerate(categories):
        term, label = (category.get("term"), category.get("label")) if type(category) is dict else (None, None)
        if type(term) is not str or type(label) is not str or len(category) != 2:
            reader.check(f"categories.{i}", category, dict)
            reader.require(f"categories.{i}.term", str)
            reader.require(f"categories.{i}.label", str)
            raise reader.error(f"categories.{i}", "must have exactly a term and a label")
        links.append({"rel": "about", "href": term, "title": label})
    return links


def _links(reader: Reader, groups: Any, ledger: Ledger) -> list[dict[str, Any]]:
    if groups is None:
        return []
    reader.check("links", groups, dict)
    links: list[dict[str, Any]] = []
    for group, entries in groups.items():
        if group in _STRUCTURAL:
            raise reader.error(f"links.{group}", "is a link relation STAC reserves for its own structure")
        reader.check(f"links.{group}", entries, list)
        if not entries:
            ledger.keep[f"properties.links.{group}"] = []
        for i, link in enumerate(entries):
            if type(link) is not dict or type(link.get("href")) is not str:
                reader.require(f"links.{group}.{i}.href", str)
            out: dict[str, Any] = {"rel": _RELS.get(group, group), "href": link["href"]}
            for key, value in link.items():
                if key in ("type", "title") and isinstance(value, str):
                    out[key] = value
                elif key != "href":
                    out[PREFIX + key] = copy_json(value)
            links.append(out)
    return links


def _bbox(reader: Reader, feature: Mapping[str, Any], ledger: Ledger) -> list[float]:
    geometry = feature.get("geometry")
    bbox = feature.get("bbox")
    if bbox is None:
        if geometry is None:
            raise reader.error("geometry", "is missing, and so is bbox")
        ledger.absent.append("bbox")
        try:
            bbox = bbox_of(reader.require("geometry", dict))
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise reader.error("geometry", f"is not a GeoJSON geometry: {exc}") from exc
    else:
        reader.check("bbox", bbox, list)
        if len(bbox) not in (4, 6):
            raise reader.error("bbox", f"must have 4 or 6 numbers, got {len(bbox)}")
        for i, value in enumerate(bbox):
            reader.check(f"bbox.{i}", value, _NUMBER)
    if geometry is None:
        ledger.absent.append("geometry")
    elif not same_json(geometry, bbox_polygon(bbox)):
        ledger.keep["geometry"] = copy_json(reader.require("geometry", dict))
    return list(bbox)


def bbox_polygon(bbox: list[float]) -> dict[str, Any]:
    """The polygon of a 2D (or 3D) bbox, as OpenSearch writes a collection's footprint."""
    west, south, east, north = (bbox[0], bbox[1], bbox[3], bbox[4]) if len(bbox) == 6 else bbox
    return {"type": "Polygon",
            "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]]}


def _interval(reader: Reader, props: Mapping[str, Any], ledger: Ledger) -> list[str | None]:
    if "date" not in props:
        ledger.absent.append("properties.date")
        return [None, None]
    text = reader.require("date", str)
    first, _, second = text.partition("/")
    start = _bound(reader, first)
    end = _bound(reader, second)
    if _interval_text(start, end) != text:
        ledger.keep["properties.date"] = text
    return [start, end]


def _bound(reader: Reader, text: str) -> str | None:
    if text in ("", ".."):
        return None
    try:
        return str(DATETIME.to_stac(text))
    except ValueError as exc:
        raise reader.error("date", f"is not an RFC 3339 datetime or interval: {text!r:.80}") from exc


def _interval_text(start: str | None, end: str | None) -> str:
    return f"{os_datetime(start) if start else ''}/{os_datetime(end) if end else ''}"


# --- STAC -> collection ---------------------------------------------------------------------------------------

def stac_to_collection(collection: pystac.Collection | Mapping[str, Any]) -> dict[str, Any]:
    """Translate a STAC Collection back to an OpenSearch collection (an OGC 17-047 GeoJSON Feature).

    A Collection made by :func:`collection_to_stac` gives back exactly the feature it was made from (its ledger
    applied). For any other Collection, ``acquisitionInformation`` is built from the ``constellation``/
    ``platform``/``instruments`` summaries and the geometry is the first spatial extent box as a polygon.

    Caveats:
        Links a STAC catalog or API adds itself (``self``, ``root``, ``items``...) are left out.

    Raises:
        TransformError: the Collection has no id or no spatial extent.
    """
    stac = as_dict(collection)
    collection_id = stac.get("id")
    if not isinstance(collection_id, str) or not collection_id:
        raise TransformError(PROVIDER, None, "id", "is missing")
    props = fast_decode(COLLECTION_TABLE, stac)
    props.setdefault("identifier", collection_id)
    links = stac.get("links") or []
    rights = _rights(stac, links)
    if rights is not None:
        props["rights"] = rights
    intervals = ((stac.get("extent") or {}).get("temporal") or {}).get("interval") or [[None, None]]
    props["date"] = _interval_text(intervals[0][0], intervals[0][1])
    categories = [{"term": x.get("href"), "label": x.get("title")} for x in links if x.get("rel") == "about"]
    if categories:
        props["categories"] = categories
    bands = (stac.get("summaries") or {}).get("bands")
    if isinstance(bands, list) and bands:
        props["bands"] = [fast_decode(BAND_TABLE, b) for b in bands if isinstance(b, Mapping)]
    acquisition = _acquisition_from_summaries(stac.get("summaries") or {})
    if acquisition:
        props["acquisitionInformation"] = acquisition
    groups = _groups(links)
    if groups:
        props["links"] = groups
    bboxes = ((stac.get("extent") or {}).get("spatial") or {}).get("bbox") or []
    if not bboxes:
        raise TransformError(PROVIDER, collection_id, "extent.spatial.bbox", "is missing")
    bbox = list(bboxes[0])
    feature = {"type": "Feature", "id": collection_id, "geometry": bbox_polygon(bbox), "bbox": bbox,
               "properties": props}
    return Ledger.of(stac).apply(feature)


def _rights(stac: Mapping[str, Any], links: list[Mapping[str, Any]]) -> str | None:
    license_link = next((link for link in links if link.get("rel") == "license" and link.get("title")), None)
    if license_link is not None:
        return str(license_link["title"])
    license_id = stac.get("license")
    if isinstance(license_id, str) and license_id.lower() not in _NOT_SPDX:
        return license_id
    return None


def _acquisition_from_summaries(summaries: Mapping[str, Any]) -> list[dict[str, Any]]:
    platforms = list(summaries.get("platform") or [])
    constellations = list(summaries.get("constellation") or [])
    instruments = list(summaries.get("instruments") or [])
    entries: list[dict[str, Any]] = []
    for i in range(max(len(platforms), len(constellations), 1 if instruments else 0)):
        entry: dict[str, Any] = {}
        platform: dict[str, Any] = {}
        if constellations:
            platform["platformShortName"] = constellations[min(i, len(constellations) - 1)]
        if i < len(platforms):
            platform["platformSerialIdentifier"] = platforms[i]
        if platform:
            entry["platform"] = platform
        if instruments:
            entry["instrument"] = {"instrumentShortName": instruments[0]}
        entries.append(entry)
    return entries


def _groups(links: list[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for link in links:
        rel = str(link.get("rel"))
        if rel in _STRUCTURAL or rel == "via" and link.get("title") == VIA_COLLECTION:
            continue
        out: dict[str, Any] = {"href": link.get("href")}
        for key, value in link.items():
            if key in ("type", "title"):
                out[key] = value
            elif key.startswith(PREFIX):
                out[key[len(PREFIX):]] = copy_json(value)
        groups.setdefault(_GROUPS.get(rel, rel), []).append(out)
    return groups

def keep_members(feature: Mapping[str, Any], ledger: Ledger) -> None:
    """Keep a 17-047 feature's members other than type, id, geometry, bbox and properties in the ledger.

    A ``@context``, for instance: STAC has no place for them, and no client reads them.
    """
    for key in feature:
        if key not in ("type", "id", "geometry", "bbox", "properties"):
            ledger.keep[key] = copy_json(feature[key])
