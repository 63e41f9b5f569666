"""Plain-Python helpers (JSON copies, RFC 3339 datetimes), free of the geo libraries.

The harvest engine and the STAC adapter, which a plain STAC harvest loads, import only these, and so stay small
in memory; the provider transforms get them through :mod:`stac_bridge.transforms._common`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def copy_json(value: Any) -> Any:
    """Copy a JSON value deeply: dicts and lists anew, the rest (immutable scalars) as is.

    Several times faster than :func:`copy.deepcopy`, which the transforms would otherwise spend a third of
    their time in.
    """
    kind = type(value)
    if kind is dict:
        return {k: copy_json(v) for k, v in value.items()}
    if kind is list:
        return [copy_json(v) for v in value]
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


def parse_datetime(value: str) -> dt.datetime:
    """Parse an RFC 3339 / ISO 8601 datetime or date; naive values are taken as UTC.

    Raises:
        ValueError: ``value`` is not a datetime.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def format_datetime(value: dt.datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, keeping microseconds only when there are some."""
    utc = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    text = utc.replace(tzinfo=None, microsecond=0).isoformat()  # strftime's %Y drops the zeros of year 1
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"
