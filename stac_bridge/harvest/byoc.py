"""A source for Sentinel Hub BYOC: the collections and their tiles, as the sentinelhub SDK reads them.

The protocol (``GET /api/v1/byoc/collections``, ``.../collections/{id}/tiles``) pages by an opaque
``viewtoken``: each answer's ``links.nextToken`` is sent back with the same URL, and a page without a
``nextToken`` (or without data) is the last. Requests carry an OAuth2 client-credentials bearer token, fetched
from the token endpoint and refreshed before it expires. Rate-limited answers (429) say in ``Retry-After``
how many *milliseconds* to wait.

A position is ``{"collections": [ids still to harvest], "token": viewtoken or null}``: it holds everything the
next page needs, so a checkpoint resumes a harvest of many collections at the exact page. Tiles reach the
transform as :class:`~stac_bridge.registry.ProviderRecord` objects carrying their collection, which the
transform needs for the bands and the collection id.

BYOC's API filters tiles by nothing but ``path``: a harvest takes whole collections (a bbox or a datetime is
refused rather than ignored) and, with ``since``, still takes everything (the upsert rewrites only what
changed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote

from stac_bridge.errors import ConfigError, ProviderError
from stac_bridge.harvest import SourceOptions
from stac_bridge.harvest.engine import Page
from stac_bridge.harvest.http import HttpClient, HttpSource, OAuth2ClientCredentials, create_client
from stac_bridge.registry import Kind, ProviderRecord
from stac_bridge.transforms.byoc import COLLECTION_ID_PREFIX

__all__ = ["ByocSource", "create"]

log = logging.getLogger(__name__)

DEFAULT_URL: Final = "https://services.sentinel-hub.com"
API: Final = "/api/v1/byoc"
#: Tiles per page (the API's maximum is 100).
DEFAULT_COUNT: Final = 100
#: Sentinel Hub's ``Retry-After`` is in milliseconds.
RETRY_AFTER_UNIT: Final = 0.001


class ByocSource(HttpSource):
    """Harvest BYOC collections and their tiles.

    Args:
        url: The Sentinel Hub deployment (``https://services.sentinel-hub.com``,
            ``https://creodias.sentinel-hub.com``...).
        client: The HTTP client, authenticated (:func:`create` sets up the OAuth2 client credentials).
        collections: BYOC collection ids (a UUID, or ``byoc-<uuid>`` as in Sentinel Hub's STAC catalog);
            all the account's collections when empty.
        count: Tiles per page.

    Attributes:
        name: ``"byoc"``.
        adapter: ``"byoc"``.
    """

    name = "byoc"
    adapter = "byoc"

    def __init__(self, url: str, *, client: HttpClient, collections: Sequence[str] = (),
                 count: int = DEFAULT_COUNT) -> None:
        self.url = url.rstrip("/")
        self.client = client
        self.collections = [_uuid(c) for c in collections]
        self.count = count
        self._cache: dict[str, Mapping[str, Any]] = {}
        self._listed: list[str] | None = None
        self._lock = threading.Lock()

    def query(self) -> dict[str, Any]:
        """The deployment and the collections."""
        return {"url": self.url, "collections": self.collections, "count": self.count}

    def collection_records(self) -> list[ProviderRecord]:
        """The harvested collections, as the API sends them (all of the account's when none were named)."""
        return [ProviderRecord(Kind.COLLECTION, self._collection(cid)) for cid in self._collection_ids()]

    def start(self, since: dt.datetime | None) -> dict[str, Any]:
        """The first page of tiles of the first collection."""
        if since is not None:
            log.info("BYOC cannot filter tiles by change time: harvesting whole collections since %s", since)
        return {"collections": self._collection_ids(), "token": None}

    def fetch(self, position: Mapping[str, Any]) -> Page:
        """One page of tiles, each with its collection; the next position may move to the next collection.

        A collection without tiles is passed over within the call (an empty page would end the harvest).

        Raises:
            ProviderError: the answer is not a BYOC list.
        """
        remaining = [str(c) for c in position.get("collections") or []]
        token = position.get("token")
        while remaining:
            current = remaining[0]
            params: dict[str, Any] = {"count": self.count}
            if token is not None:
                params["viewtoken"] = token
            url = f"{self.url}{API}/collections/{quote(current, safe='')}/tiles"
            tiles, token = self._list(url, params)
            if token is None or not tiles:
                remaining, token = remaining[1:], None
            if tiles:
                collection = self._collection(current)
                records = [ProviderRecord(Kind.TILE, tile, {"collection": collection}) for tile in tiles]
                following = {"collections": remaining, "token": token} if remaining else None
                return Page(records, following)
        return Page([])

    def _collection_ids(self) -> list[str]:
        """The named collections, or all of the account's, listed once (the documents cached as they come)."""
        if self.collections:
            return list(self.collections)
        with self._lock:
            listed = self._listed
        if listed is None:
            records = self._pages(f"{self.url}{API}/collections")
            listed = [str(r["id"]) for r in records if "id" in r]
            with self._lock:
                self._cache.update({str(r["id"]): r for r in records if "id" in r})
                self._listed = listed
        return list(listed)

    def _collection(self, collection_id: str) -> Mapping[str, Any]:
        with self._lock:
            cached = self._cache.get(collection_id)
        if cached is not None:
            return cached
        answer = self.client.request_json("GET", f"{self.url}{API}/collections/{quote(collection_id, safe='')}")
        data = answer.data.get("data") if isinstance(answer.data, Mapping) else None
        if not isinstance(data, Mapping):
            raise ProviderError(f"collection {collection_id}: the answer has no data object", status=answer.status)
        with self._lock:
            self._cache[collection_id] = data
        return data

    def _pages(self, url: str) -> list[Mapping[str, Any]]:
        records: list[Mapping[str, Any]] = []
        params: dict[str, Any] = {"count": self.count}
        while True:
            data, token = self._list(url, params)
            records.extend(data)
            if token is None or not data:
                return records
            params = {**params, "viewtoken": token}

    def _list(self, url: str, params: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], str | None]:
        answer = self.client.request_json("GET", url, params=params)
        body = answer.data
        if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
            raise ProviderError(f"GET {url} answered without a data array", status=answer.status)
        links = body.get("links")
        token = links.get("nextToken") if isinstance(links, Mapping) else None
        return [r for r in body["data"] if isinstance(r, Mapping)], (str(token) if token is not None else None)


def create(options: SourceOptions) -> ByocSource:
    """The source of ``stac-bridge harvest byoc``.

    Credentials come from the environment, under the names the sentinelhub SDK uses: ``SH_CLIENT_ID`` and
    ``SH_CLIENT_SECRET``; ``SH_TOKEN_URL`` overrides the token endpoint (``<url>/oauth/token`` by default,
    or ``options.extra["token_url"]``).

    Raises:
        ConfigError: the credentials are missing, or a bbox or datetime was asked for.
    """
    if options.bbox is not None or options.datetime:
        raise ConfigError("BYOC's API cannot filter tiles by bbox or datetime: harvest whole collections, "
                          "then search the catalog")
    url = (options.url or DEFAULT_URL).rstrip("/")
    client_id, secret = os.environ.get("SH_CLIENT_ID"), os.environ.get("SH_CLIENT_SECRET")
    if not client_id or not secret:
        raise ConfigError("set SH_CLIENT_ID and SH_CLIENT_SECRET (an OAuth client of your Sentinel Hub account)")
    token_url = options.extra.get("token_url") or os.environ.get("SH_TOKEN_URL") or f"{url}/oauth/token"
    client = create_client(
        auth=OAuth2ClientCredentials(str(token_url), client_id, secret),
        timeout=options.timeout,
        retry=dataclasses.replace(options.retry, retry_after_unit=RETRY_AFTER_UNIT),
        headers=options.extra.get("headers"),
    )
    return ByocSource(url, client=client, collections=options.collections,
                      count=options.page_size or DEFAULT_COUNT)


def _uuid(collection: str) -> str:
    return collection[len(COLLECTION_ID_PREFIX):] if collection.startswith(COLLECTION_ID_PREFIX) else collection
