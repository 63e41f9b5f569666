"""What stac-fastapi-pgstac leaves out of the STAC API specification, added through its own extension points.

Each piece is something a user's tool trips over on the stock server:

- *browseable*: the landing page links each collection as ``child`` (STAC Browser, ``pystac.Catalog`` and
  stac-api-validator walk those) and says so in ``conformsTo``;
- a 3D ``bbox`` (6 numbers, which the specification allows) is searched on its 2D footprint: pgstac reads the
  first four numbers as west, south, east, north, so it is narrowed here before pgstac sees it;
- the *query* extension in full: pgstac knows only ``eq`` .. ``gte``; every operator of the extension
  (``startsWith``, ``endsWith``, ``contains``, ``in`` too) is translated to CQL2 JSON and ANDed into ``filter``;
- *fields*: ``include`` adds to the default set of fields, as the extension says (pgstac returns only the
  included ones, which pystac-client then cannot read as Items), and the answer stays ``application/geo+json``;
- CQL2 text in POST bodies (``"filter-lang": "cql2-text"``), converted with the ``cql2`` package;
- both sort conformance URIs (clients such as pystac-client match ``v1.0.*``) and one ``stac_version``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import attr
import orjson
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field
from stac_fastapi.extensions import SearchFilterExtension as _StockSearchFilterExtension
from stac_fastapi.extensions.query import QueryExtension
from stac_fastapi.extensions.sort import ItemCollectionSortExtension, SearchSortExtension
from stac_fastapi.pgstac.core import CoreCrudClient
from stac_fastapi.pgstac.extensions.filter import FiltersClient
from stac_fastapi.types.errors import InvalidQueryParameter
from stac_fastapi.types.extension import ApiExtension
from starlette.requests import Request
from starlette.responses import Response

from stac_bridge.server.speed import geojson

__all__ = [
    "BROWSEABLE",
    "DEFAULT_FIELDS",
    "STAC_VERSION",
    "BridgeClient",
    "BrowseableExtension",
    "FullQueryExtension",
    "QueryPostRequest",
    "SearchFilterExtension",
    "SearchFilterPostRequest",
    "extension_maps",
    "query_to_cql2",
]

#: The STAC version of everything the API serves (the loader stores 1.1.0 objects).
STAC_VERSION: Final = "1.1.0"
BROWSEABLE: Final = "https://api.stacspec.org/v1.0.0/browseable"
#: What an ``include`` adds to (the fields extension's default set, plus what makes an Item a valid Item).
DEFAULT_FIELDS: Final = frozenset({
    "type", "stac_version", "stac_extensions", "id", "collection", "bbox", "geometry", "links", "assets",
    "properties.datetime", "properties.start_datetime", "properties.end_datetime",
})
_SEARCH_SORT: Final = (
    "https://api.stacspec.org/v1.1.0/item-search#sort",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
)
_FEATURES_SORT: Final = (
    "https://api.stacspec.org/v1.1.0/ogcapi-features#sort",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#sort",
)
_COMPARISONS: Final = {"eq": "=", "neq": "<>", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_KNOWN: Final = ", ".join([*_COMPARISONS, "startsWith", "endsWith", "contains", "in"])
_GEOJSON: Final = "application/geo+json"


def _like_literal(value: Any) -> str:
    text = str(value)
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def query_to_cql2(query: Mapping[str, Any]) -> dict[str, Any]:
    """Translate a *query* extension object to one CQL2 JSON expression.

    Args:
        query: ``{"<property>": {"<operator>": value, ...}, ...}`` with the extension's operators ``eq``,
            ``neq``, ``lt``, ``lte``, ``gt``, ``gte``, ``startsWith``, ``endsWith``, ``contains``, ``in``.
            A ``properties.`` prefix on a name is allowed and dropped.

    Returns:
        The AND of one comparison per operator (a single comparison when there is one).

    Raises:
        InvalidQueryParameter: an unknown operator, or ``in`` without a list (the API answers 400).
    """
    terms: list[dict[str, Any]] = []
    for name, operations in query.items():
        prop = {"property": name.removeprefix("properties.")}
        if not isinstance(operations, Mapping):
            raise InvalidQueryParameter(f"query: {name} must map operators to values, got {operations!r}")
        for operator, value in operations.items():
            if operator in _COMPARISONS:
                terms.append({"op": _COMPARISONS[operator], "args": [prop, value]})
            elif operator == "startsWith":
                terms.append({"op": "like", "args": [prop, f"{_like_literal(value)}%"]})
            elif operator == "endsWith":
                terms.append({"op": "like", "args": [prop, f"%{_like_literal(value)}"]})
            elif operator == "contains":
                terms.append({"op": "like", "args": [prop, f"%{_like_literal(value)}%"]})
            elif operator == "in":
                if not isinstance(value, list):
                    raise InvalidQueryParameter(f"query: {name} 'in' takes a list, got {value!r}")
                terms.append({"op": "in", "args": [prop, value]})
            else:
                raise InvalidQueryParameter(f"query: unknown operator {operator!r} for {name} (known: {_KNOWN})")
    if not terms:
        raise InvalidQueryParameter("query: no comparison given")
    return terms[0] if len(terms) == 1 else {"op": "and", "args": terms}


def _and(*expressions: Any) -> dict[str, Any]:
    present = [e for e in expressions if e]
    return present[0] if len(present) == 1 else {"op": "and", "args": present}


#: CQL2 operators whose value is a boolean: what a filter (and each operand of and/or/not) must be.
_BOOLEAN_OPS: Final = frozenset({
    "and", "or", "not", "=", "<>", "<", "<=", ">", ">=", "like", "between", "in", "isNull",
    "s_intersects", "s_equals", "s_disjoint", "s_touches", "s_within", "s_overlaps", "s_crosses", "s_contains",
    "t_after", "t_before", "t_contains", "t_disjoint", "t_during", "t_equals", "t_finishedBy", "t_finishes",
    "t_intersects", "t_meets", "t_metBy", "t_overlappedBy", "t_overlaps", "t_startedBy", "t_starts",
    "a_equals", "a_contains", "a_containedBy", "a_overlaps",
})


def boolean_problem(expression: Any) -> str | None:
    """Why a CQL2 JSON expression is not a boolean one (a filter), or ``None``.

    What ``cql2``'s ``Expr.validate()`` is asked for by stac-fastapi (a bare property is parsed as one, and is no
    filter), without its cost: it compiles the CQL2 JSON schema on every call (20 ms, most of a search). What is
    wrong deeper than the boolean structure, pgstac refuses (400).
    """
    if isinstance(expression, bool):
        return None
    if not isinstance(expression, Mapping) or not isinstance(expression.get("args"), list):
        return f"not a boolean expression: {str(expression)[:80]}"
    op = expression.get("op")
    if op not in _BOOLEAN_OPS:
        return f"{op!r} is not a boolean operator"
    if op in ("and", "or", "not"):
        for operand in expression["args"]:
            problem = boolean_problem(operand)
            if problem is not None:
                return problem
    return None


def parse_filter(text: str, lang: str | None) -> dict[str, Any]:
    """A CQL2 filter of a request, as CQL2 JSON: text parsed by ``cql2``, JSON parsed; either checked boolean.

    Raises:
        InvalidQueryParameter: it does not parse, or is no filter (the API answers 400).
    """
    from cql2 import Expr

    try:
        expression: Any = Expr(text).to_json() if lang == "cql2-text" else orjson.loads(text)
        if lang != "cql2-text":
            Expr(expression)  # parses the JSON expression (its structure), which is cheap
    except Exception as exc:  # cql2 raises bare Exceptions (and ValidationError) on bad input
        raise InvalidQueryParameter(f"Invalid filter: {exc}") from exc
    problem = boolean_problem(expression)
    if problem is not None:
        raise InvalidQueryParameter(f"Invalid filter: {problem}")
    parsed: dict[str, Any] = expression
    return parsed


def _text_to_json(text: str) -> dict[str, Any]:
    return parse_filter(text, "cql2-text")


def _footprint(bbox: Any) -> Any:
    if bbox is not None and len(bbox) == 6:
        west, south, _, east, north, _ = bbox
        return (west, south, east, north)
    return bbox


def _as_geojson(result: Any) -> Any:
    # An item collection is serialised here, once, by orjson (stac_bridge.server.speed). stac-fastapi answers
    # field-filtered searches as plain JSON to skip its model validation; keep the type.
    if isinstance(result, dict):
        return geojson(result)
    if isinstance(result, Response) and result.media_type == "application/json":
        result.headers["content-type"] = _GEOJSON
    return result


class SearchFilterPostRequest(BaseModel):
    """The filter extension's POST members, with CQL2 text allowed (converted to JSON before pgstac)."""

    filter_expr: dict[str, Any] | str | None = Field(
        None, alias="filter", description="A CQL2 filter, as CQL2 JSON or (with filter-lang cql2-text) CQL2 text."
    )
    filter_crs: str | None = Field(None, alias="filter-crs", description="The CRS of the filter's geometries.")
    filter_lang: Literal["cql2-json", "cql2-text"] | None = Field(
        "cql2-json", alias="filter-lang", description="The CQL2 encoding of 'filter'."
    )


@attr.s
class SearchFilterExtension(_StockSearchFilterExtension):
    """The item-search filter extension whose POST body takes CQL2 text as well as CQL2 JSON.

    It keeps the stock class's name: stac-fastapi finds enabled extensions by class name (the landing page's
    queryables link depends on it).
    """

    POST = SearchFilterPostRequest


class QueryPostRequest(BaseModel):
    """The query extension's POST member, with every operator of the extension (checked when translated)."""

    query: dict[str, dict[str, Any]] | None = None


@attr.s
class FullQueryExtension(QueryExtension):
    """The query extension with ``startsWith``, ``endsWith``, ``contains`` and ``in`` (see :func:`query_to_cql2`)."""

    POST = QueryPostRequest


@attr.s
class BrowseableExtension(ApiExtension):
    """The browseable conformance class; its links are the landing page's (:meth:`BridgeClient.landing_page`)."""

    conformance_classes: list[str] = attr.ib(factory=lambda: [BROWSEABLE])

    def register(self, app: FastAPI) -> None:
        """Nothing to route: browseable is links on pages that exist."""


@attr.s
class BridgeClient(CoreCrudClient):  # type: ignore[misc]  # stac-fastapi is untyped here
    """stac-fastapi-pgstac's core client with the additions of this module's docstring."""

    async def landing_page(self, **kwargs: Any) -> Any:
        """The stock landing page, with one ``child`` link per collection."""
        page = await super().landing_page(**kwargs)
        page["stac_version"] = STAC_VERSION  # StacApi writes its own (1.0.0) over the client's at start-up
        request: Request = kwargs["request"]
        async with request.app.state.get_connection(request, "r") as conn:
            rows = await conn.fetch(
                "SELECT id, content->>'title' AS title FROM collections "
                "WHERE coalesce(content->>'type', 'Collection') = 'Collection' ORDER BY id"
            )
        base = str(request.base_url).rstrip("/")
        page["links"].extend(
            {"rel": "child", "type": "application/json", "title": row["title"] or row["id"],
             "href": f"{base}/collections/{_quote(row['id'])}"}
            for row in rows
        )
        return page

    async def all_collections(self, request: Request, bbox: Any = None, **kwargs: Any) -> Any:
        """Collection search, with a 3D ``bbox`` narrowed to its footprint."""
        return await super().all_collections(request, bbox=_footprint(bbox), **kwargs)

    async def post_search(self, search_request: Any, request: Request, **kwargs: Any) -> Any:
        """``POST /search`` with CQL2 text and every *query* operator turned into one CQL2 JSON filter."""
        update: dict[str, Any] = {}
        expression = search_request.filter_expr
        if isinstance(expression, str):
            expression = _text_to_json(expression)
            update.update(filter_expr=expression, filter_lang="cql2-json")
        if search_request.query:
            update.update(filter_expr=_and(query_to_cql2(search_request.query), expression),
                          filter_lang="cql2-json", query=None)
        if update:
            search_request = search_request.model_copy(update=update)
        return _as_geojson(await super().post_search(search_request, request=request, **kwargs))

    async def get_search(self, request: Request, **kwargs: Any) -> Any:
        """``GET /search``, answered as GeoJSON with *fields* too."""
        return _as_geojson(await super().get_search(request, **kwargs))

    async def item_collection(self, collection_id: str, request: Request, **kwargs: Any) -> Any:
        """``GET /collections/{id}/items``, answered as GeoJSON with *fields* too."""
        return _as_geojson(await super().item_collection(collection_id, request, **kwargs))

    async def _search_base(self, search_request: Any, request: Request) -> Any:
        fields = getattr(search_request, "fields", None)
        if fields is not None and fields.include:
            # Added after the model dropped from ``exclude`` what the client included: a default field the client
            # excluded stays excluded (included and not excluded, the extension's rule 4).
            fields.include = set(fields.include) | (DEFAULT_FIELDS - set(fields.exclude or ()))
        if search_request.bbox is not None and len(search_request.bbox) == 6:
            search_request = search_request.model_copy(update={"bbox": _footprint(search_request.bbox)})
        return await super()._search_base(search_request, request)

    def _clean_search_args(self, base_args: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        # The GET forms (/search, /collections/{id}/items, /collections): query becomes CQL2 JSON here too, and
        # the filter is parsed here (stac-fastapi's parse also validates, at 20 ms a filter: see parse_filter).
        filter_query = kwargs.pop("filter_query", None)
        clean: dict[str, Any] = super()._clean_search_args(base_args, **kwargs)
        if filter_query:
            try:
                clean["filter"] = parse_filter(filter_query, kwargs.get("filter_lang"))
            except InvalidQueryParameter as exc:
                raise HTTPException(status_code=400, detail=str(exc)) from exc
            clean["filter_lang"] = "cql2-json"
        query = clean.pop("query", None)
        if query:
            clean["filter"] = _and(query_to_cql2(query), clean.get("filter"))
            clean["filter_lang"] = "cql2-json"
        return clean


def _quote(identifier: str) -> str:
    from urllib.parse import quote

    return quote(identifier, safe=":@")


def extension_maps() -> dict[str, dict[str, ApiExtension]]:
    """The extension entries that replace or add to stac-fastapi-pgstac's defaults (``Extensions(**...)``)."""
    return {
        "search_map": {
            "query": FullQueryExtension(),
            "sort": SearchSortExtension(conformance_classes=list(_SEARCH_SORT)),
            "filter": SearchFilterExtension(client=FiltersClient()),
        },
        "item_collection_map": {"sort": ItemCollectionSortExtension(conformance_classes=list(_FEATURES_SORT))},
        "extra_map": {"browseable": BrowseableExtension()},
    }
