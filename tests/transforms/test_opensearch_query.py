"""Search translation STAC <-> OpenSearch: each parameter both ways, intervals, untranslatable parts."""

from __future__ import annotations

from typing import Any

import pytest

from stac_bridge.errors import TransformError, UntranslatableQueryError
from stac_bridge.transforms.opensearch_query import (
    Interval,
    cql2_text_to_json,
    format_interval,
    opensearch_to_stac,
    parse_interval,
    stac_to_opensearch,
)


def prop(name: str) -> dict[str, str]:
    return {"property": name}


def both_ways(stac: dict[str, Any], opensearch: dict[str, str], start_index: int | None = None) -> None:
    assert stac_to_opensearch(stac, start_index=start_index) == opensearch
    back = opensearch_to_stac(opensearch)
    assert back.body == stac
    assert back.start_index == (start_index or 1)


# --- each parameter both ways -------------------------------------------------------------------------------


def test_collection() -> None:
    both_ways(
        {"collections": ["urn:eop:VITO:TERRASCOPE_S2_TOC_V2"]},
        {"collection": "urn:eop:VITO:TERRASCOPE_S2_TOC_V2"},
    )


def test_ids_are_uid() -> None:
    both_ways({"ids": ["urn:x:1"]}, {"uid": "urn:x:1"})


def test_bbox() -> None:
    both_ways(
        {"bbox": [-8.980066, 38.8399762, -8.9499571, 38.8900895]},
        {"bbox": "-8.980066,38.8399762,-8.9499571,38.8900895"},
    )


def test_datetime_interval_and_open_ends() -> None:
    both_ways(
        {"datetime": "2022-02-11T00:00:00Z/2022-02-11T23:59:59Z"},
        {"start": "2022-02-11T00:00:00Z", "end": "2022-02-11T23:59:59Z"},
    )
    both_ways({"datetime": "2022-02-11T00:00:00Z/.."}, {"start": "2022-02-11T00:00:00Z"})
    both_ways({"datetime": "../2022-02-11T00:00:00Z"}, {"end": "2022-02-11T00:00:00Z"})


def test_datetime_instant_is_start_and_end() -> None:
    assert stac_to_opensearch({"datetime": "2022-02-11T10:00:00Z"}) == {
        "start": "2022-02-11T10:00:00Z",
        "end": "2022-02-11T10:00:00Z",
    }


def test_opensearch_dates_cover_whole_days() -> None:
    body = opensearch_to_stac({"start": "2022-02-11", "end": "2022-02-12"}).body
    assert body == {"datetime": "2022-02-11T00:00:00Z/2022-02-12T23:59:59.999999Z"}


def test_intersects_is_wkt_geometry() -> None:
    polygon = {"type": "Polygon", "coordinates": [[[4.0, 51.0], [5.5, 51.0], [5.5, 52.0], [4.0, 51.0]]]}
    assert stac_to_opensearch({"intersects": polygon}) == {
        "geometry": "POLYGON ((4 51, 5.5 51, 5.5 52, 4 51))"
    }
    assert opensearch_to_stac({"geometry": "POLYGON ((4 51, 5.5 51, 5.5 52, 4 51))"}).body == {
        "intersects": polygon
    }


def test_paging_is_limit_and_start_index() -> None:
    both_ways({"limit": 100}, {"count": "100", "startIndex": "101"}, start_index=101)


def test_cloud_cover_at_most() -> None:
    both_ways(
        {"filter": {"op": "<=", "args": [prop("eo:cloud_cover"), 60]}, "filter-lang": "cql2-json"},
        {"cloudCover": "60]"},
    )


def test_cloud_cover_between() -> None:
    both_ways(
        {"filter": {"op": "between", "args": [prop("eo:cloud_cover"), 10, 60]}, "filter-lang": "cql2-json"},
        {"cloudCover": "[10,60]"},
    )


def test_cloud_cover_at_least_and_exclusive_forms() -> None:
    both_ways(
        {"filter": {"op": ">=", "args": [prop("eo:cloud_cover"), 10]}, "filter-lang": "cql2-json"},
        {"cloudCover": "[10"},
    )
    both_ways(
        {"filter": {"op": ">", "args": [prop("eo:cloud_cover"), 10]}, "filter-lang": "cql2-json"},
        {"cloudCover": "]10"},
    )
    both_ways(
        {"filter": {"op": "<", "args": [prop("eo:cloud_cover"), 60]}, "filter-lang": "cql2-json"},
        {"cloudCover": "60["},
    )
    both_ways(
        {
            "filter": {
                "op": "and",
                "args": [
                    {"op": ">", "args": [prop("eo:cloud_cover"), 10]},
                    {"op": "<", "args": [prop("eo:cloud_cover"), 60.5]},
                ],
            },
            "filter-lang": "cql2-json",
        },
        {"cloudCover": "]10,60.5["},
    )


def test_two_bounds_on_one_property_merge_into_one_interval() -> None:
    search = {
        "filter": {
            "op": "and",
            "args": [
                {"op": ">=", "args": [prop("eo:cloud_cover"), 10]},
                {"op": "<=", "args": [prop("eo:cloud_cover"), 60]},
                {"op": "<=", "args": [prop("eo:cloud_cover"), 80]},
            ],
        }
    }
    assert stac_to_opensearch(search) == {"cloudCover": "[10,60]"}


def test_relative_orbit_equal_and_set() -> None:
    both_ways(
        {"filter": {"op": "=", "args": [prop("sat:relative_orbit"), 80]}, "filter-lang": "cql2-json"},
        {"relativeOrbitNumber": "80"},
    )
    both_ways(
        {"filter": {"op": "in", "args": [prop("sat:relative_orbit"), [8, 80]]}, "filter-lang": "cql2-json"},
        {"relativeOrbitNumber": "{8,80}"},
    )


def test_orbit_state_is_upper_case_orbit_direction() -> None:
    both_ways(
        {"filter": {"op": "=", "args": [prop("sat:orbit_state"), "descending"]}, "filter-lang": "cql2-json"},
        {"orbitDirection": "DESCENDING"},
    )


def test_product_type() -> None:
    both_ways(
        {"filter": {"op": "=", "args": [prop("product:type"), "TOC"]}, "filter-lang": "cql2-json"},
        {"productType": "TOC"},
    )


def test_grid_code_is_tile_id() -> None:
    both_ways(
        {"filter": {"op": "=", "args": [prop("grid:code"), "MGRS-29SMC"]}, "filter-lang": "cql2-json"},
        {"tileId": "29SMC"},
    )


def test_everything_at_once_round_trips() -> None:
    stac = {
        "collections": ["c"],
        "bbox": [1.0, 2.0, 3.0, 4.0],
        "datetime": "2022-02-11T00:00:00Z/2022-02-12T00:00:00Z",
        "limit": 10,
        "filter": {
            "op": "and",
            "args": [
                {"op": "between", "args": [prop("eo:cloud_cover"), 10, 60]},
                {"op": "=", "args": [prop("sat:relative_orbit"), 80]},
                {"op": "=", "args": [prop("sat:orbit_state"), "ascending"]},
                {"op": "=", "args": [prop("product:type"), "TOC"]},
                {"op": "=", "args": [prop("grid:code"), "MGRS-31UFS"]},
            ],
        },
        "filter-lang": "cql2-json",
    }
    params = stac_to_opensearch(stac, start_index=21)
    assert params == {
        "collection": "c",
        "bbox": "1,2,3,4",
        "start": "2022-02-11T00:00:00Z",
        "end": "2022-02-12T00:00:00Z",
        "count": "10",
        "startIndex": "21",
        "cloudCover": "[10,60]",
        "relativeOrbitNumber": "80",
        "orbitDirection": "ASCENDING",
        "productType": "TOC",
        "tileId": "31UFS",
    }
    back = opensearch_to_stac(params)
    assert back.start_index == 21
    assert back.body["filter"]["args"] == stac["filter"]["args"]  # type: ignore[index]


def test_presentation_parameters_are_ignored() -> None:
    assert opensearch_to_stac({"collection": "c", "accessedFrom": "MEP", "clientId": ""}).body == {
        "collections": ["c"]
    }


# --- CQL2 text ----------------------------------------------------------------------------------------------


def test_cql2_text_simple_forms() -> None:
    text = "eo:cloud_cover BETWEEN 10 AND 60 AND (sat:orbit_state = 'descending') AND product:type IN ('TOC')"
    assert stac_to_opensearch({"filter": text, "filter-lang": "cql2-text"}) == {
        "cloudCover": "[10,60]",
        "orbitDirection": "DESCENDING",
        "productType": "TOC",
    }
    assert cql2_text_to_json("eo:cloud_cover <= 60") == {"op": "<=", "args": [prop("eo:cloud_cover"), 60]}
    assert stac_to_opensearch({"filter": "sat:relative_orbit > 7"}) == {"relativeOrbitNumber": "]7"}


# --- intervals ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "interval"),
    [
        ("60]", Interval(high=60)),
        ("60[", Interval(high=60, high_inclusive=False)),
        ("[10", Interval(low=10)),
        ("]10", Interval(low=10, low_inclusive=False)),
        ("[10,60]", Interval(10, 60)),
        ("]10,60[", Interval(10, 60, False, False)),
        ("[10,60[", Interval(10, 60, True, False)),
        ("{1,2,3}", Interval(values=frozenset({1, 2, 3}))),
        ("7", Interval(values=frozenset({7}))),
        ("0.5]", Interval(high=0.5)),
    ],
)
def test_interval_notation_both_ways(text: str, interval: Interval) -> None:
    assert parse_interval(text) == interval
    assert format_interval(interval) == text


def test_interval_membership() -> None:
    assert parse_interval("[10,60[").contains(10)
    assert not parse_interval("[10,60[").contains(60)
    assert parse_interval("]10").intersect(parse_interval("60]")) == Interval(10, 60, False, True)


@pytest.mark.parametrize("text", ["", "[,]", "abc]", "[10,60,70]", "1,2"])
def test_bad_interval_names_the_parameter(text: str) -> None:
    with pytest.raises(UntranslatableQueryError) as info:
        opensearch_to_stac({"cloudCover": text})
    assert info.value.part == "cloudCover"


# --- what cannot be translated ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("search", "part"),
    [
        ({"collections": ["a", "b"]}, "collections"),
        ({"ids": ["a", "b"]}, "ids"),
        ({"sortby": [{"field": "datetime", "direction": "asc"}]}, "sortby"),
        ({"query": {"eo:cloud_cover": {"lt": 10}}}, "query"),
        ({"bbox": [0, 0, 0, 1, 1, 1]}, "bbox"),
        ({"bbox": [0, 0, 1, 1], "intersects": {"type": "Point", "coordinates": [0, 0]}}, "intersects"),
        ({"datetime": "last week"}, "datetime"),
        (
            {
                "filter": {
                    "op": "or",
                    "args": [
                        {"op": "=", "args": [prop("product:type"), "A"]},
                        {"op": "=", "args": [prop("product:type"), "B"]},
                    ],
                }
            },
            "filter.or",
        ),
        ({"filter": {"op": "not", "args": [{"op": "=", "args": [prop("product:type"), "A"]}]}}, "filter.not"),
        ({"filter": {"op": "=", "args": [prop("platform"), "S2A"]}}, "filter.platform"),
        ({"filter": {"op": "<>", "args": [prop("eo:cloud_cover"), 3]}}, "filter.eo:cloud_cover.<>"),
        ({"filter": {"op": "like", "args": [prop("product:type"), "T%"]}}, "filter.product:type.like"),
        ({"filter": {"op": "in", "args": [prop("product:type"), ["A", "B"]]}}, "filter.product:type"),
        ({"filter": {"op": "=", "args": [prop("grid:code"), "WRS2-198025"]}}, "filter.grid:code"),
        (
            {"filter": {"op": "=", "args": [prop("sat:orbit_state"), "geostationary"]}},
            "filter.sat:orbit_state",
        ),
        (
            {
                "filter": {
                    "op": "and",
                    "args": [
                        {"op": "<", "args": [prop("eo:cloud_cover"), 5]},
                        {"op": ">", "args": [prop("eo:cloud_cover"), 50]},
                    ],
                }
            },
            "filter.eo:cloud_cover",
        ),
        ({"filter": "eo:cloud_cover < 5 OR eo:cloud_cover > 50"}, "filter.or"),
        ({"filter": "NOT product:type = 'A'"}, "filter.not"),
        ({"filter": "S_INTERSECTS(geometry, POINT(0 0))"}, "filter.s_intersects"),
        (
            {"filter": {"op": "=", "args": [prop("product:type"), "A"]}, "filter-crs": "EPSG:3857"},
            "filter-crs",
        ),
        ({"filter": "x = 1", "filter-lang": "cql-json"}, "filter-lang"),
    ],
)
def test_untranslatable_stac_parts_raise_naming_the_part(search: dict[str, Any], part: str) -> None:
    with pytest.raises(UntranslatableQueryError) as info:
        stac_to_opensearch(search)
    assert info.value.part == part
    assert isinstance(info.value, TransformError)
    assert info.value.provider == "opensearch"


@pytest.mark.parametrize(
    ("params", "part"),
    [
        ({"platform": "S2A"}, "platform"),
        ({"publicationDate": "[2020-01-01"}, "publicationDate"),
        ({"sortKeys": "title"}, "sortKeys"),
        ({"orbitDirection": "SIDEWAYS"}, "orbitDirection"),
        ({"tileId": "X10Y02"}, "tileId"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"geometry": "POLYGON ((0 0"}, "geometry"),
        ({"start": "tomorrow"}, "start"),
        ({"startIndex": "0"}, "startIndex"),
        ({"count": "-1"}, "count"),
        ({"bbox": "0,0,1,1", "geometry": "POINT (0 0)"}, "geometry"),
        ({"productType": ["A", "B"]}, "productType"),
    ],
)
def test_untranslatable_opensearch_parameters_raise_naming_them(params: dict[str, Any], part: str) -> None:
    with pytest.raises(UntranslatableQueryError) as info:
        opensearch_to_stac(params)
    assert info.value.part == part
