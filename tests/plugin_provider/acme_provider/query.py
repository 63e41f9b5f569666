"""Acme's scene query (``after``, ``before``, ``max_cloud``) to and from a STAC search, on stac-bridge's model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from acme_provider.adapter import NAME
from stac_bridge.errors import UntranslatableQueryError
from stac_bridge.search import Search, TimeInterval, parse_datetime_interval

CLOUD: str = "eo:cloud_cover"


def to_stac(params: Mapping[str, Any]) -> dict[str, Any]:
    """Acme query parameters as a STAC search body.

    Raises:
        UntranslatableQueryError: an unknown parameter or a malformed value, naming it.
    """
    unknown = set(params) - {"collection", "after", "before", "max_cloud", "limit"}
    if unknown:
        raise UntranslatableQueryError(NAME, sorted(unknown)[0], "is not an Acme scene parameter")
    try:
        start = parse_datetime_interval(params["after"]).start if params.get("after") else None
        end = parse_datetime_interval(params["before"]).end if params.get("before") else None
    except ValueError as exc:
        raise UntranslatableQueryError(NAME, "after/before", str(exc)) from exc
    expression = None
    if params.get("max_cloud") is not None:
        try:
            expression = {"op": "<=", "args": [{"property": CLOUD}, int(params["max_cloud"])]}
        except ValueError as exc:
            raise UntranslatableQueryError(NAME, "max_cloud", "must be an integer") from exc
    search = Search(collections=(str(params["collection"]),) if params.get("collection") else (),
                    datetime=TimeInterval(start, end) if start or end else None, filter=expression,
                    limit=int(params["limit"]) if params.get("limit") else None)
    return search.to_body()


def from_stac(body: Mapping[str, Any]) -> dict[str, Any]:
    """A STAC search body (collections, datetime, ``eo:cloud_cover <= n``) as Acme query parameters.

    Raises:
        UntranslatableQueryError: a part Acme cannot filter on.
    """
    search = Search.from_body(body, provider=NAME)
    for part, value in (("ids", search.ids), ("bbox", search.bbox), ("intersects", search.intersects),
                        *search.extra.items()):
        if value:
            raise UntranslatableQueryError(NAME, part, "Acme cannot filter scenes on it")
    params: dict[str, Any] = {}
    if len(search.collections) > 1:
        raise UntranslatableQueryError(NAME, "collections", "Acme searches one collection at a time")
    if search.collections:
        params["collection"] = search.collections[0]
    if search.datetime is not None:
        after, before = search.datetime.bounds()
        params.update({k: v for k, v in (("after", after), ("before", before)) if v})
    if search.filter is not None:
        expression = search.filter
        args = expression.get("args") or []
        if expression.get("op") != "<=" or len(args) != 2 or args[0] != {"property": CLOUD}:
            raise UntranslatableQueryError(NAME, "filter", f"Acme filters on {CLOUD} <= n only")
        params["max_cloud"] = int(args[1])
    if search.limit is not None:
        params["limit"] = search.limit
    return params
