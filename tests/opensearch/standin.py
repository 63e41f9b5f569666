"""A stand-in Terrascope / VITO OpenSearch catalogue for tests: a real HTTP server on 127.0.0.1 and a free port.

It speaks the protocol of ``shared/providers/PROTOCOLS.md`` (as terracatalogueclient 0.1.19 uses it), under
``/catalogue/`` like the real service:

* ``GET {URL}collections`` (``bbox``, ``start``, ``end``, ``uid``) and ``GET {URL}products?collection=...``
  filtered by ``uid``, ``start``/``end`` (acquisition overlaps; a date-only ``end`` includes its day), ``bbox``,
  ``geometry`` (WKT), ``cloudCover`` and ``relativeOrbitNumber`` intervals (``60]``, ``[10,60]``...),
  ``productType``, ``orbitDirection``, ``tileId``, ``modificationDate`` and ``publicationDate`` intervals;
  other parameters (``sortKeys``, ``accessedFrom``...) are accepted and ignored;
* answers: a FeatureCollection with ``totalResults``, ``itemsPerPage``, a 1-based ``startIndex`` and
  ``properties.links`` ``first``/``last``/``next``/``previous`` as lists of ``{"href"}``, absolute and carrying
  every parameter of the request; ``count`` (default ``page_size``, capped at ``max_count``) and
  ``startIndex`` page; ``count=0`` answers only ``{"totalResults": n}``;
* ``latency`` seconds per answer; :meth:`OpenSearchStandIn.fail` makes the next answers fail (429 with
  ``Retry-After``, 500...).

The catalog is made from the recorded fixtures: :func:`collections` (the recorded ones plus the two
collections of the recorded products) and :func:`products` (re-dated, re-identified, shifted copies).

Run ``python -m tests.opensearch.standin --products N --latency S``: prints the URL, serves until stdin closes.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import shapely
import shapely.affinity
import shapely.geometry
import shapely.wkt

from tests.localhttp import JsonHandler, LocalHTTPServer, Served
from tests.wire import instant, numeric_interval, opensearch_page_links

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "opensearch"
PREFIX = "/catalogue/"
TOC = "urn:eop:VITO:TERRASCOPE_S2_TOC_V2"
FAPAR = "urn:eop:VITO:TERRASCOPE_S2_FAPAR_V2"
BASE_TIME = dt.datetime(2022, 1, 1, 10, 30, tzinfo=dt.UTC)
PAGE_SIZE = 20
MAX_COUNT = 1000


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def os_time(value: dt.datetime) -> str:
    """A datetime as Terrascope writes it: UTC, milliseconds, ``Z``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- the catalog ----------------------------------------------------------------------------------------------

def collections() -> list[dict[str, Any]]:
    """The recorded collection features, plus the collections of the recorded products (made from look-alikes)."""
    recorded = load("collections.json")["features"]
    by_id = {f["id"]: f for f in recorded}
    derived = [
        _renamed(by_id["urn:eop:VITO:CGS_S2_RAD_L2_V200"], TOC, "Sentinel-2 top-of-canopy reflectance, V2"),
        _renamed(by_id["urn:eop:VITO:CGS_S2_FAPAR"], FAPAR, "Sentinel-2 FAPAR, V2"),
    ]
    return [*recorded, *derived]


def _renamed(template: Mapping[str, Any], new_id: str, title: str) -> dict[str, Any]:
    feature = copy.deepcopy(dict(template))
    feature["id"] = new_id
    feature["properties"]["identifier"] = new_id
    feature["properties"]["title"] = title
    for link in feature["properties"].get("links", {}).get("search", []):  # its own description, not the template's
        link["href"] = link["href"].replace(f"collection={template['id']}", f"collection={new_id}")
    return feature


def products(count: int, *, collection: str = TOC, start: dt.datetime = BASE_TIME) -> list[dict[str, Any]]:
    """``count`` products of ``collection``: the recorded ones re-dated (6 h apart), re-identified and shifted.

    Product ``i`` is acquired at ``start + i * 6 h``, modified a day later, shifted ``(i % 20) / 4`` degrees east
    and ``(i // 20 % 20) / 4`` north, with a cloud cover of ``i * 37 % 1000 / 10`` percent.
    """
    name = "products_recorded_S2_TOC_V2.json" if collection == TOC else "products_recorded_S2_FAPAR_V2.json"
    templates = load(name)["features"]
    return [_product(templates[i % len(templates)], i, start) for i in range(count)]


def _product(template: Mapping[str, Any], index: int, start: dt.datetime) -> dict[str, Any]:
    feature = copy.deepcopy(dict(template))
    props = feature["properties"]
    title = f"{props['title']}_{index:05d}"
    feature["id"] = props["identifier"] = f"{props['parentIdentifier']}:{title}"
    props["title"] = title
    when = start + dt.timedelta(hours=6 * index)
    modified = when + dt.timedelta(days=1)
    props["date"] = os_time(when)
    props["updated"] = props["published"] = os_time(modified)
    for entry in props.get("acquisitionInformation", []):
        parameters = entry.get("acquisitionParameters")
        if parameters:
            parameters["beginningDateTime"] = parameters["endingDateTime"] = os_time(when)
    props["productInformation"]["cloudCover"] = index * 37 % 1000 / 10
    dx, dy = (index % 20) / 4, (index // 20 % 20) / 4
    shape = shapely.affinity.translate(shapely.geometry.shape(feature["geometry"]), dx, dy)
    feature["geometry"] = shapely.geometry.mapping(shape)
    feature["geometry"]["coordinates"] = json.loads(json.dumps(feature["geometry"]["coordinates"]))
    west, south, east, north = feature["bbox"]
    feature["bbox"] = [west + dx, south + dy, east + dx, north + dy]
    return feature


# --- filtering ------------------------------------------------------------------------------------------------

def _instant(text: str, *, end: bool) -> dt.datetime:
    if len(text) == 10:  # a date: its first or last instant
        day = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        return day + dt.timedelta(days=1, microseconds=-1) if end else day
    return instant(text)


def _time_interval(text: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """An OpenSearch interval of datetimes (``[a``, ``a]``, ``[a,b]``), taken as inclusive."""
    body = text.strip().strip("[]{}")
    if "," in body:
        low, high = body.split(",", 1)
        return _instant(low, end=False), _instant(high, end=True)
    if text.strip().startswith(("[", "]")):
        return _instant(body, end=False), None
    if text.strip().endswith(("[", "]")):
        return None, _instant(body, end=True)
    return _instant(body, end=False), _instant(body, end=True)


def _acquisition(props: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for entry in props.get("acquisitionInformation", []):
        merged.update(entry.get("acquisitionParameters", {}))
    return merged


def _span(props: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    parameters = _acquisition(props)
    begin = parameters.get("beginningDateTime") or str(props["date"]).split("/")[0]
    end = parameters.get("endingDateTime") or str(props["date"]).split("/")[-1]
    return instant(begin), instant(end)


def _in(interval: Callable[[float], bool], value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and interval(value)


def _filters(params: Mapping[str, str]) -> list[Callable[[dict[str, Any]], bool]]:
    tests: list[Callable[[dict[str, Any]], bool]] = []
    if "collection" in params:
        tests.append(lambda f: f["properties"].get("parentIdentifier") == params["collection"])
    if "uid" in params:
        tests.append(lambda f: f["id"] == params["uid"])
    if "start" in params:
        low = _instant(params["start"], end=False)
        tests.append(lambda f: _span(f["properties"])[1] >= low)
    if "end" in params:
        high = _instant(params["end"], end=True)
        tests.append(lambda f: _span(f["properties"])[0] <= high)
    area = None
    if "bbox" in params:
        area = shapely.geometry.box(*(float(v) for v in params["bbox"].split(",")))
    if "geometry" in params:
        area = shapely.wkt.loads(params["geometry"])
    if area is not None:
        region = area
        tests.append(lambda f: region.intersects(shapely.geometry.shape(f["geometry"])))
    for name, read in (("cloudCover", lambda p: p.get("productInformation", {}).get("cloudCover")),
                       ("relativeOrbitNumber", lambda p: _acquisition(p).get("relativeOrbitNumber"))):
        if name in params:
            interval, reader = numeric_interval(params[name]), read
            tests.append(lambda f, i=interval, r=reader: _in(i, r(f["properties"])))
    if "productType" in params:
        kind = params["productType"]
        tests.append(lambda f: f["properties"].get("productInformation", {}).get("productType") == kind)
    if "orbitDirection" in params:
        wanted = params["orbitDirection"].upper()
        tests.append(lambda f: str(_acquisition(f["properties"]).get("orbitDirection", "")).upper() == wanted)
    if "tileId" in params:
        tests.append(lambda f: _acquisition(f["properties"]).get("tileId") == params["tileId"])
    for name, member in (("modificationDate", "updated"), ("publicationDate", "published")):
        if name in params:
            low_at, high_at = _time_interval(params[name])
            tests.append(lambda f, m=member, lo=low_at, hi=high_at: _between(f["properties"].get(m), lo, hi))
    return tests


def _between(value: Any, low: dt.datetime | None, high: dt.datetime | None) -> bool:
    if not isinstance(value, str):
        return False
    moment = instant(value)
    return (low is None or moment >= low) and (high is None or moment <= high)


def _collection_filters(params: Mapping[str, str]) -> list[Callable[[dict[str, Any]], bool]]:
    tests: list[Callable[[dict[str, Any]], bool]] = []
    if "uid" in params:
        tests.append(lambda f: f["id"] == params["uid"])
    if "bbox" in params:
        area = shapely.geometry.box(*(float(v) for v in params["bbox"].split(",")))
        tests.append(lambda f: area.intersects(shapely.geometry.box(*f["bbox"][:4])))
    return tests


# --- the server -----------------------------------------------------------------------------------------------

@dataclass
class OpenSearchStandIn(Served):
    """The stand-in catalogue. Use as a context manager; ``url`` is its base URL (ending in ``/catalogue/``)."""

    collection_features: Sequence[dict[str, Any]] = field(default_factory=collections)
    product_features: Sequence[dict[str, Any]] = field(default_factory=list)
    page_size: int = PAGE_SIZE
    max_count: int = MAX_COUNT
    latency: float = 0.0
    requests: list[str] = field(default_factory=list)
    #: The most requests answered at once.
    max_in_flight: int = 0
    _in_flight: int = 0
    _failures: list[tuple[int, str | None]] = field(default_factory=list)
    _matches: dict[tuple[tuple[str, str], ...], list[dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: Keep each encoded answer and send it again for the same query (benchmarks: a real server runs on its own
    #: machine, so encoding pages must not take the harvester's CPU). Only for a catalog that does not change.
    prerendered: bool = False
    _rendered: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[int, dict[str, str], bytes]] = field(
        default_factory=dict)

    def __post_init__(self) -> None:
        standin = self

        class Handler(JsonHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 - the base class names it so
                status, headers, data = standin.render(self.path)
                kind = "application/geo+json" if status == 200 else "application/json"  # as Terrascope labels them
                self.send_bytes(status, data, headers, content_type=kind)

        self._http = LocalHTTPServer(Handler)

    @property
    def url(self) -> str:
        return self._http.url + PREFIX

    def fail(self, status: int, times: int = 1, *, retry_after: str | None = None) -> None:
        """The next ``times`` answers are ``status`` (with ``Retry-After`` when given)."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * times)

    def product_requests(self) -> list[dict[str, str]]:
        """The query parameters of every ``products`` request answered, in order."""
        with self._lock:
            return [dict(parse_qsl(urlsplit(p).query)) for p in self.requests if urlsplit(p).path.endswith("/products")]

    # --- answering ------------------------------------------------------------------------------------------

    def render(self, target: str) -> tuple[int, dict[str, str], bytes]:
        """The answer to ``target`` encoded; with :attr:`prerendered`, encoded once per query."""
        parts = urlsplit(target)
        key = (parts.path, tuple(sorted(parse_qsl(parts.query, keep_blank_values=True))))
        cached = self._rendered.get(key) if self.prerendered else None
        if cached is not None:
            self.answer(target, compute=False)
            return cached
        status, headers, document = self.answer(target)
        rendered = (status, headers, json.dumps(document).encode())
        if self.prerendered and status == 200:
            self._rendered[key] = rendered
        return rendered

    def answer(self, target: str, *, compute: bool = True) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.requests.append(target)
            failure = self._failures.pop(0) if self._failures else None
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            return self._answer(target, failure) if compute else (200, {}, None)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, target: str, failure: tuple[int, str | None] | None) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(target)
        if failure is not None:
            status, retry_after = failure
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            return status, headers, {"error": f"injected {status}"}
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if parts.path == PREFIX + "collections":
            return self._page(parts.path, params, lambda: self._select(self.collection_features, params,
                                                                      _collection_filters))
        if parts.path == PREFIX + "products":
            if not params.get("collection"):
                return 400, {}, {"error": "the collection parameter is required"}
            try:
                return self._page(parts.path, params, lambda: self._select(self.product_features, params, _filters))
            except (ValueError, shapely.errors.ShapelyError) as exc:
                return 400, {}, {"error": f"bad parameter: {exc}"}
        return 404, {}, {"error": f"no such path {parts.path}"}

    def _select(self, features: Sequence[dict[str, Any]], params: Mapping[str, str],
                make: Callable[[Mapping[str, str]], list[Callable[[dict[str, Any]], bool]]]) -> list[dict[str, Any]]:
        key = tuple(sorted((k, v) for k, v in params.items() if k not in ("startIndex", "count")))
        with self._lock:
            cached = self._matches.get(key) if features is self.product_features else None
        if cached is not None:
            return cached
        tests = make(params)
        chosen = [f for f in features if all(test(f) for test in tests)]
        if features is self.product_features:
            with self._lock:
                self._matches[key] = chosen
        return chosen

    def _page(self, path: str, params: dict[str, str],
              select: Callable[[], list[dict[str, Any]]]) -> tuple[int, dict[str, str], Any]:
        matches = select()
        total = len(matches)
        count = min(int(params.get("count", self.page_size)), self.max_count)
        if count == 0:
            return 200, {}, {"totalResults": total}
        start = int(params.get("startIndex", "1"))
        chosen = matches[start - 1:start - 1 + count]
        links = opensearch_page_links(f"{self._http.url}{path}", list(params.items()), start=start, count=count,
                                      total=total, media_type="application/geo+json")
        return 200, {}, {
            "type": "FeatureCollection",
            "id": f"{self._http.url}{path}?{urlencode(params)}",
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(chosen),
            "features": chosen,
            "properties": {"title": "Product Search result", "subtitle": f"Number of results: {total}",
                           "creator": "stand-in OpenSearch", "lang": "en", "links": links},
        }


def main() -> None:
    """Serve until stdin closes: ``python -m tests.opensearch.standin --products N --latency S``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE)
    parser.add_argument("--prerendered", action="store_true", help="encode each answer once (benchmarks)")
    args = parser.parse_args()
    with OpenSearchStandIn(product_features=products(args.products), latency=args.latency,
                           page_size=args.page_size, prerendered=args.prerendered) as standin:
        print(standin.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
