"""OpenSearch (OGC 17-047) transforms: golden files, exact round trips, offline validation, one test per
mapping decision, bad input."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pystac
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stac_bridge import get_adapter
from stac_bridge.errors import TransformError
from stac_bridge.registry import Adapter
from stac_bridge.transforms import opensearch
from stac_bridge.transforms.kernel import EXTENSION_SCHEMAS, LEDGER, SOURCE, Ledger, Reader, declare_extensions
from stac_bridge.transforms.opensearch_links import LINK_TABLE
from stac_bridge.transforms.tablewalk import fast_decode, fast_encode
from tests.conftest import SCHEMA_DIR
from tests.golden import assert_golden

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "opensearch"
EXPECTED = FIXTURES / "expected"
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo" / "providers" / "opensearch"
PRODUCT_FILES = [
    "products_recorded_S2_TOC_V2.json",
    "products_recorded_S2_FAPAR_V2.json",
    "products_recorded_empty_page.json",
    "products_recorded_S1_GRD_SIGMA0.json",
    "products_recorded_S1_SLC_COHERENCE.json",
    "products_recorded_S2_TOC_V200_V210.json",
    "products_recorded_WorldCover.json",
    "products_recorded_FAPAR_DEM.json",
]
#: Real record forms that need a ledger: a split acquisitionInformation and http CRS URLs (FAPAR V102), a
#: reference system written as a URL (WorldCover, DEM).
UNUSUAL = {
    "urn:eop:VITO:TERRASCOPE_S2_FAPAR_V2:S2A_20191128T075251Z_36MZE_FAPAR_10M_V102",
    "urn:eop:VITO:ESA_WorldCover_10m_2020_V1:ESA_WorldCover_10m_2020_v100_N51E003",
    "urn:eop:VITO:COP_DEM_GLO_30M_COG:Copernicus_DSM_COG_10_N37_00_W004_00_DEM",
}

Valid = Callable[[Any], dict[str, Any]]


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def as_dict(stac: pystac.Item | pystac.Collection) -> dict[str, Any]:
    return stac.to_dict(include_self_link=False, transform_hrefs=False)


def product(**changes: Any) -> dict[str, Any]:
    """The first recorded TOC product, with ``changes`` applied to its properties (None deletes)."""
    feature = copy.deepcopy(load(PRODUCT_FILES[0])["features"][0])
    for key, value in changes.items():
        if value is None:
            feature["properties"].pop(key, None)
        else:
            feature["properties"][key] = value
    return feature


def params(feature: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = feature["properties"]["acquisitionInformation"][0]["acquisitionParameters"]
    return entry


def roundtrip_product(feature: dict[str, Any], assert_valid: Valid) -> dict[str, Any]:
    item = opensearch.product_to_stac(feature)
    stac = assert_valid(item)
    # The adapter (convert, harvest) builds the same dict without pystac: it must be exactly pystac's.
    assert opensearch.ADAPTER.to_stac(opensearch.ADAPTER.classify(feature)) == stac
    assert opensearch.stac_to_product(item) == feature
    assert opensearch.stac_to_product(json.loads(json.dumps(stac))) == feature
    assert not [k for k, v in stac["properties"].items() if isinstance(v, dict)]
    return stac


def all_products() -> list[dict[str, Any]]:
    return [f for name in PRODUCT_FILES for f in load(name)["features"]]


# --- golden files, round trip, validation -------------------------------------------------------------------


@pytest.mark.parametrize("name", PRODUCT_FILES)
def test_recorded_products_match_golden_and_round_trip(name: str, assert_valid: Valid) -> None:
    features = load(name)["features"]
    items = [assert_valid(opensearch.product_to_stac(f)) for f in features]
    assert_golden(EXPECTED / name, items)
    for feature, item in zip(features, items, strict=True):
        assert opensearch.stac_to_product(item) == feature
        assert opensearch.ADAPTER.to_stac(opensearch.ADAPTER.classify(feature)) == item
        # The module's fast declaration gives what the kernel's gives.
        assert item["stac_extensions"] == declare_extensions(copy.deepcopy(item))["stac_extensions"]


def test_typical_products_carry_no_ledger_and_come_back_exactly_without_one(assert_valid: Valid) -> None:
    typical = [f for f in all_products() if f["id"] not in UNUSUAL]
    assert len(typical) == 9
    for feature in typical:
        stac = assert_valid(opensearch.product_to_stac(feature))
        assert LEDGER not in stac, feature["id"]
        assert opensearch.stac_to_product(stac) == feature
        served = {**stac, "properties": {k: v for k, v in stac["properties"].items() if k != SOURCE}}
        assert opensearch.stac_to_product(served) == feature  # as the API serves it: no provenance tag either
    for feature in all_products():
        if feature["id"] in UNUSUAL:
            stac = opensearch.ADAPTER.to_stac(opensearch.ADAPTER.classify(feature))
            assert set(stac[LEDGER]) == {"keep"}
            assert opensearch.stac_to_product({k: v for k, v in stac.items() if k != LEDGER}) != feature


def demo_items() -> list[dict[str, Any]]:
    records = [f for p in sorted(DEMO.glob("*.json")) for f in json.loads(p.read_text())["features"]]
    stac = [opensearch.ADAPTER.to_stac(opensearch.ADAPTER.classify(r)) for r in records]
    return [s for s in stac if s["type"] == "Feature"]


def test_no_property_is_an_object_and_few_demo_properties_are_vendor_fields() -> None:
    items = demo_items()
    assert len(items) == 19
    for properties in [i["properties"] for i in items] + [
        opensearch.product_to_stac(f).properties for f in all_products()
    ]:
        assert not [k for k, v in properties.items() if isinstance(v, dict)]
    keys = [k for item in items for k in item["properties"]]
    vendor = [k for k in keys if k.split(":")[0] in ("opensearch", "stac_bridge")]
    assert len(vendor) / len(keys) <= 0.15, sorted(set(vendor))  # 14.4 %: status, available, source


def test_sentinel1_grd_is_sar_with_the_extension_declared(assert_valid: Valid) -> None:
    feature = load("products_recorded_S1_GRD_SIGMA0.json")["features"][1]
    stac = roundtrip_product(feature, assert_valid)
    props = stac["properties"]
    assert props["sar:polarizations"] == ["VV", "VH"]
    assert (props["sar:instrument_mode"], props["sar:frequency_band"], props["sar:product_type"]) == (
        "IW", "C", "SIGMA0")
    assert (props["sat:orbit_state"], props["sat:absolute_orbit"], props["sat:relative_orbit"]) == (
        "ascending", 21012, 161)
    assert props["proj:code"] == "EPSG:32631"
    assert (props["product:timeliness"], props["product:timeliness_category"]) == ("PT24H", "Fast")
    assert "opensearch:acquisitionParameters.polarisationMode" not in props  # "D": two channels
    assert EXTENSION_SCHEMAS["sar"] in stac["stac_extensions"]
    assert stac["assets"]["VH"]["proj:code"] == "EPSG:32631"
    assert stac["assets"]["VH"]["bands"] == [{"name": "VH"}]
    assert stac["assets"]["VH"]["file:size"] == 1640023244
    assert isinstance(opensearch.stac_to_product(stac)["properties"]["links"]["data"][0]["length"], int)


def test_sentinel1_coherence_from_slc_pairs(assert_valid: Valid) -> None:
    stac = roundtrip_product(load("products_recorded_S1_SLC_COHERENCE.json")["features"][0], assert_valid)
    props = stac["properties"]
    assert props["datetime"] == "2020-04-05T17:32:21Z"
    assert (props["start_datetime"], props["end_datetime"]) == ("2020-03-30T17:32:47.943000Z",
                                                              "2020-04-05T17:32:48.906000Z")
    assert props["sar:product_type"] == "COHERENCE" and "platform" not in props


def test_polarisation_mode_other_than_the_channel_count_is_kept_visible(assert_valid: Valid) -> None:
    feature = copy.deepcopy(load("products_recorded_S1_GRD_SIGMA0.json")["features"][0])
    params(feature)["polarisationMode"] = "Q"
    props = roundtrip_product(feature, assert_valid)["properties"]
    assert props["opensearch:acquisitionParameters.polarisationMode"] == "Q"
    del params(feature)["polarisationMode"]
    assert LEDGER in roundtrip_product(feature, assert_valid)


def test_reference_system_url_is_proj_code_and_comes_back_as_written(assert_valid: Valid) -> None:
    feature = load("products_recorded_WorldCover.json")["features"][0]
    stac = roundtrip_product(feature, assert_valid)
    assert stac["properties"]["proj:code"] == "EPSG:4326"
    assert stac["properties"]["opensearch:acquisitionParameters.tileId"] == "N51E003"  # not an MGRS tile


def test_recorded_collections_match_golden_and_round_trip(assert_valid: Valid) -> None:
    features = load("collections.json")["features"]
    assert len(features) == 8
    collections = [assert_valid(opensearch.collection_to_stac(f)) for f in features]
    assert_golden(EXPECTED / "collections.json", collections)
    for feature, collection in zip(features, collections, strict=True):
        assert collection.get("stac_extensions") == declare_extensions(copy.deepcopy(collection)).get("stac_extensions")
        assert opensearch.ADAPTER.to_stac(opensearch.ADAPTER.classify(feature)) == collection
        assert opensearch.stac_to_collection(collection) == feature
        assert opensearch.stac_to_collection(opensearch.collection_to_stac(feature)) == feature


def test_recorded_product_reads_as_a_user_expects(assert_valid: Valid) -> None:
    stac = assert_valid(opensearch.product_to_stac(load(PRODUCT_FILES[0])["features"][0]))
    props = stac["properties"]
    assert stac["id"] == "urn:eop:VITO:TERRASCOPE_S2_TOC_V2:S2A_20220211T113321_29SMC_TOC_V210"
    assert stac["collection"] == "urn:eop:VITO:TERRASCOPE_S2_TOC_V2"
    assert {"rel": "collection", "href": "../collection.json", "type": "application/json"} in stac["links"]
    assert props["datetime"] == "2022-02-11T11:33:21.024000Z"
    assert props["start_datetime"] == props["end_datetime"] == "2022-02-11T11:33:21.024000Z"
    assert (props["constellation"], props["platform"]) == ("Sentinel-2", "S2A")
    assert (props["sat:orbit_state"], props["sat:absolute_orbit"], props["sat:relative_orbit"]) == (
        "descending",
        34683,
        80,
    )
    assert props["grid:code"] == "MGRS-29SMC"
    assert props["eo:cloud_cover"] == 0.004
    assert props["product:type"] == "TOC"
    assert props["processing:version"] == "V210"
    assert props["processing:facility"] == "VITO"
    assert props["opensearch:status"] == "ARCHIVED"
    assert stac["assets"]["TOC-B02_10M"]["file:size"] == 106320625
    assert stac["assets"]["TOC-B02_10M"]["roles"] == ["data"]
    assert len([a for a in stac["assets"].values() if "data" in a["roles"]]) == 11
    # The plain shape needs no bookkeeping, and nothing is shown twice.
    assert LEDGER not in stac
    assert "opensearch:productInformation.availabilityTime" not in props
    assert stac["assets"]["AOT_60M"]["roles"] == ["related", "quality"]


def test_every_extension_url_is_in_the_schema_index() -> None:
    if SCHEMA_DIR is None:
        pytest.skip("no schemas")
    index = json.loads((SCHEMA_DIR / "index.json").read_text())
    urls = {u for f in all_products() for u in opensearch.product_to_stac(f).stac_extensions}
    assert len(urls) >= 9
    assert all(url in index for url in urls)


def test_extensions_are_declared_only_when_their_fields_occur(assert_valid: Valid) -> None:
    feature = product()
    feature["properties"]["acquisitionInformation"][0]["acquisitionParameters"] = {
        "beginningDateTime": "2022-02-11T11:33:21Z"
    }
    feature["properties"].pop("productInformation")
    feature["properties"]["links"] = {}
    stac = roundtrip_product(feature, assert_valid)
    assert stac["stac_extensions"] == [
        "https://stac-extensions.github.io/timestamps/v1.1.0/schema.json"
    ]


# --- one test per mapping decision --------------------------------------------------------------------------


def angles(**values: Any) -> dict[str, Any]:
    feature = product()
    feature["properties"]["acquisitionInformation"][0]["acquisitionAngles"] = values
    return feature


def test_illumination_zenith_30_is_sun_elevation_60_and_comes_back_as_zenith(assert_valid: Valid) -> None:
    feature = angles(illuminationZenithAngle=30)
    stac = roundtrip_product(feature, assert_valid)
    assert stac["properties"]["view:sun_elevation"] == 60
    assert "view:incidence_angle" not in stac["properties"]


def test_a_zenith_angle_is_kept_in_the_ledger_and_an_edit_without_it_is_an_elevation(assert_valid: Valid) -> None:
    stac = assert_valid(opensearch.product_to_stac(angles(illuminationZenithAngle=30)))
    assert stac[LEDGER]["keep"] == {
        "properties.acquisitionInformation.0.acquisitionAngles.illuminationZenithAngle": 30}
    del stac[LEDGER]
    stac["properties"]["view:sun_elevation"] = 50
    back = opensearch.stac_to_product(stac)
    assert back["properties"]["acquisitionInformation"][0]["acquisitionAngles"] == {
        "illuminationElevationAngle": 50
    }


def test_zenith_angle_with_float_noise_round_trips_exactly(assert_valid: Valid) -> None:
    zenith = 0.1 + 0.2  # 90 - (90 - z) != z for this one
    assert 90 - (90 - zenith) != zenith
    stac = roundtrip_product(angles(illuminationZenithAngle=zenith), assert_valid)
    assert stac["properties"]["view:sun_elevation"] == pytest.approx(89.7)


def test_elevation_incidence_and_sun_azimuth_map_to_view(assert_valid: Valid) -> None:
    stac = roundtrip_product(
        angles(illuminationElevationAngle=35.5, incidenceAngle=7.25, illuminationAzimuthAngle=160.0),
        assert_valid,
    )
    props = stac["properties"]
    assert (props["view:sun_elevation"], props["view:incidence_angle"], props["view:sun_azimuth"]) == (
        35.5,
        7.25,
        160.0,
    )
    assert EXTENSION_SCHEMAS["view"] in stac["stac_extensions"]


def test_link_length_is_file_size(assert_valid: Valid) -> None:
    feature = product(
        links={"data": [{"href": "https://x/b.tif", "length": 1234, "title": "B", "type": "image/tiff"}]}
    )
    stac = roundtrip_product(feature, assert_valid)
    assert stac["assets"]["B"] == {
        "href": "https://x/b.tif",
        "type": "image/tiff",
        "title": "B",
        "file:size": 1234,
        "roles": ["data"],
    }
    assert EXTENSION_SCHEMAS["file"] in stac["stac_extensions"]


def test_link_groups_become_roles(assert_valid: Valid) -> None:
    feature = product(
        links={
            "previews": [
                {"href": "https://x/ql.png", "type": "image/png"},
                {"href": "https://x/ql.tif", "type": "image/tiff", "category": "QUICKLOOK"},
            ],
            "alternates": [{"href": "https://x/m.xml", "title": "Inspire metadata"}],
            "related": [
                {"href": "https://x/c.tif", "title": "CLOUDMASK", "category": "CLOUD"},
                {"href": "https://x/r.tif", "title": "R"},
            ],
            "data": [{"href": "https://x/d.tif", "title": "D"}],
        }
    )
    stac = roundtrip_product(feature, assert_valid)
    roles = {key: asset["roles"] for key, asset in stac["assets"].items()}
    assert roles == {
        "thumbnail": ["thumbnail"],
        "overview": ["overview", "quicklook"],
        "Inspire_metadata": ["metadata"],
        "CLOUDMASK": ["related", "cloud"],
        "R": ["related"],
        "D": ["data"],
    }


def test_assets_that_a_store_reorders_come_back_in_their_groups(assert_valid: Valid) -> None:
    feature = product()
    stac = assert_valid(opensearch.product_to_stac(feature))
    stac["assets"] = dict(sorted(stac["assets"].items(), reverse=True))  # as jsonb might hand them back
    links = opensearch.stac_to_product(stac)["properties"]["links"]
    for group, entries in feature["properties"]["links"].items():
        assert sorted(json.dumps(x, sort_keys=True) for x in links[group]) == sorted(
            json.dumps(x, sort_keys=True) for x in entries)


def test_conforms_to_crs_url_is_proj_code(assert_valid: Valid) -> None:
    link = {
        "href": "https://x/a.tif",
        "title": "A",
        "conformsTo": "https://www.opengis.net/def/crs/EPSG/0/32736",
    }
    links = {"data": [link], "previews": [], "alternates": [], "related": []}
    stac = roundtrip_product(product(links=links), assert_valid)
    assert stac["assets"]["A"]["proj:code"] == "EPSG:32736"
    assert LEDGER not in stac


def test_orbit_direction_descending_is_sat_orbit_state_descending(assert_valid: Valid) -> None:
    stac = roundtrip_product(product(), assert_valid)
    assert stac["properties"]["sat:orbit_state"] == "descending"


def test_orbit_direction_in_mixed_case_maps_and_keeps_its_spelling(assert_valid: Valid) -> None:
    feature = product()
    params(feature)["orbitDirection"] = "Ascending"
    stac = roundtrip_product(feature, assert_valid)
    assert stac["properties"]["sat:orbit_state"] == "ascending"


def test_orbit_numbers_are_absolute_and_relative_orbits(assert_valid: Valid) -> None:
    feature = product()
    params(feature).update(orbitNumber=12, relativeOrbitNumber=3)
    props = roundtrip_product(feature, assert_valid)["properties"]
    assert (props["sat:absolute_orbit"], props["sat:relative_orbit"]) == (12, 3)


def test_orbit_number_zero_cannot_be_sat_absolute_orbit_and_is_kept(assert_valid: Valid) -> None:
    feature = product()
    params(feature)["orbitNumber"] = 0
    props = roundtrip_product(feature, assert_valid)["properties"]
    assert "sat:absolute_orbit" not in props
    assert props["opensearch:acquisitionParameters.orbitNumber"] == 0


def test_mgrs_tile_id_is_grid_code_and_other_tiles_are_kept(assert_valid: Valid) -> None:
    assert roundtrip_product(product(), assert_valid)["properties"]["grid:code"] == "MGRS-29SMC"
    feature = product()
    params(feature)["tileId"] = "X10Y02"
    props = roundtrip_product(feature, assert_valid)["properties"]
    assert "grid:code" not in props
    assert props["opensearch:acquisitionParameters.tileId"] == "X10Y02"


def test_acquisition_type_is_product_acquisition_type(assert_valid: Valid) -> None:
    assert roundtrip_product(product(), assert_valid)["properties"]["product:acquisition_type"] == "nominal"


def test_platform_and_instrument(assert_valid: Valid) -> None:
    feature = product()
    feature["properties"]["acquisitionInformation"][0]["instrument"] = {
        "instrumentShortName": "MSI",
        "sensorType": "OPTICAL",
    }
    props = roundtrip_product(feature, assert_valid)["properties"]
    assert (props["constellation"], props["platform"], props["instruments"]) == ("Sentinel-2", "S2A", ["MSI"])
    assert props["opensearch:instrument.sensorType"] == "OPTICAL"


def test_product_information(assert_valid: Valid) -> None:
    info = {
        "cloudCover": 12.5,
        "snowCover": 3,
        "productType": "L2A",
        "processingLevel": "L2",
        "timeliness": "PT3H",
        "processingDate": "2023-10-04T12:03:44.173Z",
        "productVersion": "V1",
        "processingCenter": "VITO",
    }
    props = roundtrip_product(product(productInformation=info), assert_valid)["properties"]
    assert props["eo:cloud_cover"] == 12.5
    assert props["eo:snow_cover"] == 3
    assert props["product:type"] == "L2A"
    assert props["processing:level"] == "L2"
    assert props["product:timeliness"] == "PT3H"
    assert props["processing:datetime"] == "2023-10-04T12:03:44.173000Z"
    assert not [k for k in props if k.startswith("opensearch:productInformation")]


def test_cloud_cover_minus_one_is_not_eo_cloud_cover_and_is_kept(assert_valid: Valid) -> None:
    props = roundtrip_product(product(productInformation={"cloudCover": -1}), assert_valid)["properties"]
    assert "eo:cloud_cover" not in props
    assert props["opensearch:productInformation.cloudCover"] == -1


def test_an_edit_on_the_stac_side_reaches_the_provider_form(assert_valid: Valid) -> None:
    stac = assert_valid(opensearch.product_to_stac(product()))
    stac["properties"]["eo:cloud_cover"] = 42.0
    assert opensearch.stac_to_product(stac)["properties"]["productInformation"]["cloudCover"] == 42.0


def test_parent_identifier_is_collection_and_identifier_differing_from_id_is_kept(
    assert_valid: Valid,
) -> None:
    feature = product(identifier="urn:other:id")
    stac = roundtrip_product(feature, assert_valid)
    assert stac["collection"] == "urn:eop:VITO:TERRASCOPE_S2_TOC_V2"
    assert stac["properties"]["opensearch:identifier"] == "urn:other:id"


def test_timestamps(assert_valid: Valid) -> None:
    props = roundtrip_product(product(creationDate="2023-01-02T03:04:05Z"), assert_valid)["properties"]
    assert props["updated"] == "2023-10-04T12:03:44.173000Z"
    assert props["published"] == "2023-10-04T12:03:45Z"
    assert props["created"] == "2023-01-02T03:04:05Z"
    assert props["opensearch:available"] == "2023-10-04T12:03:45Z"


def test_date_with_an_offset_is_utc_in_stac_and_its_spelling_comes_back(assert_valid: Valid) -> None:
    props = roundtrip_product(product(date="2022-02-11T12:33:21.024+01:00"), assert_valid)["properties"]
    assert props["datetime"] == "2022-02-11T11:33:21.024000Z"


def test_date_interval_is_start_and_end_with_null_datetime(assert_valid: Valid) -> None:
    feature = product(date="2022-02-11T11:00:00Z/2022-02-11T12:00:00Z")
    feature["properties"]["acquisitionInformation"][0]["acquisitionParameters"] = {}
    props = roundtrip_product(feature, assert_valid)["properties"]
    assert props["datetime"] is None
    assert (props["start_datetime"], props["end_datetime"]) == (
        "2022-02-11T11:00:00Z",
        "2022-02-11T12:00:00Z",
    )


def test_missing_bbox_is_computed_and_not_written_back(assert_valid: Valid) -> None:
    feature = product()
    del feature["bbox"]
    stac = roundtrip_product(feature, assert_valid)
    assert stac["bbox"] == pytest.approx([-10.1527405, 37.8539506, -8.95166, 38.8486587])


def test_provenance_is_one_property_and_a_via_link(assert_valid: Valid) -> None:
    item = assert_valid(opensearch.product_to_stac(product()))
    collection = assert_valid(opensearch.collection_to_stac(load("collections.json")["features"][0]))
    assert item["properties"]["stac_bridge:source"] == f"opensearch/product/{opensearch.TRANSFORM_VERSION}"
    assert collection["stac_bridge:source"] == f"opensearch/collection/{opensearch.TRANSFORM_VERSION}"
    via = next(link for link in item["links"] if link["rel"] == "via")
    assert via["href"] == ("https://services.terrascope.be/catalogue/products?collection="
                           f"urn:eop:VITO:TERRASCOPE_S2_TOC_V2&uid={item['id']}")
    assert via["type"] == "application/json"
    assert any(link["rel"] == "via" and link["href"].endswith("uid=urn:eop:VITO:CGS_S2_FAPAR")
               for link in collection["links"])


def test_fapar_product_keeps_its_two_entry_acquisition_information_in_the_ledger(assert_valid: Valid) -> None:
    feature = load(PRODUCT_FILES[1])["features"][0]
    stac = roundtrip_product(feature, assert_valid)
    assert stac["properties"]["grid:code"] == "MGRS-36MZE"  # read from the second entry
    assert stac[LEDGER]["keep"]["properties.acquisitionInformation"] == feature["properties"][
        "acquisitionInformation"]
    assert stac["properties"]["opensearch:identifier"].startswith("urn:eop:VITO:CGS_S2_FAPAR:")


def test_collection_is_curated(assert_valid: Valid) -> None:
    stac = assert_valid(opensearch.collection_to_stac(load("collections.json")["features"][0]))
    assert stac["title"].startswith("SENTINEL-2 Fraction Absorbed")
    assert stac["description"].startswith("FAPAR corresponds")
    assert stac["license"] == "other"
    license_link = next(link for link in stac["links"] if link["rel"] == "license")
    assert license_link["href"] == "https://www.vito-eodata.be/PDF/image/TermsOfUse.pdf"
    assert license_link["title"].startswith("Products can be downloaded")
    assert stac["providers"] == [
        {"name": "VITO", "roles": ["producer", "processor", "licensor"], "url": "https://remotesensing.vito.be/",
         "description": "Contact: remotesensing@vito.be, helpdeskticket@vgt.vito.be"},
        {"name": "Terrascope", "roles": ["host"], "url": "https://terrascope.be/"},
    ]
    assert stac["summaries"]["bands"][0] == {
        "name": "FAPAR-10M", "description": "Fraction Absorbed Photosynthetically Radiation 10M",
        "raster:spatial_resolution": 10, "raster:bits_per_sample": 16, "raster:scale": 0.005, "raster:offset": 0,
        "opensearch:type": "FAPAR-10M", "opensearch:maxValue": 200, "opensearch:minValue": 0}
    assert {"rel": "about", "href": "http://www.eionet.europa.eu/gemet/concept/4599", "title": "land"} in stac["links"]
    assert not [k for k, v in stac.items() if k.startswith("opensearch:") and isinstance(v, dict | list)]
    assert stac["keywords"][:2] == ["FAPAR", "VITO"]
    assert stac["extent"]["temporal"]["interval"] == [["2017-06-15T00:00:00Z", None]]
    assert stac["extent"]["spatial"]["bbox"] == [[-179.999, -84, 179.999, 84]]
    assert {k: v for k, v in stac["summaries"].items() if k != "bands"} == {
        "constellation": ["SENTINEL-2"],
        "platform": ["S2A", "S2B"],
        "instruments": ["MSI"],
    }
    rels = [link["rel"] for link in stac["links"]]
    assert rels == ["license", "describedby", "preview", "via", "search", *["about"] * 8, "via"]


def test_collection_date_without_a_slash_round_trips(assert_valid: Valid) -> None:
    feature = load("collections.json")["features"][1]
    assert feature["properties"]["date"] == "2015-06-23T00:00:00Z"
    stac = assert_valid(opensearch.collection_to_stac(feature))
    assert stac["extent"]["temporal"]["interval"] == [["2015-06-23T00:00:00Z", None]]
    assert opensearch.stac_to_collection(stac) == feature


def test_spdx_rights_is_the_license(assert_valid: Valid) -> None:
    feature = copy.deepcopy(load("collections.json")["features"][0])
    feature["properties"]["rights"] = "CC-BY-4.0"
    stac = assert_valid(opensearch.collection_to_stac(feature))
    assert stac["license"] == "CC-BY-4.0"
    assert opensearch.stac_to_collection(stac) == feature


def test_collection_served_by_an_api_ignores_the_links_the_api_adds(assert_valid: Valid) -> None:
    feature = load("collections.json")["features"][0]
    stac = assert_valid(opensearch.collection_to_stac(feature))
    stac["links"] = [
        {"rel": "self", "href": "http://api/collections/x"},
        {"rel": "items", "href": "http://api/collections/x/items"},
    ] + stac["links"]
    assert opensearch.stac_to_collection(stac) == feature


def test_foreign_stac_item_becomes_a_plain_product(assert_valid: Valid) -> None:
    item = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": "S2B_X",
        "collection": "sentinel-2-l2a",
        "geometry": {"type": "Point", "coordinates": [4.0, 51.0]},
        "bbox": [4.0, 51.0, 4.0, 51.0],
        "properties": {
            "datetime": "2024-05-01T10:00:00Z",
            "eo:cloud_cover": 5,
            "platform": "sentinel-2b",
            "instruments": ["msi"],
            "sat:orbit_state": "ascending",
            "gsd": 10,
        },
        "links": [{"rel": "collection", "href": "./c.json"}],
        "assets": {
            "B04": {"href": "s3://b/B04.tif", "roles": ["data"], "file:size": 10},
            "thumbnail": {"href": "https://t.png", "type": "image/png", "roles": ["thumbnail"]},
            "meta": {"href": "https://m.xml", "roles": ["metadata"]},
            "mask": {"href": "https://c.tif", "roles": ["cloud"]},
        },
    }
    assert_valid(item)
    feature = opensearch.stac_to_product(item)
    props = feature["properties"]
    assert props["date"] == "2024-05-01T10:00:00Z"
    assert props["parentIdentifier"] == "sentinel-2-l2a"
    assert props["identifier"] == "S2B_X"
    assert props["productInformation"] == {"cloudCover": 5}
    assert props["acquisitionInformation"] == [
        {
            "platform": {"platformSerialIdentifier": "sentinel-2b"},
            "instrument": {"instrumentShortName": "msi"},
            "acquisitionParameters": {"orbitDirection": "ASCENDING"},
        }
    ]
    assert props["links"] == {
        "data": [{"href": "s3://b/B04.tif", "length": 10}],
        "previews": [{"href": "https://t.png", "type": "image/png"}],
        "alternates": [{"href": "https://m.xml"}],
        "related": [{"href": "https://c.tif"}],
    }
    item["properties"]["datetime"] = "0001-01-01T00:00:00Z"  # a placeholder is no date at all
    assert "date" not in opensearch.stac_to_product(item)["properties"]
    # and it reads back as an Item again
    assert_valid(opensearch.product_to_stac(feature))


# --- bad input ----------------------------------------------------------------------------------------------

ID = "urn:eop:VITO:TERRASCOPE_S2_TOC_V2:S2A_20220211T113321_29SMC_TOC_V210"


def raises_named(
    feature: Any,
    field: str | None,
    func: Callable[[Any], Any] = opensearch.product_to_stac,
    record_id: str | None = ID,
) -> TransformError:
    with pytest.raises(TransformError) as info:
        func(feature)
    assert (info.value.provider, info.value.record_id, info.value.field) == ("opensearch", record_id, field)
    return info.value


def test_product_without_geometry_names_the_field() -> None:
    feature = product()
    feature["geometry"] = None
    raises_named(feature, "geometry")


def test_unparsable_date_names_the_field() -> None:
    raises_named(product(date="11/02/2022"), "properties.date")
    feature = product()
    params(feature)["beginningDateTime"] = "yesterday"
    error = raises_named(
        feature, "properties.acquisitionInformation.0.acquisitionParameters.beginningDateTime"
    )
    assert "yesterday" in str(error)


def test_wrong_type_names_the_field() -> None:
    feature = product()
    params(feature)["orbitNumber"] = "34683"
    error = raises_named(feature, "properties.acquisitionInformation.0.acquisitionParameters.orbitNumber")
    assert "must be an integer" in error.reason
    raises_named(
        product(productInformation={"cloudCover": "low"}), "properties.productInformation.cloudCover"
    )
    links = {"data": [{"href": "https://x", "length": "12"}]}
    raises_named(product(links=links), "properties.links.data.0.length")
    raises_named(product(acquisitionInformation={"platform": {}}), "properties.acquisitionInformation")


def test_missing_id_and_missing_properties() -> None:
    feature = product()
    del feature["id"]
    raises_named(feature, "id", record_id=None)
    feature = product()
    del feature["properties"]
    raises_named(feature, "properties")


def test_collection_with_bad_date_or_no_extent_names_the_field() -> None:
    feature = copy.deepcopy(load("collections.json")["features"][0])
    feature["properties"]["date"] = "since 2017"
    raises_named(feature, "properties.date", opensearch.collection_to_stac, "urn:eop:VITO:CGS_S2_FAPAR")
    feature = copy.deepcopy(load("collections.json")["features"][0])
    del feature["geometry"], feature["bbox"]
    raises_named(feature, "geometry", opensearch.collection_to_stac, "urn:eop:VITO:CGS_S2_FAPAR")


# --- the adapter --------------------------------------------------------------------------------------------


def test_adapter_is_registered_and_classifies_features(assert_valid: Valid) -> None:
    adapter = get_adapter("opensearch")
    assert isinstance(adapter, Adapter)
    collection = load("collections.json")["features"][0]
    feature = product()
    assert adapter.classify(collection).kind == "collection"
    assert adapter.classify(feature).kind == "product"
    stac = assert_valid(adapter.to_stac(adapter.classify(feature)))
    assert adapter.from_stac(stac) == feature
    stac = assert_valid(adapter.to_stac(adapter.classify(collection)))
    assert adapter.from_stac(stac) == collection
    with pytest.raises(TransformError):
        adapter.classify({"type": "FeatureCollection", "features": []})


# --- generated products and collections ---------------------------------------------------------------------

_datetimes = st.datetimes(
    min_value=__import__("datetime").datetime(1990, 1, 1),
    max_value=__import__("datetime").datetime(2040, 1, 1),
).map(
    lambda d: (
        d.strftime("%Y-%m-%dT%H:%M:%S") + (f".{d.microsecond // 1000:03d}" if d.microsecond else "") + "Z"
    )
)
_words = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1, max_size=12)
_small = st.floats(min_value=0, max_value=100, allow_nan=False, allow_infinity=False)
_optional = st.none()


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def products(draw: st.DrawFn) -> dict[str, Any]:
    begin = draw(_datetimes)
    west = draw(st.floats(min_value=-179, max_value=170, allow_nan=False))
    south = draw(st.floats(min_value=-80, max_value=70, allow_nan=False))
    ring = [[west, south], [west + 1, south], [west + 1, south + 1], [west, south + 1], [west, south]]
    acquisition: dict[str, Any] = {
        "platform": {
            "platformShortName": draw(_maybe(st.one_of(_words, st.just("Sentinel-1")))),
            "platformSerialIdentifier": draw(_maybe(_words)),
        },
        "instrument": {
            "instrumentShortName": draw(_maybe(_words)),
            "sensorType": draw(_maybe(st.sampled_from(["OPTICAL", "RADAR"]))),
        },
        "acquisitionParameters": {
            "acquisitionType": draw(
                _maybe(st.sampled_from(["NOMINAL", "CALIBRATION", "OTHER", "Nominal", "X"]))
            ),
            "orbitDirection": draw(_maybe(st.sampled_from(["ASCENDING", "DESCENDING", "descending"]))),
            "orbitNumber": draw(_maybe(st.integers(min_value=0, max_value=99999))),
            "relativeOrbitNumber": draw(_maybe(st.integers(min_value=1, max_value=175))),
            "beginningDateTime": draw(_maybe(st.just(begin))),
            "endingDateTime": draw(_maybe(_datetimes)),
            "tileId": draw(_maybe(st.sampled_from(["31UFS", "29SMC", "X10Y02", "1CAA"]))),
            "operationalMode": draw(_maybe(st.just("IW"))),
            "polarisationChannels": draw(_maybe(st.sampled_from(["VV, VH", "HH", "VV VH", "VV,VH"]))),
            "polarisationMode": draw(_maybe(st.sampled_from(["D", "S"]))),
        },
        "acquisitionAngles": {
            "incidenceAngle": draw(_maybe(st.floats(min_value=0, max_value=90))),
            "illuminationAzimuthAngle": draw(_maybe(st.floats(min_value=0, max_value=360))),
            draw(st.sampled_from(["illuminationZenithAngle", "illuminationElevationAngle"])): draw(
                _maybe(st.floats(min_value=0, max_value=90))
            ),
        },
    }
    entry = {
        group: {k: v for k, v in values.items() if v is not None} for group, values in acquisition.items()
    }
    entry = {group: values for group, values in entry.items() if values or draw(st.booleans())}
    entries = [entry]
    if draw(st.booleans()) and len(entry) > 1:  # split over two entries, as FAPAR does
        first = next(iter(entry))
        entries = [{first: entry[first]}, {k: v for k, v in entry.items() if k != first}]
    info = {
        "cloudCover": draw(_maybe(st.one_of(_small, st.just(-1)))),
        "productType": draw(_maybe(_words)),
        "processingDate": draw(_maybe(_datetimes)),
        "availabilityTime": draw(_maybe(_datetimes)),
        "timeliness": draw(_maybe(st.sampled_from(["NRT-3h", "Fast-24h", "PT3H", "NRT-03h", "soon"]))),
        "referenceSystemIdentifier": draw(
            _maybe(st.sampled_from(["EPSG:32631", "https://www.opengis.net/def/crs/EPSG/0/4326", "WGS84"]))),
    }
    links: dict[str, Any] = {}
    for group in draw(st.permutations(["data", "previews", "alternates", "related"])):
        if draw(st.booleans()):
            links[group] = [
                {
                    k: v
                    for k, v in {
                        "href": f"https://example.com/{group}/{i}.tif",
                        "title": draw(_maybe(st.sampled_from(["A", "B", "A B", "QL"]))),
                        "type": draw(_maybe(st.sampled_from(["image/tiff", "image/png"]))),
                        "length": draw(_maybe(st.integers(min_value=0, max_value=2**40))),
                        "category": draw(_maybe(st.sampled_from(["QUALITY", "QUICKLOOK", "Cloud"]))),
                        "bandNames": draw(_maybe(st.sampled_from([["VH"], [], ["A", "B"]]))),
                        "conformsTo": draw(_maybe(st.sampled_from(
                            ["https://www.opengis.net/def/crs/EPSG/0/32631",
                             "http://www.opengis.net/def/crs/EPSG/0/32736", "urn:x"]))),
                    }.items()
                    if v is not None
                }
                for i in range(draw(st.integers(min_value=0, max_value=3)))
            ]
    props: dict[str, Any] = {
        "date": draw(st.one_of(st.just(begin), _datetimes)),
        "title": draw(_words),
        "identifier": draw(st.sampled_from(["p1", "other"])),
        "parentIdentifier": draw(_maybe(st.just("urn:eop:X"))),
        "updated": draw(_maybe(_datetimes)),
        "status": draw(_maybe(st.just("ARCHIVED"))),
        "available": draw(_maybe(_datetimes)),
        "additionalAttributes": draw(_maybe(st.sampled_from([{"resolution": 10}, {"resolution": 0, "x": "y"}]))),
        "acquisitionInformation": entries if draw(st.booleans()) else None,
        "productInformation": {k: v for k, v in info.items() if v is not None},
        "links": links,
    }
    feature = {
        "type": "Feature",
        "id": "p1",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [west, south, west + 1, south + 1],
        "properties": {k: v for k, v in props.items() if v is not None},
    }
    return feature


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(products())
def test_generated_products_round_trip_and_validate(assert_valid: Valid, feature: dict[str, Any]) -> None:
    roundtrip_product(feature, assert_valid)


@st.composite
def collections(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(_datetimes)
    end = draw(_maybe(_datetimes))
    date = draw(st.sampled_from([f"{start}/{end or ''}", start, f"{start}/"]))
    props: dict[str, Any] = {
        "title": draw(_maybe(_words)),
        "identifier": "c1",
        "abstract": draw(_maybe(st.text(min_size=1, max_size=30))),
        "rights": draw(_maybe(st.sampled_from(["CC-BY-4.0", "free text / licence", "other"]))),
        "keyword": draw(_maybe(st.lists(_words, max_size=3))),
        "date": date if end is None or end >= start else None,
        "updated": draw(_maybe(_datetimes)),
        "lang": "eng",
        "acquisitionInformation": [
            {"platform": {"platformShortName": "S2", "platformSerialIdentifier": p}}
            for p in draw(st.lists(st.sampled_from(["S2A", "S2B"]), unique=True))
        ],
        "links": {
            "describedby": [{"href": "https://d", "type": "text/html"}],
            "previews": [{"href": "https://p.jpg", "title": "Illustration image"}],
        },
    }
    return {
        "type": "Feature",
        "id": "c1",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[-10, 30], [10, 30], [10, 60], [-10, 60], [-10, 30]]],
        },
        "bbox": [-10, 30, 10, 60],
        "properties": {k: v for k, v in props.items() if v is not None},
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(collections())
def test_generated_collections_round_trip_and_validate(assert_valid: Valid, feature: dict[str, Any]) -> None:
    collection = opensearch.collection_to_stac(feature)
    assert_valid(collection)
    assert opensearch.stac_to_collection(collection) == feature


# --- the fast table walk ------------------------------------------------------------------------------------

def _same_encoding(table: Any, record: dict[str, Any], at: str) -> None:
    fast_ledger, kernel_ledger = Ledger(), Ledger()
    fast = fast_encode(table, record, at, "r1", fast_ledger)
    slow = table.encode(Reader("opensearch", record, record_id="r1", at=at), kernel_ledger)
    assert fast == slow
    assert fast_ledger == kernel_ledger
    assert fast_decode(table, fast) == table.decode(fast)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(products())
def test_fast_encode_is_the_kernels_encode(feature: dict[str, Any]) -> None:
    for product_feature in [feature, *all_products()[:3]]:
        props = product_feature["properties"]
        view, _ = opensearch._view(
            Reader("opensearch", product_feature), props, Ledger(), {})
        _same_encoding(opensearch.ITEM_TABLE, view, "properties")
        for group, links in (props.get("links") or {}).items():
            for i, link in enumerate(links):
                _same_encoding(LINK_TABLE, link, f"properties.links.{group}.{i}")
    _same_encoding(LINK_TABLE, {"href": "h", "x": {"y": [1, {"z": 2}]}, "a.b": 1}, "l")
    _same_encoding(LINK_TABLE, {"href": "h", "x": {"y": 1, "z": [2]}, "w": {}}, "l")
    for collection in load("collections.json")["features"]:
        _same_encoding(opensearch.COLLECTION_TABLE, collection["properties"], "properties")


def test_demo_collections_search_their_own_opensearch_description(assert_valid: Valid) -> None:
    features = json.loads((DEMO / "1-collections.json").read_text())["features"]
    for feature in features:
        stac = assert_valid(opensearch.collection_to_stac(feature))
        for link in (x for x in stac["links"] if x["rel"] == "search"):
            assert link["href"].endswith(f"collection={stac['id']}"), (stac["id"], link["href"])
