"""pgstac's ``search()`` for the provider-compatible endpoints (``/opensearch/``, ``/capella/``).

Those endpoints translate their provider's query into a STAC search body (the transforms' query modules) and
ask pgstac exactly what ``/search`` asks it, on the same connection pool, so both find the same items in the
same order. What they add is offset paging (OpenSearch ``startIndex``, Capella ``page``): pgstac pages item
searches by keyset tokens only, so an offset is reached by asking for the ids of the rows before it (cheap:
no hydration, one column) and continuing from the last one's token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request

__all__ = [
    "SearchPage",
    "attach_collection_ledgers",
    "attach_ledgers",
    "pgstac_collection_search",
    "pgstac_search",
    "search_page",
]

#: The token query parameter of pgstac's next links.
_TOKEN: Final = "token"
#: What the loader keeps in pgstac's ``private`` column (:mod:`stac_bridge.pgstac.loader`).
_LEDGER: Final = "stac_bridge:ledger"
_SOURCE: Final = "stac_bridge:source"
_SOURCE_EXTENT: Final = "stac_bridge:extent"


@dataclass(frozen=True)
class SearchPage:
    """One page of an offset-paged search.

    Attributes:
        features: The STAC items of the page, hydrated, in ``/search`` order.
        matched: How many items the whole search matches.
        offset: The 0-based offset of the first feature.
    """

    features: list[dict[str, Any]]
    matched: int
    offset: int


async def pgstac_search(request: Request, search: Mapping[str, Any]) -> dict[str, Any]:
    """Run pgstac's ``search(jsonb)`` with ``search`` on the application's read pool.

    Args:
        request: The request being served (its application holds the pool).
        search: A STAC search body, as pgstac reads it (``collections``, ``ids``, ``bbox``, ``intersects``,
            ``datetime``, ``filter`` in CQL2 JSON, ``sortby``, ``limit``, ``token``, ``fields``, ``conf``).

    Returns:
        The FeatureCollection pgstac answers, with ``numberMatched``.
    """
    return await _call(request, "search", search)


async def pgstac_collection_search(request: Request, search: Mapping[str, Any]) -> dict[str, Any]:
    """Run pgstac's ``collection_search(jsonb)`` (``bbox``, ``datetime``, ``q``, ``limit``, ``offset``...).

    Returns:
        ``{"collections": [...], "numberMatched", "numberReturned", "links"}`` as pgstac answers it.
    """
    return await _call(request, "collection_search", search)


async def _call(request: Request, function: str, argument: Mapping[str, Any]) -> dict[str, Any]:
    query = f"SELECT * FROM {function}($1::text::jsonb);"  # function: one of this module's, never user input
    async with request.app.state.get_connection(request, "r") as conn:
        answer = await conn.fetchval(query, json.dumps(dict(argument)))
    result: dict[str, Any] = json.loads(answer) if isinstance(answer, str) else answer
    return result


async def search_page(
    request: Request, search: Mapping[str, Any], *, offset: int, limit: int, ledgers: bool = False
) -> SearchPage:
    """The ``limit`` items of ``search`` from the 0-based ``offset`` on, with the total matched.

    Args:
        request: The request being served.
        search: A STAC search body without ``limit`` nor ``token``.
        offset: How many matching items to skip.
        limit: How many to return at most.
        ledgers: Join each item's ledger back in (:func:`attach_ledgers`), for a provider's way back.
    """
    body = {k: v for k, v in search.items() if k not in ("limit", "token")}
    token: str | None = None
    if offset > 0:
        skipped = await pgstac_search(
            request, {**body, "limit": offset, "fields": {"include": ["id"]}, "conf": {"nohydrate": True}}
        )
        token = _next_token(skipped)
        if token is None:  # the offset lies past the last item
            return SearchPage([], int(skipped.get("numberMatched") or 0), offset)
    page = await pgstac_search(request, {**body, "limit": limit, **({_TOKEN: token} if token else {})})
    features = list(page.get("features") or [])
    if ledgers:
        await attach_ledgers(request, features)
    return SearchPage(features, int(page.get("numberMatched") or 0), offset)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def attach_ledgers(request: Request, items: list[dict[str, Any]]) -> None:
    """Give items back what the loader kept out of the API, in place: the ledger and the provenance tag.

    One query for the whole page. Items that had none are left as they are.
    """
    if not items:
        return
    collections = sorted({str(i.get("collection")) for i in items})
    ids = [str(i.get("id")) for i in items]
    query = (
        "SELECT collection, id, private FROM items "
        "WHERE collection = ANY($1::text[]) AND id = ANY($2::text[]) AND private IS NOT NULL"
    )
    async with request.app.state.get_connection(request, "r") as conn:
        rows = await conn.fetch(query, collections, ids)
    found = {(row["collection"], row["id"]): _json(row["private"]) for row in rows}
    for item in items:
        private = found.get((item.get("collection"), item.get("id")))
        if not isinstance(private, Mapping):
            continue
        if _LEDGER in private:
            item[_LEDGER] = private[_LEDGER]
        if _SOURCE in private and isinstance(item.get("properties"), dict):
            item["properties"][_SOURCE] = private[_SOURCE]


async def attach_collection_ledgers(request: Request, collections: list[dict[str, Any]]) -> None:
    """Give collections back what the loader kept aside, in place.

    That is the ledger, the provenance tag, and the extent their transform wrote (the API serves the extent of
    their items).
    """
    if not collections:
        return
    query = "SELECT id, private FROM collections WHERE id = ANY($1::text[]) AND private IS NOT NULL"
    async with request.app.state.get_connection(request, "r") as conn:
        rows = await conn.fetch(query, [str(c.get("id")) for c in collections])
    found = {row["id"]: _json(row["private"]) for row in rows}
    for collection in collections:
        private = found.get(collection.get("id"))
        if not isinstance(private, Mapping):
            continue
        for key in (_LEDGER, _SOURCE):
            if key in private:
                collection[key] = private[key]
        if _SOURCE_EXTENT in private:
            collection["extent"] = private[_SOURCE_EXTENT]


def _next_token(collection: Mapping[str, Any]) -> str | None:
    for link in collection.get("links") or []:
        if link.get("rel") == "next":
            values = parse_qs(urlsplit(str(link.get("href", ""))).query).get(_TOKEN)
            if values:
                return values[0]
    return None
