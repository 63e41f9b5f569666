"""The demo catalog behind a running API, as ``make demo`` builds it, for the tests that run users' own tools.

Each tool's test module starts one server over its own throwaway database (module-scoped fixtures), loaded with
the demo's STAC collection and every provider's demo records converted by ``stac-bridge convert`` exactly as
``scripts/build-demo.sh`` does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stac_bridge.cli import main
from tests.conftest import ROOT, RunningServer, start_api, throwaway_database

DEMO = ROOT / "examples" / "demo"
PROVIDERS = ("byoc", "capella", "descartes", "opensearch")
ARTIFACTS = Path(os.environ.get("STAC_BRIDGE_HOME", ROOT / ".stac-bridge")) / "artifacts"


def demo_files(tmp: Path) -> list[str]:
    """The demo catalog's STAC files: the STAC collection, then each provider's records converted to ndjson."""
    paths = [str(DEMO / "stac")]
    for provider in PROVIDERS:
        out = tmp / f"{provider}.ndjson"
        records = sorted(str(p) for p in (DEMO / "providers" / provider).glob("*.json"))
        code = main(["convert", provider, *records, "--out", str(out), "--dead-letters", str(tmp / "refused.ndjson")])
        assert code == 0, f"stac-bridge convert {provider} failed on the demo records"
        paths.append(str(out))
    return paths


@contextlib.contextmanager
def demo_api(server_url: str, tmp: Path) -> Iterator[RunningServer]:
    """A running API over a throwaway database holding the demo catalog."""
    from stac_bridge.pgstac.loader import PgstacLoader

    files = demo_files(tmp)
    with throwaway_database(server_url) as dsn:
        with PgstacLoader(dsn) as loader:
            summary = loader.load_paths(files)
        assert not summary.failed, f"the demo catalog did not load: {summary.errors[:5]}"
        with start_api(dsn, files_dir=DEMO / "files") as api:
            yield api


def provider_collections(tmp: Path) -> dict[str, list[str]]:
    """Provider -> the ids of its demo collections, read from what :func:`demo_files` converted into ``tmp``."""
    import json

    found: dict[str, list[str]] = {}
    for provider in PROVIDERS:
        for line in (tmp / f"{provider}.ndjson").read_text().splitlines():
            record = json.loads(line)
            if record.get("type") == "Collection":
                found.setdefault(provider, []).append(record["id"])
    found["stac"] = [json.loads((DEMO / "stac" / "collection.json").read_text())["id"]]
    return found


def collection_ids(api: RunningServer) -> list[str]:
    """Every collection id the API serves."""
    body = httpx.get(f"{api.url}/collections", params={"limit": 1000}, timeout=30).json()
    return [c["id"] for c in body["collections"]]


def search_ids(api: RunningServer, collection: str) -> list[str]:
    """The ids ``/search`` gives for a collection, every page followed."""
    ids: list[str] = []
    url: str | None = f"{api.url}/search?collections={collection}&limit=100"
    while url:
        body: dict[str, Any] = httpx.get(url, timeout=30).json()
        ids += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body.get("links", []) if link["rel"] == "next"), None)
    return ids


def apt_install(*packages: str, probe: str) -> str | None:
    """Make sure a Debian package's file ``probe`` exists, installing ``packages`` with apt when root.

    Returns:
        None when present (or installed); otherwise the reason to skip, naming the command to run.
    """
    if Path(probe).exists() or shutil.which(probe):
        return None
    command = f"apt-get install -y --no-install-recommends {' '.join(packages)}"
    if os.geteuid() != 0:
        return f"{probe} is missing: run as root `{command}` (the test installs it itself when run as root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
    done = subprocess.run([*command.split(), "-qq", "--no-upgrade"], env=env, capture_output=True, text=True,
                          timeout=1800)
    if done.returncode != 0 or not (Path(probe).exists() or shutil.which(probe)):
        return f"could not install {' '.join(packages)} with apt: {done.stderr.strip()[-400:]}"
    return None


def need(reason: str | None) -> None:
    """Skip loudly when a real tool is missing (the reason says what to install)."""
    if reason is not None:
        pytest.skip(f"REAL TOOL MISSING: {reason}")
