"""A stand-in of Acme Imaging's catalog API on 127.0.0.1, written from ``PROTOCOL.md`` beside it.

It imports nothing from stac_bridge (nor from the provider package): it is the other side of the wire.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from tests.localhttp import JsonHandler, LocalHTTPServer, Served
from tests.wire import instant

COLLECTION = "acme-scenes"
START = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)


def scenes(count: int = 23) -> list[dict[str, Any]]:
    """``count`` scenes, one every 12 hours from 2024-05-01, spread over the Alps, cloud cover 0-96."""
    made = []
    for index in range(count):
        west, south = 6 + index % 5, 45 + (index // 5) % 3
        made.append({
            "scene_id": f"ACME-{index:04d}", "collection": COLLECTION,
            "captured_at": (START + dt.timedelta(hours=12 * index)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "bounds": [west, south, west + 0.5, south + 0.25], "cloud_pct": (index * 29) % 97,
            "sensor": "A1" if index % 3 else "A2",
            "preview_url": f"https://previews.acme.example/{index:04d}.png",
        })
    return made


def collection() -> dict[str, Any]:
    """The one collection's record."""
    return {"id": COLLECTION, "name": "Acme scenes", "summary": "Acme Imaging's optical scenes",
            "license": "CC-BY-4.0"}


class AcmeStandIn(Served):
    """Serves :func:`collection` and :func:`scenes` with cursor paging and the protocol's filters."""

    def __init__(self, records: list[dict[str, Any]] | None = None) -> None:
        self.records = records if records is not None else scenes()
        self.requests: list[str] = []
        standin = self

        class Handler(JsonHandler):
            owner: ClassVar[AcmeStandIn] = standin

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                status, body = self.owner.answer(self.path)
                self.send_json(status, body)

        self._http = LocalHTTPServer(Handler)

    def answer(self, target: str) -> tuple[int, Any]:
        """The status and body for ``GET target``."""
        self.requests.append(target)
        parts = urlsplit(target)
        path = [unquote(p) for p in parts.path.strip("/").split("/")]
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if path[:2] != ["v1", "collections"] or len(path) < 3 or path[2] != COLLECTION:
            return 404, {"error": f"no such resource: {parts.path}"}
        if len(path) == 3:
            return 200, collection()
        if path[3:] != ["scenes"]:
            return 404, {"error": f"no such resource: {parts.path}"}
        try:
            chosen = self.select(query)
            start, limit = int(query.get("cursor", "0")), int(query.get("limit", "50"))
        except ValueError as exc:
            return 400, {"error": str(exc)}
        page = chosen[start:start + limit]
        following = start + limit
        return 200, {"scenes": page, "cursor": str(following) if following < len(chosen) else None}

    def select(self, query: dict[str, str]) -> list[dict[str, Any]]:
        """The scenes a query's filters keep, in order."""
        after = instant(query["after"]) if "after" in query else None
        before = instant(query["before"]) if "before" in query else None
        cloud = int(query["max_cloud"]) if "max_cloud" in query else None
        return [s for s in self.records
                if (after is None or instant(s["captured_at"]) >= after)
                and (before is None or instant(s["captured_at"]) <= before)
                and (cloud is None or s["cloud_pct"] <= cloud)]
