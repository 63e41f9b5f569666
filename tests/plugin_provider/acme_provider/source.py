"""Harvesting Acme's API: one collection's scenes, page by page (an opaque ``cursor``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from acme_provider import query
from acme_provider.adapter import NAME, SCENE
from stac_bridge.errors import ConfigError, ProviderError
from stac_bridge.harvest import SourceOptions
from stac_bridge.harvest.engine import Page
from stac_bridge.harvest.http import HttpClient, HttpSource, create_client
from stac_bridge.registry import Kind, ProviderRecord

PAGE_SIZE = 50


class AcmeSource(HttpSource):
    """The scenes of Acme collections, each collection's record first."""

    name = NAME
    adapter = NAME

    def __init__(self, url: str, *, client: HttpClient, collections: list[str], params: dict[str, Any],
                 limit: int) -> None:
        self.url = url.rstrip("/")
        self.client = client
        self.collections = collections
        self.params = params
        self.limit = limit

    def query(self) -> dict[str, Any]:
        """The API, the collections and the filters."""
        return {"url": self.url, "collections": self.collections, **self.params}

    def collection_records(self) -> list[ProviderRecord]:
        """Each collection's record."""
        return [ProviderRecord(Kind.COLLECTION, self._get(f"/v1/collections/{quote(c)}", None))
                for c in self.collections]

    def start(self, since: dt.datetime | None) -> dict[str, Any]:
        """The first page of the first collection (``since`` narrows ``after``)."""
        params = dict(self.params)
        if since is not None:
            params["after"] = since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"collections": self.collections, "params": params, "cursor": None}

    def fetch(self, position: Mapping[str, Any]) -> Page:
        """One page of scenes; the next position may move to the next collection."""
        remaining = list(position["collections"])
        cursor = position.get("cursor")
        while remaining:
            params = {**position["params"], "limit": self.limit, **({"cursor": cursor} if cursor else {})}
            answer = self._get(f"/v1/collections/{quote(remaining[0])}/scenes", params)
            scenes, cursor = answer.get("scenes"), answer.get("cursor")
            if not isinstance(scenes, list):
                raise ProviderError(f"{self.url}: an answer without 'scenes'")
            if not cursor:
                remaining, cursor = remaining[1:], None
            if scenes:
                following = {"collections": remaining, "params": position["params"], "cursor": cursor}
                return Page([ProviderRecord(SCENE, s) for s in scenes], following if remaining else None)
        return Page([])

    def _get(self, path: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        data = self.client.request_json("GET", self.url + path, params=params).data
        if not isinstance(data, dict):
            raise ProviderError(f"{self.url}{path}: not a JSON object")
        return data


def create(options: SourceOptions) -> AcmeSource:
    """The source of ``stac-bridge harvest acme``: ``--url`` and ``--collection`` are needed.

    Raises:
        ConfigError: no URL or no collection, or a filter Acme cannot say.
    """
    if not options.url or not options.collections:
        raise ConfigError("acme: give --url and at least one --collection")
    search: dict[str, Any] = {}
    if options.bbox is not None:
        raise ConfigError("acme cannot filter scenes by bbox")
    if options.datetime:
        search["datetime"] = options.datetime
    if "max_cloud" in options.extra:
        search["filter"] = {"op": "<=", "args": [{"property": query.CLOUD}, int(options.extra["max_cloud"])]}
    try:
        params = query.from_stac(search)
    except Exception as exc:
        raise ConfigError(str(exc)) from exc
    client = create_client(timeout=options.timeout, retry=options.retry)
    return AcmeSource(options.url, client=client, collections=list(options.collections), params=params,
                      limit=options.page_size or PAGE_SIZE)
