"""Descartes Labs Catalog: images in every recorded form (v1 document, v1 search feature, v1 metadata, v2
document, v2 resource) to STAC and back on the adapter's path (dicts, no pystac objects), with and without the
product's 16 bands as context (translated once per product, as a harvest hands them)."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.transforms import Case
from stac_bridge.transforms import descartes

_FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "descartes"


def _load(name: str) -> Any:
    return json.loads((_FIXTURES / name).read_text())


def cases() -> list[Case]:
    images = [
        _load("v1_catalog_image.json"),
        _load("v1_metadata_search_page1.json")[0],
        _load("v1_metadata_get_image.json"),
        _load("v2_image.json"),
        _load("v2_images_search_page2.json")["data"][0],
    ]
    product = _load("v2_product.json")
    bands = _load("v2_bands_list.json")["data"]
    items = [descartes.item_dict(image) for image in images]
    return [
        Case("descartes.image_to_stac", descartes.item_dict, images, unit="images"),
        Case("descartes.image_to_stac (+16 bands)", partial(descartes.item_dict, product=product, bands=bands),
             images, unit="images"),
        Case("descartes.product_to_stac (+16 bands)", partial(descartes.collection_dict, bands=bands), [product],
             unit="products", baseline_inputs=[{"product": product, "bands": bands}]),
        Case("descartes.stac_to_image", descartes.stac_to_image, items, unit="items"),
    ]
