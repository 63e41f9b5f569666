"""Wire-level details the stand-in servers share, written from ``PROTOCOLS.md``, importing nothing from stac_bridge.

A stand-in that parsed its queries with the code under test would agree with that code's bugs: these are the
stand-ins' own readings of the protocols (RFC 3339 instants, the OpenSearch EO interval notation, OGC 17-047r1
page links), written apart from ``stac_bridge`` and kept deliberately plain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from urllib.parse import urlencode

__all__ = ["instant", "numeric_interval", "opensearch_page_links"]


def instant(text: str) -> dt.datetime:
    """An RFC 3339 date-time (``Z`` or an offset, any fraction of a second) or a date, in UTC.

    A value without a time zone (as some providers write them) is taken as UTC; a date is its first instant.

    Raises:
        ValueError: not a date or date-time.
    """
    value = text.strip().replace("z", "Z")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    if "." in value:  # Python reads at most 6 fraction digits
        head, _, rest = value.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        value = f"{head}.{(digits + '000000')[:6]}{rest[len(digits):]}"
    moment = dt.datetime.fromisoformat(value)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def numeric_interval(text: str) -> Callable[[float], bool]:
    """A test for the OpenSearch EO interval notation of numbers (OGC 13-026r9 4.2).

    ``60]`` up to 60, ``[10`` from 10, ``[10,60]`` between (``]``/``[`` on the inner side exclude the bound),
    ``{1,2}`` one of, ``7`` equal.

    Raises:
        ValueError: not an interval.
    """
    value = text.strip()
    if value.startswith("{") and value.endswith("}"):
        allowed = {float(v) for v in value[1:-1].split(",")}
        return lambda x: x in allowed
    if "," in value:
        opening, closing = value[0], value[-1]
        if opening not in "[]" or closing not in "[]":
            raise ValueError(f"{text!r} is not an interval")
        low, high = (float(v) for v in value[1:-1].split(","))
        return lambda x: (x >= low if opening == "[" else x > low) and (x <= high if closing == "]" else x < high)
    if value.endswith("]"):
        return lambda x: x <= float(value[:-1])
    if value.endswith("["):
        return lambda x: x < float(value[:-1])
    if value.startswith("["):
        return lambda x: x >= float(value[1:])
    if value.startswith("]"):
        return lambda x: x > float(value[1:])
    return lambda x: x == float(value)


def opensearch_page_links(
    url: str, params: Sequence[tuple[str, str]], *, start: int, count: int, total: int, media_type: str
) -> dict[str, list[dict[str, str]]]:
    """``properties.links`` of one 17-047r1 page: ``first``, ``last`` and, where they exist, ``next``/``previous``.

    Each href is absolute and carries every parameter of the request with its own ``startIndex`` (the SDK
    follows them as given). ``last`` is the last page on this request's grid (``start``, ``start + count``...).
    """
    others = [(name, value) for name, value in params if name != "startIndex"]

    def at(index: int, title: str) -> list[dict[str, str]]:
        query = urlencode([*others, ("startIndex", str(index))])
        return [{"href": f"{url}?{query}", "type": media_type, "title": title}]

    # The page holding the last result on this grid; with nothing from ``start`` on, the grid from 1.
    last = start + (total - start) // count * count if total >= start else 1 + (max(total, 1) - 1) // count * count
    links = {"first": at(1, "first"), "last": at(last, "last")}
    if start + count <= total:
        links["next"] = at(start + count, "next")
    if start > 1:
        links["previous"] = at(max(1, start - count), "previous")
    return links
