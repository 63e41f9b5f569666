"""Capella console search bodies -> standard STAC API search bodies (CQL2-JSON filter).

capella-console-client POSTs ``/catalog/search`` with the STAC API *query* extension's shape, but with
``datetime`` inside ``query`` (``{"datetime": {"eq": "a/b"}}``), 1-based ``page`` numbers instead of tokens, and
field names of Capella's own items (``proj:epsg``, ``view:look_angle``, ``locale:*``). This module rewrites such a
body into what a STAC API over the catalog of normalised items (see :mod:`stac_bridge.transforms.capella`)
understands: top-level ``datetime``, a CQL2-JSON ``filter`` with the normalised names, ``sortby`` with the
normalised names, and the page number returned beside the body for the caller to turn into its own paging.

Pure: no I/O. Anything that cannot be translated is a :class:`~stac_bridge.errors.TransformError` naming the
part of the body (``query.sar:product_type.like``, ``sortby.0.direction``, ``fields``...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from stac_bridge.errors import TransformError, UntranslatableQueryError
from stac_bridge.search import OPEN, Search, TimeInterval, parse_datetime_interval
from stac_bridge.transforms import _common

__all__ = ["TranslatedSearch", "search_body_to_stac", "stac_to_search_body"]

PROVIDER: Final = "capella"

BBOX: Final = "bbox"
INTERSECTS: Final = "intersects"
IDS: Final = "ids"
COLLECTIONS: Final = "collections"
LIMIT: Final = "limit"
SORTBY: Final = "sortby"
QUERY: Final = "query"
PAGE: Final = "page"
DATETIME: Final = "datetime"
FILTER: Final = "filter"
FILTER_LANG: Final = "filter-lang"
CQL2_JSON: Final = "cql2-json"

#: The console client's default page size (it sends ``limit`` explicitly, but a hand-written body may not).
DEFAULT_LIMIT: Final = 500
#: Capella's largest page.
MAX_PAGE_SIZE: Final = 900

#: Query/sort operators of the console client -> CQL2 operators.
_OPERATORS: Final[dict[str, str]] = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
#: Capella item field -> normalised STAC field (see ``capella.item_to_stac``).
_FIELD_NAMES: Final[dict[str, str]] = {
    "proj:epsg": "proj:code",
    "view:look_angle": "view:off_nadir",
    "locale:datetime": "capella:locale_datetime",
    "locale:timezone": "capella:locale_timezone",
    "locale:time": "capella:locale_time",
}
#: Fields whose value is an array: ``in`` means "shares a value with", ``eq`` with a list "equals as a set".
_ARRAY_FIELDS: Final = frozenset({"sar:polarizations", "instruments"})
_PASSED_THROUGH: Final = (BBOX, INTERSECTS, IDS, COLLECTIONS)


@dataclass(frozen=True)
class TranslatedSearch:
    """A Capella search body as a STAC API search.

    Attributes:
        body: The STAC API ``POST /search`` body (``bbox``, ``collections``, ``datetime``, ``limit``, ``sortby``,
            ``filter`` with ``filter-lang: cql2-json``, ...).
        page: The 1-based page Capella asked for (``page`` in its body; 1 when absent).
        limit: The page size (``limit``, at most 900 as Capella serves it).
    """

    body: dict[str, Any]
    page: int
    limit: int

    @property
    def offset(self) -> int:
        """How many matches come before the requested page."""
        return (self.page - 1) * self.limit


def search_body_to_stac(body: Mapping[str, Any]) -> TranslatedSearch:
    """Translate the body capella-console-client POSTs to ``/catalog/search``.

    Args:
        body: The JSON body, e.g. ``{"bbox": [...], "collections": ["capella-archive"], "limit": 5,
            "sortby": [{"field": "properties.datetime", "direction": "desc"}], "query": {"datetime": {"eq":
            "2024-05-01T00:00:00Z/2024-05-31T23:59:59Z"}, "sar:product_type": {"in": ["SLC", "GEO"]}}, "page": 2}``.

    Returns:
        The STAC API search body, the page and the page size.

    Raises:
        TransformError: a member, operator or value that has no STAC API equivalent; ``field`` names it.

    Caveats:
        ``datetime`` with ``eq`` becomes the top-level ``datetime`` (an instant or an ``a/b`` interval); other
        ``datetime`` operators become CQL2 timestamp comparisons. ``proj:epsg`` values become ``proj:code``
        strings, so only ``eq``/``in`` are translatable for it. ``in`` on an array field (``sar:polarizations``)
        is CQL2 ``a_overlaps``. ``limit`` above 900 is capped at 900, as Capella does.

    """
    if not isinstance(body, Mapping):
        raise _error(None, f"the search body must be a JSON object, got {type(body).__name__}")
    out: dict[str, Any] = {}
    for key in body:
        if key not in (*_PASSED_THROUGH, LIMIT, SORTBY, QUERY, PAGE, DATETIME, FILTER, FILTER_LANG):
            raise _error(key, "is not a search parameter Capella's catalog or a STAC API knows")
    for key in _PASSED_THROUGH:
        if key in body:
            out[key] = body[key]
    limit = min(_positive_int(body, LIMIT, DEFAULT_LIMIT), MAX_PAGE_SIZE)
    page = _positive_int(body, PAGE, 1)
    out[LIMIT] = limit
    if DATETIME in body:
        out[DATETIME] = _datetime_text(DATETIME, body[DATETIME])
    if SORTBY in body:
        out[SORTBY] = _sortby(body[SORTBY])

    clauses: list[dict[str, Any]] = []
    query = body.get(QUERY) or {}
    if not isinstance(query, Mapping):
        raise _error(QUERY, "must be an object of {field: {operator: value}}")
    for field, condition in query.items():
        only_eq = isinstance(condition, Mapping) and set(condition) == {"eq"}
        if field == DATETIME and only_eq and DATETIME not in out:
            out[DATETIME] = _datetime_text(f"{QUERY}.{DATETIME}.eq", condition["eq"])
            continue
        clauses.extend(_clauses(field, condition))
    if FILTER in body:
        if body.get(FILTER_LANG, CQL2_JSON) != CQL2_JSON or not isinstance(body[FILTER], Mapping):
            raise _error(FILTER, "only a CQL2-JSON filter object can be combined")
        clauses.append(dict(body[FILTER]))
    if clauses:
        out[FILTER_LANG] = CQL2_JSON
        out[FILTER] = clauses[0] if len(clauses) == 1 else {"op": "and", "args": clauses}
    return TranslatedSearch(out, page, limit)


def _clauses(field: str, condition: Any) -> list[dict[str, Any]]:
    where = f"{QUERY}.{field}"
    if not isinstance(condition, Mapping) or not condition:
        raise _error(where, "must be an object of {operator: value}")
    name = _FIELD_NAMES.get(field, field)
    clauses = []
    for operator, value in condition.items():
        path = f"{where}.{operator}"
        if operator not in (*_OPERATORS, "in"):
            raise _error(path, f"the operator {operator!r} is not one of eq, in, gt, gte, lt, lte")
        value = _value(path, field, operator, value)
        prop = {"property": name}
        if operator == "in":
            if not isinstance(value, list):
                raise _error(path, "must be an array")
            op = "a_overlaps" if name in _ARRAY_FIELDS else "in"
            clauses.append({"op": op, "args": [prop, value]})
        elif isinstance(value, Mapping) and "interval" in value:
            clauses.append({"op": "t_intersects", "args": [prop, value]})
        elif operator == "eq" and name in _ARRAY_FIELDS and isinstance(value, list):
            clauses.append({"op": "a_equals", "args": [prop, value]})
        else:
            clauses.append({"op": _OPERATORS[operator], "args": [prop, value]})
    return clauses


def _value(path: str, field: str, operator: str, value: Any) -> Any:
    if field == DATETIME:
        if operator == "in":
            raise _error(path, "datetime takes eq, gt, gte, lt or lte")
        start, end = _datetime_interval(path, value).bounds()
        if "/" in value:
            if operator != "eq":
                raise _error(path, "an interval only goes with eq")
            return {"interval": [start or OPEN, end or OPEN]}
        return {"timestamp": start}
    if field == "proj:epsg":
        if operator not in ("eq", "in"):
            raise _error(path, "proj:epsg becomes the string proj:code, which has no order: use eq or in")
        values = value if isinstance(value, list) else [value]
        try:
            codes = [f"EPSG:{_common.epsg_code(v)}" for v in values]
        except (ValueError, TypeError) as exc:
            raise _error(path, f"is not an EPSG code: {exc}") from exc
        return codes if isinstance(value, list) else codes[0]
    if isinstance(value, Mapping):
        raise _error(path, "must be a string, number, boolean or array")
    return value


def _datetime_interval(path: str, value: Any) -> TimeInterval:
    if not isinstance(value, str) or not value:
        raise _error(path, "must be an RFC 3339 datetime or an a/b interval")
    try:
        return parse_datetime_interval(value)
    except ValueError as exc:
        raise _error(path, str(exc)) from exc


def _datetime_text(path: str, value: Any) -> str:
    """The datetime or interval in RFC 3339 (UTC), an open end as the client wrote it (``..`` or nothing)."""
    interval = _datetime_interval(path, value)
    start, end = interval.bounds()
    if "/" not in value:
        return str(start)
    given_start, _, given_end = value.partition("/")
    return f"{start or given_start}/{end or given_end}"


def _sortby(sortby: Any) -> list[dict[str, str]]:
    if not isinstance(sortby, list):
        raise _error(SORTBY, "must be an array of {field, direction}")
    out = []
    for index, entry in enumerate(sortby):
        where = f"{SORTBY}.{index}"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("field"), str):
            raise _error(f"{where}.field", "is missing")
        direction = entry.get("direction", "asc")
        if direction not in ("asc", "desc"):
            raise _error(f"{where}.direction", f"is {direction!r}, not asc or desc")
        field = entry["field"]
        head, dot, name = field.rpartition(".") if field.startswith("properties.") else ("", "", field)
        out.append({"field": f"{head}{dot}{_FIELD_NAMES.get(name, name)}", "direction": direction})
    return out


def _positive_int(body: Mapping[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _error(key, f"must be a positive integer, got {value!r}")
    return value


def _error(field: str | None, reason: str) -> TransformError:
    return TransformError(PROVIDER, None, field, reason)


# --- STAC -> Capella ----------------------------------------------------------------------------------------

#: CQL2 comparison operators -> the console client's query operators (the inverse of ``_OPERATORS``).
_QUERY_OPERATORS: Final[dict[str, str]] = {cql2: capella for capella, cql2 in _OPERATORS.items()}
#: Normalised STAC field -> Capella item field (the inverse of ``_FIELD_NAMES``).
_CAPELLA_NAMES: Final[dict[str, str]] = {stac: capella for capella, stac in _FIELD_NAMES.items()}


def stac_to_search_body(search: Mapping[str, Any]) -> dict[str, Any]:
    """Translate a STAC item search to the body Capella's ``/catalog/search`` takes.

    The inverse of :func:`search_body_to_stac`: ``collections``, ``ids``, ``bbox``, ``intersects``, ``datetime``,
    ``limit`` and ``sortby`` pass through; a CQL2 filter (JSON or text) that is an ``and`` of comparisons (``=``,
    ``<``, ``<=``, ``>``, ``>=``) and ``in`` on properties becomes ``query`` (``proj:code`` back to ``proj:epsg``
    numbers, ``a_overlaps`` on an array field to ``in``).

    Raises:
        UntranslatableQueryError: a member or a filter part Capella's query cannot say, naming it.
    """
    parsed = Search.from_body({k: v for k, v in search.items() if k != SORTBY}, provider=PROVIDER)
    if parsed.extra:
        raise UntranslatableQueryError(PROVIDER, sorted(parsed.extra)[0], "has no Capella search equivalent")
    body = {k: v for k, v in parsed.to_body().items() if k not in (FILTER, FILTER_LANG)}
    if SORTBY in search:
        body[SORTBY] = search[SORTBY]
    if parsed.filter is not None:
        query: dict[str, dict[str, Any]] = {}
        clauses = parsed.filter["args"] if parsed.filter.get("op") == "and" else [parsed.filter]
        for clause in clauses:
            field, operator, value = _query_condition(clause)
            if operator in query.setdefault(field, {}):
                raise UntranslatableQueryError(PROVIDER, f"{FILTER}.{field}", f"has two {operator} conditions")
            query[field][operator] = value
        body[QUERY] = query
    return body


def _query_condition(clause: Any) -> tuple[str, str, Any]:
    op = str(clause.get("op")) if isinstance(clause, Mapping) else "?"
    args = clause.get("args") if isinstance(clause, Mapping) else None
    if op in ("a_overlaps", "in") and isinstance(args, list) and len(args) == 2:
        operator = "in"
    elif op in _QUERY_OPERATORS and isinstance(args, list) and len(args) == 2:
        operator = _QUERY_OPERATORS[op]
    else:
        raise UntranslatableQueryError(PROVIDER, f"{FILTER}.{op}", "Capella's query takes an and of comparisons "
                                       "(=, <, <=, >, >=) and in")
    prop, value = args
    if not isinstance(prop, Mapping) or not isinstance(prop.get("property"), str) or isinstance(value, Mapping):
        raise UntranslatableQueryError(PROVIDER, f"{FILTER}.{op}", "compares a property with a literal only")
    name = str(prop["property"]).removeprefix("properties.")
    field = _CAPELLA_NAMES.get(name, name)
    if field == "proj:epsg":
        try:
            value = [_epsg(v) for v in value] if isinstance(value, list) else _epsg(value)
        except ValueError as exc:
            raise UntranslatableQueryError(PROVIDER, f"{FILTER}.proj:code", str(exc)) from exc
    return field, operator, value


def _epsg(code: Any) -> int:
    text = str(code)
    if not text.upper().startswith("EPSG:") or not text[5:].isdigit():
        raise ValueError(f"{code!r} is not an EPSG code")
    return int(text[5:])
