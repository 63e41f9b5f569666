"""The one STAC search model the providers' query translators read and write, with its parsers.

:class:`Search` is a STAC API item search (collections, ids, bbox or intersects, a datetime interval, a CQL2
filter, a limit), read from and written to a search body. CQL2 is read and written by the ``cql2`` package
(text and JSON, both ways); STAC datetime intervals by :func:`parse_datetime_interval`, the only parser of them. Pure:
no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from stac_bridge.errors import UntranslatableQueryError
from stac_bridge.transforms._plain import format_datetime, parse_datetime

__all__ = ["OPEN", "TimeInterval", "Search", "cql2_json", "cql2_text", "parse_datetime_interval"]

#: How a STAC interval writes an open end.
OPEN: Final = ".."
_OPEN_ENDS: Final = frozenset({"", OPEN})
_MEMBERS: Final = frozenset({"collections", "ids", "bbox", "intersects", "datetime", "filter", "filter-lang",
                             "filter-crs", "limit"})


@dataclass(frozen=True)
class TimeInterval:
    """A STAC datetime: one instant (``start == end``) or an interval, either end open (``None``).

    Attributes:
        start: The first instant (UTC), or ``None``.
        end: The last instant (UTC, inclusive), or ``None``.
    """

    start: dt.datetime | None = None
    end: dt.datetime | None = None

    @property
    def instant(self) -> bool:
        """Whether it is one instant."""
        return self.start is not None and self.start == self.end

    def bounds(self) -> tuple[str | None, str | None]:
        """``(start, end)`` in RFC 3339 (UTC, ``Z``), ``None`` for an open end."""
        return (format_datetime(self.start) if self.start else None, format_datetime(self.end) if self.end else None)

    def __str__(self) -> str:
        start, end = self.bounds()
        if self.instant:
            return str(start)
        return f"{start or OPEN}/{end or OPEN}"


def parse_datetime_interval(text: str) -> TimeInterval:
    """Read a STAC ``datetime``: an RFC 3339 instant, or ``start/end`` with ``..`` or nothing for an open end.

    Raises:
        ValueError: a bound is not an RFC 3339 datetime, or the text has more than two parts, naming the text.
    """
    parts = text.strip().split("/")
    if len(parts) > 2:
        raise ValueError(f"not a datetime or interval: {text!r}")
    try:
        bounds = [None if part.strip() in _OPEN_ENDS else parse_datetime(part) for part in parts]
    except ValueError as exc:
        raise ValueError(f"not an RFC 3339 datetime or interval: {text!r}") from exc
    if len(bounds) == 1:
        if bounds[0] is None:
            raise ValueError(f"not an RFC 3339 datetime or interval: {text!r}")
        return TimeInterval(bounds[0], bounds[0])
    start, end = bounds
    if start is not None and end is not None and start > end:
        raise ValueError(f"the interval {text!r} ends before it starts")
    return TimeInterval(start, end)


def cql2_json(expression: str | Mapping[str, Any]) -> dict[str, Any]:
    """A CQL2 filter (text, or JSON as a mapping or a string) as CQL2 JSON, read by the ``cql2`` package.

    Raises:
        ValueError: not a valid CQL2 expression, with the package's reason.
    """
    import cql2

    try:
        parsed = cql2.parse_text(expression) if isinstance(expression, str) else cql2.Expr(dict(expression))
        out: dict[str, Any] = parsed.to_json()
    except Exception as exc:  # cql2 raises its ParseError, ValidationError or a bare Exception
        raise ValueError(f"not a CQL2 expression: {exc}") from exc
    return out


def cql2_text(expression: Mapping[str, Any]) -> str:
    """CQL2 JSON as CQL2 text (the ``cql2`` package's writer).

    Raises:
        ValueError: not a valid CQL2 JSON expression.
    """
    import cql2

    try:
        return str(cql2.Expr(dict(expression)).to_text())
    except Exception as exc:  # as in cql2_json
        raise ValueError(f"not a CQL2 JSON expression: {exc}") from exc


@dataclass(frozen=True)
class Search:
    """A STAC API item search, as every query translator reads and writes it.

    Attributes:
        collections: Collection ids.
        ids: Item ids.
        bbox: ``[west, south, east, north]`` (or 6 numbers), or ``None``.
        intersects: A GeoJSON geometry, or ``None``.
        datetime: The datetime interval, or ``None``.
        filter: A CQL2 JSON expression, or ``None``.
        limit: The page size asked for, or ``None``.
    """

    collections: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    bbox: tuple[float, ...] | None = None
    intersects: Mapping[str, Any] | None = None
    datetime: TimeInterval | None = None
    filter: Mapping[str, Any] | None = None
    limit: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_body(cls, body: Mapping[str, Any], *, provider: str = "stac") -> Search:
        """Read a STAC search body (``filter`` as CQL2 JSON, or text with ``filter-lang: cql2-text``).

        Members beside the STAC API's are kept in :attr:`extra`, for the translator to take or refuse.

        Raises:
            UntranslatableQueryError: a member is malformed, naming it.
        """
        def strings(name: str) -> tuple[str, ...]:
            value = body.get(name) or ()
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise UntranslatableQueryError(provider, name, "must be a list of strings")
            return tuple(value)

        bbox = body.get("bbox")
        if bbox is not None and (not isinstance(bbox, Sequence) or len(bbox) not in (4, 6)
                                 or not all(isinstance(v, int | float) for v in bbox)):
            raise UntranslatableQueryError(provider, "bbox", "must be 4 or 6 numbers")
        interval = None
        if body.get("datetime") is not None:
            try:
                interval = parse_datetime_interval(str(body["datetime"]))
            except ValueError as exc:
                raise UntranslatableQueryError(provider, "datetime", str(exc)) from exc
        expression = body.get("filter")
        if expression is not None:
            try:
                expression = cql2_json(expression)
            except ValueError as exc:
                raise UntranslatableQueryError(provider, "filter", str(exc)) from exc
        limit = body.get("limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise UntranslatableQueryError(provider, "limit", "must be a non-negative integer")
        return cls(strings("collections"), strings("ids"), tuple(float(v) for v in bbox) if bbox else None,
                   body.get("intersects"), interval, expression, limit,
                   {k: v for k, v in body.items() if k not in _MEMBERS})

    def to_body(self) -> dict[str, Any]:
        """The STAC search body (``filter`` in CQL2 JSON with ``filter-lang``), the members set only."""
        body: dict[str, Any] = {}
        if self.collections:
            body["collections"] = list(self.collections)
        if self.ids:
            body["ids"] = list(self.ids)
        if self.bbox is not None:
            body["bbox"] = list(self.bbox)
        if self.intersects is not None:
            body["intersects"] = dict(self.intersects)
        if self.datetime is not None:
            body["datetime"] = str(self.datetime)
        if self.filter is not None:
            body["filter"] = dict(self.filter)
            body["filter-lang"] = "cql2-json"
        if self.limit is not None:
            body["limit"] = self.limit
        return {**body, **self.extra}
