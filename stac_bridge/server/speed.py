"""What makes the API answer searches faster than stock stac-fastapi-pgstac, on the same database.

Measured by ``make bench`` (``benchmarks/serve.py``; ``docs/deployment.md`` has the figures and the profile):

* answers are serialised once, by orjson (:func:`geojson`): stac-fastapi returns plain dicts, which FastAPI walks
  with ``jsonable_encoder`` and then serialises with the standard library's ``json``;
* gzip at level 5 instead of 9 (:class:`CompressionMiddleware`): stac-fastapi-pgstac's Brotli middleware falls
  back to Starlette's gzip at its highest level for clients that do not ask for Brotli (``requests``, hence
  pystac-client), which costs several times more CPU for a few per cent smaller answers;
* searches write nothing: the read pool's sessions run pgstac read-only (``pgstac.readonly``), as on a replica,
  unless ``search_bookkeeping`` is on, and then commit that bookkeeping without waiting for its WAL flush
  (:data:`stac_bridge.server.faults.READ_SETTINGS`).
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from brotli_asgi import BrotliMiddleware
from starlette.middleware.gzip import GZipResponder
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

__all__ = ["GZIP_LEVEL", "CompressionMiddleware", "geojson", "use_compression"]

#: zlib's level for gzip answers: 5 compresses JSON within a few per cent of 9 at a fraction of the time.
GZIP_LEVEL: Final = 5
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
