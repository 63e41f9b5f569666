"""The real descarteslabs clients against the stand-in: the v1 REST client recreates a product from
``stac-bridge export descartes`` (and pages its metadata search), the v2 client reads products, bands and images.

Each client lives in a venv of its own (``tests/sdkvenv.py``), installed from the package index on first use and
skipped when it cannot be. descarteslabs 1.12.1 pins numpy < 1.23, which has no wheel for Python 3.11: it is
installed without its dependency pins, with the modules its catalog and metadata clients import.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stac_bridge.cli import main
from stac_bridge.harvest import SourceOptions, create_source
from stac_bridge.harvest.engine import run_harvest
from stac_bridge.transforms import descartes
from tests.descartes.data import DEMO, IOWA, LANDSAT, catalog, ndjson
from tests.descartes.standin import DescartesStandIn
from tests.sdkvenv import run_sdk, sdk_python
from tests.sinks import ListSink

Valid = Callable[[Any], dict[str, Any]]

V1_REQUIREMENTS = [
    "--no-deps", "descarteslabs==1.12.1", "affine", "attrs", "blosc", "cachetools<5", "certifi",
    "charset-normalizer", "dynaconf", "geojson", "idna", "lazy-object-proxy", "mercantile", "numpy", "pillow",
    "pytz", "requests<3", "shapely", "tifffile", "tqdm", "urllib3",
]
V2_REQUIREMENTS = ["descarteslabs==3.2.2", "setuptools<81"]
#: The v1 client reads its environment's settings on import; the URLs are given explicitly anyway.
V1_ENV = {"DESCARTESLABS_ENV": "gcp-production", "PYTHONWARNINGS": "ignore"}

V1_SCRIPT = r"""
import json, sys
from descarteslabs.auth import Auth
from descarteslabs.client.services.catalog import Catalog
from descarteslabs.client.services.metadata import Metadata
from descarteslabs.exceptions import ConflictError, NotFoundError

catalog_url, metadata_url, token, calls_path, product_id = sys.argv[1:6]
auth = Auth(jwt_token=token, token_info_path=None, client_id="stand-in")
catalog = Catalog(url=catalog_url, auth=auth, retries=0)
lines = [json.loads(line) for line in open(calls_path)]
made = [getattr(catalog, line["call"])(**line["kwargs"])["data"]["id"] for line in lines]
out = {"made": made}
try:
    catalog.add_product(**lines[0]["kwargs"])
except ConflictError:
    out["again"] = "ConflictError"
try:
    catalog.get_product("nobody:nothing")
except NotFoundError:
    out["missing"] = "NotFoundError"
out["band"] = catalog.get_band(product_id, "nir")["data"]["attributes"]
metadata = Metadata(url=metadata_url, auth=auth, retries=0)
found = metadata.features(products=[product_id], batch_size=2, start_datetime="2016-07-05",
                          end_datetime="2016-07-20", cloud_fraction=0.6)
out["features"] = [f["id"] for f in found]
print(json.dumps(out))
"""

V2_SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
from descarteslabs.auth import Auth
from descarteslabs.catalog import CatalogClient, Image, Product, properties as p
from descarteslabs.exceptions import BadRequestError, NotFoundError

v2_url, token, product_id, bbox = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
auth = Auth(jwt_token=token, token_info_path=None, client_id="stand-in")
client = CatalogClient(url=v2_url, auth=auth, retries=0)
product = Product.get(product_id, client=client)
w, s, e, n = bbox
area = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
search = (Image.search(client=client).filter(p.product_id == product_id).intersects(area)
          .filter(p.cloud_fraction < 0.6).limit(2))
out = {
    "product": product.name,
    "bands": [b.name for b in product.bands()],
    "images": [i.serialize(jsonapi_format=True) for i in search],
}
out["missing"] = Product.get("nobody:nothing", client=client)  # the client turns the 404 into None
try:
    client.session.get("/products/nobody%3Anothing")
except NotFoundError:
    out["not_found"] = "NotFoundError"
try:
    list(Image.search(client=client).filter(p.product_id == product_id).limit(20000))
except BadRequestError:
    out["bad"] = "BadRequestError"
print(json.dumps(out))
"""


@pytest.fixture
def empty() -> Iterator[DescartesStandIn]:
    with DescartesStandIn([], page_size=3) as standin:
        yield standin


def test_the_v1_client_recreates_the_exported_product_and_the_harvest_gives_the_same_stac(
    empty: DescartesStandIn, token: str, tmp_path: Path, assert_valid: Valid
) -> None:
    python = sdk_python("descarteslabs-v1", V1_REQUIREMENTS)
    stac, calls = tmp_path / "stac.ndjson", tmp_path / "calls.ndjson"
    landsat_files = sorted(str(p) for p in DEMO.glob("*-landsat-*.json"))
    assert main(["convert", "descartes", *landsat_files, "--out", str(stac)]) == 0
    assert main(["export", "descartes", str(stac), "--out", str(calls)]) == 0
    lines = ndjson(calls)

    out = run_sdk(python, V1_SCRIPT, empty.catalog_url, empty.metadata_url, token, str(calls), LANDSAT, env=V1_ENV)

    originals = {o["id"]: assert_valid(o) for o in ndjson(stac)}
    assert out["made"] == [LANDSAT, *(f"{LANDSAT}:{line['kwargs'].get('name') or line['kwargs'].get('image_id')}"
                                      for line in lines[1:])]
    assert (out["again"], out["missing"]) == ("ConflictError", "NotFoundError")
    assert out["band"]["wavelength_center"] == 864.7 and out["band"]["wavelength_unit"] == "nm"
    # The client's search pages (2 a request) over what it created: July 5-20, at most 60% cloud.
    images = [o for o in originals.values() if o["type"] == "Feature"]
    assert sorted(out["features"]) == sorted(
        i["id"] for i in images
        if "2016-07-05" <= i["properties"]["datetime"][:10] < "2016-07-20" and i["properties"]["eo:cloud_cover"] <= 60)
    assert len([t for t in empty.paths("POST") if t == "/metadata/v1/search"]) >= 3

    # Harvested back with the v1 protocol, each image is the same STAC as the one exported.
    sink = ListSink()
    with create_source("descartes", SourceOptions(empty.metadata_url, collections=[LANDSAT])) as harvest:
        run_harvest(harvest, [sink], since=None)
    assert {r["id"] for r in sink.records} == set(originals)
    same = ("datetime", "eo:cloud_cover", "proj:code", "proj:shape", "proj:transform", "platform", "view:sun_azimuth")
    for record in sink.records:
        original = originals[record["id"]]
        assert_valid(record)
        if record["type"] == "Feature":
            assert record["geometry"] == original["geometry"] and record["bbox"] == original["bbox"]
            assert {k: record["properties"].get(k) for k in same} == {k: original["properties"].get(k) for k in same}
            data = [(a["href"], a["file:checksum"]) for a in record["assets"].values() if "data" in a["roles"]]
            assert data == [(a["href"], a["file:checksum"]) for a in original["assets"].values()
                            if "data" in a["roles"]]
        else:
            assert [b["name"] for b in record["summaries"]["bands"]] == \
                [b["name"] for b in original["summaries"]["bands"]]


def test_the_v2_client_reads_products_bands_and_images_from_the_standin(token: str, assert_valid: Valid) -> None:
    python = sdk_python("descarteslabs-v2", V2_REQUIREMENTS)
    with DescartesStandIn(catalog(), page_size=2) as server:
        out = run_sdk(python, V2_SCRIPT, server.v2_url, token, LANDSAT, json.dumps(IOWA))
        images = server.products[LANDSAT].images
        searches = [t for m, t, _ in server.requests if m == "PUT" and t.startswith("/metadata/v1/catalog/v2/images")]
    assert out["product"] == "Landsat 8" and out["missing"] is None
    assert (out["not_found"], out["bad"]) == ("NotFoundError", "BadRequestError")
    assert out["bands"][:4] == ["coastal-aerosol", "blue", "green", "red"] and len(out["bands"]) == 16
    expected = [i for n, i in enumerate(images) if n % 2 == 0 and i.cloud_fraction < 0.6]
    assert [d["data"]["id"] for d in out["images"]] == [i.id for i in expected]
    assert len(searches) >= 2 and "continuation=" in searches[1]  # paged by links.next
    for document, image in zip(out["images"], expected, strict=True):
        item = assert_valid(descartes.image_to_stac(document))
        assert item["properties"]["eo:cloud_cover"] == round(image.cloud_fraction * 100, 2)
