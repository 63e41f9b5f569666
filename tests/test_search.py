"""The one STAC search model, its datetime-interval parser and CQL2 through the cql2 package."""

from __future__ import annotations

import datetime as dt

import pytest

from stac_bridge.errors import UntranslatableQueryError
from stac_bridge.search import Search, TimeInterval, cql2_json, cql2_text, parse_datetime_interval

UTC = dt.UTC


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2024-05-01T00:00:00Z", dt.datetime(2024, 5, 1, tzinfo=UTC), dt.datetime(2024, 5, 1, tzinfo=UTC)),
    ("2024-05-01T00:00:00Z/..", dt.datetime(2024, 5, 1, tzinfo=UTC), None),
    ("/2024-05-02T00:00:00+02:00", None, dt.datetime(2024, 5, 1, 22, tzinfo=UTC)),
    ("../..", None, None),
])
def test_intervals(text: str, start: dt.datetime | None, end: dt.datetime | None) -> None:
    interval = parse_datetime_interval(text)
    assert (interval.start, interval.end) == (start, end)
    assert parse_datetime_interval(str(interval)) == interval


@pytest.mark.parametrize("text", ["", "a/b/c", "2024-13-01T00:00:00Z", "2024-05-02T00:00:00Z/2024-05-01T00:00:00Z"])
def test_bad_intervals_name_the_text(text: str) -> None:
    with pytest.raises(ValueError, match="interval|datetime"):
        parse_datetime_interval(text)


def test_cql2_both_ways() -> None:
    expression = cql2_json("eo:cloud_cover <= 60 AND sat:orbit_state = 'ascending'")
    assert expression["op"] == "and"
    assert cql2_json(expression) == expression
    assert cql2_json(cql2_text(expression)) == expression
    with pytest.raises(ValueError, match="CQL2"):
        cql2_json("eo:cloud_cover <=")


def test_search_body_round_trip() -> None:
    body = {"collections": ["c"], "ids": ["a"], "bbox": [0, 1, 2, 3], "datetime": "2024-05-01T00:00:00Z/..",
            "filter": "eo:cloud_cover < 10", "filter-lang": "cql2-text", "limit": 5, "page": 2}
    search = Search.from_body(body)
    assert search.datetime == TimeInterval(dt.datetime(2024, 5, 1, tzinfo=UTC), None)
    assert search.extra == {"page": 2}
    again = search.to_body()
    assert again["filter"] == {"op": "<", "args": [{"property": "eo:cloud_cover"}, 10]}
    assert Search.from_body(again) == search


@pytest.mark.parametrize(("body", "part"), [({"bbox": [1, 2]}, "bbox"), ({"datetime": "soon"}, "datetime"),
                                            ({"ids": "a"}, "ids"), ({"filter": "x <"}, "filter"),
                                            ({"limit": -1}, "limit")])
def test_malformed_members_are_named(body: dict[str, object], part: str) -> None:
    with pytest.raises(UntranslatableQueryError) as caught:
        Search.from_body(body, provider="opensearch")
    assert caught.value.part == part
