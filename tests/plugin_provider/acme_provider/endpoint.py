"""``/acme``: the unified catalog answered in Acme's own protocol (``GET /acme/v1/collections/{id}/scenes``)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from acme_provider import query
from acme_provider.adapter import ADAPTER
from stac_bridge.errors import UntranslatableQueryError
from stac_bridge.server.search import search_page
from stac_bridge.server.settings import ServerSettings


def create_router(settings: ServerSettings) -> APIRouter:
    """The Acme-compatible routes."""
    router = APIRouter(tags=["Acme"])

    async def scenes(request: Request, collection_id: str) -> JSONResponse:
        params = dict(request.query_params)
        try:
            offset = int(params.pop("cursor", "0") or 0)
            limit = min(int(params.pop("limit", "50")), settings.max_limit)
            body = query.to_stac({**params, "collection": collection_id})
            body["sortby"] = [{"field": "properties.datetime", "direction": "asc"}, {"field": "id", "direction": "asc"}]
        except (ValueError, UntranslatableQueryError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        page = await search_page(request, body, offset=offset, limit=limit, ledgers=True)
        records = [ADAPTER.from_stac(feature) for feature in page.features]
        following = offset + len(records)
        return JSONResponse({"scenes": records, "cursor": str(following) if following < page.matched else None})

    router.add_api_route("/v1/collections/{collection_id}/scenes", scenes, methods=["GET"],
                         summary="Scenes of a collection, as Acme's API answers them")
    return router
