"""A stand-in Sentinel Hub BYOC service for tests: a real HTTP server on 127.0.0.1 and a free port.

It speaks the protocol of ``shared/providers/PROTOCOLS.md`` closely enough for the sentinelhub SDK to talk to it:

* ``POST /oauth/token`` (client credentials, form-encoded) answers a fresh unsigned JWT;
* every ``/api/v1/byoc/...`` request needs ``Authorization: Bearer <that token>`` (else 401);
* lists come as ``{"data": [...], "links": {"@id", "currentToken", "nextToken", "next", "previous"...}}``, paged
  by ``count`` and ``viewtoken``; single objects as ``{"data": {...}}``;
* errors as ``{"error": {"status", "reason", "message", "code"}}``;
* ``POST .../collections`` and ``POST .../collections/{id}/tiles`` create (400 for what BYOC refuses: no name or
  bucket, a bad band format, a tile without path; 409 for a second tile of one path); new tiles wait until
  :meth:`StandIn.ingest`;
* ``fail_next(429, n)`` makes the next ``n`` API requests answer 429 with ``Retry-After`` in milliseconds
  (the unit the SDK reads it in).

Usage::

    with StandIn(collections=[...], tiles={collection_id: [...]}) as server:
        server.url  # http://127.0.0.1:<port>
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.localhttp import JsonHandler, LocalHTTPServer, Served

API = "/api/v1/byoc"
PAGE_SIZE = 100


def unsigned_jwt(lifetime: int = 3600) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"sub": "stand-in", "iat": now, "exp": now + lifetime, "did": 1, "aud": "stand-in"}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


class StandIn(Served):
    """The server, its data and a log of the requests it answered (method, path with query)."""

    def __init__(self, collections: list[dict[str, Any]], tiles: dict[str, list[dict[str, Any]]],
                 *, page_size: int = PAGE_SIZE) -> None:
        self.collections = collections
        self.tiles = tiles
        self.page_size = page_size
        self.requests: list[tuple[str, str]] = []
        self.tokens: set[str] = set()
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._http = LocalHTTPServer(self._handler())

    def fail_next(self, status: int, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([status] * times)

    # --- answering --------------------------------------------------------------------------------------------

    def _next_failure(self) -> int | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def answer(self, method: str, target: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        self.requests.append((method, target))
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/oauth/token" and method == "POST":
            return self._token(body)
        if not parts.path.startswith(API):
            return _error(404, "Not Found", f"no such path {parts.path}")
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[len("Bearer "):] not in self.tokens:
            return _error(401, "Unauthorized", "a valid bearer token is needed", "COMMON_UNAUTHORIZED")
        failure = self._next_failure()
        if failure == 429:
            status, hdrs, doc = _error(429, "Too Many Requests", "rate limit exceeded", "COMMON_TOO_MANY_REQUESTS")
            return status, {**hdrs, "Retry-After": "50"}, doc
        if failure is not None:
            return _error(failure, "Error", "injected failure")
        if method == "POST":
            return self._create([p for p in parts.path[len(API):].split("/") if p], body)
        if method != "GET":
            return _error(405, "Method Not Allowed", f"{method} is not served by the stand-in")
        return self._get([p for p in parts.path[len(API):].split("/") if p], query, parts.path)

    def _token(self, body: bytes) -> tuple[int, dict[str, str], Any]:
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "client_credentials" or not form.get("client_id"):
            return 400, {}, {"error": "invalid_request", "error_description": "client credentials expected"}
        token = unsigned_jwt()
        self.tokens.add(token)
        return 200, {}, {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "not-before-policy": 0}

    def _get(self, segments: list[str], query: dict[str, str], path: str) -> tuple[int, dict[str, str], Any]:
        if segments == ["collections"]:
            return self._page(self.collections, query, path)
        if len(segments) >= 2 and segments[0] == "collections":
            collection = next((c for c in self.collections if c.get("id") == segments[1]), None)
            if collection is None:
                return _error(404, "Not Found", f"collection {segments[1]} not found", "COMMON_NOT_FOUND")
            if len(segments) == 2:
                return 200, {}, {"data": collection}
            tiles = self.tiles.get(segments[1], [])
            if segments[2:] == ["tiles"]:
                if "path" in query:
                    tiles = [t for t in tiles if t.get("path") == query["path"]]
                if query.get("sort") == "created:desc":
                    tiles = sorted(tiles, key=lambda t: str(t.get("created") or ""), reverse=True)
                return self._page(tiles, query, path)
            if len(segments) == 4 and segments[2] == "tiles":
                tile = next((t for t in tiles if t.get("id") == segments[3]), None)
                if tile is not None:
                    return 200, {}, {"data": tile}
                return _error(404, "Not Found", f"tile {segments[3]} not found", "COMMON_NOT_FOUND")
        return _error(404, "Not Found", f"no such path {path}", "COMMON_NOT_FOUND")

    # --- creating (what create_collection / create_tile send) --------------------------------------------------

    def ingest(self) -> None:
        """Mark every waiting tile ingested, as Sentinel Hub does once it has read the COGs."""
        for tiles in self.tiles.values():
            for tile in tiles:
                if tile.get("status") == "WAITING":
                    tile["status"] = "INGESTED"

    def _create(self, segments: list[str], body: bytes) -> tuple[int, dict[str, str], Any]:
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            return _error(400, "Bad Request", "the body is not JSON", "COMMON_BAD_PAYLOAD")
        if not isinstance(payload, dict):
            return _error(400, "Bad Request", "the body must be a JSON object", "COMMON_BAD_PAYLOAD")
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        if segments == ["collections"]:
            problem = _collection_problem(payload)
            if problem:
                return _error(400, "Bad Request", problem, "COMMON_BAD_PAYLOAD")
            collection = {**payload, "id": str(uuid.uuid4()), "created": now}
            self.collections.append(collection)
            self.tiles[collection["id"]] = []
            return 201, {}, {"data": collection}
        if len(segments) == 3 and segments[0] == "collections" and segments[2] == "tiles":
            if not any(c.get("id") == segments[1] for c in self.collections):
                return _error(404, "Not Found", f"collection {segments[1]} not found", "COMMON_NOT_FOUND")
            problem = _tile_problem(payload)
            if problem:
                return _error(400, "Bad Request", problem, "COMMON_BAD_PAYLOAD")
            tiles = self.tiles.setdefault(segments[1], [])
            if any(t.get("path") == payload["path"] for t in tiles):
                return _error(409, "Conflict", f"a tile with path {payload['path']} exists", "COMMON_CONFLICT")
            tile = {**payload, "id": str(uuid.uuid4()), "status": "WAITING", "created": now, "ingestionStart": now}
            tiles.append(tile)
            return 201, {}, {"data": tile}
        return _error(404, "Not Found", "no such path", "COMMON_NOT_FOUND")

    def _page(self, records: list[dict[str, Any]], query: dict[str, str], path: str) -> tuple[int, dict[str, str], Any]:
        try:
            start = int(query.get("viewtoken", "0"))
            count = int(query.get("count", str(self.page_size)))
        except ValueError:
            return _error(400, "Bad Request", "viewtoken and count must be integers", "COMMON_BAD_PAYLOAD")
        rest = {k: v for k, v in query.items() if k != "viewtoken"}

        def link(token: int) -> str:
            return f"{self.url}{path}?{urlencode({**rest, 'viewtoken': token})}"

        links: dict[str, Any] = {"@id": link(start), "currentToken": str(start)}
        end = start + count
        if end < len(records):
            links.update(nextToken=str(end), next=link(end))
        if start > 0:
            previous = max(0, start - count)
            links.update(previousToken=str(previous), previous=link(previous))
        return 200, {}, {"data": records[start:end], "links": links}

    def _handler(self) -> type[JsonHandler]:
        standin = self

        class Handler(JsonHandler):
            def _serve(self) -> None:
                status, headers, doc = standin.answer(self.command, self.path, self.headers, self.read_body())
                self.send_json(status, doc, headers)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler


def _error(status: int, reason: str, message: str, code: str = "COMMON_EXCEPTION") -> tuple[int, dict[str, str], Any]:
    return status, {}, {"error": {"status": status, "reason": reason, "message": message, "code": code,
                                  "errors": [], "requestId": str(uuid.uuid4())}}


_FORMATS = {(8, "UINT"), (16, "UINT"), (32, "UINT"), (8, "INT"), (16, "INT"), (32, "INT"), (16, "FLOAT"), (32, "FLOAT")}


def _collection_problem(payload: dict[str, Any]) -> str | None:
    """Why BYOC would refuse a new collection (``name`` and ``s3Bucket`` needed; bands well formed), or ``None``."""
    for key in ("name", "s3Bucket"):
        if not isinstance(payload.get(key), str) or not payload[key]:
            return f"{key} is required"
    bands = (payload.get("additionalData") or {}).get("bands") or {}
    if not isinstance(bands, dict):
        return "additionalData.bands must be an object"
    for name, band in bands.items():
        if not isinstance(band, dict) or not isinstance(band.get("source"), str):
            return f"band {name}: source is required"
        if not isinstance(band.get("bandIndex", 1), int) or band.get("bandIndex", 1) < 1:
            return f"band {name}: bandIndex must be a positive integer"
        if (band.get("bitDepth", 8), band.get("sampleFormat", "UINT")) not in _FORMATS:
            return f"band {name}: no such format {band.get('bitDepth')} {band.get('sampleFormat')}"
    return None


def _tile_problem(payload: dict[str, Any]) -> str | None:
    """Why BYOC would refuse a new tile (a ``path``; a ``coverGeometry`` with a named CRS), or ``None``."""
    if not isinstance(payload.get("path"), str) or not payload["path"]:
        return "path is required"
    cover = payload.get("coverGeometry")
    if cover is not None:
        if not isinstance(cover, dict) or cover.get("type") not in ("Polygon", "MultiPolygon"):
            return "coverGeometry must be a Polygon or MultiPolygon"
        name = ((cover.get("crs") or {}).get("properties") or {}).get("name")
        if cover.get("crs") is not None and not (isinstance(name, str) and "EPSG" in name):
            return "coverGeometry.crs must name an EPSG CRS"
    sensing = payload.get("sensingTime")
    if sensing is not None and not isinstance(sensing, str):
        return "sensingTime must be an ISO 8601 string"
    return None
