"""Shared fixtures: offline STAC validation, the throwaway pgstac database and the running API server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pystac
import pytest

from stac_bridge.validate import SHIPPED_SCHEMAS, Validator

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


# The schemas shipped in the package, unless STAC_BRIDGE_TEST_SCHEMAS names another directory to add:
# validation tests never skip and never reach the network.
SCHEMA_DIR = Path(os.environ.get("STAC_BRIDGE_TEST_SCHEMAS") or SHIPPED_SCHEMAS)


@pytest.fixture(scope="session")
def stac_validator() -> Validator:
    """An offline validator over the shipped schemas (plus ``$STAC_BRIDGE_TEST_SCHEMAS``, when set)."""
    return Validator(SCHEMA_DIR)


@pytest.fixture(scope="session")
def assert_valid(stac_validator: Validator) -> Callable[[Any], dict[str, Any]]:
    """Validate a STAC object (pystac object or dict) offline; return it as a dict. Fails naming each error."""

    def check(stac: Any) -> dict[str, Any]:
        if isinstance(stac, pystac.STACObject):
            as_dict = stac.to_dict(include_self_link=False, transform_hrefs=False)
        elif isinstance(stac, Mapping):
            as_dict = dict(stac)
        else:
            raise TypeError(f"not a STAC object: {type(stac).__name__}")
        problems = stac_validator.errors(as_dict)
        assert not problems, f"{as_dict.get('id')} is not valid STAC:\n" + "\n".join(problems)
        return as_dict

    return check


# --- the throwaway database -----------------------------------------------------------------------------

def pytest_configure(config: pytest.Config) -> None:
    # Tests never use the demo database: they get one of their own, created and dropped here.
    os.environ.setdefault("STAC_BRIDGE_HOME", str(ROOT / ".stac-bridge"))


@pytest.fixture(scope="session")
def pgstac_server_url() -> str:
    """A maintenance URL (database ``postgres``) of the server the tests create their databases on: the
    configured external one (``STAC_BRIDGE_DATABASE_URL``), else the managed cluster, brought up if needed."""
    from urllib.parse import urlsplit, urlunsplit

    from stac_bridge.pgstac.database import ManagedCluster, configured_url, default_home

    external = configured_url()
    if external:
        parts = urlsplit(external)
        return urlunsplit(parts._replace(path="/postgres"))
    cluster = ManagedCluster(default_home())
    cluster.up()
    return cluster.url("postgres")


def throwaway_database(server_url: str) -> contextlib.AbstractContextManager[str]:
    """Create a database with PostGIS and pgstac migrated on the server; drop it afterwards."""
    from stac_bridge.pgstac.database import temporary_database

    return temporary_database(server_url, prefix="stac_bridge_test")


@pytest.fixture(scope="session")
def pgstac_dsn(pgstac_server_url: str) -> Iterator[str]:
    """A throwaway pgstac database shared by the session, dropped at its end."""
    with throwaway_database(pgstac_server_url) as url:
        yield url


@pytest.fixture()
def fresh_dsn(pgstac_server_url: str) -> Iterator[str]:
    """A throwaway pgstac database of one test's own, for tests that need an empty catalog."""
    with throwaway_database(pgstac_server_url) as url:
        yield url


# --- the API server -------------------------------------------------------------------------------------

class RunningServer:
    """A uvicorn server in a background thread, on a free port of 127.0.0.1."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> RunningServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def http(api: RunningServer) -> Iterator[Any]:
    """An httpx client on the module's running API (``api``, a fixture each API test module defines)."""
    import httpx

    with httpx.Client(base_url=api.url, timeout=30) as client:
        yield client


def start_api(dsn: str, **settings: Any) -> RunningServer:
    """Start the stac-bridge API over ``dsn`` with the given :class:`ServerSettings` fields."""
    from stac_bridge.server.app import create_app
    from stac_bridge.server.settings import ServerSettings

    return RunningServer(create_app(ServerSettings(**settings), database_url=dsn))


def wait_until_serving(proc: Any, url: str, *, seconds: float = 60) -> None:
    """Wait until a ``stac-bridge serve`` subprocess answers its ping; fail with its stderr if it never does."""
    import time

    import httpx

    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url + "/_mgmt/ping", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"serve did not come up: {proc.communicate()[1]}")
        time.sleep(0.2)
