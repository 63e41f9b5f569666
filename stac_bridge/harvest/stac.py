"""A source for any STAC API: its ``/search``, by POST or GET, following ``rel=next`` links in every form.

The STAC API specification lets a server page in several ways, and this source follows all of them as the
links say: a GET link with a token or a page number in its URL, a POST link with a ``body`` (replacing the
previous request body, or merged into it when ``merge`` is true), extra ``headers``. Positions are the next
request itself (method, href, body), so a checkpoint resumes at any page.

Random access: when two consecutive requests differ only in an integer paging parameter (``page``, ``offset``,
``startIndex``, ``skip``...), the source has learnt the server pages by offset and tells the engine where the
next pages are, so that several are fetched at once. Opaque tokens keep the harvest sequential.

Servers are not trusted to page sanely. A ``next`` link back to a request already made this run, or a page
holding only items already harvested, ends the run with a :class:`ProviderError` (a loop would otherwise
never end); an item seen before on another page is passed on once only; an empty page with a ``next`` link is
followed (up to :data:`MAX_EMPTY_PAGES` in a row). Headers given for the API (``--header``) go to its origin
only, never to another host a link names.

Incremental harvests (``since``) use the Filter extension: a CQL2 ``updated >= since`` filter when the
server's conformance classes include it; other servers are harvested whole (loading is idempotent).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from stac_bridge.errors import ConfigError, ProviderError
from stac_bridge.harvest import SourceOptions
from stac_bridge.harvest.engine import Page
from stac_bridge.harvest.http import HttpClient, HttpSource, create_client
from stac_bridge.transforms._plain import format_datetime

__all__ = ["StacApiSource", "create"]

log = logging.getLogger(__name__)

#: Paging parameters whose integer value is an offset or page number (random access when they step evenly).
_OFFSET_KEYS: Final = frozenset({"page", "offset", "startIndex", "startindex", "start", "skip", "from"})
DEFAULT_LIMIT: Final = 100
#: Empty pages with a ``next`` link followed in a row before the server is taken to loop.
MAX_EMPTY_PAGES: Final = 20
_FILTER: Final = "/filter"
_CQL2_JSON: Final = "cql2-json"
_CQL2_TEXT: Final = "cql2-text"

Method = Literal["GET", "POST"]


class StacApiSource(HttpSource):
    """Harvest the items of a STAC API's ``/search``.

    Args:
        url: The API's landing page (``https://earth-search.aws.element84.com/v1``).
        client: The HTTP client (:func:`stac_bridge.harvest.http.create_client`).
        collections: Collection ids to search; their Collection documents are harvested first.
        bbox: ``[west, south, east, north]`` to search.
        datetime: A STAC datetime or interval (``2024-01-01/2024-02-01``, ``../2024-01-01``).
        limit: Items per page asked for (the server may send fewer).
        method: Force ``GET`` or ``POST``; by default POST when the landing page offers it.

    Attributes:
        name: ``"stac"``.
        adapter: ``"stac"``: the records are STAC already.
    """

    name = "stac"
    adapter = "stac"

    def __init__(
        self,
        url: str,
        *,
        client: HttpClient,
        collections: Sequence[str] = (),
        bbox: Sequence[float] | None = None,
        datetime: str | None = None,
        limit: int = DEFAULT_LIMIT,
        method: Method | None = None,
    ) -> None:
        if bbox is not None and len(bbox) not in (4, 6):
            raise ConfigError(f"a bbox has 4 or 6 numbers, not {len(bbox)}")
        self.url = url.rstrip("/")
        self.client = client
        self.collections = list(collections)
        self.bbox = [float(v) for v in bbox] if bbox is not None else None
        self.datetime = datetime
        self.limit = limit
        self.method = method
        self._landing: dict[str, Any] | None = None
        self._step: tuple[str, str, int] | None = None
        # What this run fetched and passed on (pages may be fetched in several threads at once).
        self._lock = threading.Lock()
        self._requested: set[str] = set()
        self._seen: set[tuple[str, str]] = set()

    def query(self) -> dict[str, Any]:
        """The URL and search parameters."""
        return {
            "url": self.url,
            "collections": self.collections,
            "bbox": self.bbox,
            "datetime": self.datetime,
            "limit": self.limit,
            "method": self.method,
        }

    def collection_records(self) -> list[dict[str, Any]]:
        """The Collection documents of the searched collections (``GET /collections/{id}``)."""
        urls = (f"{self.url}/collections/{cid}" for cid in self.collections)
        return [self._object(self.client.request_json("GET", url).data, "a Collection") for url in urls]

    def start(self, since: dt.datetime | None) -> dict[str, Any]:
        """The first search request; with ``since``, filtered on ``updated`` where the server can.

        Raises:
            ProviderError: the landing page is not a STAC API with a search endpoint.
        """
        landing = self._landing_page()
        links = [x for x in landing.get("links", []) if isinstance(x, Mapping) and x.get("rel") == "search"]
        methods = {str(link.get("method", "GET")).upper() for link in links}
        href = next((str(link["href"]) for link in links if "href" in link), f"{self.url}/search")
        href = urljoin(self.url + "/", href)
        method: Method = self.method or ("POST" if "POST" in methods else "GET")
        params: dict[str, Any] = {"limit": self.limit}
        if self.collections:
            params["collections"] = self.collections
        if self.bbox is not None:
            params["bbox"] = self.bbox
        if self.datetime:
            params["datetime"] = self.datetime
        if since is not None:
            params.update(self._since_filter(since, method, landing))
        if method == "POST":
            return {"method": "POST", "href": href, "body": params}
        flat = {k: ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
                for k, value in params.items()}
        return {"method": "GET", "href": _with_query(href, flat)}

    def fetch(self, position: Mapping[str, Any]) -> Page:
        """One page of search results; its ``next`` is the request the ``rel=next`` link describes.

        Items already passed on in this run are left out; empty pages with a ``next`` link are skipped over.

        Raises:
            ProviderError: the answer is not an ItemCollection, or the server loops (a ``next`` link to a
                request already made, a page of items all seen before, too many empty pages in a row).
        """
        current: Mapping[str, Any] = position
        for _ in range(MAX_EMPTY_PAGES + 1):
            features, following, matched = self._fetch_one(current)
            if features or following is None:
                return Page(self._unseen(features, current), following, matched)
            log.info("%s answered an empty page with a next link: following it", _describe(current))
            current = following
        raise ProviderError(f"{self.url} answered {MAX_EMPTY_PAGES + 1} empty pages in a row, each with a next "
                            "link: the server seems to loop")

    def _fetch_one(self, position: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any] | None, int | None]:
        self._remember(position)
        method = str(position.get("method", "GET")).upper()
        href = str(position["href"])
        body = position.get("body") if method == "POST" else None
        answer = self.client.request_json(method, href, json=body, headers=position.get("headers"))
        data = self._object(answer.data, "an ItemCollection")
        features = data.get("features")
        if not isinstance(features, list):
            raise ProviderError(f"{method} {href} answered without a features array", status=answer.status)
        following = _next_request(position, data.get("links"), answer.url)
        if following is not None:
            # With random access the pages ahead are requested before the links that name them are read;
            # offsets only step forward there, so only sequential paging can loop.
            with self._lock:
                looped = self._step is None and _request_key(following) in self._requested
            if looped:
                raise ProviderError(f"the next link of {_describe(position)} leads back to a page already fetched "
                                    f"in this run ({_describe(following)}): the server loops")
            if self._step is None:
                self._step = _offset_step(position, following)
                if self._step is not None:
                    log.info("%s pages by %r: fetching pages at once", self.url, self._step[1])
        return features, following, _matched(data)

    def new_run(self) -> None:
        """Forget the requests and items of earlier runs (the engine calls it as a run starts or resumes)."""
        with self._lock:
            self._requested.clear()
            self._seen.clear()

    def _remember(self, position: Mapping[str, Any]) -> None:
        with self._lock:
            self._requested.add(_request_key(position))

    def _unseen(self, features: list[Any], position: Mapping[str, Any]) -> list[Any]:
        """The features not passed on before in this run (what is not an item is the engine's to refuse)."""
        fresh: list[Any] = []
        repeated: list[str] = []
        with self._lock:
            for feature in features:
                item_id = feature.get("id") if isinstance(feature, Mapping) else None
                if not isinstance(item_id, str):
                    fresh.append(feature)
                    continue
                key = (str(feature.get("collection")), item_id)
                if key in self._seen:
                    repeated.append(item_id)
                    continue
                self._seen.add(key)
                fresh.append(feature)
        if repeated and not fresh:
            raise ProviderError(f"{_describe(position)} holds only items already harvested in this run "
                                f"({', '.join(repeated[:3])}...): the server loops")
        if repeated:
            log.warning("%s repeats %d items of earlier pages (%s...): each is written once",
                        _describe(position), len(repeated), ", ".join(repeated[:3]))
        return fresh

    def following(self, position: Mapping[str, Any]) -> dict[str, Any] | None:
        """The next request, when the server was seen to page by an integer offset or page number."""
        if self._step is None:
            return None
        where, key, step = self._step
        if where == "body":
            body = position.get("body")
            if not isinstance(body, Mapping) or not _is_int(body.get(key)):
                return None
            moved = copy.deepcopy(dict(position))
            moved["body"][key] = int(body[key]) + step
            return moved
        href = str(position["href"])
        params = dict(parse_qsl(urlsplit(href).query, keep_blank_values=True))
        if not _is_int(params.get(key)):
            return None
        params[key] = str(int(params[key]) + step)
        return {**position, "href": _with_query(href, params)}

    def _landing_page(self) -> dict[str, Any]:
        if self._landing is None:
            answer = self.client.request_json("GET", self.url)
            self._landing = self._object(answer.data, "a STAC API landing page")
        return self._landing

    def _since_filter(self, since: dt.datetime, method: Method, landing: Mapping[str, Any]) -> dict[str, Any]:
        conforms = [str(c) for c in landing.get("conformsTo", [])]
        language = _CQL2_JSON if method == "POST" else _CQL2_TEXT
        if not (any(c.endswith(_FILTER) for c in conforms) and any(c.endswith(language) for c in conforms)):
            log.warning(
                "%s does not support %s filters: harvesting everything, not only what changed since %s",
                self.url, language, format_datetime(since),
            )
            return {}
        stamp = format_datetime(since)
        if method == "POST":
            return {"filter-lang": _CQL2_JSON,
                    "filter": {"op": ">=", "args": [{"property": "updated"}, {"timestamp": stamp}]}}
        return {"filter-lang": _CQL2_TEXT, "filter": f"updated >= TIMESTAMP('{stamp}')"}

    def _object(self, data: Any, what: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ProviderError(f"{self.url} answered {type(data).__name__} where {what} was expected")
        return data


def create(options: SourceOptions) -> StacApiSource:
    """The source of ``stac-bridge harvest stac``.

    ``options.extra`` may hold ``method`` (``"GET"`` or ``"POST"``) and ``headers`` (sent with every request,
    e.g. an API key).

    Raises:
        ConfigError: no URL is given.
    """
    if not options.url:
        raise ConfigError("a STAC API harvest needs the API's URL (--url)")
    client = create_client(timeout=options.timeout, retry=options.retry, headers=options.extra.get("headers"),
                           private_to=options.url)
    return StacApiSource(
        options.url,
        client=client,
        collections=options.collections,
        bbox=options.bbox,
        datetime=options.datetime,
        limit=options.page_size or DEFAULT_LIMIT,
        method=options.extra.get("method"),
    )


def _request_key(request: Mapping[str, Any]) -> str:
    """One request as a comparable string: method, URL, body."""
    return json.dumps([str(request.get("method", "GET")).upper(), str(request.get("href")), request.get("body")],
                      sort_keys=True, default=str)


def _describe(request: Mapping[str, Any]) -> str:
    body = request.get("body")
    text = f"{str(request.get('method', 'GET')).upper()} {request.get('href')}"
    return text + (f" {json.dumps(body, default=str)[:120]}" if body else "")


def _matched(data: Mapping[str, Any]) -> int | None:
    matched = data.get("numberMatched")
    if matched is None and isinstance(data.get("context"), Mapping):
        matched = data["context"].get("matched")
    return matched if _is_int(matched) else None


def _next_request(current: Mapping[str, Any], links: Any, base: str) -> dict[str, Any] | None:
    """The request a ``rel=next`` link describes, as STAC API paging defines it."""
    if not isinstance(links, list):
        return None
    nexts = (x for x in links if isinstance(x, Mapping) and x.get("rel") == "next" and x.get("href"))
    link = next(nexts, None)
    if link is None:
        return None
    method = str(link.get("method", "GET")).upper()
    request: dict[str, Any] = {"method": method, "href": urljoin(base, str(link["href"]))}
    if method == "POST":
        body = link.get("body")
        previous = current.get("body") or {}
        if link.get("merge"):
            request["body"] = {**previous, **(body or {})}
        else:
            request["body"] = dict(body) if isinstance(body, Mapping) else dict(previous)
    if isinstance(link.get("headers"), Mapping):
        request["headers"] = dict(link["headers"])
    return request


def _offset_step(current: Mapping[str, Any], following: Mapping[str, Any]) -> tuple[str, str, int] | None:
    """Where, which and by how much the paging parameter moves, when it is the only difference."""
    if current.get("method") != following.get("method") or current.get("headers") != following.get("headers"):
        return None
    a, b = urlsplit(str(current["href"])), urlsplit(str(following["href"]))
    if (a.scheme, a.netloc, a.path) != (b.scheme, b.netloc, b.path):
        return None
    query_a, query_b = dict(parse_qsl(a.query)), dict(parse_qsl(b.query))
    changes = [("query", key, x, y) for key, x, y in _differences(query_a, query_b)]
    body_a, body_b = current.get("body"), following.get("body")
    if isinstance(body_a, Mapping) and isinstance(body_b, Mapping):
        changes += [("body", key, x, y) for key, x, y in _differences(body_a, body_b)]
    elif body_a != body_b:
        return None
    if len(changes) != 1:
        return None
    where, key, before, after = changes[0]
    if key not in _OFFSET_KEYS or not (_is_int(before) and _is_int(after)):
        return None
    step = int(after) - int(before)
    return (where, key, step) if step > 0 else None


def _differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(key, a.get(key), b.get(key)) for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.isdigit()


def _with_query(href: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(href)
    merged = {**dict(parse_qsl(parts.query, keep_blank_values=True)), **params}
    return urlunsplit(parts._replace(query=urlencode(merged)))
