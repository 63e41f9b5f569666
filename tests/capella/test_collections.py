"""The Capella collections: made for the catalog collections Capella searches, passed through by the adapter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stac_bridge import get_adapter
from stac_bridge.errors import TransformError
from stac_bridge.transforms import capella
from tests.capella.data import load

Valid = Callable[[Any], dict[str, Any]]


@pytest.mark.parametrize(("collection_id", "license_"), [
    ("capella-archive", "other"), ("capella-open-data", "CC-BY-4.0"), ("capella-something-new", "other"),
])
def test_catalog_collections_are_valid_and_named(collection_id: str, license_: str, assert_valid: Valid) -> None:
    stac = assert_valid(capella.catalog_collection(collection_id))
    assert stac["id"] == collection_id and stac["license"] == license_
    assert stac["stac_bridge:source"] == "capella/collection/2"
    assert stac["providers"] == [{"name": "Capella Space", "roles": ["producer", "processor", "licensor"],
                                  "url": "https://www.capellaspace.com"}]
    assert "SAR" in stac["keywords"] and stac["title"]
    licenses = [link["href"] for link in stac["links"] if link["rel"] == "license"]
    assert licenses == (["https://creativecommons.org/licenses/by/4.0/"] if license_ == "CC-BY-4.0" else [])


def test_the_extent_is_the_items_not_the_globe(assert_valid: Valid) -> None:
    items = [capella.item_dict(load(f"{name}.json")) for name in ("open_data_SICD", "open_data_GEC")]
    stac = assert_valid(capella.catalog_collection("capella-open-data", items=items))
    [box] = stac["extent"]["spatial"]["bbox"]
    assert box == [-155.2231, 19.3512, 31.2722, 30.0759]
    assert stac["extent"]["temporal"]["interval"] == [["2024-11-23T06:27:37.901520Z", "2024-11-26T04:53:46.002611Z"]]
    searched = capella.catalog_collection(bbox=[4.0, 51.8, 4.6, 52.1], interval=["2024-05-01T00:00:00Z", None])
    assert searched.extent.spatial.bboxes == [[4.0, 51.8, 4.6, 52.1]]


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
