"""A source for the Descartes Labs Catalog: products with their bands as collections, their images as items.

Both protocol versions of the service are spoken, as the descarteslabs clients speak them:

* **v1** (descarteslabs 1.x): the product is ``GET {metadata}/catalog/products/{id}`` (a JSON:API document),
  its bands ``GET {metadata}/bands/all/{id}`` (``{band id: attributes}``, derived bands left out), and its
  images ``POST {metadata}/search`` with ``products``, ``bbox``, ``start_datetime``/``end_datetime`` (on
  ``acquired``) and ``cloud_fraction`` (the most cloud allowed, 0-1). The answer is a bare array of GeoJSON
  features; the ``X-Continuation-Token`` response header is sent back as ``continuation_token`` for the next
  page, and an empty array (or no token) ends it.
* **v2** (descarteslabs 2.x/3.x, ``descarteslabs.catalog``): the product is ``GET {v2}/products/{id}``
  (percent-encoded), its bands ``PUT {v2}/bands`` and its images ``PUT {v2}/images``, each with a JSON-encoded
  ``filter`` list (``product_id`` eq, ``acquired`` gte/lte, ``cloud_fraction`` lte, ``modified`` gte) and, for
  images, an ``intersects`` GeoJSON string. Pages follow ``links.next`` with the same body, until a page is
  empty or has no ``next``.

Which version: ``options.extra["api"]`` (``"v1"`` or ``"v2"``) when given; otherwise the URL says: a URL
ending in ``/v2`` (``https://platform.descarteslabs.com/metadata/v1/catalog/v2``) is the v2 catalog, any other
is the v1 metadata root (``https://platform.descarteslabs.com/metadata/v1``, the v1 catalog being under it at
``/catalog``), and no URL at all means the real service's v2 catalog.

Authentication is the JWT of ``DESCARTESLABS_TOKEN`` (the variable the descarteslabs client reads), sent as
``Authorization: Bearer``; an expired one is refused before any request. The HTTP client retries 429 (after
``Retry-After``) and 5xx answers.

A position is ``{"products": [ids still to harvest], "request": the next image request or null, "since":
instant or null}``, plain JSON, so a checkpoint resumes at the exact page. Images reach the transform as
:class:`~stac_bridge.registry.ProviderRecord` objects carrying their product and its bands: the same objects
for every image of a product, so the transform translates the bands once per product, not once per image.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import quote, urljoin

from stac_bridge.errors import ConfigError, ProviderError
from stac_bridge.harvest import SourceOptions
from stac_bridge.harvest.engine import Page
from stac_bridge.harvest.http import BearerToken, HttpClient, HttpSource, create_client
from stac_bridge.registry import Kind, ProviderRecord, RecordContext
from stac_bridge.search import parse_datetime_interval
from stac_bridge.transforms._common import format_datetime, shift_decimal

__all__ = ["DEFAULT_METADATA_URL", "DEFAULT_V2_URL", "TOKEN_ENV", "DescartesSource", "ImageFilter", "create"]

log = logging.getLogger(__name__)

DEFAULT_METADATA_URL: Final = "https://platform.descarteslabs.com/metadata/v1"
DEFAULT_V2_URL: Final = DEFAULT_METADATA_URL + "/catalog/v2"
#: The v1 catalog, under the v1 metadata root.
V1_CATALOG: Final = "/catalog"
TOKEN_ENV: Final = "DESCARTESLABS_TOKEN"
V1: Final = "v1"
V2: Final = "v2"
#: Images per page asked for: the v1 client's search batch, the v2 client's page.
DEFAULT_LIMITS: Final = {V1: 1000, V2: 100}
CONTINUATION_HEADER: Final = "X-Continuation-Token"
_COMPACT: Final = (",", ":")


@dataclass(frozen=True)
class ImageFilter:
    """What images to harvest, in the terms both protocols filter on.

    Attributes:
        bbox: ``[west, south, east, north]`` in WGS84, or ``None``.
        start: The earliest ``acquired`` (RFC 3339), or ``None``.
        end: The latest ``acquired`` (RFC 3339, inclusive), or ``None``.
        max_cloud_fraction: The most cloud allowed (0-1), or ``None``.
    """

    bbox: list[float] | None = None
    start: str | None = None
    end: str | None = None
    max_cloud_fraction: float | None = None

    @classmethod
    def from_stac(cls, bbox: Sequence[float] | None, datetime: str | None,
                  max_cloud_cover: float | None) -> ImageFilter:
        """Translate STAC search terms: a bbox, a datetime or interval, ``eo:cloud_cover`` at most (0-100).

        Raises:
            ConfigError: a term is malformed.
        """
        if bbox is not None and len(bbox) != 4:
            raise ConfigError(f"a Descartes Labs search takes a 2D bbox (4 numbers), not {len(bbox)}")
        start, end = _interval(datetime) if datetime else (None, None)
        fraction = None
        if max_cloud_cover is not None:
            try:
                percent = float(max_cloud_cover)
            except (TypeError, ValueError):
                percent = math.nan
            if not 0 <= percent <= 100:
                raise ConfigError(f"max_cloud_cover is a percentage (0-100), not {max_cloud_cover!r}")
            fraction = shift_decimal(percent, -2)
        return cls([float(v) for v in bbox] if bbox is not None else None, start, end, fraction)


class _Api(Protocol):
    """One protocol version: the product, its bands, and the pages of its images."""

    def product(self, product_id: str) -> Mapping[str, Any]: ...

    def bands(self, product_id: str) -> list[Mapping[str, Any]]: ...

    def first(self, product_id: str, images: ImageFilter, since: str | None) -> dict[str, Any]: ...

    def page(self, request: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], dict[str, Any] | None]: ...


class _V1:
    """The v1 REST catalog and metadata search."""

    def __init__(self, client: HttpClient, root: str, limit: int) -> None:
        self.client = client
        self.metadata = root
        self.catalog = root + V1_CATALOG
        self.limit = limit

    def product(self, product_id: str) -> Mapping[str, Any]:
        answer = self.client.request_json("GET", f"{self.catalog}/products/{quote(product_id, safe=':')}")
        return _object(answer.data, f"product {product_id}", answer.status)

    def bands(self, product_id: str) -> list[Mapping[str, Any]]:
        answer = self.client.request_json("GET", f"{self.metadata}/bands/all/{quote(product_id, safe=':')}")
        listing = _object(answer.data, f"the bands of {product_id}", answer.status)
        own = product_id + ":"
        # The listing also holds the derived bands (``derived:ndvi``) the product can compute: not its own.
        return [b for key, b in listing.items() if isinstance(b, Mapping) and str(b.get("id", key)).startswith(own)]

    def first(self, product_id: str, images: ImageFilter, since: str | None) -> dict[str, Any]:
        if since is not None:
            log.info("v1 search cannot filter on modification time: harvesting %s whole since %s", product_id, since)
        body: dict[str, Any] = {"products": [product_id], "date": "acquired", "limit": self.limit,
                                "sort_order": "asc"}
        if images.bbox is not None:
            body["bbox"] = images.bbox
        if images.start is not None:
            body["start_datetime"] = images.start
        if images.end is not None:
            body["end_datetime"] = images.end
        if images.max_cloud_fraction is not None:
            body["cloud_fraction"] = images.max_cloud_fraction
        return {"href": f"{self.metadata}/search", "body": body}

    def page(self, request: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], dict[str, Any] | None]:
        href, body = str(request["href"]), dict(request["body"])
        answer = self.client.request_json("POST", href, json=body)
        if not isinstance(answer.data, list):
            raise ProviderError(f"POST {href} answered {type(answer.data).__name__}, not an array of images",
                                status=answer.status)
        records = [r for r in answer.data if isinstance(r, Mapping)]
        token = answer.headers.get(CONTINUATION_HEADER)
        following = {"href": href, "body": {**body, "continuation_token": token}} if token and records else None
        return records, following


class _V2:
    """The v2 JSON:API catalog."""

    def __init__(self, client: HttpClient, root: str, limit: int) -> None:
        self.client = client
        self.root = root
        self.limit = limit

    def product(self, product_id: str) -> Mapping[str, Any]:
        answer = self.client.request_json("GET", f"{self.root}/products/{quote(product_id, safe='')}")
        return _object(answer.data, f"product {product_id}", answer.status)

    def bands(self, product_id: str) -> list[Mapping[str, Any]]:
        request: dict[str, Any] | None = {
            "href": f"{self.root}/bands",
            "body": {"filter": _filter([_eq("product_id", product_id)]), "limit": self.limit, "sort": "sort_order"},
        }
        bands: list[Mapping[str, Any]] = []
        while request is not None:
            records, request = self.page(request)
            bands += records
        return bands

    def first(self, product_id: str, images: ImageFilter, since: str | None) -> dict[str, Any]:
        terms = [_eq("product_id", product_id)]
        if images.start is not None:
            terms.append({"op": "gte", "name": "acquired", "val": images.start})
        if images.end is not None:
            terms.append({"op": "lte", "name": "acquired", "val": images.end})
        if images.max_cloud_fraction is not None:
            terms.append({"op": "lte", "name": "cloud_fraction", "val": images.max_cloud_fraction})
        if since is not None:
            terms.append({"op": "gte", "name": "modified", "val": since})
        body: dict[str, Any] = {"filter": _filter(terms), "limit": self.limit, "sort": "acquired"}
        if images.bbox is not None:
            west, south, east, north = images.bbox
            polygon = {"type": "Polygon",
                       "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]]}
            body["intersects"] = json.dumps(polygon, separators=_COMPACT)
        return {"href": f"{self.root}/images", "body": body}

    def page(self, request: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], dict[str, Any] | None]:
        href, body = str(request["href"]), dict(request["body"])
        answer = self.client.request_json("PUT", href, json=body)
        document = _object(answer.data, f"PUT {href}", answer.status)
        data = document.get("data")
        if not isinstance(data, list):
            raise ProviderError(f"PUT {href} answered without a data array", status=answer.status)
        links = document.get("links")
        following = links.get("next") if isinstance(links, Mapping) else None
        records = [r for r in data if isinstance(r, Mapping)]
        if not following or not records:
            return records, None
        return records, {"href": urljoin(answer.url, str(following)), "body": body}


class DescartesSource(HttpSource):
    """Harvest Descartes Labs products (with their bands) and their images.

    Args:
        url: The v1 metadata root or the v2 catalog root (see the module docstring).
        client: The HTTP client, authenticated (:func:`create` sends the bearer token).
        api: ``"v1"`` or ``"v2"``.
        products: The DL product ids to harvest (namespaced, e.g. ``landsat:LC08:PRE:TOAR``).
        images: Which images.
        limit: Images per page asked for.

    Attributes:
        name: ``"descartes"``.
        adapter: ``"descartes"``.
    """

    name = "descartes"
    adapter = "descartes"

    def __init__(self, url: str, *, client: HttpClient, api: str, products: Sequence[str],
                 images: ImageFilter | None = None, limit: int | None = None) -> None:
        if api not in (V1, V2):
            raise ConfigError(f"the Descartes Labs API is v1 or v2, not {api!r}")
        if not products:
            raise ConfigError("name the Descartes Labs products to harvest (--collection PRODUCT_ID)")
        self.url = url.rstrip("/")
        self.client = client
        self.api = api
        self.products = list(products)
        self.images = images or ImageFilter()
        self.limit = limit or DEFAULT_LIMITS[api]
        self._protocol: _Api = (_V1 if api == V1 else _V2)(client, self.url, self.limit)
        self._context: dict[str, tuple[Mapping[str, Any], list[Mapping[str, Any]]]] = {}
        self._lock = threading.Lock()

    def query(self) -> dict[str, Any]:
        """The API, URL, products and image filters."""
        return {"api": self.api, "url": self.url, "products": self.products, "bbox": self.images.bbox,
                "start": self.images.start, "end": self.images.end,
                "max_cloud_fraction": self.images.max_cloud_fraction, "limit": self.limit}

    def collection_records(self) -> list[ProviderRecord]:
        """Each product as the API sends it, with its bands in ``context["bands"]``."""
        return [ProviderRecord(Kind.PRODUCT, product, {"bands": list(bands)})
                for product, bands in (self.context(pid) for pid in self.products)]

    def context(self, product_id: str) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]]:
        """A product and its bands, fetched once (threads share them).

        Raises:
            ProviderError: the product cannot be had (404 when it does not exist or is not readable).
        """
        with self._lock:
            cached = self._context.get(product_id)
        if cached is not None:
            return cached
        fetched = (self._protocol.product(product_id), self._protocol.bands(product_id))
        with self._lock:
            return self._context.setdefault(product_id, fetched)

    def start(self, since: dt.datetime | None) -> dict[str, Any]:
        """The first page of images of the first product."""
        return {"products": self.products, "request": None,
                "since": format_datetime(since) if since is not None else None}

    def fetch(self, position: Mapping[str, Any]) -> Page:
        """One page of images, each with its product and bands; the next position may be the next product's.

        A product without (matching) images is passed over within the call: an empty page ends a harvest.

        Raises:
            ProviderError: an answer is not what the protocol sends.
        """
        remaining = [str(p) for p in position.get("products") or []]
        request: dict[str, Any] | None = position.get("request")
        since = position.get("since")
        while remaining:
            product_id = remaining[0]
            records, request = self._protocol.page(request or self._protocol.first(product_id, self.images, since))
            if request is None:
                remaining = remaining[1:]
            if records:
                product, bands = self.context(product_id)
                context: RecordContext = {"product": product, "bands": list(bands)}
                following = {"products": remaining, "request": request, "since": since} if remaining else None
                return Page([ProviderRecord(Kind.IMAGE, record, context) for record in records], following)
        return Page([])


def choose_api(url: str, api: str | None = None) -> tuple[str, str]:
    """The protocol version and the root URL to use: ``api`` when given, else what the URL says.

    Raises:
        ConfigError: ``api`` is neither ``"v1"`` nor ``"v2"``.
    """
    root = url.rstrip("/")
    if api not in (None, "", V1, V2):
        raise ConfigError(f"the Descartes Labs API is v1 or v2, not {api!r}")
    chosen = str(api) if api else (V2 if not root or root.endswith("/v2") else V1)
    return chosen, root or (DEFAULT_V2_URL if chosen == V2 else DEFAULT_METADATA_URL)


def create(options: SourceOptions) -> DescartesSource:
    """The source of ``stac-bridge harvest descartes``.

    The token comes from ``DESCARTESLABS_TOKEN`` (a JWT, as ``descarteslabs auth`` stores it).
    ``options.collections`` are the DL product ids; ``options.extra`` may hold ``api`` (``"v1"`` or ``"v2"``,
    see the module docstring), ``max_cloud_cover`` (the most ``eo:cloud_cover`` allowed, in percent: sent as
    DL's ``cloud_fraction``) and ``headers``.

    Raises:
        ConfigError: the token is missing or expired, no product is named, or a filter is malformed.
    """
    if not options.collections:
        raise ConfigError("name the Descartes Labs products to harvest (--collection PRODUCT_ID)")
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(f"set {TOKEN_ENV} to your Descartes Labs JWT")
    expires = _expiry(token)
    if expires is not None and expires <= time.time():
        when = format_datetime(dt.datetime.fromtimestamp(expires, dt.UTC))
        raise ConfigError(f"the JWT in {TOKEN_ENV} expired at {when}: log in again")
    api, root = choose_api(options.url, options.extra.get("api"))
    images = ImageFilter.from_stac(options.bbox, options.datetime, options.extra.get("max_cloud_cover"))
    client = create_client(auth=BearerToken(token), timeout=options.timeout, retry=options.retry,
                           headers=options.extra.get("headers"))
    return DescartesSource(root, client=client, api=api, products=options.collections, images=images,
                           limit=options.page_size)


# --- helpers ----------------------------------------------------------------------------------------------------

def _object(data: Any, what: str, status: int) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ProviderError(f"{what}: the answer is {type(data).__name__}, not a JSON object", status=status)
    return data


def _eq(name: str, value: Any) -> dict[str, Any]:
    return {"op": "eq", "name": name, "val": value}


def _filter(terms: list[dict[str, Any]]) -> str:
    """The ``filter`` parameter: the list of expressions, JSON-encoded without spaces (as the client does)."""
    return json.dumps(terms, separators=_COMPACT)


def _interval(text: str) -> tuple[str | None, str | None]:
    """A STAC datetime (an instant, or ``start/end`` with ``..`` or nothing for an open end) as RFC 3339 bounds.

    Raises:
        ConfigError: a bound is not a datetime.
    """
    try:
        return parse_datetime_interval(text).bounds()
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (not verified: the service does that), or ``None`` when it has none."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"]) if isinstance(claims, dict) and "exp" in claims else None
    except (IndexError, ValueError, TypeError):
        return None
