"""The managed cluster's life cycle, on a cluster of the test's own (never the demo one)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from stac_bridge.errors import DatabaseError
from stac_bridge.pgstac.database import ManagedCluster, configured_url, database_url, pgstac_version

pytestmark = pytest.mark.db


@pytest.fixture()
def cluster(tmp_path: Path) -> ManagedCluster:
    managed = ManagedCluster(tmp_path / "home")
    yield managed
    managed.destroy()


def test_up_is_idempotent_and_down_stops_cleanly(cluster: ManagedCluster) -> None:
    first = cluster.up()
    assert first.startswith("created and started")
    assert cluster.up().startswith("already running")
    url = cluster.url()
    assert "@127.0.0.1:" in url
    assert pgstac_version(url) == "0.10.0"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT postgis_lib_version()").fetchone() is not None
    port = cluster.state().port  # type: ignore[union-attr]

    assert cluster.down().startswith("stopped")
    assert not cluster.status().running
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)

    # The port is remembered: the same URL works after a restart.
    assert cluster.up().startswith("started")
    assert cluster.state().port == port  # type: ignore[union-attr]
    assert pgstac_version(cluster.url()) == "0.10.0"


def test_listens_on_loopback_only(cluster: ManagedCluster) -> None:
    cluster.up()
    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)


def test_password_is_required(cluster: ManagedCluster) -> None:
    cluster.up()
    state = cluster.state()
    assert state is not None
    wrong = f"postgresql://postgres:wrong@127.0.0.1:{state.port}/stac_bridge"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(wrong, connect_timeout=5)
    assert oct(cluster.state_path.stat().st_mode & 0o777) == "0o600"


def test_database_url_prefers_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STAC_BRIDGE_DATABASE_URL", "postgresql://u:p@db.example:5432/stac")
    assert database_url(tmp_path) == "postgresql://u:p@db.example:5432/stac"
    monkeypatch.delenv("STAC_BRIDGE_DATABASE_URL")
    monkeypatch.setenv("PGHOST", "db.internal")
    monkeypatch.setenv("PGUSER", "reader")
    monkeypatch.setenv("PGPASSWORD", "s3cr:t")
    monkeypatch.setenv("PGDATABASE", "catalog")
    monkeypatch.delenv("PGPORT", raising=False)
    assert configured_url() == "postgresql://reader:s3cr%3At@db.internal:5432/catalog"


def test_no_database_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("STAC_BRIDGE_DATABASE_URL", "PGHOST", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(DatabaseError, match="stac-bridge db up"):
        database_url(tmp_path / "nothing-here")


def test_missing_postgresql_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STAC_BRIDGE_PG_BINDIR", str(tmp_path / "no-bin"))
    monkeypatch.setenv("PATH", str(tmp_path))
    import stac_bridge.pgstac.database as database

    monkeypatch.setattr(database, "Path", _PathWithoutDebianInstall)
    with pytest.raises(DatabaseError, match="apt-get install --no-install-recommends postgresql-15"):
        ManagedCluster(tmp_path / "home").up()


class _PathWithoutDebianInstall(type(Path())):  # type: ignore[misc]
    def is_dir(self) -> bool:
        return str(self) != "/usr/lib/postgresql" and super().is_dir()


def test_missing_postgis_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import stac_bridge.pgstac.database as database

    monkeypatch.setattr(database, "_sharedir", lambda bindir: tmp_path)
    with pytest.raises(DatabaseError, match="postgresql-15-postgis-3"):
        ManagedCluster(tmp_path / "home").up()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an ordinary user")
def test_works_as_an_ordinary_user(tmp_path: Path) -> None:
    """The cluster also comes up for a user who is not root (here: nobody, in a world-writable home)."""
    home = tmp_path / "user-home"
    home.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(home, 0o777)
    script = (
        "from pathlib import Path; from stac_bridge.pgstac.database import ManagedCluster as C; "
        f"c = C(Path({str(home)!r})); print(c.up()); print(c.up()); print(c.destroy())"
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(Path(__file__).parents[2])}
    probe = subprocess.run(["runuser", "-u", "nobody", "--", sys.executable, "-c", "import stac_bridge"],
                           capture_output=True, env=env)
    if probe.returncode != 0:
        pytest.skip("this Python installation is not readable by the user 'nobody'")
    result = subprocess.run(
        ["runuser", "-u", "nobody", "--", sys.executable, "-c", script],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("created and started")
    assert lines[1].startswith("already running")
