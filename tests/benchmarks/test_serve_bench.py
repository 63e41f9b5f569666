"""A smoke test of ``benchmarks/serve.py`` with tiny sizes: it runs end to end and prints its table.

The figures mean nothing here (speed is measured by ``make bench``, never in a test). Stock stac-fastapi-pgstac
runs from this venv, which holds the same version the benchmark's own venv would.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.db, pytest.mark.server]


def test_serve_benchmark_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str], pgstac_server_url: str) -> None:
    from benchmarks import serve

    monkeypatch.setenv("STAC_BRIDGE_BENCH_DIR", str(tmp_path / "bench"))
    serve.main(["--quick", "--items", "120", "--seconds", "0.6", "--sequential", "8", "--workers", "1",
                "--clients", "2", "--stock-venv", str(Path(sys.executable).parents[1])])
    out = capsys.readouterr().out
    for expected in ("pypgstac load items", "stac-bridge load", "sequential POST p50/p95/p99",
                     "SQL floor: pgstac search()", "its floor p50", "2 clients: req/s", "filtered GET (CQL2 text)",
                     "GET / POST"):
        assert expected in out, out


def test_overhead_benchmark_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], pgstac_server_url: str) -> None:
    """``benchmarks/overhead.py``: the floor, the minimal server and ours, each with its row."""
    from benchmarks import overhead

    monkeypatch.setenv("STAC_BRIDGE_BENCH_DIR", str(tmp_path / "bench"))
    overhead.main(["--items", "120", "--searches", "6"])
    out = capsys.readouterr().out
    for expected in ("SQL floor", "minimal ASGI + asyncpg", "stac-bridge serve", "paired overhead ms"):
        assert expected in out, out
