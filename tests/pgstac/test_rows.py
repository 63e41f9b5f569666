"""The loader's own encodings: EWKB byte for byte GEOS's (GEOS reads the rest), datetimes as PostgreSQL stores them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from stac_bridge.pgstac import ewkb
from stac_bridge.pgstac.rows import _footprints, instant


def geos(geometry: Any) -> bytes | None:
    shape = shapely.from_geojson(orjson.dumps(geometry), on_invalid="ignore")
    if shape is None:
        return None
    return bytes(shapely.to_wkb(shapely.set_srid(shape, 4326), include_srid=True, output_dimension=3))


numbers = st.one_of(st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))


@st.composite
def geometries(draw: st.DrawFn) -> dict[str, Any]:
    dimension = draw(st.sampled_from([2, 3]))
    position = st.lists(numbers, min_size=dimension, max_size=dimension)

    def ring() -> list[list[Any]]:
        body = draw(st.lists(position, min_size=3, max_size=8))
        return [*body, list(body[0])]

    def polygon() -> list[list[list[Any]]]:
        return [ring() for _ in range(draw(st.integers(1, 3)))]

    kind = draw(st.sampled_from(["Point", "LineString", "Polygon", "MultiPoint", "MultiLineString",
                                 "MultiPolygon"]))
    line = st.lists(position, min_size=2, max_size=8)
    coordinates: Any = {
        "Point": lambda: draw(position),
        "LineString": lambda: draw(line),
        "Polygon": polygon,
        "MultiPoint": lambda: draw(st.lists(position, min_size=1, max_size=5)),
        "MultiLineString": lambda: draw(st.lists(line, min_size=1, max_size=4)),
        "MultiPolygon": lambda: [polygon() for _ in range(draw(st.integers(1, 3)))],
    }[kind]()
    return {"type": kind, "coordinates": coordinates}


@settings(max_examples=300, deadline=None)
@given(geometries())
def test_packed_footprints_are_geos_own_bytes(geometry: dict[str, Any]) -> None:
    packed = ewkb.encode(geometry)
    assert packed is not None
    assert packed == geos(geometry)


@pytest.mark.parametrize("geometry", [
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},  # not closed: GEOS refuses it
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]},  # too few positions
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1, 5], [0, 0]]]},  # mixed dimensions
    {"type": "Polygon", "coordinates": []},
    {"type": "Point", "coordinates": [True, 2]},
    {"type": "Point", "coordinates": [1, "2"]},
    {"type": "Point", "coordinates": [1, 2, 3, 4]},
    {"type": "Point", "coordinates": [1, float("nan")]},
    {"type": "Point", "coordinates": [10**400, 1]},
    {"type": "LineString", "coordinates": [[0, 0]]},
    {"type": "MultiPolygon", "coordinates": [[]]},
    {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [1, 2]}]},
    {"type": "Polygon"},
    None,
])
def test_what_is_not_plainly_well_formed_is_left_to_geos(geometry: Any) -> None:
    assert ewkb.encode(geometry) is None
    try:
        expected = geos(geometry) if isinstance(geometry, dict) else None
    except TypeError:  # not JSON at all (an integer beyond 64 bits)
        expected = None
    assert _footprints([geometry]) == [expected]


def test_a_batch_mixes_both_ways_in_order() -> None:
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    collection = {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [1, 2]}]}
    unclosed = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}
    assert _footprints([square, collection, unclosed, square]) == [geos(square), geos(collection), None,
                                                                   geos(square)]


@pytest.mark.parametrize(("text", "expected"), [
    ("2023-01-01T10:30:00Z", dt.datetime(2023, 1, 1, 10, 30, tzinfo=dt.UTC)),
    ("2023-01-01t10:30:00z", dt.datetime(2023, 1, 1, 10, 30, tzinfo=dt.UTC)),
    ("2023-01-01 10:30:00+02:00", dt.datetime(2023, 1, 1, 8, 30, tzinfo=dt.UTC)),
    ("2023-01-01T10:30:00.1234565Z", dt.datetime(2023, 1, 1, 10, 30, 0, 123456, tzinfo=dt.UTC)),  # half to even
    ("2023-01-01T10:30:00.1234575Z", dt.datetime(2023, 1, 1, 10, 30, 0, 123458, tzinfo=dt.UTC)),
    ("2023-12-31T23:59:59.9999999Z", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
])
def test_item_datetimes_are_read_as_postgresql_stores_them(text: str, expected: dt.datetime) -> None:
    assert instant(text) == expected


@pytest.mark.parametrize("text", ["2023-W01-1T10:00:00Z", "20230101T103000Z", "2023-01-01", "2023-13-01T00:00:00Z",
                                  "2023-01-01T10:30:00", "yesterday"])
def test_what_postgresql_would_refuse_or_read_otherwise_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        instant(text)
