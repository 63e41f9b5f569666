"""A generated Descartes Labs catalog for the stand-in, built from the recorded payloads.

Two products: Landsat 8 (the recorded product, its recorded bands) and a user product in a hash namespace.
Each image exists in both protocol versions, made from the recorded v1 search feature and v2 image, re-id'd
and re-dated, alternately over Iowa (the recorded footprint) and 10 degrees east of it, with cloud fractions
spread from 0.05 to 0.95 so that a cloud filter matters.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "descartes"
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo" / "providers" / "descartes"
LANDSAT = "landsat:LC08:PRE:TOAR"
USER_PRODUCT = "5d6a1b2c3d4e5f60718293a4b5c6d7e8f9012345:my-product"
#: Landsat cloud fractions, image by image (index i is acquired on 2016-07-(1 + 3i)).
CLOUDS = [0.05, 0.95, 0.15, 0.35, 0.5646, 0.6, 0.25, 0.8]
#: Where the odd images are: the recorded footprint moved east by this many degrees.
SHIFT = 10.0
IOWA = [-97.0, 38.0, -91.0, 44.0]
EAST_OF_IOWA = [IOWA[0] + SHIFT, IOWA[1], IOWA[2] + SHIFT, IOWA[3]]


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class ProductEntry:
    """One product in both protocol versions, with its bands and images."""

    id: str
    v1: dict[str, Any]  # the v1 JSON:API document
    v2: dict[str, Any]  # the v2 resource (type, id, attributes)
    v1_bands: list[dict[str, Any]]  # bare v1 attributes, with id
    v2_bands: list[dict[str, Any]]  # v2 resources
    images: list[ImageEntry] = field(default_factory=list)


@dataclass
class ImageEntry:
    """One image: the v1 search feature and the v2 resource of the same image."""

    id: str
    v1: dict[str, Any]
    v2: dict[str, Any]

    @property
    def acquired(self) -> str:
        return str(self.v1["properties"]["acquired"])

    @property
    def cloud_fraction(self) -> float:
        return float(self.v1["properties"]["cloud_fraction"])


def _shift(geometry: dict[str, Any], dx: float) -> dict[str, Any]:
    rings = [[[x + dx, y] for x, y in ring] for ring in geometry["coordinates"]]
    return {"type": geometry["type"], "coordinates": rings}


def _image(product: str, index: int, cloud: float, when: dt.datetime) -> ImageEntry:
    name = f"meta_LC8_{when:%Y%m%d}_{index:02d}_v1"
    image_id = f"{product}:{name}"
    feature = copy.deepcopy(load("v1_metadata_search_page2.json")[0])
    resource = copy.deepcopy(load("v2_image.json")["data"])
    geometry = _shift(feature["geometry"], SHIFT if index % 2 else 0.0)
    v1_acquired = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    props = feature["properties"]
    props.update(product=product, key=name, acquired=v1_acquired, cloud_fraction=cloud)
    feature.update(id=image_id, key=name, geometry=geometry)
    attrs = resource["attributes"]
    attrs.update(product_id=product, name=name, acquired=when.isoformat(), cloud_fraction=cloud, geometry=geometry,
                 modified=(when + dt.timedelta(days=30)).isoformat())
    resource["id"] = image_id
    resource["relationships"] = {"product": {"data": {"type": "product", "id": product}}}
    return ImageEntry(image_id, feature, resource)


def _landsat() -> ProductEntry:
    v1_band = load("v1_catalog_band.json")["data"]
    nir = {"id": v1_band["id"], **v1_band["attributes"]}
    red = {**copy.deepcopy(nir), "id": f"{LANDSAT}:red", "name": "red", "name_common": "red", "description": "Red",
           "srcfile": 0, "jpx_layer": 0, "srcband": 1, "wavelength_center": 654.6, "wavelength_fwhm": 37.5,
           "wavelength_min": 635.85, "wavelength_max": 673.35, "name_vendor": "B4", "vendor_order": 4}
    v2_bands = load("v2_bands_list.json")["data"]
    product = ProductEntry(LANDSAT, load("v1_catalog_product.json"), load("v2_product.json")["data"],
                           [red, nir], v2_bands)
    start = dt.datetime(2016, 7, 1, 16, 59, 42, 753476, tzinfo=dt.UTC)
    product.images = [_image(LANDSAT, i, cloud, start + dt.timedelta(days=3 * i)) for i, cloud in enumerate(CLOUDS)]
    return product


def _user_product() -> ProductEntry:
    v1 = copy.deepcopy(load("v1_catalog_product.json"))
    v1["data"]["id"] = USER_PRODUCT
    v1["data"]["meta"]["owner_type"] = "user"
    v1["data"]["attributes"].update(title="My product", description="A user product in a hash namespace",
                                    owners=["user:5d6a1b2c3d4e5f60718293a4b5c6d7e8f9012345"])
    v2 = copy.deepcopy(load("v2_product.json")["data"])
    v2["id"] = USER_PRODUCT
    v2["attributes"].update(name="My product", description="A user product in a hash namespace", is_core=False)
    band = {**copy.deepcopy(load("v1_catalog_band.json")["data"]["attributes"]), "id": f"{USER_PRODUCT}:nir",
            "product": USER_PRODUCT, "owner_type": "user"}
    v2_band = copy.deepcopy(load("v2_band.json")["data"])
    v2_band["id"] = f"{USER_PRODUCT}:nir"
    v2_band["attributes"]["product_id"] = USER_PRODUCT
    product = ProductEntry(USER_PRODUCT, v1, v2, [band], [v2_band])
    start = dt.datetime(2020, 5, 1, 10, 0, tzinfo=dt.UTC)
    product.images = [_image(USER_PRODUCT, i, round(0.1 * (i + 1), 2), start + dt.timedelta(days=i)) for i in range(3)]
    return product


def catalog() -> list[ProductEntry]:
    """Landsat 8 with 8 images and a user product with 3, fresh copies each call."""
    return [_landsat(), _user_product()]


def ids(entries: list[ImageEntry]) -> set[str]:
    return {entry.id for entry in entries}


def ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
