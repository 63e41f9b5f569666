"""Descartes Labs Catalog <-> STAC: golden files, one test per trap, round trips, bad input, the adapter."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stac_bridge import get_adapter
from stac_bridge.errors import TransformError
from stac_bridge.transforms import descartes
from stac_bridge.validate import SHIPPED_SCHEMAS
from tests.golden import assert_golden

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "descartes"
EXPECTED = FIXTURES / "expected"
SCHEMAS = SHIPPED_SCHEMAS  # inside the package: the check never skips
LANDSAT = "landsat:LC08:PRE:TOAR"
L8_IMAGE = "landsat:LC08:PRE:TOAR:meta_LC80270312016188_v1"

FILE0_BANDS = ["red", "green", "blue", "alpha"]  # alpha is jpx layer 1
IMAGE_IDS = {
    "v1_catalog_image": L8_IMAGE,
    "v1_metadata_search_page1_0": "landsat:LC08:PRE:TOAR:meta_LC80260322016197_v1",
    "v2_image": L8_IMAGE,
}

Check = Callable[[Any], dict[str, Any]]


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def image_records() -> dict[str, dict[str, Any]]:
    """Every image the shared payloads hold, in every form, by a name for its golden file."""
    v1_doc = load("v1_catalog_image.json")
    return {
        "v1_catalog_image": v1_doc,
        "v1_catalog_image_attributes": v1_doc["data"]["attributes"],
        "v1_metadata_get_image": load("v1_metadata_get_image.json"),
        "v1_metadata_search_page1_0": load("v1_metadata_search_page1.json")[0],
        "v1_metadata_search_page2_0": load("v1_metadata_search_page2.json")[0],
        "v2_image": load("v2_image.json"),
        "v2_images_search_page1_0": load("v2_images_search_page1.json")["data"][0],
        "v2_images_search_page2_0": load("v2_images_search_page2.json")["data"][0],
        "v2_image_attributes": load("v2_image.json")["data"]["attributes"],
    }


def product_records() -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    v1_product = load("v1_catalog_product.json")
    return {
        "v1_catalog_product": (v1_product, [load("v1_catalog_band.json")]),
        "v1_product_attributes": (
            {"id": LANDSAT, **v1_product["data"]["attributes"]},
            [load("v1_catalog_band.json")["data"]["attributes"]],
        ),
        "v2_product": (load("v2_product.json"), load("v2_bands_list.json")["data"]),
        "v2_product_single_band_document": (load("v2_product.json"), [load("v2_band.json")]),
    }


def as_dict(stac: Any) -> dict[str, Any]:
    return stac.to_dict(include_self_link=False, transform_hrefs=False)  # type: ignore[no-any-return]


def attributes(record: dict[str, Any]) -> dict[str, Any]:
    return record["data"]["attributes"]  # type: ignore[no-any-return]


# --- golden files and round trips on every shared payload --------------------------------------------------

@pytest.mark.parametrize("name", list(image_records()))
def test_image_golden_and_round_trip(name: str, assert_valid: Check) -> None:
    record = image_records()[name]
    original = copy.deepcopy(record)
    item = descartes.image_to_stac(record, load("v1_catalog_product.json"), [load("v1_catalog_band.json")])
    as_json = assert_valid(item)
    assert_golden(EXPECTED / f"{name}.json", as_json)
    assert record == original, "the transform must not change its input"
    assert descartes.stac_to_image(item) == record
    assert descartes.stac_to_image(json.loads(json.dumps(as_json))) == record


@pytest.mark.parametrize("name", list(product_records()))
def test_product_golden_and_round_trip(name: str, assert_valid: Check) -> None:
    product, bands = product_records()[name]
    collection = descartes.product_to_stac(product, bands)
    as_json = assert_valid(collection)
    assert_golden(EXPECTED / f"{name}.json", as_json)
    assert descartes.stac_to_product(collection) == (product, bands)
    assert descartes.stac_to_product(json.loads(json.dumps(as_json))) == (product, bands)


def test_export_golden() -> None:
    product, bands = product_records()["v1_catalog_product"]
    collection = descartes.product_to_stac(product, bands)
    items = [descartes.image_to_stac(r) for r in (load("v1_catalog_image.json"), load("v2_image.json"))]
    calls = descartes.stac_to_client_calls(collection, items)
    assert_golden(EXPECTED / "client_calls_v1_product.json", calls)
    v2_calls = descartes.stac_to_client_calls(
        descartes.product_to_stac(*product_records()["v2_product"]), items)
    assert_golden(EXPECTED / "client_calls_v2_product.json", v2_calls)


# --- the traps, each with a hand-checked value --------------------------------------------------------------

@pytest.fixture(params=["v1_catalog_image", "v2_image"])
def landsat(request: pytest.FixtureRequest, assert_valid: Check) -> tuple[dict[str, Any], dict[str, Any]]:
    record = image_records()[request.param]
    return record, assert_valid(descartes.image_to_stac(record))


def test_raster_size_becomes_rows_cols(landsat: tuple[dict[str, Any], dict[str, Any]]) -> None:
    # DL: raster_size [15696, 15960] = [width, height] (v2: x_pixels 15696, y_pixels 15960).
    assert landsat[1]["properties"]["proj:shape"] == [15960, 15696]


def test_geotrans_becomes_affine(landsat: tuple[dict[str, Any], dict[str, Any]]) -> None:
    # GDAL [x0, xres, rot, y0, rot, yres] = [258292.5, 15, 0, 4743307.5, 0, -15]
    assert landsat[1]["properties"]["proj:transform"] == [15.0, 0.0, 258292.5, 0.0, -15.0, 4743307.5]


def test_cloud_fraction_becomes_percent(landsat: tuple[dict[str, Any], dict[str, Any]]) -> None:
    assert landsat[1]["properties"]["eo:cloud_cover"] == 56.46  # cloud_fraction 0.5646
    assert "dl:cloud_fraction" not in landsat[1]["properties"]  # 56.46 gives 0.5646 back exactly


def test_md5_becomes_multihash(landsat: tuple[dict[str, Any], dict[str, Any]]) -> None:
    asset = landsat[1]["assets"]["file-0"]
    assert asset["file:checksum"] == "d5105b12fa74275aee3234428fc996429256"
    assert asset["file:size"] == 49721086
    assert asset["href"] == "gs://descartes-l8/2016-07-06_027031_L8_432.jp2"


def test_cs_code_becomes_proj_code(landsat: tuple[dict[str, Any], dict[str, Any]]) -> None:
    assert landsat[1]["properties"]["proj:code"] == "EPSG:32615"
    assert "https://stac-extensions.github.io/projection/v2.0.0/schema.json" in landsat[1]["stac_extensions"]


def test_landsat_goes_back_identical(landsat: tuple[dict[str, Any], dict[str, Any]]) -> None:
    record, stac = landsat
    back = descartes.stac_to_image(stac)
    assert back == record
    # Same JSON text up to key order: numbers keep their spelling (15.0 stays 15.0, 0.5646 stays 0.5646).
    assert json.dumps(back, sort_keys=True) == json.dumps(record, sort_keys=True)


def test_datetimes_are_utc_z_and_come_back_in_the_record_spelling(assert_valid: Check) -> None:
    v2 = image_records()["v2_image"]
    stac = assert_valid(descartes.image_to_stac(v2))
    assert stac["properties"]["datetime"] == "2016-07-06T16:59:42.753476Z"
    assert stac["properties"]["created"] == "2016-07-11T15:45:18Z"
    assert attributes(descartes.stac_to_image(stac))["acquired"] == "2016-07-06T16:59:42.753476+00:00"
    v1 = image_records()["v1_catalog_image"]
    assert attributes(descartes.stac_to_image(descartes.image_to_stac(v1)))["acquired"] == (
        "2016-07-06T16:59:42.753476Z")
    # v1 processed is Unix seconds.
    assert as_dict(descartes.image_to_stac(v1))["properties"]["processing:datetime"] == "2016-07-11T15:45:18Z"


def test_wavelengths_become_micrometres_and_dtype_names_stac(assert_valid: Check) -> None:
    for product, bands in (product_records()["v1_catalog_product"], product_records()["v2_product"]):
        stac = assert_valid(descartes.product_to_stac(product, bands))
        nir = next(b for b in stac["summaries"]["bands"] if b["name"] == "nir")
        assert nir["eo:center_wavelength"] == 0.8647  # 864.7 nm
        assert nir["eo:full_width_half_max"] == 0.0283  # 28.3 nm
        assert nir["data_type"] == "uint16"  # UInt16
        assert nir["raster:spatial_resolution"] == 30
        assert nir["raster:scale"] == 0.0001  # data_range [0, 10000] onto physical_range [0, 1]


def test_product_dates_and_summaries(assert_valid: Check) -> None:
    v1 = assert_valid(descartes.product_to_stac(*product_records()["v1_catalog_product"]))
    # start_date "2/1/2013" is month/day/year; end_date "present" is an open end.
    assert v1["extent"]["temporal"]["interval"] == [["2013-02-01T00:00:00Z", None]]
    assert v1["summaries"]["gsd"] == [15]
    assert v1["summaries"]["processing:level"] == ["TOAR"]
    assert v1["dl:owners"] == ["org:descarteslabs"]
    v2 = assert_valid(descartes.product_to_stac(*product_records()["v2_product"]))
    assert v2["extent"]["temporal"]["interval"] == [["2013-02-01T00:00:00Z", None]]
    assert v2["summaries"]["gsd"] == {"minimum": 15, "maximum": 100}
    assert v2["title"] == "Landsat 8" and v2["keywords"] == ["landsat"]


def test_assets_list_the_bands_of_their_file(assert_valid: Check) -> None:
    product, bands = product_records()["v2_product"]
    item = assert_valid(descartes.image_to_stac(image_records()["v2_image"], product, bands))
    # file_index 0, ordered by (jpx_layer_index, band_index): layer 0 holds red, green, blue (band 0, 1, 2).
    assert [b["name"] for b in item["assets"]["file-0"]["bands"]] == FILE0_BANDS
    nir = next(b for b in item["assets"]["file-1"]["bands"] if b["name"] == "nir")
    assert nir["eo:center_wavelength"] == 0.8647
    assert not any(k.startswith("dl:") for k in nir)
    collection = assert_valid(descartes.product_to_stac(product, bands))
    assert set(collection["item_assets"]) == {"file-0", "file-1"}


# --- the rules the issue names -----------------------------------------------------------------------------

def test_namespaced_ids_survive(assert_valid: Check) -> None:
    product = {"data": {"id": "a1b2c3d4e5:my-product", "type": "product", "meta": {"owner_type": "user"},
                        "attributes": {"title": "Mine", "description": "user product", "read": []}}}
    collection = assert_valid(descartes.product_to_stac(product, []))
    assert collection["id"] == "a1b2c3d4e5:my-product"
    assert descartes.stac_to_product(collection) == (product, [])
    image = {**image_records()["v1_metadata_get_image"], "id": "a1b2c3d4e5:my-product:scene-1",
             "product": "a1b2c3d4e5:my-product", "key": "scene-1"}
    item = assert_valid(descartes.image_to_stac(image))
    assert (item["id"], item["collection"]) == ("a1b2c3d4e5:my-product:scene-1", "a1b2c3d4e5:my-product")
    assert descartes.stac_to_image(item) == image


@pytest.mark.parametrize("name", ["v1_metadata_get_image", "v2_image_attributes"])
def test_remote_images_have_no_data_assets(name: str, assert_valid: Check) -> None:
    record = {**image_records()[name], "storage_state": "remote"}
    item = assert_valid(descartes.image_to_stac(record))
    assert not any(key.startswith("file-") for key in item["assets"])
    assert item["assets"]["metadata"]["dl:storage_state"] == "remote"
    assert descartes.stac_to_image(item) == record


def test_extra_properties_and_unmapped_fields_are_kept(assert_valid: Check) -> None:
    extra = {"vendor_scene": "X1", "quality": 0.93, "night": False, "count": 4}
    record = {**image_records()["v1_metadata_get_image"], "extra_properties": extra, "brand_new_field": [1]}
    item = assert_valid(descartes.image_to_stac(record))
    record_asset = item["assets"]["metadata"]
    assert {k: record_asset[f"dl:extra_properties.{k}"] for k in extra} == extra  # flat: no object fields
    assert record_asset["dl:brand_new_field"] == [1]
    assert record_asset["dl:tile_id"] == "027031"
    assert record_asset["href"] == descartes.api_url("image", L8_IMAGE)
    assert descartes.stac_to_image(item) == record


def test_values_without_an_exact_stac_home_are_kept_verbatim(assert_valid: Check) -> None:
    record = {**image_records()["v1_metadata_get_image"], "cloud_fraction": 1.7, "pass": "A",
              "solar_elevation_angle": 123.0}
    item = assert_valid(descartes.image_to_stac(record))
    properties = item["properties"]
    record_asset = item["assets"]["metadata"]
    assert "eo:cloud_cover" not in properties and record_asset["dl:cloud_fraction"] == 1.7
    assert "sat:orbit_state" not in properties and record_asset["dl:pass"] == "A"
    assert "view:sun_elevation" not in properties
    assert descartes.stac_to_image(item) == record


def test_orbit_fields(assert_valid: Check) -> None:
    record = {**image_records()["v1_metadata_get_image"], "pass": "DESCENDING", "absolute_orbit": 12345,
              "relative_orbit": 27, "incidence_angle": 33.5, "azimuth_angle": 190.0}
    properties = assert_valid(descartes.image_to_stac(record))["properties"]
    assert properties["sat:orbit_state"] == "descending"
    assert (properties["sat:absolute_orbit"], properties["sat:relative_orbit"]) == (12345, 27)
    assert (properties["view:incidence_angle"], properties["view:azimuth"]) == (33.5, 190.0)
    assert descartes.stac_to_image(descartes.image_to_stac(record)) == record


def test_provenance_is_one_property_and_one_via_link(assert_valid: Check) -> None:
    item = assert_valid(descartes.image_to_stac(image_records()["v2_images_search_page1_0"]))
    version = descartes.TRANSFORM_VERSION
    assert item["properties"]["stac_bridge:source"] == f"descartes/image-v2-resource/{version}"
    assert [k for k in item["properties"] if k.startswith("stac_bridge:")] == ["stac_bridge:source"]
    via = next(link for link in item["links"] if link["rel"] == "via")
    assert via == {"rel": "via", "type": "application/json", "title": "Descartes Labs v2 image (resource)",
                   "href": "https://platform.descarteslabs.com/metadata/v1/catalog/v2/images/"
                           "landsat%3ALC08%3APRE%3ATOAR%3Ameta_LC80270312016188_v1"}
    collection = assert_valid(descartes.product_to_stac(*product_records()["v2_product"]))
    assert collection["stac_bridge:source"] == f"descartes/product-v2+band-v2-resource/{version}"
    assert next(link for link in collection["links"] if link["rel"] == "via")["href"] == (
        "https://platform.descarteslabs.com/metadata/v1/catalog/v2/products/landsat%3ALC08%3APRE%3ATOAR")
    assert item["collection"] == LANDSAT
    assert {"rel": "collection", "href": "../collection.json", "type": "application/json"} in item["links"]
    assert not any(key.startswith("dl:wire") for key in json.dumps(item).split('"'))


def test_every_extension_url_is_a_known_schema(assert_valid: Check) -> None:
    if not (SCHEMAS / "index.json").is_file():
        pytest.skip("shared/stac-schemas is not beside this checkout")
    known = json.loads((SCHEMAS / "index.json").read_text())
    product, bands = product_records()["v2_product"]
    outputs = [descartes.image_to_stac(r, product, bands) for r in image_records().values()]
    used = {uri for stac in outputs for uri in assert_valid(stac)["stac_extensions"]}
    assert used <= set(known)


# --- bad input ---------------------------------------------------------------------------------------------

def _broken(form: str, **changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(image_records()[form])
    attrs = record["data"]["attributes"] if "data" in record else record.get("properties", record)
    for key, value in changes.items():
        target = record if key == "geometry" and "properties" in record else attrs
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return record


@pytest.mark.parametrize("form", ["v1_catalog_image", "v1_metadata_search_page1_0", "v2_image"])
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"geometry": None}, "geometry"),
        ({"acquired": "the sixth of July"}, "acquired"),
        ({"cs_code": "EPSG:999999"}, "cs_code"),
        ({"cs_code": "not a crs"}, "cs_code"),
        ({"cloud_fraction": "cloudy"}, "cloud_fraction"),
        ({"geotrans": [1, 2, 3]}, "geotrans"),
        ({"acquired": 20160706}, "acquired"),
        ({"geometry": {"type": "Polygon", "coordinates": "nope"}}, "geometry"),
    ],
)
def test_bad_image_names_provider_record_and_field(form: str, changes: dict[str, Any], field: str) -> None:
    record = _broken(form, **changes)
    with pytest.raises(TransformError) as caught:
        descartes.image_to_stac(record)
    assert caught.value.provider == "descartes"
    # The full path of the field in the record: data.attributes.acquired, properties.acquired...
    assert caught.value.field is not None and caught.value.field.split(".")[-1] == field
    assert caught.value.record_id == IMAGE_IDS[form]
    assert field in str(caught.value) and IMAGE_IDS[form] in str(caught.value)


def test_bad_raster_size_and_pixels() -> None:
    with pytest.raises(TransformError) as caught:
        descartes.image_to_stac({**image_records()["v1_metadata_get_image"], "raster_size": "15696x15960"})
    assert (caught.value.record_id, caught.value.field) == (L8_IMAGE, "raster_size")  # bare attributes: no path
    with pytest.raises(TransformError) as caught:
        descartes.image_to_stac({**image_records()["v2_image_attributes"], "x_pixels": 1.5})
    assert caught.value.field == "x_pixels"


def test_bad_products_and_bands() -> None:
    product, bands = product_records()["v1_catalog_product"]
    broken = copy.deepcopy(product)
    broken["data"]["attributes"]["start_date"] = "sometime in 2013"
    with pytest.raises(TransformError) as caught:
        descartes.product_to_stac(broken, bands)
    assert (caught.value.provider, caught.value.record_id, caught.value.field) == (
        "descartes", LANDSAT, "product.data.attributes.start_date")
    band = copy.deepcopy(bands[0])
    band["data"]["attributes"]["dtype"] = 16
    with pytest.raises(TransformError) as caught:
        descartes.product_to_stac(product, [band])
    assert (caught.value.record_id, caught.value.field) == (
        "landsat:LC08:PRE:TOAR:nir", "bands.0.data.attributes.dtype")
    with pytest.raises(TransformError) as caught:
        descartes.product_to_stac({"title": "no id"}, [])
    assert caught.value.field == "product.id"


def test_image_without_any_id() -> None:
    record = {k: v for k, v in image_records()["v1_catalog_image_attributes"].items() if k != "key"}
    with pytest.raises(TransformError) as caught:
        descartes.image_to_stac(record)
    assert caught.value.field == "id"


# --- hypothesis: generated images and products, v1 and v2 --------------------------------------------------

_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
_fraction = st.floats(min_value=0, max_value=1, allow_nan=False)
_angle = st.floats(min_value=0, max_value=90, allow_nan=False)
_count = st.integers(min_value=1, max_value=100_000)
_size = st.integers(min_value=0, max_value=10**12)
_md5 = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)
_when = st.datetimes(min_value=__import__("datetime").datetime(1972, 1, 1),
                     max_value=__import__("datetime").datetime(2100, 1, 1))
_primitive = st.one_of(st.text(max_size=8), st.integers(-10**6, 10**6), st.floats(allow_nan=False,
                       allow_infinity=False), st.booleans())


@st.composite
def _geometry(draw: st.DrawFn) -> dict[str, Any]:
    west = draw(st.floats(-179, 170))
    south = draw(st.floats(-89, 80))
    width, height = draw(st.floats(0.01, 9)), draw(st.floats(0.01, 9))
    ring = [[west, south], [west + width, south], [west + width, south + height], [west, south + height],
            [west, south]]
    return {"type": "Polygon", "coordinates": ring and [ring]}


@st.composite
def v1_images(draw: st.DrawFn) -> dict[str, Any]:
    product = draw(_names) + ":" + draw(_names)
    key = draw(_names)
    files = draw(st.lists(_names.map(lambda n: n + ".tif"), min_size=0, max_size=3))
    image: dict[str, Any] = {
        "id": f"{product}:{key}", "product": product, "key": key,
        "acquired": draw(_when).isoformat() + "Z",
        "geometry": draw(_geometry()),
        "cs_code": draw(st.sampled_from(["EPSG:4326", "EPSG:32615", "EPSG:3857", "EPSG:32733"])),
        "geotrans": [draw(st.floats(-1e6, 1e6)), draw(st.floats(0.1, 1000)), 0.0, draw(st.floats(-1e7, 1e7)),
                     0.0, -draw(st.floats(0.1, 1000))],
        "raster_size": [draw(_count), draw(_count)],
        "cloud_fraction": draw(_fraction),
        "files": files, "file_sizes": [draw(_size) for _ in files], "file_md5s": [draw(_md5) for _ in files],
        "bucket": draw(st.sampled_from(["gs://bucket-a/", "bucket-b", "gs://c"])),
        "sat_id": draw(_names),
        "solar_elevation_angle": draw(_angle),
        "processed": draw(st.integers(0, 4_000_000_000)),
        "extra_properties": draw(st.dictionaries(_names, _primitive, max_size=4)),
    }
    if draw(st.booleans()):
        image["directory"] = draw(_names)
    if files and draw(st.booleans()):  # per-file lists, as later v1 records have them
        image["bucket"] = [image["bucket"]] * len(files)
        if "directory" in image:
            image["directory"] = [image["directory"]] * len(files)
    if draw(st.booleans()):  # a CRS given only as PROJ.4
        image["proj4"] = draw(st.sampled_from(["+proj=utm +zone=15 +datum=WGS84 +units=m +no_defs ",
                                               "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +a=6371007.181 +b=6371007.181 "
                                               "+units=m +no_defs "]))
        del image["cs_code"]
    if draw(st.booleans()):
        image["storage_state"] = draw(st.sampled_from(["available", "remote"]))
    if draw(st.booleans()):
        image["pass"] = draw(st.sampled_from(["ASCENDING", "DESCENDING", "A", "descending"]))
    return image if draw(st.booleans()) else {"data": {"id": image.pop("id"), "type": "image",
                                                       "meta": {"modified": "2020-01-01T00:00:00Z"},
                                                       "attributes": image}}


@st.composite
def v2_images(draw: st.DrawFn) -> dict[str, Any]:
    product = draw(_names) + ":" + draw(_names)
    name = draw(_names)
    files = [{"href": f"gs://bucket/{draw(_names)}.jp2", "size_bytes": draw(_size), "hash": draw(_md5)}
             for _ in range(draw(st.integers(0, 3)))]
    when = draw(_when).replace(tzinfo=__import__("datetime").UTC)
    attrs: dict[str, Any] = {
        "product_id": product, "name": name, "acquired": when.isoformat(), "created": when.isoformat(),
        "geometry": draw(_geometry()), "cs_code": "EPSG:32615",
        "geotrans": [258292.5, 15.0, 0.0, 4743307.5, 0.0, -15.0],
        "x_pixels": draw(_count), "y_pixels": draw(_count), "files": files,
        "cloud_fraction": draw(_fraction), "alt_cloud_fraction": draw(_fraction),
        "satellite_id": draw(_names), "extra_properties": draw(st.dictionaries(_names, _primitive, max_size=3)),
        "storage_state": draw(st.sampled_from(["available", "remote"])),
    }
    return {"data": {"type": "image", "id": f"{product}:{name}", "attributes": attrs,
                     "relationships": {"product": {"data": {"type": "product", "id": product}}}},
            "jsonapi": {"version": "1.0"}}


@st.composite
def products(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    pid = draw(_names) + ":" + draw(_names)
    names = draw(st.lists(_names, min_size=0, max_size=4, unique=True))
    if draw(st.booleans()):
        product = {"id": pid, "title": draw(st.text(max_size=20)), "description": draw(st.text(min_size=1)),
                   "start_date": draw(_when).strftime("%-m/%-d/%Y"), "end_date": "present",
                   "resolution": draw(st.integers(1, 1000)), "sensor": draw(st.text(max_size=10)),
                   "read": [], "owners": ["org:x"]}
        bands = [{"name": n, "product": pid, "dtype": draw(st.sampled_from(["Byte", "UInt16", "Float32"])),
                  "srcband": i + 1, "srcfile": draw(st.integers(0, 2)), "data_range": [0, 255],
                  "wavelength_center": draw(st.floats(300, 15000)), "wavelength_unit": "nm",
                  "nodata": draw(st.sampled_from([None, 0, -9999])), "name_common": draw(st.sampled_from(
                      ["red", "swir1", "nir"])), "resolution": draw(st.integers(1, 100)), "resolution_unit": "m"}
                 for i, n in enumerate(names)]
        return product, bands
    when = draw(_when).strftime("%Y-%m-%dT%H:%M:%SZ")
    product = {"data": {"type": "product", "id": pid, "attributes": {
        "name": draw(st.text(max_size=20)), "description": draw(st.text(min_size=1)), "start_datetime": when,
        "end_datetime": None, "readers": [], "tags": draw(st.lists(_names, max_size=3)),
        "resolution_min": {"value": 10, "unit": "meters"}, "resolution_max": {"value": 60, "unit": "meters"}}},
        "jsonapi": {"version": "1.0"}}
    bands = [{"type": "band", "id": f"{pid}:{n}", "attributes": {
        "name": n, "product_id": pid, "data_type": draw(st.sampled_from(["UInt16", "Int16", "Float64"])),
        "file_index": draw(st.integers(0, 1)), "band_index": i, "wavelength_nm_center": draw(st.floats(300, 2500)),
        "wavelength_nm_fwhm": draw(st.floats(1, 300)), "resolution": {"value": 20, "unit": "meters"},
        "data_range": [0, 10000], "physical_range": [0.0, 1.0], "type": "spectral"}}
        for i, n in enumerate(names)]
    return product, bands


_FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_FAST
@given(image=st.one_of(v1_images(), v2_images()))
def test_generated_images_round_trip_and_validate(image: dict[str, Any], assert_valid: Check) -> None:
    item = assert_valid(descartes.image_to_stac(image))
    assert descartes.stac_to_image(item) == image
    properties = item["properties"]
    assert not [k for k, v in properties.items() if isinstance(v, dict)]
    assert [k for k in properties if k.startswith(("dl:", "stac_bridge:"))] == ["stac_bridge:source"]
    attrs = attributes(image) if "data" in image else image
    if attrs.get("storage_state") == "remote":
        assert not any(key.startswith("file-") for key in item["assets"])
    if "eo:cloud_cover" in properties:
        assert properties["eo:cloud_cover"] == pytest.approx(attrs["cloud_fraction"] * 100)


@_FAST
@given(record=products())
def test_generated_products_round_trip_and_validate(
    record: tuple[dict[str, Any], list[dict[str, Any]]], assert_valid: Check
) -> None:
    product, bands = record
    collection = assert_valid(descartes.product_to_stac(product, bands))
    assert descartes.stac_to_product(collection) == (product, bands)
    for entry, band in zip(collection.get("summaries", {}).get("bands", []), bands, strict=True):
        attrs = band.get("attributes", band)
        nanometres = attrs.get("wavelength_center", attrs.get("wavelength_nm_center"))
        assert entry["eo:center_wavelength"] == pytest.approx(nanometres / 1000)


# --- the adapter and the export ----------------------------------------------------------------------------

def test_adapter_is_registered_and_classifies_every_form() -> None:
    adapter = get_adapter("descartes")
    assert adapter is descartes.ADAPTER
    for record in image_records().values():
        assert adapter.classify(record).kind == "image"
    for product, bands in product_records().values():
        assert adapter.classify(product).kind == "product"
        assert {adapter.classify(b).kind for b in bands} == {"band"}
    with pytest.raises(TransformError):
        adapter.classify({"nothing": "here"})


def test_adapter_round_trip_with_context(assert_valid: Check) -> None:
    adapter = get_adapter("descartes")
    product, bands = product_records()["v2_product"]
    image = image_records()["v2_image"]
    record = adapter.classify(image)
    stac = assert_valid(adapter.to_stac(type(record)(record.kind, record.data, {"product": product,
                                                                                  "bands": bands})))
    assert stac["assets"]["file-1"]["bands"]
    assert adapter.from_stac(stac) == image
    coll = assert_valid(adapter.to_stac(type(record)("product", product, {"bands": bands})))
    assert adapter.from_stac(coll) == product
    with pytest.raises(TransformError):
        adapter.to_stac(type(record)("band", bands[0]))


def test_client_calls_follow_the_1_12_1_signatures() -> None:
    product, bands = product_records()["v2_product"]
    collection = descartes.product_to_stac(product, bands)
    calls = descartes.stac_to_client_calls(collection, [descartes.image_to_stac(image_records()["v2_image"])])
    json.dumps(calls)  # JSON-able
    assert calls["add_product"]["product_id"] == LANDSAT
    assert calls["add_product"]["title"] == "Landsat 8"
    assert calls["add_product"]["start_datetime"] == "2013-02-01T00:00:00Z"
    assert "end_datetime" not in calls["add_product"] and "add_namespace" not in calls["add_product"]
    assert calls["add_product"]["read"] == []  # v2 readers -> v1 read
    for band in calls["add_band"]:
        assert {"product_id", "name", "srcband", "dtype", "data_range", "type"} <= set(band)
        assert "nbits" not in band and "add_namespace" not in band
    nir = next(b for b in calls["add_band"] if b["name"] == "nir")
    assert (nir["wavelength_center"], nir["wavelength_unit"], nir["dtype"]) == (864.7, "nm", "UInt16")
    assert (nir["srcfile"], nir["srcband"], nir["resolution"], nir["resolution_unit"]) == (1, 1, 30, "meters")
    (image,) = calls["add_image"]
    assert (image["product_id"], image["image_id"]) == (LANDSAT, "meta_LC80270312016188_v1")
    assert image["raster_size"] == [15696, 15960] and image["cloud_fraction"] == 0.5646
    assert image["bucket"] == "gs://descartes-l8/"
    assert image["files"] == ["2016-07-06_027031_L8_432.jp2", "2016-07-06_027031_L8_567_19a.jp2"]
    assert image["file_md5s"][0] == "5b12fa74275aee3234428fc996429256"
    assert image["sat_id"] == "LANDSAT_8" and image["cloud_fraction_0"] == 0.3264
    assert not {"id", "key", "product", "x_pixels", "created", "name"} & set(image)


# --- real-world record forms (issue 11, deliverable 4), the curated STAC and the bookkeeping ----------------

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo" / "providers" / "descartes"
MODIS = load("v1_metadata_modis_proj4_file_lists.json") if (FIXTURES / "v1_metadata_modis_proj4_file_lists.json"
                                                            ).exists() else []


def real_forms() -> dict[str, dict[str, Any]]:
    """Recorded v1 images whose bucket/directory are per-file lists and whose CRS is only PROJ.4."""
    return {
        "v1_metadata_modis_proj4_file_lists_0": MODIS[0],
        "v1_metadata_modis_proj4_file_lists_1": MODIS[1],
        "v1_metadata_get_image_bucket_list": load("v1_metadata_get_image_bucket_list.json"),
    }


@pytest.mark.parametrize("name", list(real_forms()))
def test_real_v1_forms_golden_and_round_trip(name: str, assert_valid: Check) -> None:
    record = real_forms()[name]
    item = assert_valid(descartes.image_to_stac(record))
    assert_golden(EXPECTED / f"{name}.json", item)
    assert descartes.stac_to_image(item) == record
    hrefs = [a["href"] for k, a in item["assets"].items() if k.startswith("file-")]
    assert hrefs and all(h.startswith("gs://") and h.count("/") >= 3 for h in hrefs)
    names = record["files"]
    assert [h.rsplit("/", 1)[1] for h in hrefs] == names


def test_per_file_bucket_and_directory_make_absolute_hrefs() -> None:
    item = as_dict(descartes.image_to_stac(MODIS[1]))
    assert item["assets"]["file-0"]["href"] == (
        "gs://dl-satin_modis-mod11a2-006_r/modis:mod11a2:006/MOD11A2.A2000049.h08v05.006.2015058135046.UInt16.tif")
    assert item["assets"]["file-1"]["file:checksum"] == "d5107cdcc274be7bd6b0a206949cc8978ced"


def test_a_proj4_only_crs_becomes_wkt2_or_an_epsg_code(assert_valid: Check) -> None:
    sinusoidal = assert_valid(descartes.image_to_stac(MODIS[0]))["properties"]
    assert "proj:code" not in sinusoidal and sinusoidal["proj:wkt2"].startswith('PROJCRS["unknown"')
    utm = {**image_records()["v1_metadata_get_image"], "proj4": "+proj=utm +zone=15 +datum=WGS84 +units=m +no_defs "}
    del utm["cs_code"], utm["projcs"]
    item = assert_valid(descartes.image_to_stac(utm))
    assert item["properties"]["proj:code"] == "EPSG:32615"
    assert descartes.stac_to_image(item) == utm
    wkt = {**utm, "projcs": 'PROJCS["WGS 84 / UTM zone 15N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",'
           '6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION['
           '"Transverse_Mercator"],PARAMETER["central_meridian",-93],PARAMETER["scale_factor",0.9996],'
           'PARAMETER["false_easting",500000],UNIT["metre",1],AUTHORITY["EPSG","32615"]]'}
    del wkt["proj4"]
    item = assert_valid(descartes.image_to_stac(wkt))
    assert item["properties"]["proj:code"] == "EPSG:32615"
    assert descartes.stac_to_image(item) == wkt


def test_products_search_keys_the_id_as_product(assert_valid: Check) -> None:
    (record,) = load("v1_metadata_products_search.json")
    collection = assert_valid(descartes.product_to_stac(record, []))
    assert_golden(EXPECTED / "v1_metadata_products_search_0.json", collection)
    assert collection["id"] == "landsat:LT05:PRE:TOAR"
    assert collection["extent"]["temporal"]["interval"] == [["1984-03-01T00:00:00Z", "2011-11-01T00:00:00Z"]]
    assert collection["dl:Spectral Bands"] == "6"  # odd keys stay visible under dl:
    assert descartes.stac_to_product(collection) == (record, [])
    assert "stac_bridge:ledger" not in collection


def test_collections_are_curated(assert_valid: Check) -> None:
    product, bands = product_records()["v2_product"]
    collection = assert_valid(descartes.product_to_stac(product, bands))
    assert collection["providers"] == [{"name": "Descartes Labs", "roles": ["host", "processor"],
                                        "url": "https://descarteslabs.com"}]
    assert collection["keywords"] == ["landsat"] and collection["license"] == "other"
    assert collection["updated"] == "2019-06-11T23:59:46.800792Z"
    # All 16 bands are visible, with STAC 1.1 band fields.
    assert len(collection["summaries"]["bands"]) == len(bands) == 16
    assert sum(len(a["bands"]) for a in collection["item_assets"].values()) == 16
    red = next(b for b in collection["summaries"]["bands"] if b["name"] == "red")
    assert (red["eo:common_name"], red["eo:center_wavelength"], red["data_type"]) == ("red", 0.6546, "uint16")


def _all_outputs() -> list[dict[str, Any]]:
    product, bands = product_records()["v2_product"]
    items = [as_dict(descartes.image_to_stac(r, product, bands)) for r in (*image_records().values(),
                                                                            *real_forms().values())]
    collections = [as_dict(descartes.product_to_stac(p, b)) for p, b in product_records().values()]
    return items + collections


def test_no_item_property_or_collection_field_is_an_object() -> None:
    allowed = {"extent", "summaries", "item_assets", "stac_bridge:ledger", "assets"}
    for stac in _all_outputs():
        fields = stac["properties"] if stac["type"] == "Feature" else {k: v for k, v in stac.items()
                                                                       if k not in allowed}
        assert not [k for k, v in fields.items() if isinstance(v, dict)], stac["id"]
        if stac["type"] == "Feature":
            assert not [k for k, v in stac["assets"].get("metadata", {}).items() if isinstance(v, dict)]


def _demo_items() -> list[dict[str, Any]]:
    adapter = get_adapter("descartes")
    raws = []
    for path in sorted(DEMO.glob("*.json")):
        data = json.loads(path.read_text())
        records = data["data"] if isinstance(data, dict) and isinstance(data.get("data"), list) else data
        raws += [adapter.classify(r) for r in (records if isinstance(records, list) else [records])]
    return [adapter.to_stac(r) for r in adapter.link(raws) if r.kind == "image"]


def test_vendor_share_of_the_demo_item_properties_is_at_most_15_percent() -> None:
    items = _demo_items()
    keys = [k for item in items for k in item["properties"]]
    vendor = [k for k in keys if k.startswith(("dl:", "stac_bridge:"))]
    assert items and len(vendor) / len(keys) <= 0.15, f"{len(vendor)}/{len(keys)}"


def test_typical_records_have_no_ledger_and_come_back_exactly_without_one() -> None:
    typical = [image_records()[n] for n in ("v1_catalog_image", "v1_metadata_get_image",
                                            "v1_metadata_search_page1_0", "v2_images_search_page1_0")]
    for record in typical:
        item = as_dict(descartes.image_to_stac(record))
        assert "stac_bridge:ledger" not in item, item["id"]
        assert descartes.stac_to_image(item) == record
    for name in ("v2_product", "v2_product_single_band_document"):
        product, bands = product_records()[name]
        collection = as_dict(descartes.product_to_stac(product, bands))
        assert "stac_bridge:ledger" not in collection
        assert descartes.stac_to_product(collection) == (product, bands)
    for item in _demo_items():
        # The demo's user images spell acquired with six zero digits (.000000Z): only that spelling is kept.
        assert set(item.get("stac_bridge:ledger", {}).get("keep", {})) <= {"properties.acquired"}, item["id"]


def test_an_unusual_record_comes_back_exactly_only_with_its_ledger() -> None:
    item = as_dict(descartes.image_to_stac(MODIS[0]))
    assert set(item["stac_bridge:ledger"]["keep"]) >= {"proj4", "bucket", "directory"}
    assert descartes.stac_to_image(item) == MODIS[0]
    served = {k: v for k, v in item.items() if k != "stac_bridge:ledger"}
    # As the API serves it: the files come back as one bucket and names below it, the PROJ.4 text is not there.
    back = descartes.stac_to_image(served)
    assert [f.rsplit("/", 1)[1] for f in back["files"]] == MODIS[0]["files"] and "proj4" not in back


def test_band_translation_is_done_once_per_product(monkeypatch: pytest.MonkeyPatch) -> None:
    from stac_bridge.transforms import descartes_bands

    product, bands = product_records()["v2_product"]
    calls = []
    real = descartes_bands._context
    monkeypatch.setattr(descartes_bands, "_context", lambda p, b: calls.append(1) or real(p, b))
    for record in (image_records()["v2_image"], image_records()["v2_images_search_page2_0"]):
        descartes.image_to_stac(record, product, bands)
    assert len(calls) == 1


def test_bands_in_mixed_forms_are_refused() -> None:
    product = load("v2_product.json")
    with pytest.raises(TransformError) as caught:
        descartes.product_to_stac(product, [load("v2_band.json"), load("v2_bands_list.json")["data"][0]])
    assert caught.value.field == "bands" and "band-v2" in str(caught.value)


def test_an_item_made_elsewhere_comes_back_as_v1_attributes(assert_valid: Check) -> None:
    item = {"type": "Feature", "stac_version": "1.1.0", "id": "a:b:c", "collection": "a:b", "links": [],
            "geometry": {"type": "Point", "coordinates": [1.0, 2.0]}, "bbox": [1.0, 2.0, 1.0, 2.0], "assets": {},
            "properties": {"datetime": "2020-01-01T00:00:00Z", "eo:cloud_cover": 12.5, "proj:code": "EPSG:4326"}}
    assert descartes.stac_to_image(item) == {
        "id": "a:b:c", "product": "a:b", "acquired": "2020-01-01T00:00:00Z", "cloud_fraction": 0.125,
        "cs_code": "EPSG:4326", "projcs": "WGS 84", "geometry": {"type": "Point", "coordinates": [1.0, 2.0]}}


def _served(stac: dict[str, Any]) -> dict[str, Any]:
    """A STAC object as the API serves it: no ledger, no stac_bridge:source (the loader keeps both private)."""
    served = {k: v for k, v in stac.items() if not k.startswith("stac_bridge:")}
    if "properties" in served:
        served["properties"] = {k: v for k, v in served["properties"].items() if not k.startswith("stac_bridge:")}
    return served


def test_typical_records_come_back_exactly_from_what_the_api_serves() -> None:
    for name in ("v1_catalog_image", "v1_metadata_get_image", "v1_metadata_search_page1_0",
                 "v2_images_search_page1_0", "v2_image_attributes"):
        record = image_records()[name]
        item = _served(as_dict(descartes.image_to_stac(record)))
        assert descartes.stac_to_image(item) == record, name
    for name in ("v2_product", "v2_product_single_band_document"):
        product, bands = product_records()[name]
        collection = _served(as_dict(descartes.product_to_stac(product, bands)))
        assert descartes.stac_to_product(collection) == (product, bands), name
    (search_entry,) = load("v1_metadata_products_search.json")
    collection = as_dict(descartes.product_to_stac(search_entry, []))
    assert collection["links"][0]["title"] == "Descartes Labs v1 product (products/search entry)"
    assert descartes.stac_to_product(_served(collection)) == (search_entry, [])
