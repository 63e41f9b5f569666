"""Read replicas: ``stac-bridge db replica`` and ``STAC_BRIDGE_READ_DATABASE_URL``, on real streaming replication.

A cluster of the test's own is made with ``db up``, and a streaming replica of it with ``db replica``
(pg_basebackup). The API reads as a role the primary refuses (its pg_hba rejects it; the replica's, copied
before, does not): every read it answers comes from the replica. It writes (and the loader loads) on the primary;
what is loaded there shows up through the API once replicated.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest

from stac_bridge.pgstac.database import ManagedCluster
from stac_bridge.pgstac.loader import PgstacLoader
from tests.conftest import ROOT, start_api

pytestmark = [pytest.mark.db, pytest.mark.server]

DEMO = ROOT / "examples" / "demo" / "stac"
READER, READER_PASSWORD = "api_reader", "reader-secret"


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("STAC_BRIDGE_DATABASE_URL", "PGHOST", "PGDATABASE")}
    env["STAC_BRIDGE_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "stac_bridge.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=ROOT)


def as_reader(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{READER}:{READER_PASSWORD}@{parts.hostname}:{parts.port}"))


def wait_for(check: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not replicated in time"
        time.sleep(0.2)


def test_reads_come_from_the_replica_and_loads_on_the_primary_reach_them(tmp_path: Path) -> None:
    home = tmp_path / "home"
    try:
        up = cli("db", "up", home=home)
        assert up.returncode == 0, up.stderr
        replica = cli("db", "replica", home=home)
        assert replica.returncode == 0, replica.stderr
        assert replica.stdout.startswith("replica created and started"), replica.stdout
        assert cli("db", "replica", home=home).stdout.startswith("replica already running")
        cluster = ManagedCluster(home)
        primary_url, replica_url = cluster.url(), cluster.replica_url()
        assert cli("db", "replica-url", home=home).stdout.strip() == replica_url

        with psycopg.connect(primary_url, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}' IN ROLE pgstac_read")
            state = cluster.state()
            assert state is not None
            hba = Path(state.data_dir) / "pg_hba.conf"
            hba.write_text(f"host all {READER} 127.0.0.1/32 reject\n" + hba.read_text())
            conn.execute("SELECT pg_reload_conf()")
        with pytest.raises(psycopg.OperationalError, match="pg_hba.conf rejects"):
            psycopg.connect(as_reader(primary_url)).close()
        with psycopg.connect(replica_url, autocommit=True) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
            wait_for(lambda: conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (READER,))
                     .fetchone() == (1,))

        with PgstacLoader(primary_url) as loader:
            loader.load_paths([DEMO])
        with start_api(primary_url, read_database_url=as_reader(replica_url), api_key="key") as api, \
                httpx.Client(base_url=api.url, timeout=30) as http:
            def matched() -> int:
                answer = http.post("/search", json={"collections": ["stac-bridge-demo"], "limit": 100})
                assert answer.status_code == 200, answer.text
                return len(answer.json()["features"])

            wait_for(lambda: matched() == 48)
            assert http.get("/_mgmt/health").json()["pgstac"]["status"] == "UP"
            assert http.get("/search", params={"filter": "eo:cloud_cover <= 100", "limit": 1}).status_code == 200

            # A load on the primary shows up through the API, which reads the replica.
            item = http.get("/collections/stac-bridge-demo/items", params={"limit": 1}).json()["features"][0]
            fresh = {k: v for k, v in item.items() if k != "links"} | {"id": "loaded-on-the-primary"}
            with PgstacLoader(primary_url) as loader:
                assert loader.load_items([fresh]).loaded == 1
            wait_for(lambda: http.get("/collections/stac-bridge-demo/items/loaded-on-the-primary").status_code == 200)

            # Writes through the API go to the primary (the replica refuses writes), and come back replicated.
            written = fresh | {"id": "written-through-the-api", "links": []}
            answer = http.post("/collections/stac-bridge-demo/items", json=written,
                               headers={"Authorization": "Bearer key"})
            assert answer.status_code in (200, 201), answer.text
            wait_for(lambda: http.get("/collections/stac-bridge-demo/items/written-through-the-api").status_code
                     == 200)
        with psycopg.connect(primary_url) as conn:
            assert conn.execute("SELECT count(*) FROM pgstac.items").fetchone() == (50,)
    finally:
        cli("db", "destroy", home=home)
