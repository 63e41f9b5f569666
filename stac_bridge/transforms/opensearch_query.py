"""Search translation between STAC API item search and Terrascope / VITO OpenSearch ``products`` queries.

STAC -> OpenSearch (:func:`stac_to_opensearch`) lets a harvester ask the provider for exactly what a STAC
search asks for; OpenSearch -> STAC (:func:`opensearch_to_stac`) lets an OpenSearch endpoint answer from
pgstac.

Numeric OpenSearch parameters take the interval notation of OGC 13-026r9 (OpenSearch EO): ``n`` (equal),
``[a,b]`` (between, inclusive), ``]a,b[`` (exclusive; the brackets mix freely), ``[a`` (at least), ``]a``
(more than), ``b]`` (at most), ``b[`` (less than) and ``{a,b,c}`` (one of).

A part that the other side cannot express raises :class:`~stac_bridge.errors.UntranslatableQueryError` naming
that part; nothing is dropped or widened. Pure functions: no network, no clock.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import shapely
import shapely.geometry
import shapely.wkt

from stac_bridge.errors import UntranslatableQueryError
from stac_bridge.search import cql2_json, parse_datetime_interval
from stac_bridge.transforms import _common
from stac_bridge.transforms.opensearch_interval import (
    Interval,
    format_interval,
    format_number,
    parse_interval,
    parse_number,
)

__all__ = [
    "Interval",
    "StacSearch",
    "cql2_text_to_json",
    "format_interval",
    "opensearch_to_stac",
    "parse_interval",
    "stac_to_opensearch",
]

PROVIDER: Final = "opensearch"

# OpenSearch parameter names (Terrascope catalogue, OGC 13-026r9).
P_COLLECTION: Final = "collection"
P_BBOX: Final = "bbox"
P_GEOMETRY: Final = "geometry"
P_START: Final = "start"
P_END: Final = "end"
P_UID: Final = "uid"
P_CLOUD_COVER: Final = "cloudCover"
P_RELATIVE_ORBIT: Final = "relativeOrbitNumber"
P_ORBIT_DIRECTION: Final = "orbitDirection"
P_PRODUCT_TYPE: Final = "productType"
P_TILE_ID: Final = "tileId"
P_START_INDEX: Final = "startIndex"
P_COUNT: Final = "count"
#: Parameters that change how an answer is written (hrefs for a platform, a client tag), never what matches.
P_PRESENTATION: Final = frozenset({"accessedFrom", "clientId", "httpAccept"})

# STAC search members and queryables.
S_BBOX: Final = "bbox"
S_DATETIME: Final = "datetime"
S_INTERSECTS: Final = "intersects"
S_IDS: Final = "ids"
S_COLLECTIONS: Final = "collections"
S_LIMIT: Final = "limit"
S_FILTER: Final = "filter"
S_FILTER_LANG: Final = "filter-lang"
S_FILTER_CRS: Final = "filter-crs"
Q_CLOUD_COVER: Final = "eo:cloud_cover"
Q_RELATIVE_ORBIT: Final = "sat:relative_orbit"
Q_ORBIT_STATE: Final = "sat:orbit_state"
Q_PRODUCT_TYPE: Final = "product:type"
Q_GRID_CODE: Final = "grid:code"

_CRS84: Final = frozenset({
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84", "https://www.opengis.net/def/crs/OGC/1.3/CRS84",
})
_NUMERIC: Final = {Q_CLOUD_COVER: P_CLOUD_COVER, Q_RELATIVE_ORBIT: P_RELATIVE_ORBIT}
_TEXT: Final = {Q_ORBIT_STATE: P_ORBIT_DIRECTION, Q_PRODUCT_TYPE: P_PRODUCT_TYPE, Q_GRID_CODE: P_TILE_ID}
_ORBIT_STATES: Final = frozenset({"ascending", "descending"})
_MGRS_PREFIX: Final = "MGRS-"
_MGRS: Final = re.compile(r"^(0?[1-9]|[1-5]\d|60)[C-HJ-NP-X][A-HJ-NP-Z][A-HJ-NP-V]$")
_DATE_ONLY: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _error(part: str, reason: str) -> UntranslatableQueryError:
    return UntranslatableQueryError(PROVIDER, part, reason)


# --- STAC -> OpenSearch -------------------------------------------------------------------------------------

_STAC_MEMBERS: Final = frozenset({S_BBOX, S_DATETIME, S_INTERSECTS, S_IDS, S_COLLECTIONS, S_LIMIT, S_FILTER,
                                  S_FILTER_LANG, S_FILTER_CRS})


def stac_to_opensearch(search: Mapping[str, Any], *, start_index: int | None = None) -> dict[str, str]:
    """Translate a STAC item search (the POST body, or GET parameters as strings) to OpenSearch parameters.

    Args:
        search: ``bbox``, ``datetime``, ``intersects``, ``ids``, ``collections``, ``limit``, ``filter`` (CQL2
            JSON, or the simple CQL2 text forms: comparisons, ``BETWEEN``, ``IN`` joined by ``AND``) on
            ``eo:cloud_cover``, ``sat:relative_orbit``, ``sat:orbit_state``, ``product:type``, ``grid:code``.
        start_index: The 1-based OpenSearch ``startIndex`` of the wanted page.

    Returns:
        The query parameters for ``GET {catalogue}/products``, every value a string.

    Caveats:
        OpenSearch takes one collection, one ``uid`` and one value per text parameter; ``grid:code`` must be
        an MGRS code (``MGRS-31UFS`` -> ``tileId=31UFS``). Datetimes pass through as RFC 3339 text.

    Raises:
        UntranslatableQueryError: a member, an operator or a property OpenSearch cannot express (``or``,
            ``not``, several collections, ``sortby``...), naming it.
    """
    unknown = sorted(k for k, v in search.items() if k not in _STAC_MEMBERS and v is not None)
    if unknown:
        raise _error(unknown[0], "has no OpenSearch equivalent")
    params: dict[str, str] = {}
    collections = _string_list(search.get(S_COLLECTIONS), S_COLLECTIONS)
    if collections:
        if len(collections) > 1:
            raise _error(S_COLLECTIONS, "OpenSearch searches one collection at a time")
        params[P_COLLECTION] = collections[0]
    ids = _string_list(search.get(S_IDS), S_IDS)
    if ids:
        if len(ids) > 1:
            raise _error(S_IDS, "OpenSearch takes one uid per search")
        params[P_UID] = ids[0]
    if search.get(S_BBOX) is not None and search.get(S_INTERSECTS) is not None:
        raise _error(S_INTERSECTS, "a STAC search cannot have both bbox and intersects")
    if search.get(S_BBOX) is not None:
        params[P_BBOX] = _bbox_param(search[S_BBOX])
    if search.get(S_INTERSECTS) is not None:
        params[P_GEOMETRY] = _wkt(search[S_INTERSECTS], S_INTERSECTS)
    if search.get(S_DATETIME) is not None:
        params.update(_datetime_params(search[S_DATETIME]))
    if search.get(S_LIMIT) is not None:
        params[P_COUNT] = str(_non_negative(search[S_LIMIT], S_LIMIT))
    if start_index is not None:
        if _non_negative(start_index, P_START_INDEX) < 1:
            raise _error(P_START_INDEX, "is 1-based")
        params[P_START_INDEX] = str(start_index)
    if search.get(S_FILTER) is not None:
        params.update(_filter_params(search))
    return params


def _string_list(value: Any, part: str) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, Sequence) or not all(isinstance(v, str) for v in items):
        raise _error(part, "must be a list of strings")
    return [str(v) for v in items]


def _non_negative(value: Any, part: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _error(part, f"{value!r} is not an integer") from None
    if number < 0 or isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise _error(part, f"{value!r} is not a non-negative integer")
    return number


def _bbox_param(value: Any) -> str:
    numbers = value.split(",") if isinstance(value, str) else value
    if not isinstance(numbers, Sequence) or len(numbers) not in (4, 6):
        raise _error(S_BBOX, "must have 4 numbers (OpenSearch bbox is 2D)")
    if len(numbers) == 6:
        raise _error(S_BBOX, "a 3D bbox has no OpenSearch equivalent (its bbox is 2D)")
    values = [parse_number(str(v).strip(), S_BBOX) for v in numbers]
    return ",".join(format_number(v) for v in values)


def _wkt(geometry: Any, part: str) -> str:
    try:
        shape = shapely.geometry.shape(geometry)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise _error(part, f"is not a GeoJSON geometry: {exc}") from None
    return str(shapely.to_wkt(shape, rounding_precision=-1, trim=True))


def _check_datetime(text: str, part: str) -> str:
    try:
        _common.parse_datetime(text)
    except ValueError:
        raise _error(part, f"{text!r} is not an RFC 3339 datetime") from None
    return text


def _datetime_params(value: Any) -> dict[str, str]:
    if not isinstance(value, str):
        raise _error(S_DATETIME, "must be an RFC 3339 datetime or interval string")
    try:
        interval = parse_datetime_interval(value)
    except ValueError as exc:
        raise _error(S_DATETIME, str(exc)) from None
    # The client's own spelling of each bound goes on (OpenSearch reads RFC 3339 as STAC writes it).
    given = value.split("/") if "/" in value else [value, value]
    out: dict[str, str] = {}
    if interval.start is not None:
        out[P_START] = given[0].strip()
    if interval.end is not None:
        out[P_END] = given[1].strip()
    return out


def _filter_params(search: Mapping[str, Any]) -> dict[str, str]:
    crs = search.get(S_FILTER_CRS)
    if crs is not None and crs not in _CRS84:
        raise _error(S_FILTER_CRS, f"{crs!r}: only CRS84 is supported")
    lang = search.get(S_FILTER_LANG)
    expression = search[S_FILTER]
    if lang == "cql2-text" or (lang is None and isinstance(expression, str)):
        if not isinstance(expression, str):
            raise _error(S_FILTER, "cql2-text must be a string")
        expression = cql2_text_to_json(expression)
    elif lang not in (None, "cql2-json"):
        raise _error(S_FILTER_LANG, f"{lang!r} is not cql2-json or cql2-text")
    if not isinstance(expression, Mapping):
        raise _error(S_FILTER, "a CQL2 JSON filter must be an object")
    numeric: dict[str, Interval] = {}
    text: dict[str, set[str]] = {}
    for clause in _conjuncts(expression):
        _constrain(clause, numeric, text)
    params: dict[str, str] = {}
    for queryable, interval in numeric.items():
        if interval.empty():
            raise _error(f"filter.{queryable}", "the constraints on it exclude every value")
        params[_NUMERIC[queryable]] = format_interval(interval)
    for queryable, values in text.items():
        if not values:
            raise _error(f"filter.{queryable}", "the constraints on it exclude every value")
        if len(values) > 1:
            raise _error(f"filter.{queryable}", "OpenSearch takes one value for it")
        params[_TEXT[queryable]] = _text_param(queryable, next(iter(values)))
    return params


def _conjuncts(expression: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if expression.get("op") == "and":
        out: list[Mapping[str, Any]] = []
        for arg in expression.get("args") or []:
            if not isinstance(arg, Mapping):
                raise _error("filter.and", "its arguments must be CQL2 expressions")
            out += _conjuncts(arg)
        return out
    return [expression]


#: CQL2's spatial, temporal and array functions: OpenSearch parameters say none of them.
_FUNCTION_PREFIXES: Final = ("s_", "t_", "a_")


def _constrain(clause: Mapping[str, Any], numeric: dict[str, Interval], text: dict[str, set[str]]) -> None:
    op = str(clause.get("op", "")).lower()
    args = clause.get("args")
    if not isinstance(args, list) or not args:
        raise _error(f"filter.{op or '?'}", "is not a CQL2 expression with args")
    if op in ("or", "not"):
        raise _error(f"filter.{op}", "OpenSearch parameters combine only with AND")
    if op.startswith(_FUNCTION_PREFIXES):
        raise _error(f"filter.{op}", "functions cannot be translated (use bbox, intersects, datetime)")
    queryable = _property(args[0], op)
    if queryable in _NUMERIC:
        interval = _numeric_clause(op, args, queryable)
        numeric[queryable] = numeric[queryable].intersect(interval) if queryable in numeric else interval
    elif queryable in _TEXT:
        values = _text_clause(op, args, queryable)
        text[queryable] = text[queryable] & values if queryable in text else values
    else:
        raise _error(f"filter.{queryable}", "is not a queryable OpenSearch can filter on "
                                            f"({', '.join([*_NUMERIC, *_TEXT])})")


def _property(arg: Any, op: str) -> str:
    if not isinstance(arg, Mapping) or not isinstance(arg.get("property"), str):
        raise _error(f"filter.{op}", "its first argument must be a {\"property\": ...}")
    name = str(arg["property"])
    return name[len("properties."):] if name.startswith("properties.") else name


def _literal_number(value: Any, part: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _error(part, f"{value!r} is not a number")
    return value


def _numeric_clause(op: str, args: list[Any], queryable: str) -> Interval:
    part = f"filter.{queryable}.{op}"
    if op == "between" and len(args) == 3:
        return Interval(_literal_number(args[1], part), _literal_number(args[2], part))
    if op == "in" and len(args) == 2 and isinstance(args[1], list):
        return Interval(values=frozenset(_literal_number(v, part) for v in args[1]))
    if len(args) != 2:
        raise _error(part, "takes a property and one value")
    value = _literal_number(args[1], part)
    bounds = {
        "=": Interval(values=frozenset({value})),
        "<": Interval(high=value, high_inclusive=False),
        "<=": Interval(high=value),
        ">": Interval(low=value, low_inclusive=False),
        ">=": Interval(low=value),
    }
    if op not in bounds:
        raise _error(part, "is not one an OpenSearch interval can express (=, <, <=, >, >=, between, in)")
    return bounds[op]


def _text_clause(op: str, args: list[Any], queryable: str) -> set[str]:
    part = f"filter.{queryable}.{op}"
    if op == "=" and len(args) == 2 and isinstance(args[1], str):
        return {args[1]}
    strings = len(args) == 2 and isinstance(args[1], list) and all(isinstance(v, str) for v in args[1])
    if op == "in" and strings:
        return set(args[1])
    raise _error(part, "only = or in with string values can be translated")


def _text_param(queryable: str, value: str) -> str:
    part = f"filter.{queryable}"
    if queryable == Q_ORBIT_STATE:
        if value not in _ORBIT_STATES:
            raise _error(part, f"{value!r} is not ascending or descending")
        return value.upper()
    if queryable == Q_GRID_CODE:
        if not value.startswith(_MGRS_PREFIX) or not _MGRS.match(value[len(_MGRS_PREFIX):]):
            raise _error(part, f"{value!r}: only MGRS grid codes (MGRS-31UFS) map to tileId")
        return value[len(_MGRS_PREFIX):]
    return value


# --- CQL2 text ----------------------------------------------------------------------------------------------

def cql2_text_to_json(text: str) -> dict[str, Any]:
    """Read CQL2 text into CQL2 JSON (with the ``cql2`` package, :func:`stac_bridge.search.cql2_json`).

    What OpenSearch can express of it (comparisons, ``BETWEEN``, ``IN`` on a property, joined with ``AND``) is
    decided when the JSON is translated.

    Raises:
        UntranslatableQueryError: the text is not CQL2.
    """
    try:
        return cql2_json(text)
    except ValueError as exc:
        raise _error("filter", str(exc)) from None


# --- OpenSearch -> STAC -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StacSearch:
    """A STAC item search translated from OpenSearch parameters.

    Attributes:
        body: The STAC API search body (``collections``, ``bbox``/``intersects``, ``datetime``, ``ids``,
            ``limit``, ``filter`` in CQL2 JSON with ``filter-lang``).
        start_index: The 1-based position of the first wanted result (OpenSearch ``startIndex``); STAC paging
            has no offset, so the server skips ``start_index - 1`` results itself.
    """

    body: dict[str, Any]
    start_index: int = 1


def opensearch_to_stac(params: Mapping[str, Any]) -> StacSearch:
    """Translate OpenSearch ``products`` parameters to a STAC item search.

    Args:
        params: The query parameters (strings, as parsed from a URL; a list holds repeated parameters).

    Returns:
        The STAC search, with ``cloudCover``, ``relativeOrbitNumber``, ``orbitDirection``, ``productType`` and
        ``tileId`` as a CQL2 JSON filter on ``eo:cloud_cover``, ``sat:relative_orbit``, ``sat:orbit_state``,
        ``product:type`` and ``grid:code``.

    Caveats:
        A date-only ``start`` is midnight UTC; a date-only ``end`` is the last microsecond of that day (the
        day is included). ``accessedFrom``/``clientId``/``httpAccept`` change only how answers are written and
        are ignored here. ``count=0`` (only ``totalResults``) becomes ``limit: 0``.

    Raises:
        UntranslatableQueryError: a parameter with no STAC equivalent (``platform``, ``publicationDate``,
            ``sortKeys``...) or a value that cannot be read, naming it.
    """
    values: dict[str, str] = {}
    for key, raw in params.items():
        if isinstance(raw, list | tuple):
            if len(raw) != 1:
                raise _error(key, "is repeated; OpenSearch takes it once")
            raw = raw[0]
        values[key] = str(raw)
    body: dict[str, Any] = {}
    start_index = 1
    clauses: list[dict[str, Any]] = []
    for key, value in values.items():
        if key in P_PRESENTATION:
            continue
        if key == P_COLLECTION:
            body[S_COLLECTIONS] = [value]
        elif key == P_UID:
            body[S_IDS] = [value]
        elif key == P_BBOX:
            body[S_BBOX] = [parse_number(v.strip(), P_BBOX) for v in value.split(",")]
            if len(body[S_BBOX]) != 4:
                raise _error(P_BBOX, "must be west,south,east,north")
        elif key == P_GEOMETRY:
            body[S_INTERSECTS] = _geojson(value)
        elif key in (P_START, P_END):
            continue
        elif key == P_COUNT:
            body[S_LIMIT] = _non_negative(value, P_COUNT)
        elif key == P_START_INDEX:
            start_index = _non_negative(value, P_START_INDEX)
            if start_index < 1:
                raise _error(P_START_INDEX, "is 1-based")
        elif key in (P_CLOUD_COVER, P_RELATIVE_ORBIT):
            queryable = Q_CLOUD_COVER if key == P_CLOUD_COVER else Q_RELATIVE_ORBIT
            clauses += _interval_clauses(queryable, parse_interval(value, part=key))
        elif key == P_ORBIT_DIRECTION:
            if value.lower() not in _ORBIT_STATES:
                raise _error(key, f"{value!r} is not ASCENDING or DESCENDING")
            clauses.append(_clause("=", Q_ORBIT_STATE, value.lower()))
        elif key == P_PRODUCT_TYPE:
            clauses.append(_clause("=", Q_PRODUCT_TYPE, value))
        elif key == P_TILE_ID:
            if not _MGRS.match(value):
                raise _error(key, f"{value!r} is not an MGRS tile id, so it has no grid:code")
            clauses.append(_clause("=", Q_GRID_CODE, _MGRS_PREFIX + value))
        else:
            raise _error(key, "has no STAC search equivalent")
    if S_BBOX in body and S_INTERSECTS in body:
        raise _error(P_GEOMETRY, "a STAC search cannot have both bbox and intersects")
    datetime = _datetime_member(values.get(P_START), values.get(P_END))
    if datetime is not None:
        body[S_DATETIME] = datetime
    if clauses:
        body[S_FILTER] = clauses[0] if len(clauses) == 1 else {"op": "and", "args": clauses}
        body[S_FILTER_LANG] = "cql2-json"
    return StacSearch(body, start_index)


def _clause(op: str, queryable: str, *values: Any) -> dict[str, Any]:
    return {"op": op, "args": [{"property": queryable}, *values]}


def _interval_clauses(queryable: str, interval: Interval) -> list[dict[str, Any]]:
    if interval.values is not None:
        ordered = sorted(interval.values)
        if len(ordered) == 1:
            return [_clause("=", queryable, ordered[0])]
        return [_clause("in", queryable, ordered)]
    if (interval.low is not None and interval.high is not None
            and interval.low_inclusive and interval.high_inclusive):
        return [_clause("between", queryable, interval.low, interval.high)]
    out = []
    if interval.low is not None:
        out.append(_clause(">=" if interval.low_inclusive else ">", queryable, interval.low))
    if interval.high is not None:
        out.append(_clause("<=" if interval.high_inclusive else "<", queryable, interval.high))
    return out


def _geojson(wkt: str) -> dict[str, Any]:
    try:
        shape = shapely.wkt.loads(wkt)
    except (shapely.errors.ShapelyError, ValueError, TypeError) as exc:
        raise _error(P_GEOMETRY, f"is not WKT: {exc}") from None
    geojson: dict[str, Any] = json.loads(shapely.to_geojson(shape))
    return geojson


def _os_time(value: str, part: str, *, end: bool) -> str:
    if _DATE_ONLY.match(value):
        value = f"{value}T23:59:59.999999Z" if end else f"{value}T00:00:00Z"
    try:
        return _common.format_datetime(_common.parse_datetime(value))
    except ValueError:
        raise _error(part, f"{value!r} is not a date or an RFC 3339 datetime") from None


def _datetime_member(start: str | None, end: str | None) -> str | None:
    if start is None and end is None:
        return None
    first = _os_time(start, P_START, end=False) if start is not None else ".."
    second = _os_time(end, P_END, end=True) if end is not None else ".."
    return f"{first}/{second}"
