"""The STAC Collections of Capella's catalog collections and of the tasking requests.

Capella's console API searches its catalog by collection id but hands out no Collection documents; these are
made here for the Items of :mod:`stac_bridge.transforms.capella` to be loaded into.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import pystac

from stac_bridge.transforms._plain import copy_json, parse_datetime
from stac_bridge.transforms.capella_tasking import PROVIDER, STAC_VERSION, TASKING_COLLECTION_ID, TRANSFORM_VERSION
from stac_bridge.transforms.kernel import SOURCE, source_tag

__all__ = ["ARCHIVE_COLLECTION_ID", "catalog_collection", "tasking_collection"]

#: The collection of Capella's own archive, which its catalog search returns by default.
ARCHIVE_COLLECTION_ID: Final = "capella-archive"
#: A STAC Collection document, passed through by the adapter.
KIND_COLLECTION: Final = "collection"

_PRODUCER: Final = {"name": "Capella Space", "roles": ["producer", "processor", "licensor"],
                    "url": "https://www.capellaspace.com"}
_KEYWORDS: Final = ["Capella Space", "SAR", "synthetic aperture radar", "X-band"]
_CC_BY: Final = {"rel": "license", "href": "https://creativecommons.org/licenses/by/4.0/", "type": "text/html",
                 "title": "Creative Commons Attribution 4.0 International"}
#: Titles, descriptions, keywords and license links of the catalog collections Capella names.
_CATALOG_COLLECTIONS: Final[dict[str, tuple[str, str, list[str], dict[str, str] | None]]] = {
    ARCHIVE_COLLECTION_ID: (
        "Capella Space SAR archive",
        "X-band SAR images of the Capella Space constellation (SLC, GEO, GEC, SICD, SIDD, CPHD products), as "
        "Capella's catalog serves them, normalised to STAC 1.1 by stac-bridge.",
        [*_KEYWORDS, "commercial"], None,
    ),
    "capella-open-data": (
        "Capella Space open data",
        "Capella Space SAR images released under Capella's open data programme (CC BY 4.0).",
        [*_KEYWORDS, "open data"], _CC_BY,
    ),
}


def catalog_collection(
    collection_id: str = ARCHIVE_COLLECTION_ID,
    *,
    items: Iterable[Mapping[str, Any]] = (),
    bbox: list[float] | None = None,
    interval: list[str | None] | None = None,
) -> pystac.Collection:
    """Build the Collection of a Capella catalog collection (``capella-archive``, ``capella-open-data``...).

    Capella's console API searches its catalog by collection id but hands out no Collection documents, so this
    one is made here for the items of :func:`item_to_stac` to be loaded into.

    Args:
        collection_id: The id the items name in their ``collection`` field.
        items: STAC Items of the collection, whose boxes and times make the extent.
        bbox: The area searched, for the extent when there are no items.
        interval: The time range searched (``[start, end]``, either open), likewise.

    Returns:
        The Collection: Capella Space as producer, processor and licensor; ``CC-BY-4.0`` with a license link
        for the open data, ``other`` otherwise (Capella's records name no terms).

    Caveats:
        Without items or a search area the extent is the globe, a placeholder: the loader computes every
        collection's extent from its items after each load.

    """
    title, description, keywords, license_link = _CATALOG_COLLECTIONS.get(
        collection_id,
        (collection_id, f"The Capella Space catalog collection {collection_id}.", list(_KEYWORDS), None),
    )
    license_ = "CC-BY-4.0" if license_link else "other"
    return _collection(collection_id, title, description, keywords, license_, license_link,
                       _extent(items, bbox, interval))


def tasking_collection(
    *, items: Iterable[Mapping[str, Any]] = (), bbox: list[float] | None = None
) -> pystac.Collection:
    """Build the Collection that holds the Items of :func:`tasking_request_to_stac`.

    Args:
        items: Tasking Items of the collection, for the extent (see :func:`catalog_collection`).
        bbox: The area, when there are no items.
    """
    return _collection(
        TASKING_COLLECTION_ID,
        "Capella Space tasking requests",
        "Requests to task a Capella Space SAR satellite: the area of interest as geometry, the collection window "
        "as start_datetime/end_datetime, the latest status as order:status and the collect constraints under "
        "capella:collectConstraints.",
        [*_KEYWORDS, "tasking"], "other", None, _extent(items, bbox, None),
    )


def _extent(items: Iterable[Mapping[str, Any]], bbox: list[float] | None,
            interval: list[str | None] | None) -> dict[str, Any]:
    boxes: list[list[float]] = []
    times: list[str] = []
    for item in items:
        if isinstance(item.get("bbox"), list):
            boxes.append(item["bbox"])
        props = item.get("properties") or {}
        times += [props[k] for k in ("datetime", "start_datetime", "end_datetime") if isinstance(props.get(k), str)]
    if boxes:
        box = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[-2] for b in boxes),
               max(b[-1] for b in boxes)]
    else:
        box = list(bbox) if bbox else [-180.0, -90.0, 180.0, 90.0]
    span: list[str | None] = (
        [min(times, key=parse_datetime), max(times, key=parse_datetime)] if times else list(interval or [None, None])
    )
    return {"spatial": {"bbox": [box]}, "temporal": {"interval": [span]}}


def _collection(collection_id: str, title: str, description: str, keywords: list[str], license_: str,
                license_link: Mapping[str, str] | None, extent: dict[str, Any]) -> pystac.Collection:
    return pystac.Collection.from_dict(
        {
            "type": "Collection",
            "stac_version": STAC_VERSION,
            "id": collection_id,
            "title": title,
            "description": description,
            "keywords": keywords,
            "license": license_,
            "providers": [copy_json(_PRODUCER)],
            "extent": extent,
            "links": [dict(license_link)] if license_link else [],
            SOURCE: source_tag(PROVIDER, KIND_COLLECTION, TRANSFORM_VERSION),
        },
        migrate=False,
        preserve_dict=False,
    )
