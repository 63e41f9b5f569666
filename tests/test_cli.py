"""The command line as a user runs it: db life cycle, serve, load, in subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pystac_client import Client

from stac_bridge.pgstac.loader import PgstacLoader
from tests.conftest import ROOT, wait_until_serving

pytestmark = pytest.mark.db

CLI = [sys.executable, "-m", "stac_bridge.cli"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=180, cwd=ROOT)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("STAC_BRIDGE_DATABASE_URL", "PGHOST", "PGDATABASE")}
    env.update(extra)
    return env


def test_db_up_status_url_down(tmp_path: Path) -> None:
    env = clean_env(STAC_BRIDGE_HOME=str(tmp_path / "home"))
    try:
        up = run("db", "up", env=env)
        assert up.returncode == 0, up.stderr
        assert up.stdout.startswith("created and started")
        again = run("db", "up", env=env)
        assert again.stdout.startswith("already running")
        url = run("db", "url", env=env).stdout.strip()
        assert url.startswith("postgresql://postgres:") and "@127.0.0.1:" in url
        assert run("db", "status", env=env).returncode == 0
        assert run("db", "down", env=env).stdout.startswith("stopped")
        status = run("db", "status", env=env)
        assert status.returncode == 3 and status.stdout.startswith("stopped")
    finally:
        run("db", "destroy", env=env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def served(fresh_dsn: str) -> Iterator[str]:
    with PgstacLoader(fresh_dsn) as loader:
        loader.load_paths([ROOT / "examples" / "demo" / "stac"])
    port = free_port()
    env = clean_env(STAC_BRIDGE_DATABASE_URL=fresh_dsn)
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--log-level", "warning"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(proc, url)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_workers_each_answer(fresh_dsn: str) -> None:
    import concurrent.futures
    import time

    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--log-level", "warning", "--workers", "2"],
        env=clean_env(STAC_BRIDGE_DATABASE_URL=fresh_dsn), cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(proc, url)
        pids: set[int] = set()
        deadline = time.monotonic() + 30

        def health() -> int:
            with httpx.Client(timeout=10) as client:  # a connection of its own: any worker may accept it
                answer = client.get(f"{url}/_mgmt/health")
            assert answer.status_code == 200, answer.text
            assert answer.json()["pgstac"]["status"] == "UP"
            return int(answer.json()["process"]["pid"])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            while len(pids) < 2 and time.monotonic() < deadline:
                pids.update(pool.map(lambda _: health(), range(16)))
        assert len(pids) == 2 and proc.pid not in pids, pids
        assert "with 2 worker processes" in _stderr_so_far(proc)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _stderr_so_far(proc: subprocess.Popen[str]) -> str:
    import fcntl

    assert proc.stderr is not None
    fcntl.fcntl(proc.stderr, fcntl.F_SETFL, os.O_NONBLOCK)
    return proc.stderr.read() or ""


def test_serve_answers_pystac_client(served: str) -> None:
    client = Client.open(served)
    items = list(client.search(collections=["stac-bridge-demo"], bbox=[5, 44, 13, 48], limit=20).items())
    assert len(items) == 48


def test_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    env = clean_env(STAC_BRIDGE_HOME=str(tmp_path / "nothing"))
    result = run("load", str(ROOT / "examples" / "demo" / "stac"), env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("stac-bridge: no database") and "Traceback" not in result.stderr
