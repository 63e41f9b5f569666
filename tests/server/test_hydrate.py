"""The API's hydration is ``hydraters``': the same items, members in the same order, whatever the two hold.

Where ``hydraters`` refuses a pair (an array or object in the item where the base item has a scalar: a
``ValueError``, which stock answers with a 500), the item's value is kept, as pypgstac's own ``hydrate_py`` does.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import orjson
import pytest
from hydraters import DO_NOT_MERGE_MARKER
from hydraters import hydrate as stock_hydrate
from hypothesis import given, settings
from hypothesis import strategies as st
from pypgstac.hydration import hydrate_py

from stac_bridge.server.speed import hydrate

KEYS = st.sampled_from(["type", "id", "assets", "properties", "href", "roles", "a", "b", "c", "bands"])
SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False) | \
    st.sampled_from(["x", "y", "ünï"])
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
                    max_leaves=20)
OBJECTS = st.dictionaries(KEYS, JSON, max_size=5)
MARKED = st.recursive(SCALARS | st.just(DO_NOT_MERGE_MARKER),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
                      max_leaves=20)


def both(base: dict[str, Any], item: dict[str, Any]) -> tuple[bytes, bytes]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hydraters warns of each marker it strips
        try:
            theirs = stock_hydrate(copy.deepcopy(base), copy.deepcopy(item), strip_unmatched_markers=True)
        except ValueError:
            if DO_NOT_MERGE_MARKER.encode() in orjson.dumps(item):
                with pytest.raises(ValueError):  # an item with markers is hydraters' to hydrate, or refuse
                    hydrate(copy.deepcopy(base), copy.deepcopy(item), strip_unmatched_markers=True)
                return b"", b""
            theirs = hydrate_py(copy.deepcopy(base), copy.deepcopy(item))
        ours = hydrate(copy.deepcopy(base), copy.deepcopy(item), strip_unmatched_markers=True)
    return orjson.dumps(ours), orjson.dumps(theirs)


@settings(max_examples=400, deadline=None)
@given(OBJECTS, OBJECTS)
def test_items_without_markers_hydrate_as_hydraters_does(base: dict[str, Any], item: dict[str, Any]) -> None:
    ours, theirs = both(base, item)
    assert ours == theirs


@settings(max_examples=200, deadline=None)
@given(OBJECTS, st.dictionaries(KEYS, MARKED, max_size=5))
def test_items_with_markers_hydrate_as_hydraters_does(base: dict[str, Any], item: dict[str, Any]) -> None:
    ours, theirs = both(base, item)
    assert ours == theirs


def test_what_comes_from_the_base_item_is_a_copy() -> None:
    base = {"assets": {"thumbnail": {"roles": ["thumbnail"], "type": "image/png"}}, "stac_version": "1.1.0"}
    first = hydrate(base, {"id": "a"})
    first["assets"]["thumbnail"]["roles"].append("changed")
    second = hydrate(base, {"id": "b", "assets": {}})
    assert second["assets"]["thumbnail"]["roles"] == ["thumbnail"]
    assert base["assets"]["thumbnail"]["roles"] == ["thumbnail"]


def test_the_api_hydrates_with_ours() -> None:
    from stac_fastapi.pgstac import core

    from stac_bridge.server.app import create_app
    from stac_bridge.server.settings import ServerSettings

    create_app(ServerSettings(), database_url="postgresql://nobody@127.0.0.1:1/none")
    assert core.hydrate is hydrate
