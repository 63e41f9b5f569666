"""The STAC API: stac-fastapi-pgstac assembled by its own factory, configured, plus a few guards.

What is ours here, and why:
- an API key on every write: stac-fastapi leaves auth to the deployment, and a catalog that accepts
  anonymous writes is not one anybody should run;
- requests checked before they are parsed or searched (:mod:`stac_bridge.server.guards`): a body size
  limit, JSON nesting, geometries, a 3D ``bbox``, a capped ``limit``, so that a malformed request costs little
  and gets a short 4xx;
- bounded waits on the database and every error answered in one JSON form (:mod:`stac_bridge.server.faults`):
  a database that is down or stalled is a 503 within seconds, and nothing of PostgreSQL's text is shown;
- writes validated whole before they are stored (:mod:`stac_bridge.server.transactions`).
- what stac-fastapi-pgstac leaves out of the specification (:mod:`stac_bridge.server.extensions`):
  browseable, 3D bboxes, the whole query extension, fields that add to the default set, CQL2 text in POST.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, FastAPI
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from stac_bridge import __version__
from stac_bridge.server import source as source_routes
from stac_bridge.server.guards import BodyLimitMiddleware, RequestGuardMiddleware
from stac_bridge.server.settings import ServerSettings

if TYPE_CHECKING:
    from stac_bridge.plugin import Endpoint

__all__ = ["create_app", "create_worker_app"]

log = logging.getLogger(__name__)

#: POST routes of the STAC API that only read: open without a key (the providers' endpoints declare theirs).
READ_ONLY_POSTS: Final = frozenset({"/search"})
_WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Ids reach URLs as path segments: only what breaks a path is refused (provider ids such as Descartes Labs'
# "landsat:LC08:PRE:TOAR" carry colons, which stac-fastapi's default list refuses).
_INVALID_ID_CHARS: Final = ["/", "?", "#"]
HEALTH_PATH: Final = "/_mgmt/health"


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


def _endpoints() -> list[Endpoint]:
    """The provider-compatible endpoints the installed providers declare (:mod:`stac_bridge.plugin`)."""
    from stac_bridge.plugin import providers

    return [p.endpoint for p in providers().values() if p.endpoint is not None]


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
    for variable, value in (("STAC_FASTAPI_TITLE", settings.title),
                            ("STAC_FASTAPI_DESCRIPTION", _description(settings)),
                            ("STAC_FASTAPI_LANDING_ID", settings.landing_id), ("STAC_FASTAPI_VERSION", __version__)):
        os.environ.setdefault(variable, value)

    from stac_fastapi.pgstac.app import instantiate_api
    from stac_fastapi.pgstac.config import Settings as PgstacSettings

    from stac_bridge.server import faults, speed
    from stac_bridge.server.extensions import BridgeClient, extension_maps
    from stac_bridge.server.transactions import StrictExtensions

    url = database_url or (settings.database_url.get_secret_value() if settings.database_url else None)
    if not url:
        raise ConfigError("no database: set STAC_BRIDGE_DATABASE_URL or pass database_url")

    pgstac_settings = PgstacSettings(
        stac_fastapi_title=settings.title,
        stac_fastapi_description=_description(settings),
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
    read_url = settings.read_database_url.get_secret_value() if settings.read_database_url else None
    read_postgres = _postgres_settings(read_url, settings) if read_url else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await faults.connect(app, postgres, settings, writes=settings.transactions, read_postgres=read_postgres)
        yield
        await faults.disconnect(app)

    api = instantiate_api(
        client=BridgeClient, extensions=StrictExtensions(settings=pgstac_settings, **extension_maps()),
        lifespan=lifespan, settings=pgstac_settings,
    )
    api.client.landing_page_id = settings.landing_id
    app: FastAPI = api.app
    speed.use_compression(app)
    speed.use_fast_links()
    speed.use_fast_hydrate()
    speed.use_fast_search(app, api)
    faults.install_error_handlers(app)
    # stac-fastapi's health check waits on the pool unbounded and answers an empty message on a timeout:
    # ours goes first, so that it is the one routed to (theirs stays, unreachable, inside its router).
    app.add_api_route(HEALTH_PATH, faults.health_check, methods=["GET"], tags=["Liveliness/Readiness"],
                      summary="Whether the API and its database are usable, and if not, why")
    app.router.routes.insert(0, app.router.routes.pop())
    endpoints = _endpoints()
    for endpoint in endpoints:
        router: APIRouter = endpoint.create_router(settings)
        app.include_router(router, prefix=endpoint.prefix)
    app.include_router(source_routes.create_router())
    if settings.files_dir is not None:
        from starlette.staticfiles import StaticFiles

        app.mount("/files", StaticFiles(directory=settings.files_dir), name="files")
    # Added innermost first: slashes, then auth, then the body limit, then the checks, then stac-fastapi.
    app.add_middleware(RequestGuardMiddleware, max_limit=settings.max_limit, max_depth=settings.max_json_depth)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.transactions:
        assert settings.api_key is not None
        app.add_middleware(
            ApiKeyMiddleware,
            api_key=settings.api_key.get_secret_value(),
            read_only_posts=READ_ONLY_POSTS.union(*(e.open_posts() for e in endpoints)),
        )
    app.add_middleware(CollapseSlashesMiddleware)  # added last: the outermost, before auth and routing
    return app


def create_worker_app() -> FastAPI:
    """The application of one of ``serve --workers N``'s processes, configured by the environment.

    uvicorn starts each worker process with this factory (``stac_bridge.server.app:create_worker_app``);
    ``serve`` sets ``STAC_BRIDGE_DATABASE_URL`` and ``STAC_BRIDGE_WORKERS`` for them.
    """
    return create_app(ServerSettings())


def _description(settings: ServerSettings) -> str:
    """The API's description, with the limits a client must know of."""
    return (
        f"{settings.description}\n\nLimits: a page holds at most {settings.max_limit} items or collections "
        f"(a larger `limit` is answered with {settings.max_limit}); a request body is at most "
        f"{settings.max_body_bytes} bytes (413 beyond); the offset-paged compatible endpoints reach at most "
        f"{settings.max_offset} records deep."
    )
