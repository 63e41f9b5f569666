"""A stand-in Descartes Labs Catalog for tests: a real HTTP server on 127.0.0.1 and a free port.

It speaks both protocol versions of ``shared/providers/PROTOCOLS.md``, under the paths of the real service
(``https://platform.descarteslabs.com`` + the same paths), closely enough for the descarteslabs clients:

* v1 catalog (``/metadata/v1/catalog``): ``GET products/{id}``, ``GET products/{pid}/bands/{name}``,
  ``GET products/{pid}/images/{name or id}`` as JSON:API documents; ``POST products``,
  ``POST products/{pid}/bands``, ``POST products/{pid}/images`` (what ``add_product``/``add_band``/
  ``add_image`` send; 409 when the object exists);
* v1 metadata (``/metadata/v1``): ``POST search`` (a bare JSON array; ``X-Continuation-Token`` header, sent
  back as ``continuation_token``; an empty array ends), ``GET bands/all/{pid}`` (the band listing of the v1
  client, ``{band id: attributes}``), ``GET get/{id}``;
* v2 catalog (``/metadata/v1/catalog/v2``): ``GET products/{id}``, ``GET bands/{id}``, ``GET images/{id}``,
  and the searches ``PUT bands``/``PUT images`` (or ``GET`` with the same parameters in the query) with a
  JSON-encoded ``filter`` list (a ``product_id`` filter is required) and an ``intersects`` string, paged by
  ``links.next`` (``?continuation=``); ids percent-encoded; ``application/vnd.api+json``;
* auth: ``Authorization: Bearer <JWT>`` whose ``exp`` is in the future (the signature is not checked, as by
  the SDK), else 401;
* errors as JSON:API ``{"errors": [{"status", "title", "detail"}]}``: 400 (bad filter, body or limit), 404,
  409, and, injected with :meth:`DescartesStandIn.fail_next`, 429 with ``Retry-After`` (seconds) or 5xx.

Usage::

    with DescartesStandIn(catalog()) as server:
        server.metadata_url, server.catalog_url, server.v2_url
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import shapely.geometry
from shapely.geometry.base import BaseGeometry

from tests.descartes.data import ImageEntry, ProductEntry
from tests.localhttp import JsonHandler, LocalHTTPServer, Served
from tests.wire import instant

METADATA = "/metadata/v1"
CATALOG = METADATA + "/catalog"
V2 = CATALOG + "/v2"
JSONAPI = "application/vnd.api+json"
PAGE_SIZE = 1000

Answer = tuple[int, dict[str, str], Any]


def jwt(lifetime: int = 3600) -> str:
    """An unsigned JWT that expires ``lifetime`` seconds from now (negative: already expired)."""

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"sub": "stand-in|user", "iat": now, "exp": now + lifetime, "aud": "stand-in"}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _jwt_valid(token: str) -> bool:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return isinstance(claims, dict) and float(claims["exp"]) > time.time()
    except (IndexError, ValueError, KeyError, TypeError):
        return False


def _error(status: int, title: str, detail: str) -> Answer:
    return status, {}, {"errors": [{"status": str(status), "title": title, "detail": detail}]}


class _BadRequest(Exception):
    """A request the server refuses with 400."""


class DescartesStandIn(Served):
    """The server, its catalog and a log of the requests it answered (method, path with query, body).

    Args:
        products: The catalog (``tests.descartes.data.catalog()``).
        page_size: The most records a page holds, whatever the client asks.
    """

    def __init__(self, products: list[ProductEntry], *, page_size: int = PAGE_SIZE) -> None:
        self.products = {p.id: p for p in products}
        self.page_size = page_size
        self.requests: list[tuple[str, str, Any]] = []
        self.created: dict[str, list[dict[str, Any]]] = {"product": [], "band": [], "image": []}
        self._failures: list[tuple[int, str | None]] = []
        self._lock = threading.Lock()
        self._http = LocalHTTPServer(self._handler())

    @property
    def metadata_url(self) -> str:
        return self.url + METADATA

    @property
    def catalog_url(self) -> str:
        return self.url + CATALOG

    @property
    def v2_url(self) -> str:
        return self.url + V2

    def fail_next(self, status: int, times: int = 1, *, retry_after: str | None = "0") -> None:
        """Answer the next ``times`` authenticated requests with ``status`` (429 says ``Retry-After``)."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * times)

    def paths(self, method: str | None = None) -> list[str]:
        """The paths (with query) requested, in order, of one method or all."""
        return [target for m, target, _ in self.requests if method is None or m == method]

    # --- answering --------------------------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        parts = urlsplit(target)
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = body.decode(errors="replace")
        self.requests.append((method, target, payload))
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not _jwt_valid(auth[len("Bearer "):]):
            return _error(401, "Unauthorized", "a bearer JWT that has not expired is needed")
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            status, retry_after = failure
            code, hdrs, doc = _error(status, "Injected", "injected failure")
            return code, ({"Retry-After": retry_after} if status == 429 and retry_after is not None else hdrs), doc
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        segments = [unquote(s) for s in parts.path.split("/") if s]
        try:
            if parts.path.startswith(V2 + "/"):
                return self._v2(method, segments[len(V2.split("/")) - 1:], query, payload)
            if parts.path.startswith(CATALOG + "/"):
                return self._v1_catalog(method, segments[len(CATALOG.split("/")) - 1:], payload)
            if parts.path.startswith(METADATA + "/"):
                return self._v1_metadata(method, segments[len(METADATA.split("/")) - 1:], payload)
        except _BadRequest as exc:
            return _error(400, "Bad Request", str(exc))
        return _error(404, "Not Found", f"no such path {parts.path}")

    # --- v1 ------------------------------------------------------------------------------------------------

    def _product(self, product_id: str) -> ProductEntry | None:
        return self.products.get(product_id)

    @staticmethod
    def _v1_image(image: ImageEntry) -> dict[str, Any]:
        return {"id": image.id, **copy.deepcopy(image.v1["properties"]), "geometry": image.v1["geometry"]}

    def _v1_catalog(self, method: str, segments: list[str], payload: Any) -> Answer:
        if not segments or segments[0] != "products":
            return _error(404, "Not Found", "no such path")
        if method == "POST":
            return self._v1_create(segments[1:], payload)
        product = self._product(segments[1]) if len(segments) > 1 else None
        if product is None or method != "GET":
            return _error(404, "Not Found", f"product {segments[1:2]} not found")
        if len(segments) == 2:
            return 200, {}, copy.deepcopy(product.v1)
        if len(segments) == 4 and segments[2] == "bands":
            band = next((b for b in product.v1_bands if b["name"] == segments[3]), None)
            if band is not None:
                attrs = {k: v for k, v in band.items() if k != "id"}
                meta = {"modified": "2019-06-12T20:31:48Z"}
                return 200, {}, {"data": {"id": band["id"], "type": "band", "meta": meta,
                                          "attributes": copy.deepcopy(attrs)}}
        if len(segments) == 4 and segments[2] == "images":
            wanted = {segments[3], f"{product.id}:{segments[3]}"}
            image = next((i for i in product.images if i.id in wanted), None)
            if image is not None:
                attrs = self._v1_image(image)
                del attrs["id"]
                meta = {"modified": "2016-07-11T15:45:18Z"}
                return 200, {}, {"data": {"id": image.id, "type": "image", "meta": meta, "attributes": attrs}}
        return _error(404, "Not Found", f"{'/'.join(segments)} not found")

    def _v1_create(self, segments: list[str], payload: Any) -> Answer:
        if not isinstance(payload, dict):
            raise _BadRequest("the body must be a JSON object")
        if not segments:
            product_id = str(payload.get("id") or "")
            if not product_id or not payload.get("title") or not payload.get("description"):
                raise _BadRequest("id, title and description are required")
            if product_id in self.products:
                return _error(409, "Conflict", f"product {product_id} exists")
            attrs = {k: v for k, v in payload.items() if k != "id"}
            doc = {"data": {"id": product_id, "type": "product", "meta": {"owner_type": "user"}, "attributes": attrs}}
            self.products[product_id] = ProductEntry(product_id, doc, {"type": "product", "id": product_id,
                                                                       "attributes": {}}, [], [])
            self.created["product"].append(payload)
            return 201, {}, copy.deepcopy(doc)
        product = self._product(segments[0])
        if product is None:
            return _error(404, "Not Found", f"product {segments[0]} not found")
        kind = segments[1] if len(segments) == 2 else ""
        if kind == "bands":
            missing = [k for k in ("name", "srcband", "dtype", "data_range", "type") if payload.get(k) is None]
            if missing:
                raise _BadRequest(f"missing {missing}")
            band_id = f"{product.id}:{payload['name']}"
            if any(b["id"] == band_id for b in product.v1_bands):
                return _error(409, "Conflict", f"band {band_id} exists")
            product.v1_bands.append({"id": band_id, "product": product.id, **payload})
        elif kind == "images":
            image_id = f"{product.id}:{payload.get('id')}"
            if not payload.get("id"):
                raise _BadRequest("id is required")
            if any(i.id == image_id for i in product.images):
                return _error(409, "Conflict", f"image {image_id} exists")
            properties = {k: v for k, v in payload.items() if k not in ("id", "geometry")}
            properties.update(product=product.id, key=payload["id"])
            feature = {"type": "Feature", "id": image_id, "key": payload["id"], "geometry": payload.get("geometry"),
                       "properties": properties}
            product.images.append(ImageEntry(image_id, feature, {}))
        else:
            return _error(404, "Not Found", "no such path")
        self.created[kind[:-1]].append(payload)
        return 201, {}, {"data": {"id": f"{product.id}:{payload.get('name') or payload.get('id')}",
                                  "type": kind[:-1], "attributes": payload}}

    def _v1_metadata(self, method: str, segments: list[str], payload: Any) -> Answer:
        if method == "POST" and segments == ["search"]:
            return self._v1_search(payload)
        if method == "GET" and len(segments) == 3 and segments[:2] == ["bands", "all"]:
            product = self._product(segments[2])
            bands = product.v1_bands if product is not None else []
            return 200, {}, {b["id"]: copy.deepcopy(b) for b in bands}
        if method == "GET" and len(segments) == 2 and segments[0] == "get":
            for product in self.products.values():
                image = next((i for i in product.images if i.id == segments[1]), None)
                if image is not None:
                    return 200, {}, self._v1_image(image)
        return _error(404, "Not Found", f"{'/'.join(segments)} not found")

    def _v1_search(self, body: Any) -> Answer:
        if not isinstance(body, dict):
            raise _BadRequest("the body must be a JSON object")
        products = body.get("products")
        if not isinstance(products, list) or not products:
            raise _BadRequest("products is required")
        if body.get("date", "acquired") != "acquired":
            raise _BadRequest("the stand-in searches on acquired only")
        limit = _limit(body.get("limit", 100))
        area = _area(body.get("geom"), body.get("bbox"))
        start = _instant(body.get("start_datetime"), "start_datetime")
        end = _instant(body.get("end_datetime"), "end_datetime")
        cloud = body.get("cloud_fraction")
        if cloud is not None and not isinstance(cloud, int | float):
            raise _BadRequest("cloud_fraction must be a number")

        def keep(image: ImageEntry) -> bool:
            when = instant(image.acquired)
            return ((start is None or when >= start) and (end is None or when <= end)
                    and (cloud is None or image.cloud_fraction <= cloud)
                    and (area is None or area.intersects(shapely.geometry.shape(image.v1["geometry"]))))

        found = [i for p in products if (entry := self._product(str(p))) for i in entry.images if keep(i)]
        found.sort(key=lambda i: i.acquired, reverse=body.get("sort_order") == "desc")
        offset = _token_offset(body.get("continuation_token"))
        page = found[offset:offset + min(limit, self.page_size)]
        headers = {}
        if page:
            headers["X-Continuation-Token"] = _token(offset + len(page))
        return 200, headers, [copy.deepcopy(i.v1) for i in page]

    # --- v2 ------------------------------------------------------------------------------------------------

    def _v2(self, method: str, segments: list[str], query: dict[str, str], payload: Any) -> Answer:
        if len(segments) == 2 and method == "GET":
            return self._v2_get(segments[0], segments[1], query)
        if len(segments) == 1 and segments[0] in ("bands", "images") and method in ("GET", "PUT"):
            params = dict(query)
            if method == "PUT":
                if not isinstance(payload, dict):
                    raise _BadRequest("the body must be a JSON object")
                params.update({k: v for k, v in payload.items() if k != "continuation"})
            return self._v2_search(segments[0], params, query.get("continuation"))
        return _error(404, "Not Found", f"{method} {'/'.join(segments)} is not served")

    def _v2_get(self, kind: str, object_id: str, query: dict[str, str]) -> Answer:
        for product in self.products.values():
            if kind == "products" and product.id == object_id:
                return 200, {}, {"data": copy.deepcopy(product.v2), "jsonapi": {"version": "1.0"}}
            pool = product.v2_bands if kind == "bands" else [i.v2 for i in product.images] if kind == "images" else []
            found = next((r for r in pool if r.get("id") == object_id), None)
            if found is not None:
                doc: dict[str, Any] = {"data": copy.deepcopy(found), "jsonapi": {"version": "1.0"}}
                if query.get("include") == "product":
                    doc["included"] = [copy.deepcopy(product.v2)]
                return 200, {}, doc
        return _error(404, "Not Found", f"{kind[:-1]} {object_id} not found")

    def _v2_search(self, kind: str, params: dict[str, Any], continuation: str | None) -> Answer:
        filters = _filters(params.get("filter"))
        product_ids = _required_products(filters)
        area = _area(_json_param(params.get("intersects"), "intersects"), None)
        limit = _limit(params.get("limit", 100))
        pool: list[dict[str, Any]] = []
        for product_id in product_ids:
            product = self._product(product_id)
            if product is not None:
                pool += product.v2_bands if kind == "bands" else [i.v2 for i in product.images if i.v2]
        matched = [r for r in pool if all(_matches(f, r["attributes"]) for f in filters)
                   and (area is None or _intersects(area, r["attributes"]))]
        sort = str(params.get("sort") or ("sort_order" if kind == "bands" else "acquired"))
        field, descending = sort.lstrip("-"), sort.startswith("-")
        matched.sort(key=lambda r: (r["attributes"].get(field) is None, _comparable(r["attributes"].get(field) or 0)),
                     reverse=descending)
        offset = _token_offset(continuation)
        page = matched[offset:offset + min(limit, self.page_size)]
        path = f"{V2}/{kind}"
        links: dict[str, Any] = {"self": f"{self.url}{path}"}
        if offset + len(page) < len(matched) and page:
            links["next"] = f"{self.url}{path}?continuation={quote(_token(offset + len(page)))}"
        doc: dict[str, Any] = {"meta": {"count": len(matched)}, "data": copy.deepcopy(page),
                               "jsonapi": {"version": "1.0"}, "links": links}
        if params.get("include") == "product":
            doc["included"] = [copy.deepcopy(self.products[p].v2) for p in product_ids if p in self.products]
        return 200, {}, doc

    def _handler(self) -> type[JsonHandler]:
        standin = self

        class Handler(JsonHandler):
            def _serve(self) -> None:
                status, headers, doc = standin.answer(self.command, self.path, self.headers, self.read_body())
                v2 = urlsplit(self.path).path.startswith(V2)
                self.send_json(status, doc, headers, content_type=JSONAPI if v2 else "application/json")

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler


# --- request parsing --------------------------------------------------------------------------------------------

def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _token_offset(token: Any) -> int:
    if token in (None, ""):
        return 0
    try:
        return int(base64.urlsafe_b64decode(str(token)).decode().removeprefix("offset:"))
    except ValueError as exc:
        raise _BadRequest(f"invalid continuation token {token!r}") from exc


def _limit(value: Any) -> int:
    try:
        limit = int(value)
    except (TypeError, ValueError) as exc:
        raise _BadRequest(f"limit must be an integer, got {value!r}") from exc
    if limit < 0 or limit > 10000:
        raise _BadRequest(f"limit must be between 0 and 10000, got {limit}")
    return limit


def _instant(value: Any, name: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        return instant(str(value))
    except ValueError as exc:
        raise _BadRequest(f"{name} is not a date: {value!r}") from exc


def _json_param(value: Any, name: str) -> Any:
    if value is None or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        raise _BadRequest(f"{name} is not JSON") from exc


def _area(geom: Any, bbox: Any) -> BaseGeometry | None:
    geom = _json_param(geom, "geom")
    try:
        if geom is not None:
            return shapely.geometry.shape(geom)
        if bbox is not None:
            return shapely.geometry.box(*[float(v) for v in bbox])
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise _BadRequest(f"not a geometry: {exc}") from exc
    return None


def _intersects(area: BaseGeometry, attrs: Mapping[str, Any]) -> bool:
    geometry = attrs.get("geometry")
    return geometry is not None and area.intersects(shapely.geometry.shape(geometry))


def _filters(value: Any) -> list[dict[str, Any]]:
    parsed = _json_param(value, "filter")
    if parsed is None:
        return []
    if not isinstance(parsed, list) or not all(isinstance(f, dict) for f in parsed):
        raise _BadRequest("filter must be a JSON-encoded list of expressions")
    return parsed


def _required_products(filters: list[dict[str, Any]]) -> list[str]:
    """The product ids of a ``product_id`` eq filter (or an ``or`` of them), required as by the service."""
    for expression in filters:
        ors = expression.get("or")
        terms = ors if isinstance(ors, list) else [expression]
        if terms and all(isinstance(t, dict) and t.get("name") == "product_id" and t.get("op") == "eq" for t in terms):
            return [str(t.get("val")) for t in terms]
    raise _BadRequest("a search requires filtering by product_id")


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "ne": lambda a, b: bool(a != b),
    "gt": lambda a, b: bool(a > b),
    "gte": lambda a, b: bool(a >= b),
    "lt": lambda a, b: bool(a < b),
    "lte": lambda a, b: bool(a <= b),
}


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return instant(value)
        except ValueError:
            return value
    return value


def _matches(expression: Mapping[str, Any], attrs: Mapping[str, Any]) -> bool:
    if "and" in expression:
        return all(_matches(e, attrs) for e in expression["and"])
    if "or" in expression:
        return any(_matches(e, attrs) for e in expression["or"])
    op, name = expression.get("op"), expression.get("name")
    if op not in _COMPARE or not isinstance(name, str):
        raise _BadRequest(f"unsupported filter expression {expression!r}")
    actual, wanted = _comparable(attrs.get(name)), _comparable(expression.get("val"))
    if actual is None:
        return op == "ne"
    try:
        return _COMPARE[op](actual, wanted)
    except TypeError as exc:
        raise _BadRequest(f"cannot compare {name} with {wanted!r}") from exc
