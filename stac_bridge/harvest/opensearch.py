"""A source for the Terrascope / VITO OpenSearch catalogue (OGC 17-047r1 GeoJSON), as terracatalogueclient speaks it.

``GET {url}collections`` gives the collection features; ``GET {url}products?collection=...`` the products of
one collection, paged by a 1-based ``startIndex`` and ``count``. Every answer carries ``totalResults`` and
absolute ``properties.links.next`` links.

Random access: once a full page has shown that the server honours ``count``, the page after ``startIndex = n``
is ``n + count``, so the engine fetches several pages at once; until then, and for servers that page otherwise
(a smaller cap on ``count``), the ``next`` links are followed exactly as given, one at a time. Each collection
is harvested in turn; a position names its collection, so a checkpoint resumes in the middle of any of them.

Search filters (``bbox``, ``datetime``, a CQL2 ``filter`` in ``extra``) are translated by
:mod:`stac_bridge.transforms.opensearch_query`; an incremental harvest (``since``) asks for
``modificationDate=[<since>`` (products changed at or after then).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import urljoin

from stac_bridge.errors import ConfigError, ProviderError, UntranslatableQueryError
from stac_bridge.harvest import SourceOptions
from stac_bridge.harvest.engine import Page
from stac_bridge.harvest.http import HttpClient, HttpSource, create_client
from stac_bridge.transforms import opensearch_query
from stac_bridge.transforms._common import format_datetime

__all__ = ["DEFAULT_URL", "OpenSearchSource", "create"]

log = logging.getLogger(__name__)

#: The Terrascope catalogue, used when no URL is given.
DEFAULT_URL: Final = "https://services.terrascope.be/catalogue/"
DEFAULT_COUNT: Final = 100
#: The OpenSearch parameter of an incremental harvest (an interval of modification dates).
P_MODIFIED: Final = "modificationDate"


class OpenSearchSource(HttpSource):
    """Harvest the products (and the collection features) of named collections of an OpenSearch catalogue.

    Args:
        url: The catalogue's base URL (``https://services.terrascope.be/catalogue/``).
        client: The HTTP client (:func:`stac_bridge.harvest.http.create_client`).
        collections: The collection ids whose products are harvested, in this order.
        bbox: ``[west, south, east, north]`` to search.
        datetime: A STAC datetime or interval; becomes ``start``/``end``.
        filter: A CQL2 filter (JSON or the simple text forms) on ``eo:cloud_cover``, ``sat:relative_orbit``,
            ``sat:orbit_state``, ``product:type``, ``grid:code``; becomes ``cloudCover``... parameters.
        count: Products per page asked for.

    Attributes:
        name: ``"opensearch"``.
        adapter: ``"opensearch"``.

    Raises:
        ConfigError: no collection is named, or a filter OpenSearch cannot express (naming the part).
    """

    name = "opensearch"
    adapter = "opensearch"

    def __init__(
        self,
        url: str,
        *,
        client: HttpClient,
        collections: Sequence[str],
        bbox: Sequence[float] | None = None,
        datetime: str | None = None,
        filter: Mapping[str, Any] | str | None = None,  # noqa: A002 - the STAC API's name
        count: int = DEFAULT_COUNT,
    ) -> None:
        if not collections:
            raise ConfigError(f"name the collections to harvest (--collection); {url}collections lists them")
        if count < 1:
            raise ConfigError("the page size (count) must be at least 1")
        self.url = url if url.endswith("/") else url + "/"
        self.client = client
        self.collections = list(collections)
        self.count = count
        self._search: dict[str, Any] = {"bbox": list(bbox) if bbox is not None else None, "datetime": datetime,
                                        "filter": filter}
        for collection in self.collections:
            self._params(collection, None, 1)  # refuse an untranslatable search now, not at the first page
        # None: not known yet; True: the server honours count (random access); False: follow next links.
        self._random: bool | None = None

    def query(self) -> dict[str, Any]:
        """The URL, collections, filters and page size."""
        return {"url": self.url, "collections": self.collections, **self._search, "count": self.count}

    def collection_records(self) -> list[dict[str, Any]]:
        """The collection features of the harvested collections, from ``GET {url}collections``.

        Raises:
            ProviderError: a named collection is not in the catalogue, or the answer is not a FeatureCollection.
        """
        found: dict[str, dict[str, Any]] = {}
        href: str | None = urljoin(self.url, "collections")
        while href is not None:
            data = self._get(href, None)
            for feature in _features(data, href):
                if isinstance(feature, dict) and feature.get("id") in self.collections:
                    found[str(feature["id"])] = feature
            href = _link(data, "next") if data.get("features") else None
        missing = [c for c in self.collections if c not in found]
        if missing:
            raise ProviderError(f"{self.url}collections does not list {', '.join(missing)}")
        return [found[c] for c in self.collections]

    def start(self, since: dt.datetime | None) -> dict[str, Any]:
        """The first page of the first collection; with ``since``, only products modified since then."""
        return self._first(0, format_datetime(since) if since is not None else None)

    def fetch(self, position: Mapping[str, Any]) -> Page:
        """The page at ``position``; a collection without (more) products gives way to the next one.

        Raises:
            ProviderError: the answer is not an OpenSearch FeatureCollection (or see the HTTP client).
        """
        current: Mapping[str, Any] | None = position
        while current is not None:
            href = current.get("href")
            params = None if href else self._params(current["collection"], current["since"],
                                                    int(current["startIndex"]))
            url = str(href) if href else urljoin(self.url, "products")
            data = self._get(url, params)
            features = _features(data, url)
            total = data.get("totalResults")
            total = total if isinstance(total, int) and not isinstance(total, bool) else None
            if features:
                return Page(features, self._after(current, data, len(features), total), total)
            current = self._next_collection(current)
        return Page([], None, 0)

    def following(self, position: Mapping[str, Any]) -> dict[str, Any] | None:
        """The page after ``position`` by ``startIndex``, once the server was seen to honour ``count``."""
        if self._random is not True or "startIndex" not in position or position.get("total") is None:
            return None
        after = int(position["startIndex"]) + self.count
        if after > int(position["total"]):
            return self._next_collection(position)
        return {**position, "startIndex": after}

    # --- helpers -------------------------------------------------------------------------------------------

    def _params(self, collection: str, since: str | None, start_index: int) -> dict[str, str]:
        search = {"collections": [collection], "limit": self.count,
                  **{k: v for k, v in self._search.items() if v is not None}}
        try:
            params = opensearch_query.stac_to_opensearch(search, start_index=start_index)
        except UntranslatableQueryError as exc:
            raise ConfigError(f"the search cannot be asked of OpenSearch: {exc}") from exc
        if since is not None:
            params[P_MODIFIED] = f"[{since}"
        return params

    def _first(self, index: int, since: str | None) -> dict[str, Any]:
        return {"collection": self.collections[index], "since": since, "startIndex": 1, "total": None}

    def _next_collection(self, position: Mapping[str, Any]) -> dict[str, Any] | None:
        index = self.collections.index(str(position["collection"])) + 1
        return self._first(index, position.get("since")) if index < len(self.collections) else None

    def _after(self, position: Mapping[str, Any], data: Mapping[str, Any], returned: int,
               total: int | None) -> dict[str, Any] | None:
        """The position of the page after one of ``returned`` products."""
        first = data.get("startIndex")
        start = int(first) if isinstance(first, int) else int(position.get("startIndex") or 1)
        more = total is None or start + returned <= total
        if "startIndex" in position and self._random is None and more:
            self._random = returned == self.count
            log.info("%s %s count=%d: %s", self.url, "honours" if self._random else "does not honour",
                     self.count, "fetching pages at once" if self._random else "following next links")
        following = _link(data, "next")
        if following is None and not more:
            return self._next_collection(position)
        base = {"collection": position["collection"], "since": position.get("since"), "total": total}
        if self._random and "startIndex" in position:
            return {**base, "startIndex": start + returned}
        if following is not None:
            return {**base, "href": following}
        return {**base, "startIndex": start + returned}

    def _get(self, url: str, params: Mapping[str, str] | None) -> dict[str, Any]:
        answer = self.client.request_json("GET", url, params=params)
        if not isinstance(answer.data, dict):
            raise ProviderError(f"{answer.url} answered {type(answer.data).__name__}, not a FeatureCollection")
        return answer.data


def _features(data: Mapping[str, Any], url: str) -> list[Any]:
    features = data.get("features")
    if not isinstance(features, list):
        raise ProviderError(f"{url} answered without a features array")
    return features


def _link(data: Mapping[str, Any], rel: str) -> str | None:
    """``properties.links.<rel>[0].href`` of an OpenSearch answer (absolute, with every parameter)."""
    props = data.get("properties")
    links = props.get("links") if isinstance(props, Mapping) else None
    entries = links.get(rel) if isinstance(links, Mapping) else None
    if isinstance(entries, list) and entries and isinstance(entries[0], Mapping) and entries[0].get("href"):
        return str(entries[0]["href"])
    return None


def create(options: SourceOptions) -> OpenSearchSource:
    """The source of ``stac-bridge harvest opensearch`` (``options.url`` defaults to Terrascope's catalogue).

    ``options.extra`` may hold ``filter`` (CQL2 JSON or text on the queryables OpenSearch can filter on).
    """
    client = create_client(timeout=options.timeout, retry=options.retry)
    try:
        return OpenSearchSource(
            options.url or DEFAULT_URL,
            client=client,
            collections=options.collections,
            bbox=options.bbox,
            datetime=options.datetime,
            filter=options.extra.get("filter"),
            count=options.page_size or DEFAULT_COUNT,
        )
    except ConfigError:
        client.close()
        raise
