"""Requests refused before they reach stac-fastapi or the database: size, shape, nesting, geometries, limits.

stac-fastapi validates requests with pydantic, whose errors repeat the input (once per member of a union:
a bad ``intersects`` is reported against each of the seven geometry types), and passes some inputs on to
pgstac unchecked (a 3D ``bbox``, an unclosed ring, a filter nested hundreds of levels deep). Each of those
costs the process far more than the request did, or ends in a 500. The two ASGI middlewares here look at
every request first, cheaply and with bounded answers:

* :class:`BodyLimitMiddleware` reads the body up to a size limit (413 beyond it) and hands it on whole;
* :class:`RequestGuardMiddleware` checks the query parameters and the JSON body of the routes that take them,
  and caps ``limit`` at the configured maximum (rewriting the request, as the STAC API specification asks
  servers to answer a larger limit with their maximum rather than an error).

Both are plain ASGI (no ``BaseHTTPMiddleware``): the body is read once, and nothing is buffered twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "BodyLimitMiddleware",
    "RequestGuardMiddleware",
    "error_response",
    "excerpt",
    "geometry_problem",
    "json_depth",
    "search_problem",
]

#: The longest ``description`` of an error answer; what a client sent is quoted at most this long.
MAX_DESCRIPTION: Final = 400
EXCERPT: Final = 60
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
_GEOMETRY_TYPES: Final = frozenset({
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection",
})
#: Nesting of ``coordinates`` per geometry type (a Point's is a position: 1).
_COORDINATE_DEPTH: Final = {"Point": 1, "MultiPoint": 2, "LineString": 2, "MultiLineString": 3, "Polygon": 3,
                            "MultiPolygon": 4}
#: The most NOT operators, and AND/OR operands, one CQL2 filter may hold: stac-fastapi parses CQL2 text on the
#: event loop, in time that grows steeply with nested NOTs (32 took 2 s, 300 did not end), and pgstac
#: translates every operand in SQL; no filter a person writes comes near.
MAX_NOT: Final = 10
MAX_OPERANDS: Final = 100
#: Nested parentheses in CQL2 text: a few thousand crash the parser's process (a stack overflow).
MAX_PARENTHESES: Final = 32
#: Sort keys, ``query`` properties and ``fields`` entries of one search: each costs pgstac SQL to build and run,
#: and next links repeat them all; far more than any search needs.
MAX_SORT_KEYS: Final = 16
MAX_QUERY_PROPERTIES: Final = 100
MAX_FIELDS: Final = 500
_CQL2_STRING: Final = re.compile(r"'(?:[^']|'')*'")
_CQL2_LOGICAL: Final = re.compile(r"\b(and|or|not)\b", re.IGNORECASE)
_JSON_TYPES: Final = ("application/json", "application/geo+json", "application/json-patch+json",
                      "application/merge-patch+json")


def excerpt(value: Any, size: int = EXCERPT) -> str:
    """A short quotation of what a client sent, safe to put in an answer."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= size else text[:size] + "..."


def error_response(status: int, code: str, description: str, headers: Mapping[str, str] | None = None
                   ) -> JSONResponse:
    """The one error answer of the API: ``{"code", "description"}`` (the STAC API's), bounded in size."""
    if len(description) > MAX_DESCRIPTION:
        description = description[:MAX_DESCRIPTION] + "..."
    return JSONResponse({"code": code, "description": description}, status_code=status,
                        headers=dict(headers or {}))


def json_depth(value: Any, limit: int) -> int:
    """How deep arrays and objects nest in ``value``, counted up to ``limit + 1`` (iteratively: no recursion)."""
    # Level by level, keeping only containers: a long array of numbers costs one type check per number.
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return depth
        below: list[Any] = []
        for node in level:
            below.extend(child for child in (node.values() if isinstance(node, dict) else node)
                         if isinstance(child, dict | list))
        level = below
    return depth


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _positions_problem(coordinates: Any, depth: int, kind: str) -> str | None:
    """Check nesting and positions of ``coordinates``; ``depth`` 1 is a position."""
    if not isinstance(coordinates, list):
        return f"{kind} coordinates must be arrays"
    if depth == 1:
        if not 2 <= len(coordinates) <= 3 or not all(_is_number(v) for v in coordinates):
            return f"a {kind} position must be 2 or 3 finite numbers, got {excerpt(coordinates)}"
        return None
    for part in coordinates:
        problem = _positions_problem(part, depth - 1, kind)
        if problem is not None:
            return problem
    return None


def _rings_problem(polygon: Sequence[Any]) -> str | None:
    for ring in polygon:
        if len(ring) < 4:
            return "a polygon ring needs at least 4 positions"
        if ring[0] != ring[-1]:
            return "a polygon ring must be closed (its last position equal to its first)"
    return None


def geometry_problem(geometry: Any) -> str | None:
    """What is wrong with a GeoJSON geometry, or ``None`` when PostGIS can read it.

    Checked: the type, the nesting of ``coordinates``, positions of 2-3 finite numbers, at least two
    positions a line and four a closed ring. Not checked: self-intersections (PostGIS searches with those).
    """
    if not isinstance(geometry, Mapping):
        return "a geometry must be a GeoJSON object"
    kind = geometry.get("type")
    if not isinstance(kind, str) or kind not in _GEOMETRY_TYPES:
        return f"unknown geometry type {excerpt(kind)}"
    if kind == "GeometryCollection":
        members = geometry.get("geometries")
        if not isinstance(members, list):
            return "a GeometryCollection needs a 'geometries' array"
        for member in members:
            problem = geometry_problem(member)  # nesting is bounded by the depth check before
            if problem is not None:
                return problem
        return None
    coordinates: Any = geometry.get("coordinates")
    problem = _positions_problem(coordinates, _COORDINATE_DEPTH[str(kind)], str(kind))
    if problem is not None:
        return problem
    if kind == "LineString" and len(coordinates) < 2:
        return "a LineString needs at least 2 positions"
    if kind == "MultiLineString" and any(len(line) < 2 for line in coordinates):
        return "each line of a MultiLineString needs at least 2 positions"
    if kind == "Polygon":
        return _rings_problem(coordinates)
    if kind == "MultiPolygon":
        for polygon in coordinates:
            problem = _rings_problem(polygon)
            if problem is not None:
                return problem
    return None


def bbox_problem(value: Any) -> str | None:
    """What is wrong with a bbox (a ``w,s,e,n`` string or a list, or 6 numbers with heights), or ``None``."""
    if value is None:
        return None
    if isinstance(value, str):
        parts: list[Any] = [p for p in value.split(",") if p.strip()]
    elif isinstance(value, list):
        parts = value
    else:
        return "bbox must be four numbers: west,south,east,north"
    if len(parts) not in (4, 6):
        return f"bbox must be 4 numbers (west,south,east,north) or 6 (with heights), got {len(parts)}"
    try:
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError):
        return "bbox must be numbers: west,south,east,north"
    # A 3D bbox is searched on its footprint (stac_bridge.server.extensions).
    west, south, east, north = numbers if len(numbers) == 4 else numbers[:2] + numbers[3:5]
    if not all(math.isfinite(v) for v in numbers):
        return "bbox must be four finite numbers"
    if not (-90 <= south <= north <= 90):
        return "bbox latitudes must satisfy -90 <= south <= north <= 90"
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        return "bbox longitudes must lie in [-180, 180]"
    return None


def _filter_problem(cql2: Any, max_list: int) -> str | None:
    """What is wrong with a CQL2 JSON filter (whose depth is bounded before), or ``None``.

    Refused: a bad geometry or bbox literal, too many logical operators, an array (an ``in`` list) longer than
    ``max_list``.
    """
    stack = [cql2]
    nots = operands = 0
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            if len(node) > max_list:
                return f"filter: an array of more than {max_list} values"
            stack.extend(node)
        elif isinstance(node, dict):
            if "coordinates" in node or "geometries" in node or (
                    isinstance(node.get("type"), str) and node["type"] in _GEOMETRY_TYPES):
                problem = geometry_problem(node)
                if problem is not None:
                    return f"filter: {problem}"
            elif set(node) == {"bbox"}:
                problem = bbox_problem(node["bbox"])
                if problem is not None:
                    return f"filter: {problem}"
            else:
                op = node.get("op")
                nots += op == "not"
                if op in ("and", "or") and isinstance(node.get("args"), list):
                    operands += len(node["args"])
                stack.extend(node.values())
    return _logical_problem(nots, operands)


def _logical_problem(nots: int, operands: int) -> str | None:
    if nots > MAX_NOT:
        return f"filter: at most {MAX_NOT} NOT operators"
    if operands > MAX_OPERANDS:
        return f"filter: at most {MAX_OPERANDS} operands of AND and OR"
    return None


def cql2_text_problem(text: str) -> str | None:
    """What makes a CQL2 text filter too costly to parse, or ``None`` (its syntax is stac-fastapi's to check)."""
    bare = _CQL2_STRING.sub("''", text)  # what a string literal holds is no operator
    depth = deepest = 0
    for char in bare:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    if deepest > MAX_PARENTHESES:
        return f"filter: at most {MAX_PARENTHESES} nested parentheses"
    words = [w.lower() for w in _CQL2_LOGICAL.findall(bare)]
    nots = words.count("not")
    # n operators join about n + 1 operands.
    return _logical_problem(nots, len(words) - nots + 1 if len(words) > nots else 0)


class _Refusal(Exception):
    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


def _bad(description: str) -> _Refusal:
    return _Refusal(400, "InvalidParameterValue", description)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app ``body`` (already read from the client) once, then the client's own."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class BodyLimitMiddleware:
    """Reads each request body whole, up to ``max_bytes`` (413 beyond, before anything parses it).

    A ``Content-Length`` above the limit is refused before reading; a chunked body as soon as it passes it.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body, then call the application with it (or answer 413)."""
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        replay = _replaying(body, receive)

        scope.setdefault("state", {})["stac_bridge.body"] = body
        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "PayloadTooLarge",
                                  f"the request body is larger than {self.max_bytes} bytes")
        await response(scope, receive, send)


class RequestGuardMiddleware:
    """Checks the parameters and JSON bodies of the API's routes before they are parsed or searched.

    Runs inside :class:`BodyLimitMiddleware`, which has read the body (``scope["state"]``).

    Args:
        app: The application.
        max_limit: The cap of ``limit`` (larger values are rewritten to it) and of the ids and collections
            one search names.
        max_depth: The deepest nesting of arrays and objects in a body or a JSON parameter.
    """

    def __init__(self, app: ASGIApp, *, max_limit: int, max_depth: int) -> None:
        self.app = app
        self.max_limit = max_limit
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then call the application with it (possibly rewritten), or answer 4xx."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            scope, receive = self._check(scope, receive)
        except _Refusal as refusal:
            response = error_response(refusal.status, refusal.code, refusal.description)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    # -- the checks ----------------------------------------------------------------------------------------

    def _check(self, scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        path = scope["path"].rstrip("/") or "/"
        stac_listing = path.endswith(("/search", "/items", "/collections")) and "/opensearch/" not in path \
            and not path.endswith("/catalog/search")
        if stac_listing:
            scope = self._check_query(scope, path)
        if scope["method"] not in _BODY_METHODS:
            return scope, receive
        body = scope.get("state", {}).get("stac_bridge.body")
        if body is None:
            return scope, receive
        document = self._parse_body(scope, body, patch=scope["method"] == "PATCH")
        if isinstance(document, dict) and path.endswith("/search") and not path.endswith("/catalog/search"):
            document = self._check_search(document)
        new_body = orjson.dumps(document)
        scope = {**scope, "headers": _with_json_type(scope["headers"], len(new_body)),
                 "state": {**scope.get("state", {}), "stac_bridge.body": new_body}}

        replay = _replaying(new_body, receive)

        return scope, replay

    def _check_query(self, scope: Scope, path: str) -> Scope:
        raw = scope.get("query_string", b"").decode("latin-1")
        pairs = parse_qsl(raw, keep_blank_values=True)
        params = dict(pairs)
        problem = bbox_problem(params.get("bbox")) if "bbox" in params else None
        if problem is not None:
            raise _bad(problem)
        for name in ("ids", "collections"):
            if name in params and len(params[name].split(",")) > self.max_limit:
                raise _bad(f"{name}: at most {self.max_limit} values")
        for name, most in (("fields", MAX_FIELDS), ("sortby", MAX_SORT_KEYS)):
            value = params.get(name, "")
            if value.strip() and any(not part.strip() for part in value.split(",")):
                raise _bad(f"{name}: an empty entry in {excerpt(params[name])}")
            if value.count(",") >= most:
                raise _bad(f"{name}: at most {most} entries")
        if "intersects" in params:
            problem = geometry_problem(self._json_param("intersects", params["intersects"]))
            if problem is not None:
                raise _bad(f"intersects: {problem}")
        if "query" in params and not isinstance(self._json_param("query", params["query"]), dict):
            raise _bad("query must be a JSON object")
        if "filter" in params:
            if params.get("filter-lang") == "cql2-json":
                problem = _filter_problem(self._json_param("filter", params["filter"]), self.max_limit)
            else:
                problem = cql2_text_problem(params["filter"])
            if problem is not None:
                raise _bad(problem)
        if "limit" not in params:
            return scope
        limit = _positive_int(params["limit"])
        if limit is None:
            raise _bad(f"limit must be a positive integer, got {excerpt(params['limit'])}")
        if limit <= self.max_limit:
            return scope
        capped = [(k, str(self.max_limit) if k == "limit" else v) for k, v in pairs]
        return {**scope, "query_string": urlencode(capped).encode("latin-1", "replace")}

    def _json_param(self, name: str, value: str) -> Any:
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise _bad(f"{name} is not JSON ({exc}): {excerpt(value)}") from exc
        if json_depth(parsed, self.max_depth) > self.max_depth:
            raise _bad(f"{name} nests deeper than {self.max_depth} levels")
        return parsed

    def _parse_body(self, scope: Scope, body: bytes, *, patch: bool) -> Any:
        if not body.strip():
            raise _Refusal(400, "InvalidRequestBody", "this request needs a JSON body")
        content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1").split(";")[0]
        content_type = content_type.strip().lower()
        if content_type and content_type not in _JSON_TYPES and not content_type.endswith("+json"):
            raise _Refusal(415, "UnsupportedMediaType", f"the body must be JSON, not {excerpt(content_type)}")
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _Refusal(400, "InvalidRequestBody", f"the body is not JSON: {exc}") from exc
        if json_depth(document, self.max_depth) > self.max_depth:
            raise _Refusal(400, "InvalidRequestBody", f"the body nests deeper than {self.max_depth} levels")
        if not (isinstance(document, dict) or (patch and isinstance(document, list))):
            expected = "a JSON object or a JSON Patch array" if patch else "a JSON object"
            raise _Refusal(400, "InvalidRequestBody",
                           f"the body must be {expected}, not {excerpt(body.decode('utf-8', 'replace'))}")
        return document

    def _check_search(self, body: dict[str, Any]) -> dict[str, Any]:
        problem = search_problem(body, max_values=self.max_limit)
        if problem is not None:
            raise _bad(problem)
        limit = body.get("limit")
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise _bad(f"limit must be a positive integer, got {excerpt(limit)}")
            if limit > self.max_limit:
                body = {**body, "limit": self.max_limit}
        return body


def search_problem(body: Mapping[str, Any], *, max_values: int) -> str | None:
    """What makes a STAC search body malformed or too costly to run, or ``None``.

    Args:
        body: A ``POST /search`` body (also what a compatible endpoint translated its provider's query into).
        max_values: The most ``ids``, ``collections`` or values of a filter's array one search may hold.
    """
    problem = bbox_problem(body.get("bbox"))
    if problem is not None:
        return problem
    if body.get("intersects") is not None:
        problem = geometry_problem(body["intersects"])
        if problem is not None:
            return f"intersects: {problem}"
    for name in ("ids", "collections"):
        values = body.get(name)
        if values is None:
            continue
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return f"{name} must be an array of strings"
        if len(values) > max_values:
            return f"{name}: at most {max_values} values"
    query = body.get("query")
    if query is not None and not isinstance(query, dict):
        return "query must be a JSON object"
    if isinstance(query, dict) and len(query) > MAX_QUERY_PROPERTIES:
        return f"query: at most {MAX_QUERY_PROPERTIES} properties"
    if isinstance(body.get("sortby"), list) and len(body["sortby"]) > MAX_SORT_KEYS:
        return f"sortby: at most {MAX_SORT_KEYS} keys"
    cql2 = body.get("filter")
    problem = _filter_problem(cql2, max_values) if isinstance(cql2, dict) else (
        cql2_text_problem(cql2) if isinstance(cql2, str) else None)
    if problem is not None:
        return problem
    fields = body.get("fields")
    if fields is not None and not (
        isinstance(fields, dict)
        and all(isinstance(fields.get(k) or [], list) and all(isinstance(v, str) and v for v in fields.get(k) or [])
                for k in ("include", "exclude"))
    ):
        return "fields must be an object with 'include' and 'exclude' arrays of field names"
    if fields is not None and any(len(fields.get(k) or []) > MAX_FIELDS for k in ("include", "exclude")):
        return f"fields: at most {MAX_FIELDS} names to include and to exclude"
    return None


def _positive_int(value: str) -> int | None:
    value = value.strip()
    if not value.isdigit() or not value.isascii():
        return None
    number = int(value)
    return number if number >= 1 else None


def _with_json_type(headers: Sequence[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    """The headers with the length of the rewritten body, and a JSON content type when none was given.

    Clients that POST JSON without a ``Content-Type`` (``curl -d``-like) would otherwise reach FastAPI with a
    body it does not parse.
    """
    kept = [(k, v) for k, v in headers if k not in (b"content-length", b"transfer-encoding")]
    if not any(k == b"content-type" and v.strip() for k, v in kept):
        kept = [(k, v) for k, v in kept if k != b"content-type"]
        kept.append((b"content-type", b"application/json"))
    kept.append((b"content-length", str(length).encode()))
    return kept
