"""What makes the API answer searches faster than stock stac-fastapi-pgstac, on the same database.

Measured by ``make bench`` (``benchmarks/serve.py``; ``docs/deployment.md`` has the figures and the profile):

* the read pool's sessions start no parallel query workers (``STAC_BRIDGE_DB_PARALLEL_WORKERS``, 0): pgstac's
  ``numberMatched`` count of a random search over 100,000 items took 46 ms with two workers, 15 ms without
  (:func:`stac_bridge.server.faults.read_session_settings`);
* answers are serialised once, by orjson (:func:`geojson`): stac-fastapi returns plain dicts, which FastAPI walks
  with ``jsonable_encoder`` and then serialises with the standard library's ``json``;
* gzip at level 3 instead of 9 (:class:`CompressionMiddleware`): stac-fastapi-pgstac's Brotli middleware falls
  back to Starlette's gzip at its highest level for clients that do not ask for Brotli (``requests``, hence
  pystac-client), which costs several times more CPU for a few per cent smaller answers;
* links are made without reflection (:class:`FastLinks`, :data:`FAST_LINKS`): stac-fastapi-pgstac walks ``dir()``
  of a new links object for each item and for each answer, and resolves each link with ``urljoin``; these were a
  fifth of the API's time in a search of 10 items (0.35-0.43 ms of each search, measured in the process, paired
  with stock's links). The links are the same, in the same order;
* items are hydrated in Python when they hold no do-not-merge marker (:func:`hydrate`): ``hydraters`` converts
  each whole item to Rust and back to merge in the few members of its base item;
* connections go back to the read pool without asyncpg's ``RESET ALL`` round trip
  (:func:`stac_bridge.server.faults.keep_session`: 0.27-0.41 ms of each search, measured the same way);
* searches write nothing: the read pool's sessions run pgstac read-only (``pgstac.readonly``), as on a replica,
  unless ``search_bookkeeping`` is on, and then commit that bookkeeping without waiting for its WAL flush
  (:data:`stac_bridge.server.faults.READ_SETTINGS`).
"""

from __future__ import annotations

import copy
import re
from typing import Any, ClassVar, Final
from urllib.parse import urljoin

import attr
import hydraters
import orjson
from brotli_asgi import BrotliMiddleware
from stac_fastapi.pgstac import core
from stac_fastapi.pgstac.models import links
from starlette.middleware.gzip import GZipResponder
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

__all__ = ["FAST_LINKS", "GZIP_LEVEL", "CompressionMiddleware", "FastLinks", "ItemLinks", "geojson", "hydrate",
           "use_compression", "use_fast_hydrate", "use_fast_links", "use_fast_search"]

#: zlib's level for gzip answers: a 10-item search answer (42 kB) took 0.39 ms at 3 (9.3 kB), 0.73 ms at 5 (8.5 kB),
#: 1.23 ms at 9 (8.3 kB), stac-fastapi-pgstac's.
GZIP_LEVEL: Final = 3
_GEOJSON: Final = "application/geo+json"


def geojson(document: Any, media_type: str = _GEOJSON) -> Response:
    """``document`` as a JSON answer, serialised by orjson (no ``jsonable_encoder`` walk)."""
    return Response(orjson.dumps(document), media_type=media_type)


class CompressionMiddleware(BrotliMiddleware):
    """stac-fastapi-pgstac's Brotli middleware, whose gzip fallback compresses at :data:`GZIP_LEVEL`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Brotli when the client accepts it, else gzip at :data:`GZIP_LEVEL` when it accepts that."""
        if scope["type"] == "http" and not self._is_handler_excluded(scope):
            accepted = dict(scope["headers"]).get(b"accept-encoding", b"")
            if b"br" not in accepted and self.gzip_fallback and b"gzip" in accepted:
                await GZipResponder(self.app, self.minimum_size, GZIP_LEVEL)(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def use_compression(app: Any) -> None:
    """Replace stac-fastapi-pgstac's Brotli middleware of ``app`` (its options kept) with ours."""
    for index, middleware in enumerate(app.user_middleware):
        if middleware.cls is BrotliMiddleware:
            app.user_middleware[index] = type(middleware)(CompressionMiddleware, *middleware.args,
                                                          **middleware.kwargs)


#: A relative path ``urljoin`` does more with than append it to the base: a query, a fragment, parameters, an empty
#: or dot segment, a leading slash.
_NOT_PLAIN: Final = re.compile(r"[?#;]|//|(?:^|/)\.{1,2}(?:/|$)|^/")
_BASE_URL: Final = "stac_bridge.base_url"
_JSON: Final = "application/json"


class FastLinks:
    """What makes stac-fastapi-pgstac's links classes fast, the links unchanged (mixed in before each of them).

    Stock walks ``dir()`` of each new links object for its ``link_*`` methods, works the base URL out of the request
    for each link and resolves each href with ``urljoin``: a fifth of the API's time in a search of 10 items.
    Here the ``link_*`` names of a class are found once (the same names, in ``dir()``'s order), the base URL once
    per request, and a plain relative href is appended to it.
    """

    _link_methods: ClassVar[dict[type, tuple[str, ...]]] = {}
    request: Any

    @property
    def base_url(self) -> str:
        """The API's base URL, worked out once per request."""
        scope = self.request.scope
        found = scope.get(_BASE_URL)
        if found is None:
            found = scope[_BASE_URL] = str(super().base_url)  # type: ignore[misc]
        return str(found)

    def resolve(self, url: Any) -> str:
        """``url`` resolved against the base URL (appended, when ``urljoin`` would only append it)."""
        text, base = str(url), self.base_url
        if base.endswith("/") and ":" not in text.partition("/")[0] and not _NOT_PLAIN.search(text):
            return base + text
        return urljoin(base, text)

    def create_links(self) -> list[dict[str, Any]]:
        """The inferred links, made by the class's ``link_*`` methods in the order of their names, as stock does."""
        cls = type(self)
        names = self._link_methods.get(cls)
        if names is None:
            names = self._link_methods[cls] = tuple(
                name for name in dir(cls) if name.startswith("link_") and callable(getattr(cls, name)))
        links: list[dict[str, Any]] = []
        for name in names:
            link = getattr(self, name)()
            if isinstance(link, list):
                links.extend(link)
            elif link is not None:
                links.append(link)
        return links


@attr.s
class ItemLinks(FastLinks, links.ItemLinks):  # type: ignore[misc]  # stac-fastapi-pgstac is untyped
    """stac-fastapi-pgstac's item links, the same ones in the same order, made without its reflection.

    The one made for each item of an answer: its four inferred links are written out here.
    """

    async def get_links(self, extra_links: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The item's collection, parent, root and self links, then its stored links with their hrefs resolved."""
        collection = self.resolve(f"collections/{self.collection_id}")
        made = [{"rel": "collection", "type": _JSON, "href": collection},
                {"rel": "parent", "type": _JSON, "href": collection},
                {"rel": "root", "type": _JSON, "href": self.base_url},
                {"rel": "self", "type": _GEOJSON,
                 "href": self.resolve(f"collections/{self.collection_id}/items/{self.item_id}")}]
        if extra_links:
            made += [{**link, "href": self.resolve(link["href"])} for link in extra_links
                     if link["rel"] not in links.INFERRED_LINK_RELS]
        return made


#: stac-fastapi-pgstac's links classes that its core client makes answers' links with, by name.
_STOCK_LINKS: Final = ("CollectionLinks", "CollectionSearchPagingLinks", "ItemCollectionLinks", "PagingLinks",
                       "SearchLinks")
FAST_LINKS: Final[dict[str, type]] = {
    "ItemLinks": ItemLinks,
    **{name: attr.s(type(name, (FastLinks, getattr(links, name)), {"__doc__": f"stac-fastapi-pgstac's {name}, "
                                                                   "made by :class:`FastLinks`."}))
       for name in _STOCK_LINKS},
}


def use_fast_links() -> None:
    """Have stac-fastapi-pgstac's core client make links with :data:`FAST_LINKS` (in this process)."""
    for name, cls in FAST_LINKS.items():
        setattr(core, name, cls)


#: The do-not-merge marker as it stands in an item's JSON (orjson writes UTF-8 unescaped).
_MARKER: Final = hydraters.DO_NOT_MERGE_MARKER.encode()


def hydrate(base_item: dict[str, Any], item: dict[str, Any], strip_unmatched_markers: bool = False) -> dict[str, Any]:
    """``hydraters.hydrate``, the same result: an item that holds no do-not-merge marker is merged here.

    What the base item has and the item has not is added (objects merged member by member, arrays of the same
    length item by item, the item's value kept otherwise), as ``hydraters`` does, in the same order. An item with a
    marker (a member the item does not have though its base item does) goes to ``hydraters``, which drops it.
    ``item`` is changed; the members taken from ``base_item`` are copies.
    """
    try:
        marked = _MARKER in orjson.dumps(item)
    except orjson.JSONEncodeError:  # what orjson does not write (an integer past 64 bits): hydraters takes it
        marked = True
    if marked:
        merged: dict[str, Any] = hydraters.hydrate(base_item, item, strip_unmatched_markers=strip_unmatched_markers)
        return merged
    _merge(base_item, item)
    return item


def _merge(base: dict[str, Any], item: dict[str, Any]) -> None:
    for key, value in base.items():
        if key not in item:
            item[key] = _copy(value) if isinstance(value, dict | list) else value
            continue
        mine = item[key]
        if isinstance(value, dict):
            if isinstance(mine, dict):
                _merge(value, mine)
        elif isinstance(value, list) and isinstance(mine, list) and len(value) == len(mine):
            for theirs, ours in zip(value, mine, strict=True):
                if isinstance(theirs, dict) and isinstance(ours, dict):
                    _merge(theirs, ours)


def _copy(value: dict[str, Any] | list[Any]) -> Any:
    """A deep copy of a JSON value (six to eight times faster than ``copy.deepcopy`` for an asset's members)."""
    try:
        return orjson.loads(orjson.dumps(value))
    except orjson.JSONEncodeError:  # what orjson does not write (an integer past 64 bits)
        return copy.deepcopy(value)


def use_fast_hydrate() -> None:
    """Have stac-fastapi-pgstac's core client hydrate items with :func:`hydrate` (in this process)."""
    core.hydrate = hydrate


def use_fast_search(app: Any, api: Any) -> None:
    """Answer ``POST /search`` of ``app`` (``api``'s) by stac-fastapi's own client, past FastAPI's per-request work.

    stac-fastapi's route is FastAPI's: for each search FastAPI solves the endpoint's dependencies, parses the body
    again with the standard library and wraps the endpoint: a quarter of the API's own time in a search, more than
    all of its middlewares. The route put before it here does what that route does, and no more: the body (which
    :class:`~stac_bridge.server.guards.RequestGuardMiddleware` has checked is a JSON object) validated by the same
    request model, then ``api.client.post_search``. A validation error is FastAPI's own ``RequestValidationError``
    with FastAPI's locations (``body``, ...), answered by the same handler; the route of stac-fastapi stays in
    place behind it, and in the OpenAPI document.
    """
    from fastapi.exceptions import RequestValidationError
    from fastapi.routing import APIRoute
    from pydantic import ValidationError
    from starlette.requests import Request
    from starlette.routing import Route

    model = api.search_post_request_model
    client = api.client

    async def search(request: Request) -> Response:
        try:
            search_request = model.model_validate(orjson.loads(await request.body()))
        except orjson.JSONDecodeError as exc:
            raise RequestValidationError([{"type": "json_invalid", "loc": ("body", 0), "msg": "JSON decode error",
                                           "input": {}, "ctx": {"error": str(exc)}}]) from None
        except ValidationError as exc:
            raise RequestValidationError([{**error, "loc": ("body", *error["loc"])}
                                          for error in exc.errors()]) from None
        answer: Response = await client.post_search(search_request, request=request)
        return answer

    path = next(route.path for route in api.router.routes
                if isinstance(route, APIRoute) and route.name == "Search" and route.methods == {"POST"})
    # Before the router stac-fastapi's routes are included with (FastAPI keeps included routers whole).
    at = next((index for index, route in enumerate(app.router.routes)
               if getattr(route, "original_router", route) is api.router), 0)
    app.router.routes.insert(at, Route(path, search, methods=["POST"], include_in_schema=False))
