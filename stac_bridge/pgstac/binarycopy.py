"""pgstac item rows in PostgreSQL's binary COPY format.

In text COPY the database unescapes every character of every field and parses the datetimes and the footprint's
hex; in a fresh load that was a seventh of its work, and psycopg's per-row text formatting was most of the
writing thread's. In binary each field is its length and its bytes: ``text`` as UTF-8, ``timestamptz`` as
microseconds since 2000-01-01 UTC, ``geometry`` as EWKB (PostGIS's ``geometry_recv``), ``jsonb`` as a version
byte and the JSON text. See PostgreSQL's documentation of COPY, "Binary Format".
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Final

__all__ = ["HEADER", "TRAILER", "item_fields", "jsonb_field"]

#: The signature, the flags (none) and the length of the header extension (none).
HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
#: The end of the data: a tuple of -1 fields.
TRAILER: Final = struct.pack("!h", -1)
_EPOCH: Final = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_FIELDS: Final = 7  # id, collection, datetime, end_datetime, geometry, content, private
_JSONB_VERSION: Final = b"\x01"


def _micros(value: dt.datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def item_fields(item_id: str, collection: str, start: dt.datetime, end: dt.datetime, geometry: bytes,
                content: bytes) -> bytes:
    """A row of ``items (id, collection, datetime, end_datetime, geometry, content, private)`` but its last field.

    Args:
        item_id: The item's id.
        collection: Its collection's id.
        start: Its ``datetime`` column (time-zone aware).
        end: Its ``end_datetime`` column.
        geometry: Its footprint, EWKB.
        content: Its dehydrated content, JSON.

    Returns:
        The tuple's field count and its first six fields: :func:`jsonb_field` of ``private`` completes it.
    """
    ident, where = item_id.encode(), collection.encode()
    return struct.pack(f"!hi{len(ident)}si{len(where)}siqiqi{len(geometry)}si{len(content) + 1}s",
                       _FIELDS, len(ident), ident, len(where), where, 8, _micros(start), 8, _micros(end),
                       len(geometry), geometry, len(content) + 1, _JSONB_VERSION + content)


def jsonb_field(value: bytes) -> bytes:
    """A ``jsonb`` field of JSON text ``value``."""
    return struct.pack("!i", len(value) + 1) + _JSONB_VERSION + value
