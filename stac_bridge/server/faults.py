"""The database seen from the API: bounded waits, errors translated in one place, and a health check that says why.

stac-fastapi-pgstac's pool waits as long as it takes: with the database stalled (a paused or overloaded
server) a request and the health check hang for as long as the client waits, and with the database down the
answer is a plain-text 500. Here every wait is bounded:

* a connection is acquired from the pool (or connected) within ``db_acquire_timeout`` seconds;
* the server cancels a statement after ``statement_timeout`` seconds, and the client gives up one second
  later in case the server cannot even do that (a stalled backend);

and every failure has one answer (:func:`install_error_handlers`): a database that cannot be reached or did not
answer in time is a JSON 503 with ``Retry-After``; an error caused by the request (a bad datetime, a bad
geometry) a 400 that names the kind of problem, never PostgreSQL's own text; anything else a JSON 500 that
says nothing of the internals. The pool replaces broken connections by itself, so the API recovers with the
database, without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Final, Literal

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stac_bridge.server.guards import error_response, excerpt
from stac_bridge.server.settings import ServerSettings

__all__ = ["connect", "disconnect", "health_check", "install_error_handlers", "keep_session", "read_session_settings"]

log = logging.getLogger(__name__)

RETRY_AFTER: Final = "5"
#: The most pydantic validation errors one answer lists.
_MAX_ERRORS: Final = 5
#: Seconds the client waits beyond the server's statement timeout before it gives up on the connection.
_CLIENT_GRACE: Final = 1.0


# --- the pools ----------------------------------------------------------------------------------------------

async def connect(app: FastAPI, postgres: Any, settings: ServerSettings, *, writes: bool,
                  read_postgres: Any | None = None) -> None:
    """Create the read (and write) pools on ``app.state`` with bounded connects, acquires and statements.

    Each pool is sized to this process's share of its server's connections (:func:`pool_size`).

    Args:
        app: The application (``app.state.readpool``, ``writepool`` and ``get_connection`` are set, as
            stac-fastapi-pgstac's ``connect_to_db`` sets them).
        postgres: stac-fastapi-pgstac's ``PostgresSettings`` of the database (the primary: writes go there).
        settings: The server settings (timeouts, pool sizes, workers).
        writes: Whether to create the write pool too.
        read_postgres: The ``PostgresSettings`` of a read replica, for the read pool; ``None``: ``postgres``.
    """
    import asyncpg
    from stac_fastapi.pgstac.db import con_init

    async def pool(target: Any, pools_on_server: int, extra: dict[str, str], *, reads_only: bool = False) -> Any:
        server_settings = {**target.server_settings.model_dump(),
                           "statement_timeout": str(int(settings.statement_timeout * 1000)), **extra}
        size = await pool_size(target.connection_string, settings, pools_on_server)
        return await asyncpg.create_pool(
            target.connection_string,
            min_size=min(target.db_min_conn_size, size),
            max_size=size,
            max_queries=target.db_max_queries,
            max_inactive_connection_lifetime=target.db_max_inactive_conn_lifetime,
            init=con_init,
            server_settings=server_settings,
            timeout=settings.db_acquire_timeout,
            command_timeout=settings.statement_timeout + _CLIENT_GRACE,
            reset=keep_session if reads_only else None,
        )

    replica = read_postgres is not None
    app.state.readpool = await pool(read_postgres or postgres, 1 if replica else 1 + writes,
                                    read_session_settings(settings, replica=replica), reads_only=True)
    if writes:
        app.state.writepool = await pool(postgres, 1 if replica else 2, {})
    app.state.get_connection = _connection_getter(settings.db_acquire_timeout)


async def keep_session(connection: Any) -> None:
    """The read pool's reset of a connection given back: none beyond asyncpg's own (an open transaction rolled back).

    asyncpg's default reset sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` after each
    use, awaited before the answer is made: a round trip, 0.27-0.41 ms of each search on the 2-core machine of
    ``make bench`` (two applications in one process, searches alternated, paired medians). The read pool's
    connections run single statements of pgstac's functions, in autocommit, which leave no session state
    behind (pgstac's locks and temporary tables last a transaction), so there is nothing to reset: as behind
    PgBouncer in transaction mode, a session keeps only what it was started with. The write pool keeps asyncpg's
    reset.
    """


#: What the read pool's sessions set: pgstac's search bookkeeping (the ``searches`` and ``search_wheres``
#: caches) is written without waiting for its WAL flush: losing the last of it in a crash loses nothing.
READ_SETTINGS: Final = {"synchronous_commit": "off"}
#: On a read replica: pgstac searches without writing its bookkeeping at all.
READ_ONLY_SETTINGS: Final = {"pgstac.readonly": "true"}


def read_session_settings(settings: ServerSettings, *, replica: bool = False) -> dict[str, str]:
    """The settings of the read pool's sessions (besides the statement timeout), as the server sets them.

    pgstac's search bookkeeping is not written (``pgstac.readonly``) unless ``search_bookkeeping`` asks for it,
    and never on a replica (a hot standby refuses writes); the planner's parallel workers are
    ``db_parallel_workers`` per query.
    """
    read_only = replica or not settings.search_bookkeeping
    return {**(READ_ONLY_SETTINGS if read_only else READ_SETTINGS),
            "max_parallel_workers_per_gather": str(settings.db_parallel_workers)}


async def pool_size(url: str, settings: ServerSettings, pools_on_server: int) -> int:
    """The largest size of one pool: ``db_max_conn_size``, lowered to fit the server's connections.

    The server's ``max_connections``, less its ``superuser_reserved_connections`` and
    ``db_spare_connections``, is shared by ``settings.workers`` processes with ``pools_on_server`` pools each.
    """
    import asyncpg

    conn = await asyncpg.connect(url, timeout=settings.db_acquire_timeout)
    try:
        most = int(await conn.fetchval("SELECT current_setting('max_connections')::int - "
                                       "current_setting('superuser_reserved_connections')::int"))
    finally:
        await conn.close()
    share = (most - settings.db_spare_connections) // max(1, settings.workers * pools_on_server)
    return max(1, min(settings.db_max_conn_size, share))


async def disconnect(app: FastAPI) -> None:
    """Close the pools (without waiting for a stalled database longer than a few seconds)."""
    for name in ("readpool", "writepool"):
        pool = getattr(app.state, name, None)
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=5)
            except (TimeoutError, OSError):
                pool.terminate()


def _connection_getter(acquire_timeout: float) -> Callable[..., Any]:
    """``get_connection`` of stac-fastapi-pgstac's clients: a pool's connection within ``acquire_timeout`` seconds.

    The connection goes back to its pool in a task of its own, which runs once the request's task next waits
    (after the answer is written, for a search): the release is not on the answer's critical path (0.2 ms of a
    search on the 2-core machine of ``make bench``). The acquire waits under ``asyncio.timeout`` rather than
    asyncpg's ``timeout=``, which starts a task of its own for each acquire.
    """
    from stac_fastapi.pgstac.db import translate_pgstac_errors

    releasing: set[asyncio.Task[None]] = set()

    def released(task: asyncio.Task[None]) -> None:
        releasing.discard(task)
        if not task.cancelled() and task.exception() is not None:  # asyncpg has closed the connection
            log.debug("a connection failed to reset and was closed: %s", task.exception())

    @asynccontextmanager
    async def get_connection(request: Request, readwrite: Literal["r", "w"] = "r") -> AsyncIterator[Any]:
        pool = request.app.state.readpool
        if readwrite == "w":
            pool = getattr(request.app.state, "writepool", None)
            if pool is None:
                raise HTTPException(status_code=405, detail="this API does not take writes")
        with translate_pgstac_errors():
            async with asyncio.timeout(acquire_timeout):
                conn = await pool.acquire()
            try:
                yield conn
            except (TimeoutError, OSError):
                # A connection that timed out may hang on its reset and the cancel of its query (a stalled
                # server): drop it at once, the pool connects a new one.
                conn.terminate()
                raise
            finally:
                task = asyncio.create_task(pool.release(conn))
                releasing.add(task)
                task.add_done_callback(released)

    return get_connection


# --- health -------------------------------------------------------------------------------------------------

async def health_check(request: Request) -> JSONResponse:
    """``/_mgmt/health``: 200 with pgstac's version, or 503 saying why the database is not usable.

    The answer names the process that gave it (``process.pid``: one of ``serve --workers``'s).
    """
    answer: dict[str, Any] = {"status": "UP", "lifespan": {"status": "UP"}, "process": {"pid": os.getpid()}}
    if not hasattr(request.app.state, "get_connection"):
        answer.update(status="DOWN", lifespan={"status": "DOWN", "message": "the application has not started"})
        return JSONResponse(answer, status_code=503)
    try:
        async with request.app.state.get_connection(request, "r") as conn:
            version = await conn.fetchval("SELECT pgstac.get_version()")
    except Exception as exc:  # whatever it is, health says it and answers
        answer.update(status="DOWN", pgstac={"status": "DOWN", "message": _unavailable_reason(exc)})
        return JSONResponse(answer, status_code=503, headers={"Retry-After": RETRY_AFTER})
    answer["pgstac"] = {"status": "UP", "pgstac_version": version}
    return JSONResponse(answer)


# --- the one translation of errors ---------------------------------------------------------------------------

def _unavailable_errors() -> tuple[type[BaseException], ...]:
    import asyncpg.exceptions as pg

    return (
        TimeoutError,  # asyncio's, on Python 3.11: the pool or the connection waited too long
        OSError,  # refused or reset connections
        pg.InterfaceError,  # a connection that broke under the pool
        pg.PostgresConnectionError,
        pg.CannotConnectNowError,
        pg.TooManyConnectionsError,
        pg.AdminShutdownError,
        pg.CrashShutdownError,
        pg.QueryCanceledError,  # the statement timeout
    )


def _unavailable_reason(exc: BaseException) -> str:
    import asyncpg.exceptions as pg

    if isinstance(exc, pg.QueryCanceledError):
        return "the database did not finish within the statement timeout"
    if isinstance(exc, TimeoutError):
        return "the database did not answer in time (stalled or overloaded)"
    if isinstance(exc, ConnectionRefusedError):
        return "the database refuses connections (down?)"
    if isinstance(exc, pg.CannotConnectNowError | pg.AdminShutdownError | pg.CrashShutdownError):
        return "the database is starting up or shutting down"
    if isinstance(exc, pg.TooManyConnectionsError):
        return "the database has no free connection"
    if isinstance(exc, OSError | pg.InterfaceError | pg.PostgresConnectionError):
        return f"the connection to the database failed ({type(exc).__name__})"
    return f"the database is not usable ({type(exc).__name__})"


def _client_errors() -> dict[type[BaseException], str]:
    """Database errors caused by what the request asked, each with what to tell the client: 400."""
    import asyncpg.exceptions as pg

    return {
        pg.InvalidDatetimeFormatError: "a datetime in the request is not valid",
        pg.DatetimeFieldOverflowError: "a datetime in the request is out of range",
        pg.InvalidTextRepresentationError: "a value in the request does not have the type its field needs",
        pg.UndefinedColumnError: "the request names a field the catalog does not have",
        pg.UndefinedFunctionError: "the request compares values of incompatible types",
        pg.ProgramLimitExceededError: "the request is too large for the database",
        pg.InvalidParameterValueError: "a parameter value in the request is not valid",
        pg.DataError: "a value in the request is not valid",
        pg.SyntaxOrAccessError: "the request could not be translated into a valid query",
        pg.RaiseError: "the catalog refused the request",
    }


def _geometry_error(exc: BaseException) -> bool:
    """PostGIS reports unreadable geometries as internal errors (SQLSTATE XX000)."""
    import asyncpg.exceptions as pg

    text = str(exc).lower()
    return isinstance(exc, pg.InternalServerError) and any(
        word in text for word in ("geometry", "lwgeom", "geojson", "parse error", "ring"))


def database_error_response(exc: BaseException) -> Response:
    """The answer to a database error: 503 when unavailable, 400 when caused by the request, else 500."""
    if isinstance(exc, _unavailable_errors()):
        log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
        return error_response(503, "ServiceUnavailable", _unavailable_reason(exc), {"Retry-After": RETRY_AFTER})
    for kind, description in _client_errors().items():
        if isinstance(exc, kind):
            log.info("request refused by the database: %s", exc)
            return error_response(400, "InvalidParameterValue", description)
    if _geometry_error(exc):
        return error_response(400, "InvalidParameterValue", "a geometry in the request is not valid")
    log.error("database error", exc_info=exc)
    return error_response(500, "InternalServerError", "the server failed to answer this request")


def _validation_response(request: Request, exc: Exception) -> Response:
    """Pydantic's errors, without the input they repeat (the input can be megabytes, repeated per union member)."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    described = []
    for error in errors[:_MAX_ERRORS]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        described.append(f"{where or 'body'}: {excerpt(error.get('msg', 'invalid'), 120)}")
    more = f" (and {len(errors) - _MAX_ERRORS} more)" if len(errors) > _MAX_ERRORS else ""
    return error_response(400, "InvalidParameterValue", "; ".join(described) + more)


def _http_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else excerpt(exc.detail, 300)
    code = "NotFound" if exc.status_code == 404 else "BadRequest" if exc.status_code < 500 else "ServerError"
    return error_response(exc.status_code, code, detail, exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error in one bounded JSON form (replacing stac-fastapi's handlers, which echo inputs)."""
    import asyncpg.exceptions as pg
    from stac_fastapi.api.errors import DEFAULT_STATUS_CODES

    def stac_error(status: int) -> Callable[[Request, Exception], Response]:
        def handler(request: Request, exc: Exception) -> Response:
            if status >= 500:
                log.error("error answering %s", request.url.path, exc_info=exc)
                return error_response(status, type(exc).__name__, "the server failed to answer this request")
            return error_response(status, type(exc).__name__, str(exc) or type(exc).__name__)

        return handler

    for kind, status in DEFAULT_STATUS_CODES.items():
        app.add_exception_handler(kind, stac_error(status))
    app.add_exception_handler(RequestValidationError, _validation_response)
    app.add_exception_handler(HTTPException, _http_response)

    def database(request: Request, exc: Exception) -> Response:
        return database_error_response(exc)

    for kind in (pg.PostgresError, *_unavailable_errors()):
        app.add_exception_handler(kind, database)

    def unexpected(request: Request, exc: Exception) -> Response:
        # Inputs that stac-fastapi or pydantic could not handle: the input is the likelier cause, but
        # nothing about it can be said safely; the traceback goes to the log only.
        log.error("unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "InternalServerError", "the server failed to answer this request")

    app.add_exception_handler(Exception, unexpected)
