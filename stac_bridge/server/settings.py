"""Server settings, from the environment (prefix ``STAC_BRIDGE_``) or arguments."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServerSettings(BaseSettings):
    """What the STAC API needs to know.

    Attributes:
        database_url: The pgstac database (``STAC_BRIDGE_DATABASE_URL``). When unset, ``stac-bridge serve``
            brings up the managed cluster and uses it.
        read_database_url: A read replica of that database (``STAC_BRIDGE_READ_DATABASE_URL``): searches and
            every other read go there, writes stay on ``database_url``. Unset: everything on ``database_url``.
        api_key: Turns the Transactions extension on; every write then needs ``Authorization: Bearer <key>``
            (``STAC_BRIDGE_API_KEY``). Unset: the API is read-only.
        title, description: Shown on the landing page.
        cors_origins: Origins allowed to read the API from a browser (STAC Browser runs on another origin).
        root_path: Set when the API is served under a path prefix behind a proxy.
        db_min_conn_size, db_max_conn_size: The connection pool of each API process. The largest size is
            lowered so that all the processes' pools fit in PostgreSQL's ``max_connections`` (less
            ``superuser_reserved_connections`` and ``db_spare_connections``).
        db_spare_connections: Connections of each database left to others (loads, psql, migrations).
        search_bookkeeping: Whether pgstac records each search and its count (its ``searches`` and
            ``search_wheres`` tables: a write, and a WAL flush, per search) on the primary, so that the same
            search's next pages reuse the count (``STAC_BRIDGE_SEARCH_BOOKKEEPING``). Off (the default):
            searches run read-only (``pgstac.readonly``) as on a replica; under 32 clients that served a third
            more searches.
        db_parallel_workers: The parallel workers PostgreSQL may start for one query of the API's reads
            (``max_parallel_workers_per_gather`` of the read pool's sessions). 0, the default: each query runs
            in its own backend. A search's queries are short: starting workers cost more than they saved (the
            ``numberMatched`` count of a 100,000-item catalog, 46 ms with two workers, 15 ms without), and under
            concurrent requests the workers take the cores the other requests need.
        workers: How many API processes share the database (``serve --workers`` sets it): each sizes its pools
            to its share of ``max_connections``.
        max_body_bytes: The largest request body accepted (413 above it): bounds what one request can make
            the process parse and hold.
        max_limit: The most items or collections one page holds; a larger ``limit`` is answered with this
            many, as the STAC API specification asks.
        max_offset: How deep the provider-compatible endpoints page by offset (OpenSearch ``startIndex``,
            Capella ``page``): each page costs the rows before it, so deeper pages are refused (400).
        max_json_depth: The deepest nesting of arrays and objects a request may hold.
        statement_timeout: Seconds the database may spend on one statement before it is cancelled (503).
        db_acquire_timeout: Seconds a request waits for a pooled connection, or for a new one to connect,
            before it is answered 503: a stalled database gives an answer, not a hang (a down one is refused at
            once). Longer than a statement may run (every connection in use is free again by then), so that
            a busy database is waited for: at 3 s, ``make bench``'s 32 clients on 2 cores, right after the load,
            got a 503.
        files_dir: A directory served read-only under ``/files`` (``STAC_BRIDGE_FILES_DIR``), for assets that
            live beside the catalog, such as the demo's thumbnails (``examples/demo/files``). Unset: nothing.
    """

    model_config = SettingsConfigDict(env_prefix="STAC_BRIDGE_", extra="ignore")

    database_url: SecretStr | None = None
    read_database_url: SecretStr | None = None
    api_key: SecretStr | None = None
    title: str = "stac-bridge"
    description: str = "A unified STAC catalog of provider catalogs that do not speak STAC, built by stac-bridge."
    landing_id: str = "stac-bridge"
    cors_origins: list[str] = ["*"]
    root_path: str = ""
    db_min_conn_size: int = 1
    db_max_conn_size: int = 10
    db_spare_connections: int = 10
    db_parallel_workers: int = 0
    workers: int = 1
    search_bookkeeping: bool = False
    max_body_bytes: int = 4 * 1024 * 1024
    max_limit: int = 10_000
    max_offset: int = 10_000
    max_json_depth: int = 64
    statement_timeout: float = 5.0
    db_acquire_timeout: float = 10.0
    files_dir: Path | None = None

    @property
    def transactions(self) -> bool:
        """Whether writes are enabled (only with an API key)."""
        return self.api_key is not None and bool(self.api_key.get_secret_value())
