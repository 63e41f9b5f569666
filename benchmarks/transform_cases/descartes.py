"""Descartes Labs Catalog: images in every recorded form (v1 document, v1 search feature, v2 document) to STAC
and back, with and without the product's bands as context."""

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


def _to_dict(item: Any) -> dict[str, Any]:
    return item.to_dict(include_self_link=False, transform_hrefs=False)  # type: ignore[no-any-return]


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
    items = [_to_dict(descartes.image_to_stac(image)) for image in images]
    return [
        Case("descartes.image_to_stac", descartes.image_to_stac, images, unit="images"),
        Case("descartes.image_to_stac (+16 bands)", partial(descartes.image_to_stac, product=product, bands=bands),
             images, unit="images"),
        Case("descartes.stac_to_image", descartes.stac_to_image, items, unit="items"),
    ]
