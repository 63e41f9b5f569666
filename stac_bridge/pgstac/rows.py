"""STAC Items as pgstac rows, a batch at a time: what pypgstac's ``Loader.format_item`` makes, faster.

pypgstac formats one item at a time in Python (its own dehydration, plpygis for the footprint's EWKB). Here
footprints are packed as EWKB from their coordinates (:mod:`stac_bridge.pgstac.ewkb`; GEOS, through shapely,
reads the rest of a batch at once) and items are dehydrated by ``hydraters`` (the Rust dehydration
stac-fastapi-pgstac hydrates with): the same rows (``tests/pgstac/test_loader_writes.py`` compares them with
pypgstac's), in a fraction of the time, ready for binary COPY (:mod:`stac_bridge.pgstac.binarycopy`). A
footprint GEOS cannot read falls back to plpygis, item by item, so each refusal names its item.

Each row also carries a *digest* of the item as given and of its collection's base item: a load that finds
the same digest stored skips the item without formatting or writing it (:mod:`stac_bridge.pgstac.loader`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from stac_bridge.pgstac import binarycopy, ewkb

__all__ = ["LOAD_KEY", "BaseItem", "FormatError", "digest_of", "format_rows", "instant"]

#: The loader's own member of an item's ``private`` column: ``{"digest": ..., "xid": the writing transaction}``.
LOAD_KEY: Final = "stac_bridge:load"


class FormatError(ValueError):
    """An item pgstac cannot hold (its datetimes or its footprint)."""


@dataclass(frozen=True)
class BaseItem:
    """What pgstac keeps of a collection for its items (pypgstac's ``Loader.collection_json``).

    Attributes:
        item: The collection's base item (items are dehydrated against it).
        key: The collection's partition key.
        partition_trunc: ``"year"``, ``"month"`` or ``None``: how the collection's items are partitioned.
        base_item_id: pgstac's id of the base item, or ``None``.
        digest: A digest of the base item (an item's digest includes it: a new base item rewrites them).
    """

    item: dict[str, Any]
    key: Any
    partition_trunc: str | None
    base_item_id: Any
    digest: bytes

    @classmethod
    def of(cls, item: dict[str, Any], key: Any, partition_trunc: str | None, base_item_id: Any) -> BaseItem:
        """The base item of pypgstac's ``collection_json`` answer, with its digest."""
        made = hashlib.blake2b(orjson.dumps([item, key, partition_trunc, base_item_id],
                                            option=orjson.OPT_SORT_KEYS), digest_size=16).digest()
        return cls(item, key, partition_trunc, base_item_id, made)


def digest_of(data: bytes, base: BaseItem) -> str:
    """The digest of an item as given (its JSON, keys in their order, ledger included) and of its base item.

    ``data`` is the line the item was read from, or what orjson writes of it (the lines stac-bridge writes).
    """
    return hashlib.blake2b(data + base.digest, digest_size=16).hexdigest()


_CALENDAR: Final = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_FRACTION: Final = re.compile(r"[.,](\d{7,})")


@functools.lru_cache(maxsize=1 << 16)
def instant(value: str) -> dt.datetime:
    """An RFC 3339 datetime, in UTC, as PostgreSQL stores it (``timestamptz``: microseconds, rounded).

    The loader's one reading of item datetimes: its checks and the rows it writes agree. A date and a time
    with an offset (or ``Z``), in ISO 8601's extended calendar form: week or ordinal dates and the basic form,
    which PostgreSQL refuses, are refused here too. The last readings are kept: the loader checks a batch's
    datetimes, then formats its rows with them.

    Raises:
        ValueError: not such a datetime, or without a time zone.
    """
    if not _CALENDAR.match(value):
        raise ValueError("not a calendar date and time")
    parsed = dt.datetime.fromisoformat(value.replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError("no time zone")
    digits = _FRACTION.search(value)
    if digits is not None:  # beyond microseconds: rounded half to even, as PostgreSQL does
        fraction = digits.group(1)
        micros = round(int(fraction) / 10 ** (len(fraction) - 6))
        parsed = parsed.replace(microsecond=0) + dt.timedelta(microseconds=micros)
    return parsed.astimezone(dt.UTC)


def _datetimes(properties: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    start, end, at = (properties.get(k) for k in ("start_datetime", "end_datetime", "datetime"))
    if start is not None and end is not None:
        first, last = _instant(start), _instant(end)
        if first > last:
            raise FormatError("start_datetime must be < end_datetime")
        return first, last
    if at is not None:
        when = _instant(at)
        return when, when
    raise FormatError("Invalid datetime encountered")


def _instant(value: Any) -> dt.datetime:
    try:
        return instant(str(value))
    except ValueError as exc:
        raise FormatError(f"Invalid datetime encountered: {exc}") from exc


def _footprints(geometries: Sequence[Any]) -> list[bytes | None]:
    """EWKB (SRID 4326) of each GeoJSON geometry; ``None`` where GEOS cannot read it.

    The plainly well-formed simple shapes are packed directly (:mod:`stac_bridge.pgstac.ewkb`); GEOS reads
    the others, all at once.
    """
    encoded: list[bytes | None] = [ewkb.encode(g) for g in geometries]
    rest = [index for index, value in enumerate(encoded) if value is None]
    if rest:
        import shapely

        texts = [_geojson(geometries[index]) for index in rest]
        shapes = shapely.set_srid(shapely.from_geojson(texts, on_invalid="ignore"), 4326)
        for index, value in zip(rest, shapely.to_wkb(shapes, include_srid=True, output_dimension=3),
                                strict=True):
            encoded[index] = bytes(value) if value is not None else None
    return encoded


def _geojson(geometry: Any) -> bytes:
    try:
        return orjson.dumps(geometry)
    except TypeError:  # an integer beyond 64 bits, a value JSON does not have: GEOS cannot read it either
        return b"null"


def _footprint_one(geometry: Any) -> bytes:
    from plpygis import Geometry  # type: ignore[import-untyped]

    try:
        shape = Geometry.from_geojson(geometry)
    except Exception as exc:  # plpygis raises bare Exceptions
        raise FormatError(f"Invalid geometry encountered: {exc}") from exc
    if shape is None:
        raise FormatError(f"Invalid geometry encountered: {orjson.dumps(geometry).decode()[:80]}")
    return bytes.fromhex(str(shape.ewkb))


def format_rows(items: Sequence[tuple[dict[str, Any], BaseItem, str]]) -> list[dict[str, Any] | FormatError]:
    """The pgstac rows of ``(item, base item, digest)``, in order; a :class:`FormatError` for each item refused.

    ``item`` is the content to store, with what goes to the ``private`` column under ``"private"``; the members
    it shares with the base item are consumed (dehydrated in place), its ``geometry`` is only read. Each row:
    ``id``, ``collection``, ``datetime`` and ``end_datetime`` (UTC datetimes), ``fields`` (the row in binary COPY
    format but its ``private`` column: :func:`stac_bridge.pgstac.binarycopy.item_fields`), ``private`` (a
    dict: the writer adds its transaction under :data:`LOAD_KEY` and serialises it), and the collection's
    ``partition_trunc`` (for the writer's partitions).
    """
    from hydraters import dehydrate

    footprints = _footprints([item.get("geometry") for item, _, _ in items])
    rows: list[dict[str, Any] | FormatError] = []
    for (item, base, item_digest), footprint in zip(items, footprints, strict=True):
        try:
            first, last = _datetimes(item.get("properties") or {})
            geometry = footprint if footprint is not None else _footprint_one(item.get("geometry"))
        except FormatError as exc:
            rows.append(exc)
            continue
        private = dict(item.pop("private", None) or {})
        private[LOAD_KEY] = {"digest": item_digest}
        item_id, collection = str(item.get("id")), str(item.get("collection"))
        content = dehydrate(base.item, {k: v for k, v in item.items() if k != "geometry"})
        for key in ("id", "collection", "pgstac:base_item"):
            content.pop(key, None)
        if base.base_item_id is not None:
            content["pgstac:base_item"] = base.base_item_id
        rows.append({"id": item_id, "collection": collection, "datetime": first, "end_datetime": last,
                     "partition_trunc": base.partition_trunc, "private": private,
                     "fields": binarycopy.item_fields(item_id, collection, first, last, geometry,
                                                      orjson.dumps(content))})
    return rows
