"""STAC Browser 4.0.1 in Debian's Chromium (Playwright) on the demo catalog, as a user clicks through it.

STAC Browser is built once from the npm registry with the lock file in ``tests/tools/stac-browser/`` and cached
under ``.stac-bridge/stac-browser/`` (``build-stac-browser.sh``); it is served on 127.0.0.1 with a runtime
``config.js`` whose ``catalogUrl`` is the API's. One browser visits the landing page, then for each provider
(and the STAC demo collection) clicks into one of its collections and opens one of its items. Screenshots go
to ``.stac-bridge/artifacts/stac-browser/``. Map tiles cannot load offline; that is not a failure.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin

import httpx
import pytest

from tests.conftest import RunningServer
from tests.sdkvenv import run_sdk, sdk_python
from tests.tools.demo import ARTIFACTS, apt_install, need, provider_collections

# The first run installs the tool (apt, a venv, an npm build): more than the suite's 300 s.
pytestmark = [pytest.mark.db, pytest.mark.server, pytest.mark.timeout(2400)]

HERE = Path(__file__).resolve().parent
PLAYWRIGHT = "playwright==1.65.2"
#: Section or field labels that are round-trip bookkeeping, not metadata a user reads.
BOOKKEEPING = ("Stac Bridge", "Normalization", "Wire", "AdditionalData", "Ledger", "Verbatim")
#: Item properties whose value STAC Browser shows as written (the first present is checked).
SHOWN_AS_IS = ("platform", "constellation", "sar:product_type", "product:type", "proj:code")
CASES = ("stac", "byoc", "capella", "descartes", "opensearch")


@pytest.fixture(scope="module")
def dist() -> Path:
    """STAC Browser's built ``dist`` directory (built on first use, then cached)."""
    need(apt_install("nodejs", "npm", probe="npm"))
    done = subprocess.run(["bash", str(HERE / "build-stac-browser.sh")], capture_output=True, text=True,
                          timeout=1800, env={**os.environ})
    if done.returncode != 0:
        pytest.fail(f"STAC Browser did not build:\n{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def browser_url(
    dist: Path, demo: tuple[RunningServer, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """STAC Browser served on 127.0.0.1, configured for the demo API."""
    api, _ = demo
    site = tmp_path_factory.mktemp("stac-browser") / "dist"
    shutil.copytree(dist, site)
    (site / "config.js").write_text(
        "window.STAC_BROWSER_CONFIG = "
        + json.dumps({"catalogUrl": f"{api.url}/", "historyMode": "hash", "allowExternalAccess": True})
        + ";\n"
    )
    index = (site / "index.html").read_text()
    first = index.index("<script")  # the build's index.html does not load a runtime config.js: load it first
    (site / "index.html").write_text(index[:first] + '<script src="config.js"></script>' + index[first:])
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _pick(api: RunningServer, tmp: Path) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """For each case, the first of its collections that has items, and that collection's first item."""
    chosen: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for case, ids in provider_collections(tmp).items():
        for cid in sorted(ids):
            items = httpx.get(f"{api.url}/collections/{quote(cid)}/items", params={"limit": 1}, timeout=30).json()
            if items["features"]:
                collection = httpx.get(f"{api.url}/collections/{quote(cid)}", timeout=30).json()
                chosen[case] = (collection, items["features"][0])
                break
    return chosen


def _label(stac: dict[str, Any]) -> str:
    return str(stac.get("title") or stac.get("properties", {}).get("title") or stac["id"])


@pytest.fixture(scope="module")
def visited(browser_url: str, demo: tuple[RunningServer, Path]) -> dict[str, Any]:
    need(apt_install("chromium", probe="/usr/bin/chromium"))
    python = sdk_python("playwright", [PLAYWRIGHT])
    api, tmp = demo
    chosen = _pick(api, tmp)
    visits: list[dict[str, Any]] = [{"name": "landing", "url": browser_url, "expect": _label(chosen["stac"][0])}]
    for case, (collection, item) in chosen.items():
        visits.append({"name": f"{case}-collection", "url": browser_url, "click": _label(collection),
                       "expect": "Temporal Extent"})
        route = f"#/collections/{quote(collection['id'])}/items/{quote(item['id'])}"
        visits.append({"name": f"{case}-item", "url": browser_url + route, "expect": _label(item)})
    plan = {"start": browser_url, "artifacts": str(ARTIFACTS / "stac-browser"), "visits": visits}
    seen: dict[str, Any] = run_sdk(python, (HERE / "stac_browser_driver.py").read_text(), json.dumps(plan),
                                   timeout=900)
    seen["chosen"] = chosen
    seen["api"] = api.url
    return seen


def _page(visited: dict[str, Any], name: str) -> dict[str, Any]:
    page: dict[str, Any] = visited[name]
    assert page["problem"] is None, f"{name}: {page['problem']} (screenshot {page['screenshot']})"
    assert not page["errors"], f"{name}: page errors {page['errors']} (screenshot {page['screenshot']})"
    return page


def test_landing_page_lists_every_collection(visited: dict[str, Any], demo: tuple[RunningServer, Path]) -> None:
    page = _page(visited, "landing")
    api, _ = demo
    for collection in httpx.get(f"{api.url}/collections", params={"limit": 1000}, timeout=30).json()["collections"]:
        assert _label(collection) in page["text"], f"{collection['id']} is not listed on the landing page"


@pytest.mark.parametrize("case", CASES)
def test_collection_page(visited: dict[str, Any], case: str) -> None:
    collection, _ = visited["chosen"][case]
    page = _page(visited, f"{case}-collection")
    assert page["h1"] == [_label(collection)]
    start, end = collection["extent"]["temporal"]["interval"][0]
    lines = page["text"].splitlines()
    extent = lines[lines.index("Temporal Extent") + 1]
    assert start and start[:10] in extent, f"temporal extent shown as {extent!r}, the API says {start}..{end}"
    if end:
        assert end[:10] in extent, f"temporal extent shown as {extent!r}, the API says {start}..{end}"
    shown = set(page["headings"]) & set(BOOKKEEPING)
    assert not shown, f"bookkeeping shown to users: {sorted(shown)} (screenshot {page['screenshot']})"


@pytest.mark.parametrize("case", CASES)
def test_item_page(visited: dict[str, Any], case: str) -> None:
    _, item = visited["chosen"][case]
    page = _page(visited, f"{case}-item")
    assert page["h1"] == [_label(item)]
    name = next((p for p in SHOWN_AS_IS if isinstance(item["properties"].get(p), str)), None)
    assert name, f"{item['id']} has none of {SHOWN_AS_IS}"
    assert item["properties"][name].lower() in page["text"].lower(), f"{name} is not shown"
    loaded = {unquote(image["src"]) for image in page["images"] if image["loaded"]}
    pictures = {unquote(image["src"]) for image in page["images"]}
    self_href = next(link["href"] for link in item["links"] if link["rel"] == "self")
    for key, asset in item["assets"].items():
        if "thumbnail" in asset.get("roles", []):  # shown as a picture, not in the list
            href = unquote(urljoin(self_href, asset["href"]))
            # a provider's own thumbnail cannot load offline; one the catalog serves must
            local = href.startswith(visited["api"])
            assert href in (loaded if local else pictures), f"thumbnail {href} not shown ({page['screenshot']})"
        else:
            assert str(asset.get("title") or key) in page["text"], f"asset {key} is not in the asset list"
    shown = set(page["headings"]) & set(BOOKKEEPING)
    assert not shown, f"bookkeeping shown to users: {sorted(shown)} (screenshot {page['screenshot']})"
