"""The provider records behind the catalog: ``/collections/{c}/source`` and ``/collections/{c}/items/{i}/source``.

An object translated from a provider is served as curated STAC; its round-trip bookkeeping (the ledger) and the
extent its transform wrote are kept in pgstac's ``private`` column. These two routes join them back in and
answer the provider's own record, exactly as the provider sent it (the way back of
:meth:`stac_bridge.registry.Adapter.from_stac`). An object that did not come from a provider has no source: 404.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from stac_bridge.errors import StacBridgeError
from stac_bridge.registry import get_adapter
from stac_bridge.server.search import attach_collection_ledgers, attach_ledgers, pgstac_search
from stac_bridge.transforms.kernel import source_of

__all__ = ["create_router", "provider_of"]

def provider_of(stac: Mapping[str, Any]) -> str | None:
    """The provider a STAC object was translated from, or ``None`` for native STAC."""
    source = source_of(stac)
    return source[0] if source is not None else None


def _error(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse({"code": code, "description": description}, status_code=status)


def _record(stac: dict[str, Any], what: str) -> JSONResponse:
    provider = provider_of(stac)
    if provider is None:
        return _error(404, "NotFoundError", f"{what} was not translated from a provider: it has no source record")
    try:
        record = get_adapter(provider).from_stac(stac)
    except StacBridgeError as exc:
        return _error(409, "ConflictError", f"{what} cannot be written back as a {provider} record: {exc}"[:500])
    return JSONResponse(record)


def create_router() -> APIRouter:
    """The two ``source`` routes (mounted at the API's root by :func:`stac_bridge.server.app.create_app`)."""
    router = APIRouter(tags=["Provider records"])

    @router.get("/collections/{collection_id}/source", summary="The provider record of a collection")
    async def collection_source(request: Request, collection_id: str) -> JSONResponse:
        query = "SELECT content FROM collections WHERE id = $1"
        async with request.app.state.get_connection(request, "r") as conn:
            content = await conn.fetchval(query, collection_id)
        if content is None:
            return _error(404, "NotFoundError", f"collection {collection_id!r} does not exist")
        collection = json.loads(content) if isinstance(content, str) else dict(content)
        await attach_collection_ledgers(request, [collection])
        return _record(collection, f"collection {collection_id!r}")

    @router.get("/collections/{collection_id}/items/{item_id}/source", summary="The provider record of an item")
    async def item_source(request: Request, collection_id: str, item_id: str) -> JSONResponse:
        found = await pgstac_search(request, {"collections": [collection_id], "ids": [item_id], "limit": 1})
        features = list(found.get("features") or [])
        if not features:
            return _error(404, "NotFoundError", f"item {item_id!r} is not in collection {collection_id!r}")
        await attach_ledgers(request, features)
        return _record(features[0], f"item {item_id!r}")

    return router
