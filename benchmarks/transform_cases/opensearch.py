"""Terrascope / VITO OpenSearch: the recorded products (11-20 links each) and collections to STAC and back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.transforms import Case
from stac_bridge.transforms import opensearch

_FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "opensearch"


def _features(name: str) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = json.loads((_FIXTURES / name).read_text())["features"]
    return features


def _dict(stac: Any) -> dict[str, Any]:
    out: dict[str, Any] = stac.to_dict(include_self_link=False, transform_hrefs=False)
    return out


def cases() -> list[Case]:
    products = _features("products_recorded_S2_TOC_V2.json") + _features("products_recorded_S2_FAPAR_V2.json")
    collections = _features("collections.json")
    items = [_dict(opensearch.product_to_stac(p)) for p in products]
    stac_collections = [_dict(opensearch.collection_to_stac(c)) for c in collections]
    return [
        Case("opensearch.product_to_stac", opensearch.product_to_stac, products, "products"),
        Case(
            "opensearch.stac_to_product (dict)",
            opensearch.stac_to_product,
            items,
            "items",
            baseline_inputs=products,
        ),
        Case("opensearch.collection_to_stac", opensearch.collection_to_stac, collections, "collections"),
        Case(
            "opensearch.stac_to_collection (dict)",
            opensearch.stac_to_collection,
            stac_collections,
            "collections",
            baseline_inputs=collections,
        ),
    ]
