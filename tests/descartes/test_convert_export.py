"""``stac-bridge convert descartes`` with products, bands and images linked; ``stac-bridge export descartes`` as DL
client calls; the demo records converted and loaded into pgstac."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stac_bridge.cli import main
from stac_bridge.errors import TransformError
from stac_bridge.registry import ProviderRecord
from stac_bridge.transforms import descartes
from tests.descartes.data import DEMO, LANDSAT, USER_PRODUCT, catalog, load, ndjson

Valid = Callable[[Any], dict[str, Any]]

def write(path: Path, records: Any) -> str:
    path.write_text(json.dumps(records))
    return str(path)


def test_link_gives_products_their_bands_and_images_their_product() -> None:
    adapter = descartes.ADAPTER
    landsat, user = catalog()
    product = adapter.classify(landsat.v1)
    v1_bands = [adapter.classify(b) for b in landsat.v1_bands]
    images = [adapter.classify(i.v1) for i in landsat.images[:2]]
    other = adapter.classify(user.v1)
    other_band = adapter.classify(user.v1_bands[0])
    other_image = adapter.classify(user.images[0].v1)
    stray = adapter.classify(load("v2_image.json"))  # a Landsat image after the user product: still linked
    unknown = {"what": "not DL"}
    out = list(adapter.link([product, *v1_bands, *images, other, unknown, other_band, other_image, stray]))

    assert [r.kind if isinstance(r, ProviderRecord) else r for r in out] == [
        "product", "image", "image", unknown, "product", "image", "image"]
    assert isinstance(out[0], ProviderRecord) and out[0].context["bands"] == landsat.v1_bands
    assert isinstance(out[1], ProviderRecord) and out[1].context == {"product": landsat.v1, "bands": landsat.v1_bands}
    assert isinstance(out[4], ProviderRecord) and out[4].context["bands"] == user.v1_bands
    assert isinstance(out[5], ProviderRecord) and out[5].context["product"] == user.v1
    assert isinstance(out[6], ProviderRecord) and out[6].context["product"] == landsat.v1
    # An image of a product never read goes through as it came.
    alone = adapter.classify(load("v2_image.json"))
    assert list(adapter.link([alone])) == [alone]


def test_convert_links_bands_and_dead_letters_the_one_bad_image(tmp_path: Path, assert_valid: Valid) -> None:
    landsat = catalog()[0]
    images = [copy.deepcopy(i.v2) for i in landsat.images]
    images[3]["attributes"]["acquired"] = "the 10th of July"
    inputs = [write(tmp_path / "1-product.json", load("v2_product.json")),
              write(tmp_path / "2-bands.json", load("v2_bands_list.json")),
              write(tmp_path / "3-images.json", {"data": images})]
    out, dead = tmp_path / "stac.ndjson", tmp_path / "dead.ndjson"

    assert main(["convert", "descartes", *inputs, "--out", str(out), "--dead-letters", str(dead)]) == 1

    written = ndjson(out)
    assert [r["id"] for r in written] == [LANDSAT] + [i["id"] for n, i in enumerate(images) if n != 3]
    for stac in written:
        assert_valid(stac)
    collection, item = written[0], written[1]
    assert len(collection["summaries"]["bands"]) == 16 and set(collection["item_assets"]) == {"file-0", "file-1"}
    assert [b["name"] for b in item["assets"]["file-0"]["bands"]] == ["red", "green", "blue", "alpha"]
    (refused,) = ndjson(dead)
    assert refused["id"] == images[3]["id"] and "acquired" in refused["error"]
    assert refused["record"]["data"] == images[3] and refused["record"]["context"]["product"]["data"]["id"] == LANDSAT


def test_export_writes_one_client_call_a_line(tmp_path: Path, assert_valid: Valid) -> None:
    stac = tmp_path / "stac.ndjson"
    assert main(["convert", "descartes", *sorted(str(p) for p in DEMO.glob("*.json")), "--out", str(stac)]) == 0
    objects = [assert_valid(o) for o in ndjson(stac)]
    calls = tmp_path / "calls.ndjson"
    assert main(["export", "descartes", str(stac), "--out", str(calls)]) == 0

    lines = ndjson(calls)
    assert all(set(line) == {"call", "kwargs"} for line in lines)
    assert Counter(line["call"] for line in lines) == {"add_product": 2, "add_band": 17, "add_image": 11}
    collections = [o for o in objects if o["type"] == "Collection"]
    for collection in collections:
        items = [o for o in objects if o.get("collection") == collection["id"]]
        expected = descartes.stac_to_client_calls(collection, items)
        mine = [line["kwargs"] for line in lines if line["kwargs"]["product_id"] == collection["id"]]
        assert mine == [expected["add_product"], *expected["add_band"], *expected["add_image"]]
    first_image = next(line["kwargs"] for line in lines if line["call"] == "add_image")
    assert first_image["image_id"] == "meta_LC8_20160701_00_v1" and first_image["cloud_fraction"] == 0.05
    assert first_image["product_id"] == LANDSAT and first_image["raster_size"] == [15696, 15960]
    user_product = next(line["kwargs"] for line in lines if line["kwargs"].get("product_id") == USER_PRODUCT)
    assert (user_product["title"], user_product["start_datetime"]) == ("My product", "2013-02-01T00:00:00Z")


def test_export_refuses_an_item_without_its_product() -> None:
    item = descartes.image_to_stac(load("v2_image.json")).to_dict()
    del item["collection"]
    with pytest.raises(TransformError, match="collection"):
        descartes.ADAPTER.export_records(item)
    with pytest.raises(TransformError):
        descartes.ADAPTER.export_records({"type": "Catalog", "id": "x"})


@pytest.mark.db
def test_the_demo_records_convert_and_load(tmp_path: Path, fresh_dsn: str, monkeypatch: pytest.MonkeyPatch,
                                           assert_valid: Valid, capsys: pytest.CaptureFixture[str]) -> None:
    import psycopg

    out = tmp_path / "descartes.ndjson"
    assert main(["convert", "descartes", *sorted(str(p) for p in DEMO.glob("*.json")), "--out", str(out)]) == 0
    records = [assert_valid(r) for r in ndjson(out)]
    assert [r["id"] for r in records if r["type"] == "Collection"] == [LANDSAT, USER_PRODUCT]
    assert sum(r["type"] == "Feature" for r in records) == 11
    monkeypatch.setenv("STAC_BRIDGE_DATABASE_URL", fresh_dsn)
    assert main(["load", str(out)]) == 0
    with psycopg.connect(fresh_dsn) as conn:
        counts = dict(conn.execute("select collection, count(*) from pgstac.items group by collection").fetchall())
    assert counts == {LANDSAT: 8, USER_PRODUCT: 3}
