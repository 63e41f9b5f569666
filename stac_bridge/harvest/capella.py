"""Capella Space: the console API's catalog search and the user's tasking requests, as a harvest source.

The catalog is searched as capella-console-client searches it: ``POST {base}/catalog/search`` with
``collections``, ``bbox``, ``limit``, ``sortby`` and the datetime inside ``query`` (``{"datetime": {"eq":
"a/b"}}``); the following page is the same body with ``"page": n`` POSTed to the ``next`` link. Pages are
numbered, so once the first page of a search has told how many items match (``numberMatched``), the later
pages are known in advance and fetched several at once.

Capella serves at most 10,000 items per search. When a search matches more, its datetime window is cut in
two (the second half starting one microsecond after the first ends, so that no item falls in both) and each
half is searched on its own, recursively, until every window fits. The windows still to search travel in the
position, which stays plain JSON for the checkpoints.

Tasking requests are listed as the console client lists them: ``POST {base}/tasks/search?page=n&limit=m``
with ``{"query": {"includeRepeatingTasks": {"eq": false}, "userId": <id of GET /user>}}``; the answer holds
``results``, ``currentPage`` and ``totalPages``. They are harvested when the collection ``capella-tasking``
is asked for, and become Items of that collection through the tasking transforms.

Credentials come from the environment: ``CAPELLA_API_KEY`` (``Authorization: ApiKey <key>``) or, without
it, ``CAPELLA_TOKEN`` (``Authorization: Bearer <token>``); with neither, requests go without credentials (a
stac-bridge ``/capella`` endpoint needs none).
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import httpx

from stac_bridge.errors import ConfigError, ProviderError
from stac_bridge.harvest import SourceOptions
from stac_bridge.harvest.engine import Page
from stac_bridge.harvest.http import ApiKey, BearerToken, HttpClient, HttpSource, create_client
from stac_bridge.search import parse_datetime_interval
from stac_bridge.transforms import capella
from stac_bridge.transforms._common import format_datetime, parse_datetime
from stac_bridge.transforms.capella_query import DEFAULT_LIMIT, MAX_PAGE_SIZE, stac_to_search_body

__all__ = ["API_KEY_ENV", "DEFAULT_URL", "TOKEN_ENV", "CapellaSource", "create", "credentials"]

log = logging.getLogger(__name__)

DEFAULT_URL: Final = "https://api.capellaspace.com"
API_KEY_ENV: Final = "CAPELLA_API_KEY"
TOKEN_ENV: Final = "CAPELLA_TOKEN"
#: What a search without ``collections`` harvests.
DEFAULT_COLLECTIONS: Final = (capella.ARCHIVE_COLLECTION_ID,)
#: The most items Capella serves for one search, whatever the paging.
MAX_RESULTS: Final = 10_000
#: Page sizes of the tasking request search (the console client's default and Capella's largest).
TASK_PAGE_SIZE: Final = 250
MAX_TASK_PAGE_SIZE: Final = 500
#: Where an open datetime window starts when it has to be cut: before Capella's first satellite (Dec 2018).
EARLIEST: Final = "2018-01-01T00:00:00Z"
#: A window shorter than this is not cut any further (its items share one instant, or nearly).
MIN_WINDOW: Final = dt.timedelta(seconds=1)
#: A stable order, so that numbered pages neither skip nor repeat an item.
SORTBY: Final = ({"field": "properties.datetime", "direction": "asc"}, {"field": "id", "direction": "asc"})

_CATALOG: Final = "catalog"
_TASKS: Final = "tasks"
_OPEN: Final = ("", "..")

Window = list[str | None]


class CapellaSource(HttpSource):
    """Harvest Capella's catalog (and, on request, the user's tasking requests) through the console API.

    Args:
        url: The console API root, e.g. ``https://api.capellaspace.com``.
        client: The HTTP client, authenticated (:func:`create`).
        collections: Collection ids to harvest; ``capella-tasking`` stands for the tasking requests.
        bbox: ``[west, south, east, north]`` to search.
        datetime: A STAC datetime or interval (``2024-01-01T00:00:00Z/2024-02-01T00:00:00Z``, ``../2024-01-01``).
        limit: Items per catalog page (at most 900, as Capella serves).
        query: Further Capella ``query`` filters, e.g. ``{"sar:product_type": {"in": ["GEO"]}}``.
        max_results: The most items Capella serves per search (10,000); larger searches are cut by datetime.
        task_page_size: Tasking requests per page (250 to 500 for Capella).

    Attributes:
        name: ``"capella"``.
        adapter: ``"capella"``.
    """

    name = "capella"
    adapter = "capella"

    def __init__(
        self,
        url: str,
        *,
        client: HttpClient,
        collections: Sequence[str] = DEFAULT_COLLECTIONS,
        bbox: Sequence[float] | None = None,
        datetime: str | None = None,
        limit: int = DEFAULT_LIMIT,
        query: Mapping[str, Any] | None = None,
        max_results: int = MAX_RESULTS,
        task_page_size: int = TASK_PAGE_SIZE,
    ) -> None:
        if bbox is not None and len(bbox) != 4:
            raise ConfigError(f"a Capella bbox has 4 numbers, not {len(bbox)}")
        if limit < 1 or max_results < 1 or task_page_size < 1:
            raise ConfigError("the page sizes and max_results must be at least 1")
        self.url = url.rstrip("/")
        self.client = client
        self.collections = list(collections) or list(DEFAULT_COLLECTIONS)
        self.bbox = [float(v) for v in bbox] if bbox is not None else None
        self.window = _window(datetime)
        self.limit = min(limit, MAX_PAGE_SIZE)
        self.query_filters = copy.deepcopy(dict(query or {}))
        self.max_results = max_results
        self.task_page_size = task_page_size
        # Split when more match than whole pages can reach, so that no page asks past the cap.
        self._reachable = max(max_results // self.limit, 1) * self.limit

    @property
    def catalog_collections(self) -> list[str]:
        """The collections searched in the catalog (all asked for but the tasking collection)."""
        return [c for c in self.collections if c != capella.TASKING_COLLECTION_ID]

    @property
    def tasking(self) -> bool:
        """Whether the tasking requests are harvested."""
        return capella.TASKING_COLLECTION_ID in self.collections

    def query(self) -> dict[str, Any]:
        """The URL and search parameters (no credentials)."""
        return {
            "url": self.url,
            "collections": self.collections,
            "bbox": self.bbox,
            "datetime": _interval(self.window),
            "limit": self.limit,
            "query": self.query_filters,
            "max_results": self.max_results,
        }

    def collection_records(self) -> list[dict[str, Any]]:
        """The STAC Collections the items go to: each catalog collection, and ``capella-tasking`` if asked."""
        # Their extents start as the search's: the loader computes them from the items after each load.
        interval = [None if end in _OPEN else end for end in self.window]
        collections = [capella.catalog_collection(cid, bbox=self.bbox, interval=interval)
                       for cid in self.catalog_collections]
        if self.tasking:
            collections.append(capella.tasking_collection(bbox=self.bbox))
        return [c.to_dict(include_self_link=False, transform_hrefs=False) for c in collections]

    def start(self, since: dt.datetime | None) -> dict[str, Any]:
        """The first page: of the catalog search, else of the tasking requests (whose search needs ``GET /user``).

        Args:
            since: Only items ``updated`` (tasking requests whose status changed) at or after this instant.
        """
        jobs: list[dict[str, Any]] = []
        stamp = format_datetime(since) if since is not None else None
        if self.catalog_collections:
            body: dict[str, Any] = {"collections": self.catalog_collections, "limit": self.limit,
                                    "sortby": [dict(s) for s in SORTBY]}
            if self.bbox is not None:
                body["bbox"] = self.bbox
            filters = copy.deepcopy(self.query_filters)
            if stamp is not None:
                filters["updated"] = {"gte": stamp}
            if filters:
                body["query"] = filters
            jobs.append({"search": _CATALOG, "body": body, "window": self.window})
        if self.tasking:
            user = self._object(self.client.request_json("GET", f"{self.url}/user").data, "a user record")
            task_query: dict[str, Any] = {"includeRepeatingTasks": {"eq": False}, "userId": user.get("id")}
            if stamp is not None:
                task_query["lastStatusTime"] = {"gte": stamp}
            jobs.append({"search": _TASKS, "body": {"query": task_query}})
        return _first(jobs[0], jobs[1:], total=None)

    def fetch(self, position: Mapping[str, Any]) -> Page:
        """One page; a catalog window matching more than Capella serves is cut first, an empty one skipped.

        Raises:
            ProviderError: the answer is not what Capella sends.
        """
        current: Mapping[str, Any] = position
        while True:
            outcome = self._tasks(current) if current["job"]["search"] == _TASKS else self._catalog(current)
            if isinstance(outcome, Page):
                return outcome
            current = outcome

    def following(self, position: Mapping[str, Any]) -> dict[str, Any] | None:
        """The next page's position, once the first page of the search told how many there are."""
        matched = position.get("matched")
        if matched is None:
            return None
        page = int(position["page"])
        if position["job"]["search"] == _TASKS:
            more = page < matched
        else:
            more = page * self.limit < min(matched, self._reachable)
        if more:
            return {**position, "page": page + 1, "href": None}
        return _after(position)

    # --- the catalog ----------------------------------------------------------------------------------

    def _catalog(self, position: Mapping[str, Any]) -> Page | dict[str, Any]:
        job = position["job"]
        page = int(position["page"])
        body = copy.deepcopy(job["body"])
        interval = _interval(job["window"])
        if interval is not None:
            body.setdefault("query", {})["datetime"] = {"eq": interval}
        if page > 1:
            body["page"] = page
        href = position.get("href") or f"{self.url}/catalog/search"
        answer = self.client.request_json("POST", href, json=body)
        data = self._object(answer.data, "an ItemCollection")
        features = data.get("features")
        if not isinstance(features, list):
            raise ProviderError(f"POST {href} answered without a features array", status=answer.status)
        matched = data.get("numberMatched")
        matched = matched if isinstance(matched, int) and not isinstance(matched, bool) else None
        total = position.get("total") if position.get("total") is not None else matched
        if page == 1 and matched is not None and matched > self._reachable:
            halves = _halves(job["window"])
            if halves is not None:
                log.info("%s matches %d items, more than Capella serves: searching %s and %s apart",
                         _interval(job["window"]) or "the search", matched, *(_interval(h) for h in halves))
                first, second = ({**job, "window": h} for h in halves)
                return _first(first, [second, *position["todo"]], total=total)
            log.warning("%s matches %d items within less than %s: only the first %d can be harvested",
                        _interval(job["window"]), matched, MIN_WINDOW, self._reachable)
        here = {**position, "matched": matched, "total": total}
        link = _next_href(data.get("links"), answer.url, self.url)
        reached = page * self.limit >= min(matched, self._reachable) if matched is not None else False
        if link is not None and not reached:
            following: dict[str, Any] | None = {**here, "page": page + 1, "href": link}
        else:
            following = _after(here)
        if not features and following is not None and page == 1:
            return following  # an empty window: go on with the next one
        return Page(features, following, total)

    # --- tasking requests ------------------------------------------------------------------------------

    def _tasks(self, position: Mapping[str, Any]) -> Page | dict[str, Any]:
        page = int(position["page"])
        href = f"{self.url}/tasks/search"
        answer = self.client.request_json("POST", href, params={"page": page, "limit": self.task_page_size},
                                          json=position["job"]["body"])
        data = self._object(answer.data, "a page of tasking requests")
        results = data.get("results")
        pages = data.get("totalPages")
        if not isinstance(results, list) or not isinstance(pages, int):
            raise ProviderError(f"POST {href} answered without results and totalPages", status=answer.status)
        here = {**position, "matched": pages}
        following = {**here, "page": page + 1, "href": None} if page < pages else _after(here)
        if not results and following is not None and page == 1:
            return following
        return Page(results, following, position.get("total"))

    def _object(self, data: Any, what: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ProviderError(f"{self.url} answered {type(data).__name__} where {what} was expected")
        return data


def create(options: SourceOptions) -> CapellaSource:
    """The source of ``stac-bridge harvest capella``.

    ``options.url`` defaults to ``https://api.capellaspace.com``; credentials come from ``CAPELLA_API_KEY``
    or ``CAPELLA_TOKEN``. ``options.extra`` may hold ``headers`` (sent with every request), ``query`` (Capella
    query filters), ``filter`` (a CQL2 filter, text or JSON, translated to query filters by
    :func:`~stac_bridge.transforms.capella_query.stac_to_search_body`), ``max_results`` and ``task_page_size``.

    Raises:
        UntranslatableQueryError: the filter has a part Capella's query cannot say.
    """
    query = dict(options.extra.get("query") or {})
    if options.extra.get("filter") is not None:
        expression = options.extra["filter"]
        language = "cql2-text" if isinstance(expression, str) else "cql2-json"
        translated = stac_to_search_body({"filter": expression, "filter-lang": language}).get("query", {})
        query = {**translated, **query}
    client = create_client(auth=credentials(), timeout=options.timeout, retry=options.retry,
                           headers=options.extra.get("headers"))
    return CapellaSource(
        options.url or DEFAULT_URL,
        client=client,
        collections=options.collections or DEFAULT_COLLECTIONS,
        bbox=options.bbox,
        datetime=options.datetime,
        limit=options.page_size or DEFAULT_LIMIT,
        query=query,
        max_results=int(options.extra.get("max_results", MAX_RESULTS)),
        task_page_size=min(int(options.extra.get("task_page_size", TASK_PAGE_SIZE)), MAX_TASK_PAGE_SIZE),
    )


def credentials(environ: Mapping[str, str] | None = None) -> httpx.Auth | None:
    """``ApiKey`` from ``CAPELLA_API_KEY``, else ``Bearer`` from ``CAPELLA_TOKEN``, else none."""
    env = os.environ if environ is None else environ
    key = env.get(API_KEY_ENV, "").strip()
    if key:
        return ApiKey(key.removeprefix("ApiKey ").strip())
    token = env.get(TOKEN_ENV, "").strip()
    if token:
        return BearerToken(token.removeprefix("Bearer ").strip())
    log.info("neither %s nor %s is set: requests go without credentials", API_KEY_ENV, TOKEN_ENV)
    return None


# --- positions --------------------------------------------------------------------------------------------

def _first(job: Mapping[str, Any], todo: Sequence[Mapping[str, Any]], *, total: int | None) -> dict[str, Any]:
    """The first page of ``job``, with what remains to search after it.

    A position holds the search (``job``: ``catalog`` with its body and datetime window, or ``tasks``), the
    ``page``, the ``href`` to POST to (the last ``next`` link; ``None`` for the search URL), ``matched`` once
    known (the window's ``numberMatched``; for tasks, ``totalPages``), the query's ``total`` and the searches
    still to do (``todo``).
    """
    return {"job": dict(job), "page": 1, "href": None, "matched": None, "total": total, "todo": list(todo)}


def _after(position: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first page of the next search to do, or ``None`` when this one was the last."""
    todo = position["todo"]
    return _first(todo[0], todo[1:], total=position.get("total")) if todo else None


def _next_href(links: Any, answered: str, base: str) -> str | None:
    """The ``next`` link, made absolute; on another host (Capella's gateway), the API's own search URL.

    The console client does the same: it keeps the link's query and POSTs to its own search URL.
    """
    if not isinstance(links, list):
        return None
    link = next((x for x in links if isinstance(x, Mapping) and x.get("rel") == "next" and x.get("href")), None)
    if link is None:
        return None
    href = urljoin(answered, str(link["href"]))
    parts = urlsplit(href)
    if parts.netloc != urlsplit(base).netloc:
        return f"{base}/catalog/search" + (f"?{parts.query}" if parts.query else "")
    return href


# --- datetime windows -------------------------------------------------------------------------------------

def _window(datetime: str | None) -> Window:
    """``[start, end]`` of a STAC datetime or interval, ``None`` for an open end."""
    if not datetime:
        return [None, None]
    try:
        start, end = parse_datetime_interval(datetime).bounds()
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return [start, end]


def _interval(window: Sequence[str | None]) -> str | None:
    """What goes into ``query.datetime.eq``: an instant, an ``a/b`` interval, or nothing for an open window."""
    start, end = window
    if start is None and end is None:
        return None
    if start is not None and start == end:
        return start
    return f"{start or '..'}/{end or '..'}"


def _halves(window: Sequence[str | None]) -> tuple[Window, Window] | None:
    """Two disjoint windows that cover ``window``, or ``None`` when it is too short to cut."""
    start = parse_datetime(window[0] or EARLIEST)
    end = parse_datetime(window[1]) if window[1] is not None else dt.datetime.now(dt.UTC)
    if end - start < MIN_WINDOW:
        return None
    middle = start + (end - start) // 2
    second = middle + dt.timedelta(microseconds=1)
    return ([format_datetime(start), format_datetime(middle)], [format_datetime(second), format_datetime(end)])
