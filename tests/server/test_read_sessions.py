"""The API's read sessions, as the database sees them: read-only pgstac searches, no parallel workers."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from stac_bridge.server.app import _postgres_settings
from stac_bridge.server.faults import connect, disconnect
from stac_bridge.server.settings import ServerSettings

pytestmark = [pytest.mark.db, pytest.mark.server]

SHOWN = ("pgstac.readonly", "synchronous_commit", "max_parallel_workers_per_gather", "statement_timeout")


def seen(dsn: str, **fields: Any) -> dict[str, str]:
    settings = ServerSettings(**fields)

    async def ask() -> dict[str, str]:
        app: Any = SimpleNamespace(state=SimpleNamespace())
        await connect(app, _postgres_settings(dsn, settings), settings, writes=False)
        try:
            async with app.state.readpool.acquire() as conn:
                return {name: str(await conn.fetchval("SELECT current_setting($1, true)", name))
                        for name in SHOWN}
        finally:
            await disconnect(app)

    return asyncio.run(ask())


def test_searches_run_read_only_without_parallel_workers(pgstac_dsn: str) -> None:
    assert seen(pgstac_dsn) == {"pgstac.readonly": "true", "synchronous_commit": "on",
                                "max_parallel_workers_per_gather": "0", "statement_timeout": "5s"}


def test_bookkeeping_and_workers_are_knobs(pgstac_dsn: str) -> None:
    shown = seen(pgstac_dsn, search_bookkeeping=True, db_parallel_workers=2, statement_timeout=2.0)
    assert shown["synchronous_commit"] == "off"
    assert shown["pgstac.readonly"] in ("None", "false")
    assert (shown["max_parallel_workers_per_gather"], shown["statement_timeout"]) == ("2", "2s")


def test_read_connections_are_handed_on_without_a_reset_and_writes_with_one(pgstac_dsn: str) -> None:
    """The read pool skips asyncpg's ``RESET ALL`` round trip (its statements leave no session state); a
    transaction left open is still rolled back; the write pool resets as asyncpg does."""
    settings = ServerSettings(db_max_conn_size=1)

    async def ask() -> tuple[str, str, bool]:
        app: Any = SimpleNamespace(state=SimpleNamespace())
        await connect(app, _postgres_settings(pgstac_dsn, settings), settings, writes=True)
        try:
            for name in ("readpool", "writepool"):
                async with getattr(app.state, name).acquire() as conn:
                    await conn.execute("SET application_name = 'left behind'")
            async with app.state.readpool.acquire() as conn:
                read = str(await conn.fetchval("SELECT current_setting('application_name')"))
                transaction = conn.transaction()
                await transaction.start()
            async with app.state.readpool.acquire() as conn:
                rolled_back = not conn.is_in_transaction()
            async with app.state.writepool.acquire() as conn:
                written = str(await conn.fetchval("SELECT current_setting('application_name')"))
            return read, written, rolled_back
        finally:
            await disconnect(app)

    read, written, rolled_back = asyncio.run(ask())
    assert read == "left behind"  # not reset: what the read pool's own statements never do, stays
    assert written != "left behind"
    assert rolled_back


def test_connections_go_back_to_the_pool_after_each_use(pgstac_dsn: str) -> None:
    """``get_connection`` hands the connection back in a task of its own: with a pool of one, uses one after the
    other and side by side all get it, and a use that fails gives it back too."""
    from starlette.requests import Request

    settings = ServerSettings(db_max_conn_size=1, db_acquire_timeout=2.0)

    async def use(app: Any, fail: bool = False) -> int:
        request = Request({"type": "http", "app": app, "headers": []})
        async with app.state.get_connection(request, "r") as conn:
            if fail:
                raise OSError("the client went away")
            return int(await conn.fetchval("SELECT 1"))

    async def run() -> list[int]:
        app: Any = SimpleNamespace(state=SimpleNamespace())
        await connect(app, _postgres_settings(pgstac_dsn, settings), settings, writes=False)
        try:
            one_after_the_other = [await use(app) for _ in range(5)]
            with pytest.raises(OSError):
                await use(app, fail=True)
            side_by_side = await asyncio.gather(*(use(app) for _ in range(5)))
            return one_after_the_other + list(side_by_side)
        finally:
            await disconnect(app)

    assert asyncio.run(run()) == [1] * 10
