"""``harvest stac`` against servers that page badly or hostilely: loops, repeats, empty pages, junk, other hosts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stac_bridge.cli import main
from tests.harvest.standin import read_ndjson
from tests.localhttp import JsonHandler, LocalHTTPServer

Pages = dict[str, dict[str, Any]]


def item(item_id: str) -> dict[str, Any]:
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": item_id, "collection": "c",
        "geometry": {"type": "Point", "coordinates": [1.0, 2.0]}, "bbox": [1.0, 2.0, 1.0, 2.0],
        "properties": {"datetime": "2024-01-01T00:00:00Z"}, "assets": {}, "links": [],
    }


class ScriptedApi:
    """A STAC API answering fixed pages by path (``/p1``...; ``/search`` is ``/p1``), recording each request."""

    def __init__(self, pages: Callable[[str], Pages]) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        api = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with api.lock:
                    api.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
                if path == "/":
                    self.send_json(200, {"type": "Catalog", "id": "x", "stac_version": "1.0.0", "description": "x",
                                         "conformsTo": [], "links": [{"rel": "search", "href": "/search",
                                                                      "method": "GET"}]})
                    return
                page = api.pages.get("/p1" if path == "/search" else path)
                if page is None:
                    self.send_json(404, {"code": "NotFound"})
                else:
                    self.send_json(200, page)

        self.http = LocalHTTPServer(Handler)
        self.pages = pages(self.http.url)

    def __enter__(self) -> ScriptedApi:
        self.http.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.__exit__(*exc)


def page(features: list[Any], next_href: str | None) -> dict[str, Any]:
    links = [{"rel": "next", "href": next_href, "type": "application/geo+json"}] if next_href else []
    return {"type": "FeatureCollection", "features": features, "links": links}


def harvest(url: str, tmp_path: Path, *extra: str) -> tuple[int, float]:
    started = time.monotonic()
    status = main(["harvest", "stac", "--url", url, "--out", str(tmp_path / "out.ndjson"), "--full",
                   "--state-dir", str(tmp_path / "state"), "--concurrency", "1", *extra])
    return status, time.monotonic() - started


def written_ids(tmp_path: Path) -> list[str]:
    path = tmp_path / "out.ndjson"
    return [r["id"] for r in read_ndjson(path)] if path.exists() else []


def test_a_next_link_back_to_an_earlier_page_ends_the_run_with_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def pages(base: str) -> Pages:
        return {"/p1": page([item("a")], f"{base}/p2"), "/p2": page([item("b")], f"{base}/p1")}

    with ScriptedApi(pages) as api:
        status, seconds = harvest(api.http.url, tmp_path)
    assert status == 2 and seconds < 10
    assert "loops" in capsys.readouterr().err
    assert len([p for p, _ in api.requests if p != "/"]) <= 3


def test_a_page_of_items_all_seen_before_ends_the_run_with_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every page has a new URL (an ever-changing token), but the same items: only the items show the loop.
    def pages(base: str) -> Pages:
        return {f"/p{n}": page([item("a"), item("b")], f"{base}/p{n + 1}") for n in range(1, 500)}

    with ScriptedApi(pages) as api:
        status, _ = harvest(api.http.url, tmp_path)
    assert status == 2 and "already harvested" in capsys.readouterr().err
    assert len(api.requests) < 5


def test_items_repeated_across_pages_are_written_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def pages(base: str) -> Pages:
        return {"/p1": page([item("a"), item("b")], f"{base}/p2"), "/p2": page([item("b"), item("c")], None)}

    with ScriptedApi(pages) as api:
        status, _ = harvest(api.http.url, tmp_path)
    assert status == 0
    assert sorted(written_ids(tmp_path)) == ["a", "b", "c"]


def test_an_empty_page_with_a_next_link_is_followed(tmp_path: Path) -> None:
    def pages(base: str) -> Pages:
        return {"/p1": page([item("a")], f"{base}/p2"), "/p2": page([], f"{base}/p3"),
                "/p3": page([], f"{base}/p4"), "/p4": page([item("b"), item("c")], None)}

    with ScriptedApi(pages) as api:
        status, _ = harvest(api.http.url, tmp_path)
    assert status == 0
    assert written_ids(tmp_path) == ["a", "b", "c"]


def test_a_record_that_is_not_an_object_goes_to_the_dead_letters(tmp_path: Path) -> None:
    def pages(base: str) -> Pages:
        return {"/p1": page(["a string", item("a"), 5], None)}

    with ScriptedApi(pages) as api:
        status, _ = harvest(api.http.url, tmp_path)
    assert status == 1
    assert written_ids(tmp_path) == ["a"]
    dead = list(read_ndjson(tmp_path / "out.dead-letters.ndjson"))
    assert [d["record"] for d in dead] == ["a string", 5]
    assert all(d["error"] for d in dead)


def test_headers_never_follow_a_link_to_another_origin(tmp_path: Path) -> None:
    with ScriptedApi(lambda base: {"/p1": page([item("b")], None)}) as elsewhere:
        def pages(base: str) -> Pages:
            return {"/p1": page([item("a")], f"{elsewhere.http.url}/p1")}

        with ScriptedApi(pages) as home:
            status, _ = harvest(home.http.url, tmp_path, "--header", "X-Api-Key: secret",
                                "--header", "Authorization: Bearer secret")
    assert status == 0 and written_ids(tmp_path) == ["a", "b"]
    assert all(h.get("x-api-key") == "secret" and h.get("authorization") == "Bearer secret"
               for _, h in home.requests)
    assert elsewhere.requests, "the link to the other origin was followed"
    for _, headers in elsewhere.requests:
        assert "x-api-key" not in headers and "authorization" not in headers, json.dumps(headers)
