"""The STAC API: stac-fastapi-pgstac assembled by its own factory, configured, plus a few guards.

What is ours here, and why:
- an API key on every write: stac-fastapi leaves auth to the deployment, and a catalog that accepts
  anonymous writes is not one anybody should run;
- 400 instead of 500 for parameters the stock server passes on to pgstac unchecked (a malformed ``bbox``), and
  database errors caused by the request itself translated at this one boundary.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from stac_bridge import __version__
from stac_bridge.server import source as source_routes
from stac_bridge.server.settings import ServerSettings

__all__ = ["create_app"]

log = logging.getLogger(__name__)

#: POST routes that only read: open without a key.
READ_ONLY_POSTS: Final = frozenset({"/search", "/capella/catalog/search"})
#: Provider-compatible endpoints over the same catalog: mount prefix -> ``"module:factory"``, where the factory
#: takes the :class:`ServerSettings` and returns a :class:`fastapi.APIRouter` (imported when the app is built).
COMPATIBLE_ENDPOINTS: Final[dict[str, str]] = {
    "/capella": "stac_bridge.server.capella:create_router",
    "/opensearch": "stac_bridge.server.opensearch:create_router",
}
_WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Ids reach URLs as path segments: only what breaks a path is refused (provider ids such as Descartes Labs'
# "landsat:LC08:PRE:TOAR" carry colons, which stac-fastapi's default list refuses).
_INVALID_ID_CHARS: Final = ["/", "?", "#"]


def _postgres_settings(url: str, settings: ServerSettings) -> Any:
    from stac_fastapi.pgstac.config import PostgresSettings

    parts = urlsplit(url)
    return PostgresSettings(
        pguser=unquote(parts.username or "postgres"),
        pgpassword=unquote(parts.password or ""),
        pghost=parts.hostname or "127.0.0.1",
        pgport=parts.port or 5432,
        pgdatabase=unquote(parts.path.lstrip("/")) or "postgres",
        db_min_conn_size=settings.db_min_conn_size,
        db_max_conn_size=settings.db_max_conn_size,
    )


class ApiKeyMiddleware:
    """Refuses every write without ``Authorization: Bearer <key>`` (401), whatever route it targets.

    Default-deny: any POST/PUT/PATCH/DELETE needs the key, except the read-only POSTs named.
    """

    def __init__(self, app: ASGIApp, *, api_key: str, read_only_posts: frozenset[str], prefix: str = "") -> None:
        self.app = app
        self.expected = f"Bearer {api_key}".encode()
        self.read_only_posts = frozenset(prefix + p for p in read_only_posts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _WRITE_METHODS:
            path = scope["path"].rstrip("/") or "/"
            if not (scope["method"] == "POST" and path in self.read_only_posts):
                given = dict(scope["headers"]).get(b"authorization", b"")
                if not secrets.compare_digest(given, self.expected):
                    response = JSONResponse(
                        {"code": "Unauthorized", "description": "this write needs Authorization: Bearer <api key>"},
                        status_code=401,
                        headers={"WWW-Authenticate": "Bearer"},
                    )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class CollapseSlashesMiddleware:
    """Reads ``//`` in a path as ``/`` before routing and auth, as web servers do.

    Clients that join a base URL ending in ``/`` with a path starting with ``/`` send both (capella-console-client
    POSTs to ``/capella//catalog/search``); ids cannot hold a ``/``, so an empty segment never means anything.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "//" in scope["path"]:
            scope = {**scope, "path": re.sub("/{2,}", "/", scope["path"])}
        await self.app(scope, receive, send)


def _bad_request(code: str, description: str) -> JSONResponse:
    return JSONResponse({"code": code, "description": description}, status_code=400)


def _check_bbox(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        parts = [p for p in value.split(",") if p.strip()]
    elif isinstance(value, list):
        parts = value
    else:
        return "bbox must be four numbers: west,south,east,north"
    if len(parts) not in (4, 6):
        return f"bbox must be 4 numbers (west,south,east,north) or 6 (with heights), got {len(parts)}"
    try:
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError):
        return "bbox must be numbers: west,south,east,north"
    # A 3D bbox is searched on its footprint (stac_bridge.server.extensions).
    west, south, east, north = numbers if len(numbers) == 4 else numbers[:2] + numbers[3:5]
    if not (-90 <= south <= north <= 90):
        return "bbox latitudes must satisfy -90 <= south <= north <= 90"
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        return "bbox longitudes must lie in [-180, 180]"
    return None


async def _guard_parameters(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Refuse malformed parameters that the stock server would let through to a 500."""
    path = request.url.path
    if path.endswith("/search") or path.endswith("/items") or path.endswith("/collections"):
        problem = _check_bbox(request.query_params.get("bbox"))
        if problem is None and request.method == "POST" and path.endswith("/search"):
            body = await request.body()
            if body:
                import json

                try:
                    parsed = json.loads(body)
                except ValueError as exc:
                    return _bad_request("InvalidRequestBody", f"the body is not JSON: {exc}")
                if isinstance(parsed, dict):
                    problem = _check_bbox(parsed.get("bbox"))
        if problem is not None:
            return _bad_request("InvalidParameterValue", problem)
    return await call_next(request)


def _database_errors() -> dict[type[Exception], int]:
    """Asyncpg errors that come from what the client asked, not from the server: 400."""
    import asyncpg.exceptions as pg

    return {
        pg.DataError: 400,
        pg.InvalidParameterValueError: 400,
        pg.InvalidTextRepresentationError: 400,
        pg.InvalidDatetimeFormatError: 400,
        pg.DatetimeFieldOverflowError: 400,
        pg.UndefinedColumnError: 400,
        pg.UndefinedFunctionError: 400,
        pg.SyntaxOrAccessError: 400,
        pg.RaiseError: 400,
    }


def _router(target: str, settings: ServerSettings) -> APIRouter:
    module_name, _, attr = target.partition(":")
    factory: Callable[[ServerSettings], APIRouter] = getattr(importlib.import_module(module_name), attr)
    return factory(settings)


def create_app(settings: ServerSettings | None = None, *, database_url: str | None = None) -> FastAPI:
    """Build the STAC API application.

    Args:
        settings: Server settings; read from the environment when omitted.
        database_url: The pgstac database; defaults to ``settings.database_url``.

    Raises:
        ConfigError: no database URL is given or configured.
    """
    from stac_bridge.errors import ConfigError

    settings = settings or ServerSettings()
    # stac-fastapi builds a settings object when first imported, for its clients' default title and landing id,
    # and warns when they are its own defaults: give it ours first (they are set again explicitly below).
    for variable, value in (("STAC_FASTAPI_TITLE", settings.title), ("STAC_FASTAPI_DESCRIPTION", settings.description),
                            ("STAC_FASTAPI_LANDING_ID", settings.landing_id), ("STAC_FASTAPI_VERSION", __version__)):
        os.environ.setdefault(variable, value)

    from stac_fastapi.api.errors import exception_handler_factory
    from stac_fastapi.pgstac.app import instantiate_api
    from stac_fastapi.pgstac.config import Settings as PgstacSettings
    from stac_fastapi.pgstac.db import close_db_connection, connect_to_db
    from stac_fastapi.pgstac.models.extensions import Extensions

    from stac_bridge.server.extensions import BridgeClient, extension_maps

    url = database_url or (settings.database_url.get_secret_value() if settings.database_url else None)
    if not url:
        raise ConfigError("no database: set STAC_BRIDGE_DATABASE_URL or pass database_url")

    pgstac_settings = PgstacSettings(
        stac_fastapi_title=settings.title,
        stac_fastapi_description=settings.description,
        stac_fastapi_version=__version__,
        stac_fastapi_landing_id=settings.landing_id,
        root_path=settings.root_path,
        use_api_hydrate=True,
        enable_transactions_extensions=settings.transactions,
        invalid_id_chars=_INVALID_ID_CHARS,
        cors_origins=settings.cors_origins,
        cors_methods=["GET", "POST", "OPTIONS"],
        cors_headers=["Content-Type", "Authorization"],
        enabled_extensions=None,
    )
    postgres = _postgres_settings(url, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await connect_to_db(app, postgres_settings=postgres, add_write_connection_pool=settings.transactions)
        yield
        await close_db_connection(app)

    api = instantiate_api(
        client=BridgeClient, extensions=Extensions(settings=pgstac_settings, **extension_maps()),
        lifespan=lifespan, settings=pgstac_settings,
    )
    api.client.landing_page_id = settings.landing_id
    app: FastAPI = api.app
    for exc_type, status in _database_errors().items():
        app.add_exception_handler(exc_type, exception_handler_factory(status))
    app.middleware("http")(_guard_parameters)
    for prefix, target in COMPATIBLE_ENDPOINTS.items():
        app.include_router(_router(target, settings), prefix=prefix)
    app.include_router(source_routes.create_router())
    if settings.files_dir is not None:
        from starlette.staticfiles import StaticFiles

        app.mount("/files", StaticFiles(directory=settings.files_dir), name="files")
    if settings.transactions:
        assert settings.api_key is not None
        app.add_middleware(
            ApiKeyMiddleware,
            api_key=settings.api_key.get_secret_value(),
            read_only_posts=READ_ONLY_POSTS,
        )
    app.add_middleware(CollapseSlashesMiddleware)  # added last: the outermost, before auth and routing
    return app
