"""A stand-in Capella console API for tests: a real HTTP server on 127.0.0.1 and a free port.

It answers the way capella-console-client 0.20.0 expects (see shared/providers/PROTOCOLS.md):

- ``GET /user``: the user record (how the client checks an API key or token);
- ``POST /catalog/search``: a STAC ItemCollection with ``numberMatched``, ``numberReturned`` and a ``next`` link;
  the client POSTs the same body plus ``"page": n`` to that link. ``query`` (eq, in, gt, gte, lt, lte, and
  ``datetime`` with ``eq`` of an instant or an ``a/b`` interval), ``collections``, ``ids``, ``bbox`` and ``sortby``
  are honoured. A page reaching past ``max_results`` (Capella's 10,000 per search; smaller in tests) is a 400;
- ``POST /task``: stores the tasking request and answers it with ``taskingrequestId``, ``userId``, ``orgId``,
  ``submissionTime`` and a ``statusHistory``; ``GET /task/{id}`` gives it back;
- ``POST /tasks/search?page=n&limit=m`` with ``{"query": {"userId": ..., "organizationIds": [...]}}``: the stored
  tasking requests of that user or organisation as ``{"results", "currentPage", "totalPages"}``;
- ``Authorization: ApiKey <key>`` or ``Bearer <token>`` on every route, else 401;
- the next ``throttle`` requests are answered 429 with ``Retry-After: <retry_after>``.

Every request (method, path with query, body) is kept in ``requests``, its Authorization header in ``auth``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from tests.localhttp import JsonHandler, LocalHTTPServer
from tests.wire import instant


@dataclass
class CapellaStandIn:
    """What the stand-in serves and what it was asked."""

    items: Sequence[Mapping[str, Any]]
    user: Mapping[str, Any]
    api_keys: frozenset[str] = frozenset({"test-api-key"})
    tokens: frozenset[str] = frozenset({"test-token"})
    #: Capella serves at most 900 per page; a smaller cap makes a few items span several pages.
    max_page_size: int = 900
    max_results: int = 10_000
    throttle: int = 0
    retry_after: str = "0"
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    base_url: str = ""

    def searches(self) -> list[dict[str, Any]]:
        """The bodies POSTed to ``/catalog/search``, in order."""
        return [body for method, path, body in self.requests if path.startswith("/catalog/search")]

    def authorised(self, header: str | None) -> bool:
        scheme, _, value = (header or "").partition(" ")
        return (scheme == "ApiKey" and value in self.api_keys) or (scheme == "Bearer" and value in self.tokens)

    def search(self, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """The page the body asks for, or ``None`` when it reaches past ``max_results``."""
        matches = [item for item in self.items if _matches(item, body)]
        for sort in reversed(body.get("sortby") or []):
            name = str(sort["field"]).removeprefix("properties.")
            matches.sort(key=lambda item: _sort_key(item, name), reverse=sort.get("direction") == "desc")
        limit = min(int(body.get("limit", 500)), self.max_page_size)
        page = int(body.get("page", 1))
        if page * limit > self.max_results:
            return None
        chunk = matches[(page - 1) * limit: page * limit]
        links = []
        if page * limit < len(matches):
            links.append({"rel": "next", "href": f"{self.base_url}/catalog/search?page={page + 1}"})
        return {
            "type": "FeatureCollection",
            "features": list(chunk),
            "numberMatched": len(matches),
            "numberReturned": len(chunk),
            "links": links,
        }

    def search_tasks(self, query: Mapping[str, str], body: Mapping[str, Any]) -> dict[str, Any]:
        """A page of the stored tasking requests of the user (``userId``) or organisations asked for."""
        wanted = (body or {}).get("query") or {}
        page, limit = int(query.get("page", 1)), int(query.get("limit", 250))
        found = [
            task for task in self.tasks.values()
            if ("userId" not in wanted or task["properties"].get("userId") == wanted["userId"])
            and ("organizationIds" not in wanted or task["properties"].get("orgId") in wanted["organizationIds"])
        ]
        pages = max(1, -(-len(found) // limit))
        return {"results": found[(page - 1) * limit: page * limit], "currentPage": page, "totalPages": pages}

    def create_task(self, body: Mapping[str, Any]) -> dict[str, Any]:
        task_id = f"task-{len(self.tasks) + 1}"
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        props = dict(body.get("properties", {}))
        props.update({
            "taskingrequestId": task_id,
            "userId": self.user["id"],
            "orgId": self.user["organizationId"],
            "submissionTime": now,
            "statusHistory": [{"time": now, "code": "received", "message": "Request created"}],
        })
        task = {"type": "Feature", "geometry": body.get("geometry"), "properties": props}
        self.tasks[task_id] = task
        return task


def _sort_key(item: Mapping[str, Any], name: str) -> Any:
    value = item.get(name, item.get("properties", {}).get(name))
    return (value is None, value)


def _matches(item: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    if body.get("collections") and item.get("collection") not in body["collections"]:
        return False
    if body.get("ids") and item.get("id") not in body["ids"]:
        return False
    if body.get("bbox") and item.get("bbox"):
        w, s, e, n = body["bbox"][:4]
        iw, is_, ie, in_ = item["bbox"][:4]
        if iw > e or ie < w or is_ > n or in_ < s:
            return False
    props = item.get("properties", {})
    return all(_condition(props, name, ops) for name, ops in (body.get("query") or {}).items())


def _condition(props: Mapping[str, Any], name: str, ops: Mapping[str, Any]) -> bool:
    value = props.get(name)
    for op, wanted in ops.items():
        if name == "datetime":
            moment = instant(str(value))
            if op == "eq" and isinstance(wanted, str) and "/" in wanted:
                start, _, end = wanted.partition("/")
                if (start not in ("", "..") and moment < instant(start)) or (
                    end not in ("", "..") and moment > instant(end)
                ):
                    return False
                continue
            value_cmp: Any = moment
            wanted = instant(str(wanted))
        else:
            value_cmp = value
        if op == "in":
            hit = any(v in wanted for v in value_cmp) if isinstance(value_cmp, list) else value_cmp in wanted
        elif op == "eq":
            hit = value_cmp == wanted
        elif value_cmp is None:
            hit = False
        else:
            hit = {"gt": value_cmp > wanted, "gte": value_cmp >= wanted,
                   "lt": value_cmp < wanted, "lte": value_cmp <= wanted}[op]
        if not hit:
            return False
    return True


def _handler(state: CapellaStandIn) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def _reply(self, status: int, payload: Any) -> None:
            self.send_json(status, payload)

        def _body(self) -> Any:
            return json.loads(self.read_body() or b"null")

        def _route(self, method: str) -> None:
            path, _, query = self.path.partition("?")
            body = self._body() if method == "POST" else None
            state.requests.append((method, self.path, body))
            state.auth.append(self.headers.get("Authorization"))
            if state.throttle > 0:
                state.throttle -= 1
                self.send_json(429, {"error": {"message": "Too Many Requests", "code": "THROTTLED"}},
                               {"Retry-After": state.retry_after})
                return
            if not state.authorised(self.headers.get("Authorization")):
                self._reply(401, {"error": {"message": "Unauthorized", "code": "UNAUTHORIZED"}})
                return
            if method == "GET" and path == "/user":
                self._reply(200, state.user)
            elif method == "POST" and path == "/catalog/search":
                answer = state.search(body or {})
                if answer is None:
                    self._reply(400, {"error": {"message": f"at most {state.max_results} items per search",
                                                "code": "VALIDATION_ERROR"}})
                else:
                    self._reply(200, answer)
            elif method == "POST" and path == "/tasks/search":
                self._reply(200, state.search_tasks(dict(parse_qsl(query)), body or {}))
            elif method == "POST" and path == "/task":
                self._reply(201, state.create_task(body or {}))
            elif method == "GET" and path.startswith("/task/") and path[len("/task/"):] in state.tasks:
                self._reply(200, state.tasks[path[len("/task/"):]])
            else:
                self._reply(404, {"error": {"message": f"no route {method} {path}", "code": "NOT_FOUND"}})

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._route("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._route("POST")

    return Handler


@contextmanager
def serve(state: CapellaStandIn) -> Iterator[CapellaStandIn]:
    """Run the stand-in on 127.0.0.1 and a free port for the duration of the block; ``state.base_url`` is set."""
    with LocalHTTPServer(_handler(state)) as http:
        state.base_url = http.url
        yield state
