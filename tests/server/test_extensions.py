"""The query extension's translation to CQL2 (stac_bridge.server.extensions), without a database."""

from __future__ import annotations

import pytest
from stac_fastapi.types.errors import InvalidQueryParameter

from stac_bridge.server.extensions import query_to_cql2


def test_every_operator_becomes_cql2() -> None:
    got = query_to_cql2({
        "properties.eo:cloud_cover": {"gte": 10, "lt": 30},
        "platform": {"startsWith": "sentinel", "endsWith": "2a", "contains": "tinel", "in": ["a", "b"], "neq": "c"},
    })
    cloud, platform = {"property": "eo:cloud_cover"}, {"property": "platform"}
    assert got == {"op": "and", "args": [
        {"op": ">=", "args": [cloud, 10]}, {"op": "<", "args": [cloud, 30]},
        {"op": "like", "args": [platform, "sentinel%"]}, {"op": "like", "args": [platform, "%2a"]},
        {"op": "like", "args": [platform, "%tinel%"]}, {"op": "in", "args": [platform, ["a", "b"]]},
        {"op": "<>", "args": [platform, "c"]},
    ]}


def test_like_wildcards_in_values_are_literal() -> None:
    assert query_to_cql2({"id": {"startsWith": "a_b%"}}) == {"op": "like", "args": [{"property": "id"}, "a\\_b\\%%"]}


@pytest.mark.parametrize("query", [{"id": {"like": "x"}}, {"id": {"in": "x"}}, {"id": "x"}, {}])
def test_what_the_extension_does_not_define_is_refused(query: dict[str, object]) -> None:
    with pytest.raises(InvalidQueryParameter):
        query_to_cql2(query)
