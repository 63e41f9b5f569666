"""Drives STAC Browser in Debian's Chromium with Playwright; run in the Playwright venv by test_stac_browser.py.

Argument: a JSON document ``{"start": url, "artifacts": dir, "visits": [{"name", "url", "expect", "click"}]}``.
Each visit opens ``url`` (and, with ``click``, then clicks the link of that text on it), waits until ``expect``
is rendered, saves a full-page screenshot ``<name>.png`` and records the headings, the main text, the page
errors and which images loaded. Prints one JSON document: ``{name: {"url", "h1", "headings", "text", "errors",
"images", "problem", "screenshot"}}``. Every request to a host other than 127.0.0.1 is aborted (map tiles cannot
load offline, which is not a failure).
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Route, sync_playwright

CHROMIUM = "/usr/bin/chromium"
#: What STAC Browser renders section titles and field labels as.
_HEADINGS = "h2, h3, h4, .card-header, legend, dt, th"


def _offline(route: Route) -> None:
    if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


def main(plan: dict[str, Any]) -> dict[str, Any]:
    artifacts = Path(plan["artifacts"])
    artifacts.mkdir(parents=True, exist_ok=True)
    seen: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC")
        page.route("**/*", _offline)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(plan["start"], wait_until="domcontentloaded")
        for visit in plan["visits"]:
            errors.clear()
            problem = None
            try:
                page.goto(visit["url"], wait_until="domcontentloaded")
                if visit.get("click"):  # from that page, the way a user goes on: the link of this text
                    page.get_by_role("link", name=visit["click"], exact=True).first.click(timeout=45_000)
                page.get_by_text(visit["expect"], exact=False).first.wait_for(timeout=45_000)
                # a request that never settles (a map) is no reason to stop
                with contextlib.suppress(Exception):
                    page.wait_for_load_state("networkidle", timeout=8_000)
                page.wait_for_timeout(500)
            except Exception as exc:
                problem = f"{visit['expect']!r} was not rendered: {exc}"
            shot = artifacts / f"{visit['name']}.png"
            page.screenshot(path=str(shot), full_page=True)
            seen[visit["name"]] = {
                "url": page.url,
                "h1": [h.strip() for h in page.locator("h1").all_inner_texts()],
                "headings": [h.strip() for h in page.locator(_HEADINGS).all_inner_texts()],
                "images": page.eval_on_selector_all(
                    "img", "els => els.map(e => ({src: e.currentSrc || e.src, loaded: e.naturalWidth > 0}))"
                ),
                "text": page.locator("body").inner_text(),
                "errors": list(errors),
                "problem": problem,
                "screenshot": str(shot),
            }
        browser.close()
    return seen


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
