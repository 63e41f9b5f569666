"""A Capella-compatible catalog search over the unified catalog, for capella-console-client and its users.

``POST /capella/catalog/search`` takes the body the console client sends (``query`` with eq, in, gt, gte, lt,
lte and ``datetime`` inside it, ``page``, ``sortby``, ``limit``), translates it with
:mod:`stac_bridge.transforms.capella_query` into a STAC search, and runs that on pgstac exactly as ``/search``
does (:mod:`stac_bridge.server.search`), so both find the same items in the same order. The answer is a STAC
ItemCollection with ``numberMatched``, ``numberReturned`` and a ``next`` link to POST the same body with
``page + 1`` to. Items harvested from Capella come back in Capella's own form
(:func:`stac_bridge.transforms.capella.stac_to_item`, with the ledger and provenance the loader kept in pgstac's
``private`` column joined back); all others as they are stored.

Point the client at it with ``CapellaConsoleClient(base_url="<api>/capella", no_auth=True)``: searching needs
no credentials. Errors are answered in Capella's envelope (``{"error": {"message", "code"}}``), which the
client turns into its own exceptions (``ValidationError`` for a body it cannot translate).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Final

from fastapi import APIRouter
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse

from stac_bridge.errors import TransformError
from stac_bridge.server.guards import geometry_problem, search_problem
from stac_bridge.server.search import search_page
from stac_bridge.server.settings import ServerSettings
from stac_bridge.transforms import capella
from stac_bridge.transforms.capella_query import INTERSECTS, MAX_PAGE_SIZE, PAGE, search_body_to_stac

__all__ = ["CapellaEndpointSettings", "create_router"]

log = logging.getLogger(__name__)

#: capella-console-client POSTs to ``/capella//catalog/search`` (its base URL gets a trailing slash): the app reads
#: ``//`` as ``/`` (:class:`stac_bridge.server.app.CollapseSlashesMiddleware`).
SEARCH_PATH: Final = "/catalog/search"
VALIDATION_ERROR: Final = "VALIDATION_ERROR"


class CapellaEndpointSettings(BaseSettings):
    """Settings of the ``/capella`` endpoint, from the environment (prefix ``STAC_BRIDGE_CAPELLA_``).

    Attributes:
        max_page_size: The most items one page holds whatever ``limit`` asks (Capella's is 900;
            ``STAC_BRIDGE_CAPELLA_MAX_PAGE_SIZE``).
    """

    model_config = SettingsConfigDict(env_prefix="STAC_BRIDGE_CAPELLA_", extra="ignore")

    max_page_size: int = MAX_PAGE_SIZE


def create_router(settings: ServerSettings) -> APIRouter:
    """The ``/capella`` routes (mounted by :func:`stac_bridge.server.app.create_app`).

    Args:
        settings: The server's settings (the endpoint's own come from :class:`CapellaEndpointSettings`).
    """
    page_cap = max(1, min(CapellaEndpointSettings().max_page_size, MAX_PAGE_SIZE))
    router = APIRouter(tags=["Capella"])

    async def catalog_search(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError as exc:
            return _error(f"the body is not JSON: {exc}")
        if not isinstance(body, dict):
            return _error("the body must be a JSON object")
        if body.get(INTERSECTS) is not None and (problem := geometry_problem(body[INTERSECTS])) is not None:
            return _error(f"intersects: {problem}", field=INTERSECTS)
        if PAGE not in body and request.query_params.get(PAGE, "").isdigit():
            body[PAGE] = int(request.query_params[PAGE])
        try:
            search = search_body_to_stac(body)
        except TransformError as exc:
            return _error(str(exc), field=exc.field)
        if (problem := search_problem(search.body, max_values=settings.max_limit)) is not None:
            return _error(problem)  # the search it translates to would cost too much (an in-list of a million)
        limit = min(search.limit, page_cap)
        offset = (search.page - 1) * limit
        if offset > settings.max_offset:
            # Offset paging costs the rows before the page; Capella's own API stops at 10,000 results too.
            return _error(f"page {search.page} lies past the first {settings.max_offset} results: "
                          "narrow the search (e.g. by datetime) to page further", field=PAGE)
        found = await search_page(request, search.body, offset=offset, limit=limit, ledgers=True)
        features = [_capella_form(feature) for feature in found.features]
        links = []
        if offset + len(features) < found.matched:
            following = {**body, PAGE: search.page + 1}
            href = str(request.url.replace(query=f"{PAGE}={search.page + 1}"))
            links.append({"rel": "next", "href": href, "type": "application/geo+json", "method": "POST",
                          "body": following})
        return JSONResponse({
            "type": "FeatureCollection",
            "features": features,
            "numberMatched": found.matched,
            "numberReturned": len(features),
            "links": links,
        }, media_type="application/geo+json")

    router.add_api_route(SEARCH_PATH, catalog_search, methods=["POST"],
                         summary="Search the catalog as Capella's console API does")
    return router


def _capella_form(feature: Mapping[str, Any]) -> dict[str, Any]:
    """A catalog item harvested from Capella in Capella's form (its ledger applied when joined in); others as stored."""
    if capella.kind_of(feature) == capella.KIND_ITEM:
        return capella.stac_to_item(feature)
    return dict(feature)


def _error(message: str, *, field: str | None = None) -> JSONResponse:
    """A 400 in Capella's error envelope."""
    error: dict[str, Any] = {"message": message, "code": VALIDATION_ERROR}
    if field is not None:
        error["data"] = {"field": field}
    return JSONResponse({"error": error}, status_code=400)
