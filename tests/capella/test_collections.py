"""The Capella collections: made for the catalog collections Capella searches, passed through by the adapter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stac_bridge import get_adapter
from stac_bridge.errors import TransformError
from stac_bridge.transforms import capella

Valid = Callable[[Any], dict[str, Any]]


@pytest.mark.parametrize(("collection_id", "license_"), [
    ("capella-archive", "other"), ("capella-open-data", "CC-BY-4.0"), ("capella-something-new", "other"),
])
def test_catalog_collections_are_valid_and_named(collection_id: str, license_: str, assert_valid: Valid) -> None:
    stac = assert_valid(capella.catalog_collection(collection_id))
    assert stac["id"] == collection_id and stac["license"] == license_
    assert stac["stac_bridge:provider"] == "capella"


def test_the_adapter_passes_collections_through_both_ways() -> None:
    adapter = get_adapter("capella")
    stac = capella.tasking_collection().to_dict(include_self_link=False, transform_hrefs=False)
    record = adapter.classify(stac)
    assert record.kind == "collection"
    assert adapter.to_stac(record) == stac and adapter.from_stac(stac) == stac


def test_a_collection_pystac_cannot_read_is_refused_naming_it() -> None:
    adapter = get_adapter("capella")
    with pytest.raises(TransformError, match="is not a STAC Collection") as caught:
        adapter.to_stac(adapter.classify({"type": "Collection", "id": "capella-broken"}))
    assert caught.value.record_id == "capella-broken"
