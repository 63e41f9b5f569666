"""Issue 13: the project's database found as git finds its repository, ``serve`` that never creates an empty one,
interrupts that say what was done and how to continue, and one test per exit status of ``docs/cli.md``."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from stac_bridge.cli import main
from stac_bridge.pgstac.database import ManagedCluster, configured_url, find_home
from stac_bridge.pgstac.loader import PgstacLoader
from tests.conftest import ROOT, wait_until_serving
from tests.harvest.standin import COLLECTION, StandIn, read_ndjson

DEMO_STAC = ROOT / "examples" / "demo" / "stac"
CLI = [sys.executable, "-m", "stac_bridge.cli"]


def env_without_database(**extra: str) -> dict[str, str]:
    """The environment of a user who configured nothing: no home, no external database."""
    drop = ("STAC_BRIDGE_DATABASE_URL", "PGHOST", "PGDATABASE", "STAC_BRIDGE_HOME")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=180)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- 3. one database per project, found upwards -------------------------------------------------------------

def test_the_home_is_found_upwards_like_a_git_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STAC_BRIDGE_HOME", raising=False)
    (tmp_path / "project" / ".stac-bridge").mkdir(parents=True)
    deep = tmp_path / "project" / "data" / "2024"
    deep.mkdir(parents=True)
    assert find_home(deep) == tmp_path / "project" / ".stac-bridge"
    assert find_home(tmp_path) is None
    monkeypatch.setenv("STAC_BRIDGE_HOME", str(tmp_path / "elsewhere"))
    assert find_home(deep) == tmp_path / "elsewhere"


def test_serve_outside_a_project_creates_nothing_and_says_where_it_looked(tmp_path: Path) -> None:
    result = cli("serve", "--port", str(free_port()), cwd=tmp_path, env=env_without_database())
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"no .stac-bridge/ in {tmp_path} or its parents" in result.stderr
    assert "`stac-bridge db up`" in result.stderr and "serving" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_load_outside_a_project_says_where_it_looked(tmp_path: Path) -> None:
    result = cli("load", str(DEMO_STAC), cwd=tmp_path, env=env_without_database())
    assert result.returncode == 2
    assert f"no .stac-bridge/ in {tmp_path} or its parents" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.db
def test_a_subdirectory_of_the_project_finds_the_project_database(pgstac_server_url: str) -> None:
    if configured_url():
        pytest.skip("the tests run on an external database: there is no managed cluster to find")
    home = Path(os.environ["STAC_BRIDGE_HOME"])
    if home != ROOT / ".stac-bridge":
        pytest.skip("the test cluster is not the checkout's own")
    result = cli("db", "status", cwd=ROOT / "tests" / "fixtures", env=env_without_database())
    assert result.returncode == 0
    assert result.stdout.strip() == ManagedCluster(home).status().detail


@pytest.mark.db
def test_load_says_which_database_it_uses(fresh_dsn: str, tmp_path: Path) -> None:
    result = cli("load", str(DEMO_STAC), cwd=tmp_path, env=env_without_database(STAC_BRIDGE_DATABASE_URL=fresh_dsn))
    assert result.returncode == 0, result.stderr
    (said,) = [line for line in result.stderr.splitlines() if line.startswith("database: ")]
    assert "(from STAC_BRIDGE_DATABASE_URL)" in said and ":***@" in said
    assert result.stdout.strip() == "49 loaded, 0 unchanged, 0 failed"


@pytest.mark.db
@pytest.mark.server
def test_serve_starts_the_stopped_project_database_and_stops_it_again(tmp_path: Path) -> None:
    project = tmp_path / "project"
    home = project / ".stac-bridge"
    env = env_without_database()
    up = cli("db", "up", cwd=project.parent, env={**env, "STAC_BRIDGE_HOME": str(home)})
    try:
        assert up.returncode == 0, up.stderr
        assert cli("db", "down", cwd=project, env=env).returncode == 0
        (project / "sub").mkdir()
        port = free_port()
        proc = subprocess.Popen([*CLI, "serve", "--port", str(port), "--log-level", "warning"], env=env,
                                cwd=project / "sub", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_serving(proc, url, seconds=90)
            assert httpx.get(url + "/opensearch/collections", timeout=10).status_code == 200
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        assert f"database: the managed database of {home}" in err and "(started; stopped again" in err
        assert f"on {url}/opensearch/" in err and f"{url}/capella/" in err
        status = cli("db", "status", cwd=project, env=env)
        assert status.returncode == 3 and status.stdout.startswith("stopped")
    finally:
        cli("db", "destroy", cwd=project, env={**env, "STAC_BRIDGE_HOME": str(home)})


# --- 6. serve's install and port ----------------------------------------------------------------------------

def test_serve_without_the_server_extra_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # what `pip install .` without [server] leaves
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'stac-bridge[server]'" in err and "uvicorn" in err


def test_serve_on_a_busy_port_is_an_error_before_serving(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is in use" in err and "serving" not in err


# --- 5. exit statuses, one test each, and interrupts --------------------------------------------------------

def test_exit_0_done(tmp_path: Path) -> None:
    assert cli("validate", str(DEMO_STAC), cwd=tmp_path, env=env_without_database()).returncode == 0


def test_exit_1_some_records_failed(tmp_path: Path) -> None:
    item = json.loads((DEMO_STAC / "items.ndjson").read_text().splitlines()[0])
    item["properties"]["eo:cloud_cover"] = -1
    (tmp_path / "bad.json").write_text(json.dumps(item))
    result = cli("validate", str(tmp_path / "bad.json"), cwd=tmp_path, env=env_without_database())
    assert result.returncode == 1 and result.stdout.strip() == "0 valid, 1 invalid"


def test_exit_2_an_error_in_one_line(tmp_path: Path) -> None:
    result = cli("load", str(tmp_path / "nothing.json"), cwd=tmp_path, env=env_without_database())
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and result.stderr.startswith("stac-bridge: ")


def test_exit_3_db_status_and_url_when_not_running(tmp_path: Path) -> None:
    env = env_without_database(STAC_BRIDGE_HOME=str(tmp_path / "home"))
    status = cli("db", "status", cwd=tmp_path, env=env)
    assert status.returncode == 3 and status.stdout.startswith("no cluster in")
    assert cli("db", "url", cwd=tmp_path, env=env).returncode == 3


def _interrupt_when(proc: subprocess.Popen[str], ready: object, timeout: float = 60) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while not ready():  # type: ignore[operator]
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"ended before it could be interrupted: {proc.communicate()}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=60)


def test_exit_130_ctrl_c_during_harvest_names_resume(tmp_path: Path) -> None:
    out, state = tmp_path / "f.ndjson", tmp_path / "state"
    with StandIn(count=400, latency=0.02) as standin:
        argv = ["harvest", "stac", "--url", standin.url, "--collection", COLLECTION, "--out", str(out),
                "--state-dir", str(state), "--page-size", "5", "--batch-size", "5", "--concurrency", "2"]
        proc = subprocess.Popen([*CLI, *argv], env=env_without_database(), cwd=tmp_path, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        partial = tmp_path / "f.ndjson.partial"
        _, err = _interrupt_when(proc, lambda: partial.exists() and partial.stat().st_size > 5000)
        assert proc.returncode == 130
        (said,) = [line for line in err.splitlines() if line.startswith("interrupted:")]
        assert re.search(r"harvest stac checkpointed [1-9]\d* records", said)
        assert said.endswith(f"continue with: stac-bridge {' '.join(argv)} --resume")
        assert "Bad file descriptor" not in err and "retry" not in err.lower() and "Traceback" not in err
        assert not out.exists()
        resumed = subprocess.run([*CLI, *argv, "--resume"], env=env_without_database(), cwd=tmp_path,
                                 capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    assert "(resumed): 400 records" in resumed.stdout
    assert sorted(r["id"] for r in read_ndjson(out) if r["type"] == "Feature") == sorted(standin.ids())


@pytest.mark.db
def test_exit_130_ctrl_c_during_load_says_what_was_committed(fresh_dsn: str, tmp_path: Path) -> None:
    template = json.loads((DEMO_STAC / "items.ndjson").read_text().splitlines()[0])
    items = tmp_path / "many.ndjson"
    with items.open("w") as handle:
        for index in range(30000):
            handle.write(json.dumps({**template, "id": f"many-{index}"}) + "\n")
    argv = ["load", str(DEMO_STAC / "collection.json"), str(items), "--batch-size", "100"]
    env = env_without_database(STAC_BRIDGE_DATABASE_URL=fresh_dsn)
    proc = subprocess.Popen([*CLI, *argv], env=env, cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with PgstacLoader(fresh_dsn) as loader:
        _, err = _interrupt_when(proc, lambda: loader.count_items() >= 300)
        committed = loader.count_items()
    assert proc.returncode == 130, err
    (said,) = [line for line in err.splitlines() if line.startswith("interrupted:")]
    match = re.match(r"interrupted: (\d+) loaded, 0 unchanged, 0 failed items committed", said)
    assert match and 0 < int(match.group(1)) <= committed < 30000
    assert said.endswith(f"finishes the job: stac-bridge {' '.join(argv)}")
    again = subprocess.run([*CLI, *argv], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    with PgstacLoader(fresh_dsn) as loader:
        assert loader.count_items() == 30000


@pytest.mark.db
def test_harvest_load_prints_loaded_unchanged_failed(fresh_dsn: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("STAC_BRIDGE_DATABASE_URL", fresh_dsn)
    with StandIn(count=30) as standin:
        argv = ["harvest", "stac", "--url", standin.url, "--collection", COLLECTION, "--load",
                "--state-dir", str(tmp_path / "state")]
        assert main(argv) == 0
        first = capsys.readouterr().err
        assert main([*argv, "--full"]) == 0
        second = capsys.readouterr().err
    # The collection counts with the items: it is loaded first, then unchanged.
    assert "harvest stac into pgstac: 31 loaded, 0 unchanged, 0 failed" in first
    assert "harvest stac into pgstac: 0 loaded, 31 unchanged, 0 failed" in second
    assert "database: " in first



def test_an_interrupted_incremental_harvest_run_again_adds_nothing_twice(tmp_path: Path) -> None:
    import datetime as dt

    out = tmp_path / "f.ndjson"
    with StandIn(count=120, latency=0.02) as standin:
        argv = ["harvest", "stac", "--url", standin.url, "--collection", COLLECTION, "--out", str(out),
                "--state-dir", str(tmp_path / "state"), "--page-size", "2", "--batch-size", "2",
                "--concurrency", "1"]
        assert main(argv) == 0
        before = out.stat().st_size
        standin.touch(list(range(100)), dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
        proc = subprocess.Popen([*CLI, *argv], env=env_without_database(), cwd=tmp_path, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _interrupt_when(proc, lambda: out.stat().st_size > before + 5000)
        assert proc.returncode == 130
        assert main(argv) == 0  # again, without --resume: the interrupted run's records are dropped first
    ids = [r["id"] for r in read_ndjson(out)]
    assert len(ids) == 121 + 100
    assert sorted(ids[121:]) == sorted(standin.item(i)["id"] for i in range(100))
