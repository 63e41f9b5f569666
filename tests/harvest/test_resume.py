"""A harvest killed by SIGKILL mid-run and resumed: nothing lost, nothing written twice (ndjson and pgstac)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.harvest.standin import COLLECTION, StandIn, read_ndjson


def harvest_command(standin: StandIn, tmp_path: Path, *outputs: str) -> list[str]:
    return [
        sys.executable, "-m", "stac_bridge.cli", "harvest", "stac", "--url", standin.url,
        "--collection", COLLECTION, "--state-dir", str(tmp_path / "state"), "--page-size", "50",
        "--batch-size", "100", "--concurrency", "2", *outputs,
    ]


def checkpointed_records(state_dir: Path) -> int:
    for path in state_dir.glob("stac-*.json"):
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError):
            return 0
        return int(document["run"]["records"]) if document.get("run") else 0
    return 0


def kill_when(command: list[str], state_dir: Path, records: int, env: dict[str, str]) -> None:
    """Start the harvest and SIGKILL it once its checkpoint passes ``records``."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while checkpointed_records(state_dir) < records:
            assert process.poll() is None, f"the harvest ended before it could be killed: {process.stderr}"
            assert time.monotonic() < deadline, "the harvest made no progress"
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.stderr is not None
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL


def kill_twice_then_finish(standin: StandIn, tmp_path: Path, outputs: list[str], env: dict[str, str]) -> None:
    command = harvest_command(standin, tmp_path, *outputs)
    kill_when(command, tmp_path / "state", 600, env)
    kill_when([*command, "--resume"], tmp_path / "state", 1500, env)
    finished = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert "(resumed)" in finished.stdout
    assert checkpointed_records(tmp_path / "state") == 0  # the run is complete: no checkpoint left


def test_sigkill_then_resume_into_ndjson(tmp_path: Path) -> None:
    out = tmp_path / "items.ndjson"
    with StandIn(count=2500, paging="offset", latency=0.04) as standin:
        kill_twice_then_finish(standin, tmp_path, ["--out", str(out)], dict(os.environ))
        source_ids = standin.ids()
    ids = [r["id"] for r in read_ndjson(out) if r["type"] == "Feature"]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert set(ids) == source_ids


@pytest.mark.db
def test_sigkill_then_resume_into_pgstac(tmp_path: Path, fresh_dsn: str) -> None:
    import psycopg

    env = {**os.environ, "STAC_BRIDGE_DATABASE_URL": fresh_dsn}
    with StandIn(count=2500, paging="page", latency=0.04) as standin:
        kill_twice_then_finish(standin, tmp_path, ["--load"], env)
        source_ids = standin.ids()
    with psycopg.connect(fresh_dsn) as conn:
        rows = conn.execute("SELECT id FROM pgstac.items WHERE collection = %s", (COLLECTION,)).fetchall()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) == source_ids
