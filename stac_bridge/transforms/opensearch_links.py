"""Terrascope / VITO OpenSearch product links (``properties.links.{data,previews,alternates,related}``) <-> assets."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Final

from pystac.extensions.file import SIZE_PROP
from pystac.extensions.projection import CODE_PROP as PROJ_CODE_PROP

from stac_bridge.transforms._plain import copy_json
from stac_bridge.transforms.kernel import Codec, Field, Ledger, Reader
from stac_bridge.transforms.opensearch_collection import PREFIX, PROVIDER, table
from stac_bridge.transforms.tablewalk import fast_decode, fast_encode

__all__ = ["CRS", "CRS_URL", "LINK_TABLE", "assets_of", "links_of", "ok_crs"]

_CRS_URL: Final = re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d+)$")
_CRS_URL_BACK: Final = "https://www.opengis.net/def/crs/EPSG/0/"
_NUMBER: Final = (int, float)
_ABSENT: Final = object()


def _epsg_to_stac(value: Any) -> str:
    text = str(value)
    found = _CRS_URL.match(text)
    return f"EPSG:{found.group(1)}" if found else text


def _epsg_url(value: Any) -> str:
    text = str(value)
    return _CRS_URL_BACK + text[5:] if text.upper().startswith("EPSG:") else text


#: ``EPSG:32631`` or an EPSG URL -> ``EPSG:32631``; back as ``EPSG:<code>`` (products) or the https URL (links).
CRS: Final = Codec("EPSG URL -> `EPSG:<code>`", _epsg_to_stac, lambda v: v)
CRS_URL: Final = Codec("EPSG URL -> `EPSG:<code>`", _epsg_to_stac, _epsg_url)


def ok_crs(value: Any) -> bool:
    """Whether a string names an EPSG CRS (``EPSG:32631`` or its URL); values of other types pass."""
    return not isinstance(value, str) or bool(_CRS_URL.match(value) or re.match(r"^EPSG:\d+$", value))


LINK_TABLE: Final = table(
    "product link",
    (
        Field("href", "href", kind=str),
        Field("type", "type", kind=str),
        Field("title", "title", kind=str),
        Field("length", SIZE_PROP, kind=int),
        Field("conformsTo", PROJ_CODE_PROP, CRS_URL, kind=str, note="written back as `https://www.opengis.net/...`"),
    ),
    (
        ("(group)", "roles", "`data`; `thumbnail` (png/jpeg/gif/webp) or `overview`; `metadata`; `related`"),
        ("category", "roles", "lower case, after the group's role"),
        ("bandNames", "bands", "`[{\"name\": ...}]`"),
    ),
)


_LINK_GROUPS: Final = ("data", "previews", "alternates", "related")
_GROUP_ROLE: Final = {"data": "data", "alternates": "metadata", "related": "related"}
_THUMBNAIL_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_KEY: Final = re.compile(r"[^A-Za-z0-9_.-]+")


def assets_of(reader: Reader, links: Any, ledger: Ledger) -> dict[str, dict[str, Any]]:
    """The link groups as assets (see ``LINK_TABLE``)."""
    if links is None:
        ledger.absent.append("properties.links")
        return {}
    reader.check("properties.links", links, dict)
    assets: dict[str, dict[str, Any]] = {}
    for group in _LINK_GROUPS:
        if group not in links:
            ledger.absent.append(f"properties.links.{group}")
    for group, entries in links.items():
        reader.check(f"properties.links.{group}", entries, list)
        for i, link in enumerate(entries):
            at = f"properties.links.{group}.{i}"
            if type(link) is not dict or type(link.get("href")) is not str:
                Reader(PROVIDER, link, record_id=reader.record_id, at=at).require("href", str)
            asset = _asset(reader, at, group, link, ledger)
            title = link.get("title")
            key = _key_of(title) if isinstance(title, str) and title.strip() else asset["roles"][0]
            assets[_unique(assets, key)] = asset
    return assets


@functools.lru_cache(maxsize=4096)
def _key_of(title: str) -> str:
    return _KEY.sub("_", title.strip())


def _asset(reader: Reader, at: str, group: str, link: Mapping[str, Any], ledger: Ledger) -> dict[str, Any]:
    guarded = [k for k, ok in _LINK_GUARDS if k in link and not ok(link[k])]
    view = {k: v for k, v in link.items() if k not in guarded} if guarded else link
    asset = fast_encode(LINK_TABLE, view, at, reader.record_id, ledger)
    for key in guarded:
        asset[PREFIX + key] = copy_json(link[key])
    category = link.get("category")
    names = link.get("bandNames")
    if isinstance(names, list) and names and all(isinstance(n, str) for n in names):
        asset["bands"] = [{"name": n} for n in names]
    elif names is not None:
        asset[PREFIX + "bandNames"] = names
    role = _GROUP_ROLE.get(group) or ("thumbnail" if link.get("type") in _THUMBNAIL_TYPES else "overview")
    asset["roles"] = [role] if group in _LINK_GROUPS else [group]
    if group not in _LINK_GROUPS:
        asset[PREFIX + "group"] = group
    if isinstance(category, str) and category:
        asset["roles"].append(category.lower())
        if category.lower().upper() != category:
            ledger.keep[f"{at}.category"] = category
    elif category is not None:
        asset[PREFIX + "category"] = category
    return asset


def _ok_size(value: Any) -> bool:
    return not isinstance(value, int) or isinstance(value, bool) or value >= 0


_LINK_GUARDS: Final = (("length", _ok_size), ("conformsTo", ok_crs))


def _unique(taken: Mapping[str, Any], key: str) -> str:
    if key not in taken:
        return key
    n = 2
    while f"{key}-{n}" in taken:
        n += 1
    return f"{key}-{n}"


def links_of(assets: Mapping[str, Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The four link groups (and any other an asset names) of an Item's assets, in the assets' order."""
    links: dict[str, list[dict[str, Any]]] = {group: [] for group in _LINK_GROUPS}
    for asset in assets.values():
        if not isinstance(asset, Mapping) or "href" not in asset:
            continue
        roles = [r for r in asset.get("roles") or () if isinstance(r, str)]
        link = fast_decode(LINK_TABLE, asset)
        link.pop("group", None)
        bands = asset.get("bands")
        if isinstance(bands, list) and bands and "bandNames" not in link:
            link["bandNames"] = [b.get("name") for b in bands if isinstance(b, Mapping)]
        if len(roles) > 1 and "category" not in link:
            link["category"] = roles[1].upper()
        links.setdefault(_group_of(roles, asset.get(PREFIX + "group")), []).append(link)
    return links


def _group_of(roles: list[str], group: Any) -> str:
    if isinstance(group, str):
        return group
    first = roles[0] if roles else ""
    if first == "data":
        return "data"
    if first in ("thumbnail", "overview", "visual"):
        return "previews"
    return "alternates" if first == "metadata" else "related"

