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
* item links are made without reflection (:class:`ItemLinks`): stac-fastapi-pgstac's walks ``dir()`` of a new
  links object for each item and resolves each link with ``urljoin``; these were a fifth of the API's time in a
  search of 10 items. The links are the same, in the same order;
* searches write nothing: the read pool's sessions run pgstac read-only (``pgstac.readonly``), as on a replica,
  unless ``search_bookkeeping`` is on, and then commit that bookkeeping without waiting for its WAL flush
  (:data:`stac_bridge.server.faults.READ_SETTINGS`).
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import urljoin

import attr
import orjson
from brotli_asgi import BrotliMiddleware
from stac_fastapi.pgstac import core
from stac_fastapi.pgstac.models import links
from starlette.middleware.gzip import GZipResponder
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

__all__ = ["GZIP_LEVEL", "CompressionMiddleware", "ItemLinks", "geojson", "use_compression", "use_item_links"]

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


@attr.s
class ItemLinks(links.ItemLinks):  # type: ignore[misc]  # stac-fastapi-pgstac is untyped
    """stac-fastapi-pgstac's item links, the same ones in the same order, made without its reflection."""

    @property
    def base_url(self) -> str:
        """The API's base URL, worked out once per request."""
        scope = self.request.scope
        found = scope.get(_BASE_URL)
        if found is None:
            found = scope[_BASE_URL] = str(super().base_url)
        return str(found)

    def resolve(self, url: Any) -> str:
        """``url`` resolved against the base URL (appended, when ``urljoin`` would only append it)."""
        text, base = str(url), self.base_url
        if base.endswith("/") and ":" not in text.partition("/")[0] and not _NOT_PLAIN.search(text):
            return base + text
        return urljoin(base, text)

    def create_links(self) -> list[dict[str, Any]]:
        """The inferred links in the order stac-fastapi-pgstac makes them (its ``link_*`` methods, by name)."""
        return [self.link_collection(), self.link_parent(), self.link_root(), self.link_self()]


def use_item_links() -> None:
    """Have stac-fastapi-pgstac's core client make item links with :class:`ItemLinks` (in this process)."""
    core.ItemLinks = ItemLinks
