"""GeoJSON footprints as PostGIS EWKB (SRID 4326), the common shapes without a round trip through GEOS.

A load of 100,000 items spent a sixth of its Python time in ``shapely.from_geojson`` (GEOS's GeoJSON reader,
which parses the geometry's JSON again). Footprints are nearly always small polygons, so their EWKB is packed
here straight from the parsed coordinates. Only what is plainly well formed is packed: one kind of the six
simple geometry types, every position of two numbers or every position of three, non-empty, rings closed and of
at least four positions. Anything else is left to GEOS (:func:`encode` answers ``None``), which decides as
before. What is packed is byte for byte what ``shapely.to_wkb(..., include_srid=True, output_dimension=3)``
writes (``tests/pgstac/test_rows.py`` checks it on generated geometries).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from itertools import chain
from typing import Any, Final

__all__ = ["encode"]

#: WKB geometry type codes.
_CODES: Final = {"Point": 1, "LineString": 2, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5,
                 "MultiPolygon": 6}
_Z: Final = 0x80000000
_SRID: Final = 0x20000000
_SRID_4326: Final = 4326
_LIST: Final = {list}
_NUMBERS: Final = {float, int}


class _Irregular(Exception):
    """Not a shape this module packs: GEOS reads it."""


def encode(geometry: Any) -> bytes | None:
    """The EWKB (SRID 4326) of a GeoJSON geometry, or ``None`` if GEOS is to read it.

    Args:
        geometry: A parsed GeoJSON geometry.

    Returns:
        The EWKB PostGIS reads, or ``None`` for a geometry outside the plainly well-formed simple types.
    """
    if not isinstance(geometry, dict):
        return None
    code = _CODES.get(geometry.get("type"))  # type: ignore[arg-type]
    coordinates = geometry.get("coordinates")
    if code is None or not isinstance(coordinates, list) or not coordinates:
        return None
    try:
        dimension = _dimension(code, coordinates)
        flags = _Z if dimension == 3 else 0
        parts = [struct.pack("<BII", 1, code | flags | _SRID, _SRID_4326)]
        _pack(code, coordinates, dimension, flags, parts)
    except _Irregular:
        return None
    return b"".join(parts)


def _first_position(code: int, coordinates: Any) -> Any:
    depth = {1: 0, 2: 1, 3: 2, 4: 1, 5: 2, 6: 3}[code]
    for _ in range(depth):
        if not isinstance(coordinates, list) or not coordinates:
            raise _Irregular
        coordinates = coordinates[0]
    return coordinates


def _dimension(code: int, coordinates: Any) -> int:
    first = _first_position(code, coordinates)
    if not isinstance(first, list) or len(first) not in (2, 3):
        raise _Irregular
    return len(first)


def _positions(positions: Any, dimension: int, least: int) -> bytes:
    """``positions`` (a list of at least ``least``) packed after their count."""
    # Checked with C-level passes (map, set, sum): a footprint is one of many thousands in a load.
    if type(positions) is not list or len(positions) < least or set(map(type, positions)) != _LIST \
            or set(map(len, positions)) != {dimension}:
        raise _Irregular
    flat = list(chain.from_iterable(positions))
    if not set(map(type, flat)) <= _NUMBERS:  # bool is not a coordinate
        raise _Irregular
    try:
        if not math.isfinite(sum(flat)):
            raise _Irregular
    except OverflowError as exc:  # an integer too large for a double
        raise _Irregular from exc
    return struct.pack(f"<I{len(flat)}d", len(positions), *flat)


def _point(position: Any, dimension: int) -> bytes:
    return _positions([position], dimension, 1)[4:]


def _rings(rings: Any, dimension: int) -> bytes:
    if not isinstance(rings, list) or not rings:
        raise _Irregular
    packed = [struct.pack("<I", len(rings))]
    for ring in rings:
        if not isinstance(ring, list) or len(ring) < 4 or ring[0] != ring[-1]:
            raise _Irregular
        packed.append(_positions(ring, dimension, 4))
    return b"".join(packed)


def _pack(code: int, coordinates: Any, dimension: int, flags: int, parts: list[bytes]) -> None:
    if code == 1:
        parts.append(_point(coordinates, dimension))
    elif code == 2:
        parts.append(_positions(coordinates, dimension, 2))
    elif code == 3:
        parts.append(_rings(coordinates, dimension))
    else:
        members: Sequence[Any] = coordinates
        parts.append(struct.pack("<I", len(members)))
        for member in members:
            parts.append(struct.pack("<BI", 1, (code - 3) | flags))
            _pack(code - 3, member, dimension, flags, parts)
