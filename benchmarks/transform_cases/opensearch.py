"""Terrascope / VITO OpenSearch: recorded products (S2 TOC with 20 links, FAPAR, Sentinel-1 GRD and coherence)
and collections to STAC through the adapter (the harvest/convert path, no pystac) and back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.transforms import Case
from stac_bridge.registry import ProviderRecord
from stac_bridge.transforms import opensearch

_FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "opensearch"
_PRODUCTS = ("products_recorded_S2_TOC_V2.json", "products_recorded_S2_FAPAR_V2.json",
             "products_recorded_S1_GRD_SIGMA0.json", "products_recorded_S1_SLC_COHERENCE.json")


def _features(name: str) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = json.loads((_FIXTURES / name).read_text())["features"]
    return features


def _adapter(kind: str) -> Any:
    return lambda record: opensearch.ADAPTER.to_stac(ProviderRecord(kind, record))


def cases() -> list[Case]:
    products = [p for name in _PRODUCTS for p in _features(name)]
    collections = _features("collections.json")
    items = [opensearch.ADAPTER.to_stac(ProviderRecord("product", p)) for p in products]
    stac_collections = [opensearch.ADAPTER.to_stac(ProviderRecord("collection", c)) for c in collections]
    return [
        Case("opensearch.product_to_stac (adapter)", _adapter("product"), products, "products"),
        Case("opensearch.stac_to_product (dict)", opensearch.stac_to_product, items, "items",
             baseline_inputs=products),
        Case("opensearch.collection_to_stac (adapter)", _adapter("collection"), collections, "collections"),
        Case("opensearch.stac_to_collection (dict)", opensearch.stac_to_collection, stac_collections,
             "collections", baseline_inputs=collections),
    ]
