"""Capella console search bodies -> STAC API search bodies with CQL2-JSON filters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cql2
import pytest

from stac_bridge.errors import TransformError
from stac_bridge.transforms.capella_query import search_body_to_stac

OBSERVED = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "capella" / "search_request_bodies_observed.json").read_text()
)


def valid_cql2(expression: dict[str, Any]) -> str:
    expr = cql2.Expr(expression)
    expr.validate()
    return str(expr.to_text())


def test_observed_first_page() -> None:
    search = search_body_to_stac(OBSERVED[0])
    assert search.page == 1 and search.limit == 5 and search.offset == 0
    assert search.body == {
        "bbox": [70.0, 30.0, 70.2, 30.2],
        "collections": ["capella-archive"],
        "limit": 5,
        "datetime": "2024-05-01T00:00:00Z/2024-05-31T23:59:59Z",
        "sortby": [{"field": "properties.datetime", "direction": "desc"}],
        "filter-lang": "cql2-json",
        "filter": {"op": "in", "args": [{"property": "sar:product_type"}, ["SLC", "GEO"]]},
    }
    assert valid_cql2(search.body["filter"]) == "sar:product_type IN ('SLC', 'GEO')"


def test_observed_second_page_is_the_same_search_further_on() -> None:
    first, second = (search_body_to_stac(body) for body in OBSERVED)
    assert second.body == first.body
    assert (second.page, second.offset) == (2, 5)


def test_every_operator_and_the_capella_field_names() -> None:
    search = search_body_to_stac({
        "query": {
            "datetime": {"gte": "2024-05-01T05:00:00+05:00", "lt": "2024-06-01T00:00:00Z"},
            "view:look_angle": {"gt": 10, "lte": 40},
            "proj:epsg": {"in": [32611, 32642]},
            "sar:polarizations": {"in": ["HH"]},
            "locale:timezone": {"eq": "Etc/GMT-5"},
            "capella:orbital_plane": {"eq": 45},
        }
    })
    text = valid_cql2(search.body["filter"])
    assert search.body["filter"]["args"][0] == {
        "op": ">=", "args": [{"property": "datetime"}, {"timestamp": "2024-05-01T00:00:00Z"}],
    }
    for part in ("view:off_nadir > 10", "view:off_nadir <= 40", "proj:code IN ('EPSG:32611', 'EPSG:32642')",
                 "a_overlaps(sar:polarizations, ('HH'))", "capella:locale_timezone = 'Etc/GMT-5'",
                 "capella:orbital_plane = 45", "datetime < TIMESTAMP('2024-06-01T00:00:00Z')"):
        assert part in text
    assert "datetime" not in search.body and search.body["limit"] == 500


def test_query_datetime_interval_beside_a_top_level_datetime_is_a_filter() -> None:
    search = search_body_to_stac({"datetime": "2024-01-01T00:00:00Z/..",
                                  "query": {"datetime": {"eq": "2024-05-01T00:00:00Z/2024-05-02T00:00:00Z"}}})
    assert search.body["datetime"] == "2024-01-01T00:00:00Z/.."
    assert search.body["filter"]["op"] == "t_intersects"
    valid_cql2(search.body["filter"])


def test_sortby_uses_normalised_names_and_limit_is_capped() -> None:
    search = search_body_to_stac({"limit": 10_000, "sortby": [{"field": "properties.proj:epsg"}]})
    assert search.body["sortby"] == [{"field": "properties.proj:code", "direction": "asc"}]
    assert search.limit == 900


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": {"sar:product_type": {"like": "SL%"}}}, "query.sar:product_type.like"),
        ({"query": {"proj:epsg": {"gt": 32600}}}, "query.proj:epsg.gt"),
        ({"query": {"proj:epsg": {"eq": 999999}}}, "query.proj:epsg.eq"),
        ({"query": {"datetime": {"eq": "last week"}}}, "query.datetime.eq"),
        ({"query": {"sar:product_type": "SLC"}}, "query.sar:product_type"),
        ({"query": {"sar:product_type": {"in": "SLC"}}}, "query.sar:product_type.in"),
        ({"sortby": [{"field": "properties.datetime", "direction": "down"}]}, "sortby.0.direction"),
        ({"page": 0}, "page"),
        ({"limit": "5"}, "limit"),
        ({"fields": {"include": ["id"]}}, "fields"),
        ({"filter": "sar:product_type = 'SLC'", "filter-lang": "cql2-text"}, "filter"),
    ],
)
def test_untranslatable_parts_are_named(body: dict[str, Any], field: str) -> None:
    with pytest.raises(TransformError) as info:
        search_body_to_stac(body)
    assert (info.value.provider, info.value.field) == ("capella", field)


def test_stac_to_capella_and_back() -> None:
    from stac_bridge.transforms.capella_query import stac_to_search_body

    stac = {"collections": ["capella-archive"], "bbox": [-120.0, 30.0, -110.0, 40.0],
            "datetime": "2024-05-01T00:00:00Z/2024-05-31T23:59:59Z", "limit": 5,
            "filter": "\"sar:product_type\" IN ('SLC', 'GEO') AND view:off_nadir <= 30 AND proj:code = 'EPSG:32611'",
            "filter-lang": "cql2-text"}
    body = stac_to_search_body(stac)
    assert body["query"] == {"sar:product_type": {"in": ["SLC", "GEO"]}, "view:look_angle": {"lte": 30},
                             "proj:epsg": {"eq": 32611}}
    again = search_body_to_stac(body).body
    assert again["collections"] == stac["collections"] and again["datetime"] == stac["datetime"]
    assert stac_to_search_body(again)["query"] == body["query"]


@pytest.mark.parametrize(("search", "part"), [
    ({"filter": "view:off_nadir < 5 OR view:off_nadir > 50", "filter-lang": "cql2-text"}, "filter.or"),
    ({"filter": "S_INTERSECTS(geometry, POINT(0 0))", "filter-lang": "cql2-text"}, "filter.s_intersects"),
    ({"token": "next:abc"}, "token"),
])
def test_stac_to_capella_refuses_what_its_query_cannot_say(search: dict[str, Any], part: str) -> None:
    from stac_bridge.errors import UntranslatableQueryError
    from stac_bridge.transforms.capella_query import stac_to_search_body

    with pytest.raises(UntranslatableQueryError) as caught:
        stac_to_search_body(search)
    assert caught.value.part == part
