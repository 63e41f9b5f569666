"""An OGC 17-047r1 OpenSearch endpoint over the catalog, as Terrascope's catalogue answers it.

``GET /opensearch/collections`` and ``GET /opensearch/products`` answer OGC 17-047 GeoJSON FeatureCollections
built from pgstac, so that OpenSearch clients written for Terrascope (``terracatalogueclient`` with
``URL = https://<api>/opensearch/``) keep working on the unified catalog:

* the parameters are translated by :func:`stac_bridge.transforms.opensearch_query.opensearch_to_stac` and the
  search is the one ``/search`` runs (:mod:`stac_bridge.server.search`), so both find the same items in the
  same order; a parameter with no STAC equivalent is a 400 that names it, never silently dropped;
* ``totalResults``, ``itemsPerPage`` (the features on the page), a 1-based ``startIndex``, and
  ``properties.links`` ``first``/``last``/``next``/``previous``: absolute, carrying every parameter of the
  request with its own ``startIndex``; ``count=0`` answers only ``totalResults``;
* collections and items go back through :func:`~stac_bridge.transforms.opensearch.stac_to_collection` and
  :func:`~stac_bridge.transforms.opensearch.stac_to_product`: what was harvested from OpenSearch comes back as
  it was recorded.

Items from other providers: ``stac_to_product`` gives them a plain product. Should it fail on one (an asset
without ``href``, odd values), the product is built from a reduced copy of the item (id, footprint, times,
title, assets with an ``href``). Either way such products are completed with what 17-047 clients read from
every product: ``title``, ``identifier``, an ``acquisitionInformation`` entry with
``beginningDateTime``/``endingDateTime``, ``links`` and ``bbox``. No item makes the endpoint fail.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any, Final

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from stac_bridge.errors import TransformError, UntranslatableQueryError
from stac_bridge.server.guards import bbox_problem
from stac_bridge.server.paging import page_links
from stac_bridge.server.search import attach_collection_ledgers, pgstac_collection_search, search_page
from stac_bridge.server.settings import ServerSettings
from stac_bridge.transforms import opensearch, opensearch_query
from stac_bridge.transforms._common import format_datetime, parse_datetime
from stac_bridge.transforms.kernel import source_of

__all__ = ["DEFAULT_COUNT", "MAX_COUNT", "create_router", "product_of"]

log = logging.getLogger(__name__)

#: Products or collections per page when the request has no ``count``.
DEFAULT_COUNT: Final = 20
#: The largest page; a larger ``count`` is answered with this many (``itemsPerPage`` says so).
MAX_COUNT: Final = 1000
MEDIA_TYPE: Final = "application/geo+json"
#: The parameters a ``collections`` search takes (the others are about products).
_COLLECTION_PARAMS: Final = frozenset({
    opensearch_query.P_BBOX, opensearch_query.P_GEOMETRY, opensearch_query.P_START, opensearch_query.P_END,
    opensearch_query.P_UID, opensearch_query.P_START_INDEX, opensearch_query.P_COUNT,
    *opensearch_query.P_PRESENTATION,
})
_ASSET_FIELDS: Final = frozenset({"href", "type", "title", "roles"})
_WORLD: Final = [-180.0, -90.0, 180.0, 90.0]
#: What a failed ``stac_to_product`` can raise on an item it was not made for.
_TRANSLATION_ERRORS: Final = (TransformError, KeyError, TypeError, ValueError, AttributeError, IndexError)


def create_router(settings: ServerSettings) -> APIRouter:
    """The OpenSearch routes (``/collections``, ``/products``), to be mounted under ``/opensearch``.

    Args:
        settings: The server settings (``max_offset``: the deepest page).
    """
    router = APIRouter(tags=["OpenSearch (OGC 17-047r1)"])
    max_offset = settings.max_offset

    async def collections(request: Request) -> JSONResponse:
        return _refused(request, max_offset) or await _collections(request)

    async def products(request: Request) -> JSONResponse:
        return _refused(request, max_offset) or await _products(request)

    router.add_api_route("/collections", collections, methods=["GET"], summary="Collections as OGC 17-047 GeoJSON")
    router.add_api_route("/products", products, methods=["GET"], summary="Products as OGC 17-047 GeoJSON")
    return router


def _refused(request: Request, max_offset: int) -> JSONResponse | None:
    """A 400 for a bbox no search can match (inverted, out of range) or a page deeper than ``max_offset``.

    Offset paging costs the rows before the page (see :mod:`stac_bridge.server.search`): past
    ``max_offset`` a client must narrow the search (by time, as Terrascope's own catalogue asks) instead.
    """
    params = request.query_params
    if opensearch_query.P_BBOX in params:
        problem = bbox_problem(params[opensearch_query.P_BBOX])
        if problem is not None:
            return _bad_request(UntranslatableQueryError(opensearch.PROVIDER, opensearch_query.P_BBOX, problem))
    start = params.get(opensearch_query.P_START_INDEX, "1").strip()
    if start.isdigit() and start.isascii() and int(start) - 1 > max_offset:
        return _bad_request(UntranslatableQueryError(
            opensearch.PROVIDER, opensearch_query.P_START_INDEX,
            f"lies past {max_offset + 1}: narrow the search (e.g. by start and end) to page further"))
    return None


# --- routes ---------------------------------------------------------------------------------------------------

async def _products(request: Request) -> JSONResponse:
    try:
        search = opensearch_query.opensearch_to_stac(_params(request))
    except UntranslatableQueryError as exc:
        return _bad_request(exc)
    count = _count(search.body)
    body = {k: v for k, v in search.body.items() if k != opensearch_query.S_LIMIT}
    page = await search_page(request, body, offset=search.start_index - 1, limit=max(count, 1), ledgers=True)
    if count == 0:
        return JSONResponse({"totalResults": page.matched}, media_type=MEDIA_TYPE)
    features = [product_of(item) for item in page.features]
    return _answer(request, features, page.matched, search.start_index, count)


async def _collections(request: Request) -> JSONResponse:
    params = _params(request)
    unknown = sorted(set(params) - _COLLECTION_PARAMS)
    try:
        if unknown:
            raise UntranslatableQueryError(opensearch.PROVIDER, unknown[0], "is not a collection search parameter")
        search = opensearch_query.opensearch_to_stac(params)
    except UntranslatableQueryError as exc:
        return _bad_request(exc)
    count = _count(search.body)
    body = {**search.body, "limit": max(count, 1), "offset": search.start_index - 1}
    result = await pgstac_collection_search(request, body)
    matched = int(result.get("numberMatched") or 0)
    if count == 0:
        return JSONResponse({"totalResults": matched}, media_type=MEDIA_TYPE)
    collections = list(result.get("collections") or [])
    await attach_collection_ledgers(request, collections)
    features = [_collection_of(c) for c in collections]
    return _answer(request, features, matched, search.start_index, count)


# --- translation ----------------------------------------------------------------------------------------------

def product_of(item: Mapping[str, Any]) -> dict[str, Any]:
    """The OGC 17-047 product of a STAC item from pgstac, whatever provider it came from.

    Args:
        item: A hydrated STAC Item.

    Returns:
        The product ``stac_to_product`` gives; for an item that did not come from OpenSearch, completed with
        the members 17-047 clients read (see the module docstring).
    """
    try:
        feature = opensearch.stac_to_product(item)
    except _TRANSLATION_ERRORS as exc:
        log.warning("item %s: %s; answering a product built from its id, footprint, times and assets",
                    item.get("id"), exc)
        feature = opensearch.stac_to_product(_reduced(item))
    tag = source_of(item)
    if tag is None or tag[0] != opensearch.PROVIDER:
        _complete(feature, item)
    return feature


def _reduced(item: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an item that ``stac_to_product`` translates whatever the rest holds."""
    props = item.get("properties") or {}
    kept: dict[str, Any] = {}
    for key in ("datetime", "start_datetime", "end_datetime", "updated"):
        if _is_datetime(props.get(key)):
            kept[key] = props[key]
    if isinstance(props.get("title"), str):
        kept["title"] = props["title"]
    assets: Mapping[str, Any] = item["assets"] if isinstance(item.get("assets"), Mapping) else {}
    return {
        "type": "Feature",
        "id": item["id"],
        "geometry": item.get("geometry"),
        "bbox": item.get("bbox"),
        "collection": item.get("collection"),
        "properties": kept,
        "assets": {
            key: {k: v for k, v in asset.items() if k in _ASSET_FIELDS and isinstance(v, str | list)}
            for key, asset in assets.items()
            if isinstance(asset, Mapping) and isinstance(asset.get("href"), str)
        },
    }


def _is_datetime(value: Any) -> bool:
    """A datetime clients can read: parseable, and not a year-1 or year-9999 placeholder."""
    if not isinstance(value, str):
        return False
    try:
        year = parse_datetime(value).year
    except ValueError:
        return False
    return 1 < year < 9999


def _complete(feature: dict[str, Any], item: Mapping[str, Any]) -> None:
    """Add what 17-047 clients read from every product and a product from another provider may lack."""
    props = feature.setdefault("properties", {})
    item_props = item.get("properties") or {}
    props.setdefault("identifier", feature["id"])
    props.setdefault("title", feature["id"])
    props.setdefault("links", {})
    if feature.get("bbox") is None and item.get("bbox") is not None:
        feature["bbox"] = list(item["bbox"])
    begin = item_props.get("start_datetime") or item_props.get("datetime")
    end = item_props.get("end_datetime") or item_props.get("datetime")
    if not (isinstance(begin, str) and isinstance(end, str) and _is_datetime(begin) and _is_datetime(end)):
        return
    entries = props.setdefault("acquisitionInformation", [])
    entry = next((e for e in entries if isinstance(e, dict) and "acquisitionParameters" in e), None)
    if entry is None:
        entry = {"acquisitionParameters": {}}
        entries.insert(0, entry)
    parameters = entry["acquisitionParameters"]
    parameters.setdefault("beginningDateTime", format_datetime(parse_datetime(begin)))
    parameters.setdefault("endingDateTime", format_datetime(parse_datetime(end)))


def _collection_of(collection: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return opensearch.stac_to_collection(collection)
    except _TRANSLATION_ERRORS as exc:
        log.warning("collection %s: %s; answering it with a world extent", collection.get("id"), exc)
        return opensearch.stac_to_collection({
            "type": "Collection",
            "id": str(collection.get("id")),
            "description": str(collection.get("description") or collection.get("id")),
            "license": "other",
            "extent": {"spatial": {"bbox": [_WORLD]}, "temporal": {"interval": [[None, None]]}},
            "links": [],
        })


# --- the answer -----------------------------------------------------------------------------------------------

def _params(request: Request) -> dict[str, Any]:
    """The query parameters; a repeated one as the list of its values (the translation refuses it)."""
    params: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in params:
            previous = params[key]
            params[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            params[key] = value
    return params


def _count(body: Mapping[str, Any]) -> int:
    return min(int(body.get(opensearch_query.S_LIMIT, DEFAULT_COUNT)), MAX_COUNT)


def _bad_request(exc: UntranslatableQueryError) -> JSONResponse:
    return JSONResponse(
        {"code": "InvalidParameterValue", "parameter": exc.part, "description": str(exc)}, status_code=400
    )


def _answer(request: Request, features: list[dict[str, Any]], total: int, start: int, count: int) -> JSONResponse:
    links = page_links(str(request.url.replace(query="")), request.query_params.multi_items(),
                       start=start, count=count, total=total, media_type=MEDIA_TYPE)
    return JSONResponse(
        {
            "type": "FeatureCollection",
            "id": str(request.url),
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(features),
            "features": features,
            "properties": {
                "title": f"{'Product' if request.url.path.endswith('/products') else 'Collection'} Search result",
                "subtitle": f"Number of results: {total}",
                "creator": "stac-bridge",
                "updated": format_datetime(dt.datetime.now(dt.UTC)),
                "lang": "en",
                "links": links,
            },
        },
        media_type=MEDIA_TYPE,
    )
