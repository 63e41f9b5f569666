"""A stand-in STAC API on 127.0.0.1 that pages in several ways and injects faults on demand.

It answers ``GET /`` (landing page with conformance), ``GET /collections/{id}``, ``GET|POST /search`` with
``collections``, ``limit``, a CQL2 ``updated >=`` filter and one of three paging styles:

* ``"page"``: a page number (GET ``?page=N``; POST ``{"page": N}`` with ``merge: true``): random access;
* ``"offset"``: an offset (GET ``?offset=N``; POST body ``offset``): random access;
* ``"token"``: an opaque token (GET ``?token=...``; POST the whole next body, no merge): sequential only.

Faults (:meth:`StandIn.fail`) apply to the next ``/search`` requests, one per request, in order.
Items are made on the fly, so the server holds no catalog in memory whatever its size.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.localhttp import JsonHandler, LocalHTTPServer, Served

COLLECTION = "standin"
BASE_TIME = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
]


def stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_stamp(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def item_id(index: int) -> str:
    return f"item-{index:07d}"


@dataclass
class Fault:
    """One injected fault: ``status`` (with ``retry_after``), ``slow`` (``delay`` s), ``truncate``, ``reset``."""

    kind: str
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0


@dataclass
class StandIn(Served):
    """The stand-in server. Use as a context manager; ``url`` is its landing page."""

    count: int = 1000
    paging: str = "page"
    latency: float = 0.0
    methods: tuple[str, ...] = ("GET", "POST")
    max_limit: int = 1000
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[tuple[str, str]] = field(default_factory=list)
    updated: dict[int, dt.datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        standin = self

        class Handler(_Handler):
            server_state = standin

        self._http = LocalHTTPServer(Handler)

    # -- life cycle --

    # -- test controls --

    def fail(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def touch(self, indexes: list[int], when: dt.datetime) -> None:
        """Mark items as changed at ``when``."""
        with self.lock:
            for index in indexes:
                self.updated[index] = when

    def ids(self) -> set[str]:
        return {item_id(i) for i in range(self.count)}

    def search_requests(self) -> int:
        with self.lock:
            return sum(1 for _, path in self.requests if path.startswith("/search"))

    # -- content --

    def item(self, index: int) -> dict[str, Any]:
        lon, lat = (index * 7) % 360 - 180 + 0.5, (index * 3) % 170 - 85 + 0.5
        acquired = BASE_TIME + dt.timedelta(minutes=index)
        updated = self.updated.get(index, BASE_TIME)
        return {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": item_id(index),
            "collection": COLLECTION,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "bbox": [lon, lat, lon, lat],
            "properties": {"datetime": stamp(acquired), "updated": stamp(updated), "index": index},
            "assets": {"data": {"href": f"https://example.com/{item_id(index)}.tif", "roles": ["data"]}},
            "links": [],
        }

    def collection(self) -> dict[str, Any]:
        return {
            "type": "Collection",
            "stac_version": "1.0.0",
            "id": COLLECTION,
            "description": "Items of the stand-in STAC API",
            "license": "CC0-1.0",
            "extent": {
                "spatial": {"bbox": [[-180, -90, 180, 90]]},
                "temporal": {"interval": [[stamp(BASE_TIME), None]]},
            },
            "links": [],
        }

    def landing(self) -> dict[str, Any]:
        links = [{"rel": "self", "href": self.url + "/", "type": "application/json"},
                 {"rel": "root", "href": self.url + "/", "type": "application/json"},
                 {"rel": "data", "href": self.url + "/collections", "type": "application/json"}]
        links += [{"rel": "search", "href": self.url + "/search", "type": "application/geo+json", "method": m}
                  for m in self.methods]
        return {"type": "Catalog", "id": "standin", "stac_version": "1.0.0", "description": "stand-in",
                "conformsTo": CONFORMANCE, "links": links}

    def matching(self, since: dt.datetime | None) -> list[int] | range:
        if since is None:
            return range(self.count)
        with self.lock:
            return sorted(i for i, when in self.updated.items() if when >= since and i < self.count)

    def search(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        limit = min(int(params.get("limit", 10)), self.max_limit)
        since = _since(params.get("filter"))
        indexes = self.matching(since)
        if self.paging == "page":
            start = (int(params.get("page", 1)) - 1) * limit
        elif self.paging == "offset":
            start = int(params.get("offset", 0))
        else:
            token = params.get("token")
            start = int(base64.urlsafe_b64decode(token).decode().split(":")[1]) if token else 0
        chosen = indexes[start:start + limit]
        features = [self.item(i) for i in chosen]
        links: list[dict[str, Any]] = []
        end = start + len(chosen)
        if end < len(indexes):
            links.append(self._next_link(method, params, start, limit, end))
        return {"type": "FeatureCollection", "features": features, "numberMatched": len(indexes),
                "numberReturned": len(features), "links": links}

    def _next_link(self, method: str, params: dict[str, Any], start: int, limit: int, end: int) -> dict[str, Any]:
        if self.paging == "page":
            change: dict[str, Any] = {"page": start // limit + 2}
        elif self.paging == "offset":
            change = {"offset": end}
        else:
            change = {"token": base64.urlsafe_b64encode(f"t{time.monotonic_ns()}:{end}".encode()).decode()}
        if method == "GET":
            query = {**{k: v for k, v in params.items()}, **{k: str(v) for k, v in change.items()}}
            return {"rel": "next", "href": f"{self.url}/search?{urlencode(query)}", "method": "GET"}
        if self.paging == "token":
            return {"rel": "next", "href": f"{self.url}/search", "method": "POST", "body": {**params, **change}}
        return {"rel": "next", "href": f"{self.url}/search", "method": "POST", "body": change, "merge": True}


def _since(filter_: Any) -> dt.datetime | None:
    if filter_ is None:
        return None
    if isinstance(filter_, dict):
        args = filter_["args"]
        assert filter_["op"] == ">=" and args[0] == {"property": "updated"}, filter_
        return parse_stamp(args[1]["timestamp"])
    match = re.fullmatch(r"updated >= TIMESTAMP\('([^']+)'\)", str(filter_))
    assert match, filter_
    return parse_stamp(match.group(1))


class _Handler(JsonHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_state: StandIn

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        state = self.server_state
        parts = urlsplit(self.path)
        raw = self.read_body()
        with state.lock:
            state.requests.append((method, self.path))
        if parts.path in ("", "/"):
            return self.send_json(200, state.landing())
        if parts.path == f"/collections/{COLLECTION}":
            return self.send_json(200, state.collection())
        if parts.path != "/search" or method not in state.methods:
            return self.send_json(404, {"code": "NotFound", "description": self.path})
        with state.lock:
            fault = state.faults.popleft() if state.faults else None
        if state.latency:
            time.sleep(state.latency)
        if method == "GET":
            params: dict[str, Any] = dict(parse_qsl(parts.query))
        else:
            params = json.loads(raw)
        if fault is not None and fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return self.send_json(fault.status, {"code": "Fault", "description": f"injected {fault.status}"}, headers)
        if fault is not None and fault.kind == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return None
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        body = state.search(method, params)
        if fault is not None and fault.kind == "truncate":
            data = json.dumps(body).encode()
            return self.send_bytes(200, data[: len(data) // 2])
        return self.send_json(200, body)


def read_ndjson(path: Any) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def main() -> None:
    """Serve until stdin closes: ``python -m tests.harvest.standin --count N --paging offset --latency S``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--paging", default="page", choices=["page", "offset", "token"])
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    with StandIn(count=args.count, paging=args.paging, latency=args.latency) as standin:
        print(standin.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
