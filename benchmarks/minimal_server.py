"""The least an asynchronous Python server over pgstac does for a search: the yardstick of ``benchmarks/overhead.py``.

A bare ASGI application on uvicorn (uvloop, httptools), one asyncpg pool: it reads the body, asks pgstac's
``search()`` (not hydrated, in sessions set as ``stac-bridge serve`` sets them), decodes the answer with orjson,
encodes it again, gzips it at level 3 and answers. No FastAPI, no validation, no hydration, no links: what is left
is the event loop, HTTP and the database driver, which any API in Python over pgstac pays.

Run by ``benchmarks/overhead.py`` as ``uvicorn benchmarks.minimal_server:app``; the database is
``STAC_BRIDGE_DATABASE_URL``.
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import asyncpg
import orjson

from stac_bridge.server.faults import read_session_settings
from stac_bridge.server.settings import ServerSettings

_state: dict[str, Any] = {}
_HEADERS = [(b"content-type", b"application/geo+json"), (b"content-encoding", b"gzip")]


async def _no_reset(connection: Any) -> None:
    """As the API's read pool: no ``RESET ALL`` after each use."""


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``POST /search`` with a STAC search body, any other path a small JSON answer."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                settings = {"search_path": "pgstac,public", **read_session_settings(ServerSettings())}
                _state["pool"] = await asyncpg.create_pool(os.environ["STAC_BRIDGE_DATABASE_URL"], min_size=1,
                                                           max_size=4, server_settings=settings, reset=_no_reset)
                await send({"type": "lifespan.startup.complete"})
            else:
                await _state["pool"].close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    if scope["path"] != "/search":
        await _answer(send, b'{"status":"UP"}', [(b"content-type", b"application/json")])
        return
    search = orjson.loads(b"".join(chunks))
    search["conf"] = {"nohydrate": True}
    async with _state["pool"].acquire() as connection:
        text = await connection.fetchval("SELECT search($1::text::jsonb)::text", orjson.dumps(search).decode())
    compressor = zlib.compressobj(3, zlib.DEFLATED, 31)
    body = compressor.compress(orjson.dumps(orjson.loads(text))) + compressor.flush()
    await _answer(send, body, _HEADERS)


async def _answer(send: Any, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
