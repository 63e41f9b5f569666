"""BYOC transforms: golden files, exact round trips, offline validation, one test per mapping decision."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy
import pyproj
import pystac
import pytest
import shapely
import shapely.affinity
import shapely.geometry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stac_bridge import get_adapter
from stac_bridge.errors import TransformError
from stac_bridge.registry import Adapter, ProviderRecord
from stac_bridge.transforms import byoc
from tests.golden import assert_golden

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "byoc"
EXPECTED = FIXTURES / "expected"

Valid = Callable[[Any], dict[str, Any]]


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def as_dict(stac: pystac.Item | pystac.Collection) -> dict[str, Any]:
    return stac.to_dict(include_self_link=False, transform_hrefs=False)


def fixture_collections() -> list[dict[str, Any]]:
    records = [load("byoc_collection.json")]
    for page in ("collections_page1.json", "collections_page2.json"):
        records += load(page)["data"]
    return list({r["id"]: r for r in records}.values())


def fixture_tiles() -> list[dict[str, Any]]:
    records = [load("byoc_tile.json")]
    for page in ("tiles_page1.json", "tiles_page2.json"):
        records += load(page)["data"]
    return list({r["id"]: r for r in records}.values())


COLLECTION = load("byoc_collection.json")
TILE = load("byoc_tile.json")
COLLECTIONS = fixture_collections()
TILES = fixture_tiles()


def utm_crs(epsg: int) -> dict[str, Any]:
    return {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}


def rectangle(epsg: int, minx: float, miny: float, maxx: float, maxy: float) -> dict[str, Any]:
    """A tileGeometry as BYOC writes it: clockwise from the upper-left corner."""
    ring = [[minx, maxy], [maxx, maxy], [maxx, miny], [minx, miny], [minx, maxy]]
    return {"crs": utm_crs(epsg), "type": "Polygon", "coordinates": [ring]}


def tile_in(epsg: int, minx: float, miny: float, maxx: float, maxy: float, **fields: Any) -> dict[str, Any]:
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    tile = {
        "id": "00000000-0000-0000-0000-0000000000aa",
        "path": "tiles/t1_(BAND).tif",
        "status": "INGESTED",
        "tileGeometry": rectangle(epsg, minx, miny, maxx, maxy),
        "coverGeometry": {"crs": utm_crs(epsg), "type": "MultiPolygon", "coordinates": [[ring]]},
        "created": "2024-03-01T10:00:00Z",
        "sensingTime": "2024-02-28T09:30:00Z",
    }
    tile.update(fields)
    return tile


# --- golden files and exact round trips on every fixture ---------------------------------------------------

@pytest.mark.parametrize("record", COLLECTIONS, ids=lambda r: r["id"])
def test_fixture_collection_golden_valid_and_exact_back(record: dict[str, Any], assert_valid: Valid) -> None:
    stac = byoc.collection_to_stac(copy.deepcopy(record))
    out = assert_valid(stac)
    assert_golden(EXPECTED / f"collection-{record['id']}.json", out)
    assert canon(byoc.stac_to_collection(stac)) == canon(record)
    assert canon(byoc.stac_to_collection(json.loads(json.dumps(out)))) == canon(record)


@pytest.mark.parametrize("record", TILES, ids=lambda r: r["id"])
def test_fixture_tile_golden_valid_and_exact_back(record: dict[str, Any], assert_valid: Valid) -> None:
    item = byoc.tile_to_stac(copy.deepcopy(record), COLLECTION)
    out = assert_valid(item)
    assert_golden(EXPECTED / f"tile-{record['id']}.json", out)
    assert canon(byoc.stac_to_tile(item)) == canon(record)
    assert canon(byoc.stac_to_tile(json.loads(json.dumps(out)))) == canon(record)


def test_inputs_are_not_modified_and_outputs_do_not_alias_them() -> None:
    tile, collection = copy.deepcopy(TILE), copy.deepcopy(COLLECTION)
    item = byoc.tile_to_stac(tile, collection)
    stac = byoc.collection_to_stac(collection)
    assert tile == TILE and collection == COLLECTION
    item.properties["proj:geometry"]["coordinates"][0][0][0][0] = 0.0
    stac.extra_fields["byoc:additionalData"]["extent"]["coordinates"][0][0][0] = 0.0
    assert tile == TILE and collection == COLLECTION


# --- the collection mapping, decision by decision ----------------------------------------------------------

def test_collection_id_is_sentinel_hubs_catalog_name_and_title_is_the_name(assert_valid: Valid) -> None:
    out = assert_valid(byoc.collection_to_stac(COLLECTION))
    assert out["id"] == "byoc-7453e962-0ee5-4f74-8227-89759fbe9ba9"
    assert out["title"] == "SI LULC Reference"
    assert out["license"] == "other"
    assert out["stac_bridge:provider"] == "byoc"
    assert out["stac_bridge:source_id"] == "7453e962-0ee5-4f74-8227-89759fbe9ba9"
    assert out["stac_bridge:transform"] == "byoc/1"


def test_collection_extent_is_the_bbox_of_additional_data_extent(assert_valid: Valid) -> None:
    out = assert_valid(byoc.collection_to_stac(COLLECTION))
    assert out["extent"]["spatial"]["bbox"] == [[13.293347498, 45.366449953, 16.575424424, 46.897693758]]
    assert out["extent"]["temporal"]["interval"] == [[None, None]]
    # The polygon itself is kept: the bbox alone would lose it.
    assert out["byoc:additionalData"]["extent"] == COLLECTION["additionalData"]["extent"]


def test_collection_sensing_range_is_the_temporal_extent(assert_valid: Valid) -> None:
    record = copy.deepcopy(COLLECTION)
    record["additionalData"].update(fromSensingTime="2019-01-01T00:00:00Z", toSensingTime="2020-12-31T23:59:59Z")
    out = assert_valid(byoc.collection_to_stac(record))
    assert out["extent"]["temporal"]["interval"] == [["2019-01-01T00:00:00Z", "2020-12-31T23:59:59Z"]]
    assert "fromSensingTime" not in out["byoc:additionalData"]
    assert canon(byoc.stac_to_collection(out)) == canon(record)


def test_collection_without_extent_covers_the_globe(assert_valid: Valid) -> None:
    record = load("collections_page2.json")["data"][0]
    out = assert_valid(byoc.collection_to_stac(record))
    assert out["extent"]["spatial"]["bbox"] == [[-180.0, -90.0, 180.0, 90.0]]
    assert out["byoc:additionalData"] is None and "item_assets" not in out


@pytest.mark.parametrize(
    ("bit_depth", "sample_format", "data_type"),
    [(8, "UINT", "uint8"), (16, "UINT", "uint16"), (32, "UINT", "uint32"), (8, "INT", "int8"),
     (16, "INT", "int16"), (32, "INT", "int32"), (16, "FLOAT", "float16"), (32, "FLOAT", "float32")],
)
def test_band_data_type_from_bit_depth_and_sample_format(
    bit_depth: int, sample_format: str, data_type: str, assert_valid: Valid
) -> None:
    record = copy.deepcopy(COLLECTION)
    record["additionalData"]["bands"] = {
        "B1": {"source": "b1", "bandIndex": 2, "bitDepth": bit_depth, "sampleFormat": sample_format, "noData": 0}
    }
    out = assert_valid(byoc.collection_to_stac(record))
    band = out["item_assets"]["B1"]["bands"][0]
    assert band["data_type"] == data_type and band["nodata"] == 0
    assert band["byoc:source"] == "b1" and band["byoc:bandIndex"] == 2
    assert out["summaries"]["bands"] == [band]
    assert out["item_assets"]["B1"]["roles"] == ["data"]
    assert canon(byoc.stac_to_collection(out)) == canon(record)


def test_band_without_sample_format_is_uint_and_comes_back_without_it() -> None:
    out = as_dict(byoc.collection_to_stac(COLLECTION))
    assert out["item_assets"]["lulc_reference"]["bands"][0]["data_type"] == "uint8"
    back = byoc.stac_to_collection(out)
    assert back["additionalData"]["bands"]["lulc_reference"] == {"bitDepth": 8, "source": "lulc_reference",
                                                                  "bandIndex": 1}


def test_band_with_null_no_data_keeps_the_null_under_byoc(assert_valid: Valid) -> None:
    record = copy.deepcopy(COLLECTION)
    record["additionalData"]["bands"]["lulc_reference"]["noData"] = None
    band = assert_valid(byoc.collection_to_stac(record))["item_assets"]["lulc_reference"]["bands"][0]
    assert "nodata" not in band and band["byoc:noData"] is None
    assert canon(byoc.stac_to_collection(byoc.collection_to_stac(record))) == canon(record)


def test_collection_fields_with_no_stac_home_stay_under_byoc(assert_valid: Valid) -> None:
    record = {**copy.deepcopy(COLLECTION), "noData": 255, "userId": None, "futureField": {"a": [1, 2]}}
    out = assert_valid(byoc.collection_to_stac(record))
    assert out["byoc:s3Bucket"] == "eo-learn.sentinel-hub.com"
    assert out["byoc:noData"] == 255 and out["byoc:userId"] is None and out["byoc:futureField"] == {"a": [1, 2]}
    assert out["byoc:additionalData"]["hasSensingTimes"] == "NO"
    assert canon(byoc.stac_to_collection(out)) == canon(record)


def test_datetime_not_in_stac_canonical_form_is_normalised_and_kept_verbatim(assert_valid: Valid) -> None:
    # STAC wants UTC; the BYOC spelling comes back on the way back.
    record = {**COLLECTION, "created": "2020-06-22T14:30:22.814+02:00"}
    out = assert_valid(byoc.collection_to_stac(record))
    assert out["created"] == "2020-06-22T12:30:22.814000Z"
    assert out["byoc:created"] == "2020-06-22T14:30:22.814+02:00"
    assert byoc.stac_to_collection(out)["created"] == "2020-06-22T14:30:22.814+02:00"


def test_collection_made_elsewhere_comes_back_as_a_create_payload() -> None:
    stac = {
        "type": "Collection", "stac_version": "1.1.0", "id": "my-cogs", "title": "My COGs",
        "description": "d", "license": "CC-BY-4.0", "links": [], "byoc:s3Bucket": "my-bucket",
        "extent": {"spatial": {"bbox": [[0, 0, 1, 1]]}, "temporal": {"interval": [[None, None]]}},
        "item_assets": {
            "visual": {"type": "image/tiff", "roles": ["data"],
                       "bands": [{"name": "red", "data_type": "uint16", "nodata": 0}, {"name": "green"}]},
            "thumbnail": {"type": "image/png", "roles": ["thumbnail"]},
        },
    }
    assert byoc.stac_to_collection(stac) == {
        "name": "My COGs",
        "s3Bucket": "my-bucket",
        "additionalData": {"bands": {
            "red": {"source": "visual", "bandIndex": 1, "bitDepth": 16, "sampleFormat": "UINT", "noData": 0},
            "green": {"source": "visual", "bandIndex": 2},
        }},
    }
    with pytest.raises(TransformError) as err:
        byoc.stac_to_collection({**stac, "byoc:s3Bucket": None})
    assert err.value.field == "byoc:s3Bucket"
    with pytest.raises(TransformError) as err:
        stac["item_assets"]["visual"]["bands"][0]["data_type"] = "float64"
        byoc.stac_to_collection(stac)
    assert err.value.field == "item_assets.visual.bands.0.data_type"


# --- the tile mapping, decision by decision ----------------------------------------------------------------

def test_utm_tile_footprint_in_wgs84_matches_sentinel_hubs_own_extent(assert_valid: Valid) -> None:
    out = assert_valid(byoc.tile_to_stac(TILE, COLLECTION))
    west, south, east, north = out["bbox"]
    # Sentinel Hub computed the collection's extent from this one tile's corners: they agree to 1e-6 degrees.
    assert west == pytest.approx(13.293347498, abs=1e-6)
    assert south == pytest.approx(45.366449953, abs=1e-6)
    assert east == pytest.approx(16.575424424, abs=1e-6)
    # The densified northern edge bulges north of its corners (46.8977): UTM 33N's (500000, 5195000) is at
    # 15.0E 46.90853N; the bbox is within 2 m of that.
    assert north == pytest.approx(46.90853, abs=2e-5)
    assert out["geometry"]["type"] == "Polygon" and len(out["geometry"]["coordinates"][0]) > 60
    assert shapely.geometry.shape(out["geometry"]).is_valid


def test_native_geometry_goes_to_proj_fields(assert_valid: Valid) -> None:
    props = assert_valid(byoc.tile_to_stac(TILE, COLLECTION))["properties"]
    assert props["proj:code"] == "EPSG:32633"
    assert props["proj:bbox"] == [370000.0, 5025000.0, 620000.0, 5195000.0]
    assert props["proj:geometry"] == {k: v for k, v in TILE["coverGeometry"].items() if k != "crs"}
    # Both geometries are given back exactly by the proj: fields, so neither is duplicated under byoc:.
    assert "byoc:coverGeometry" not in props and "byoc:tileGeometry" not in props


@pytest.mark.parametrize(
    ("epsg", "box"),
    [(32660, (600000.0, 6600000.0, 800000.0, 6700000.0)),     # zone 60 north, 59.5N: 178.8E to 177.6W
     (32760, (600000.0, 3300000.0, 800000.0, 3400000.0)),     # zone 60 south, 60S
     (32601, (200000.0, 6600000.0, 400000.0, 6700000.0)),     # zone 1 north
     (32701, (200000.0, 3300000.0, 400000.0, 3400000.0))],    # zone 1 south
)
def test_tile_across_the_antimeridian_is_split_at_180(
    epsg: int, box: tuple[float, ...], assert_valid: Valid
) -> None:
    tile = tile_in(epsg, *box)
    out = assert_valid(byoc.tile_to_stac(tile, COLLECTION))
    geometry = out["geometry"]
    assert geometry["type"] == "MultiPolygon" and len(geometry["coordinates"]) == 2
    sides = sorted(max(abs(x) for x, _ in polygon[0]) for polygon in geometry["coordinates"])
    assert sides == [180.0, 180.0]  # each part ends at the antimeridian
    west, _, east, _ = out["bbox"]
    assert west > east and 177.0 < west < 180.0 and -180.0 < east < -177.0
    # Put back together east of 180, the two parts are the tile's reprojected outline: nothing lost at the seam.
    parts = shapely.geometry.shape(geometry)
    joined = shapely.union_all([shapely.affinity.translate(p, 360) if p.bounds[2] <= 0 else p for p in parts.geoms])
    native = shapely.segmentize(shapely.geometry.box(*box), 1000)
    to_wgs84 = pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)
    whole = shapely.transform(native, lambda xy: numpy.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1])))
    whole = shapely.transform(whole, lambda xy: numpy.column_stack([xy[:, 0] % 360, xy[:, 1]]))
    assert joined.geom_type == "Polygon"
    assert joined.symmetric_difference(whole).area < 1e-4 * whole.area
    assert canon(byoc.stac_to_tile(out)) == canon(tile)


def test_one_asset_per_band_from_the_band_path_template(assert_valid: Valid) -> None:
    collection = copy.deepcopy(COLLECTION)
    collection["additionalData"]["bands"] = {
        "B04": {"source": "red", "bandIndex": 1, "bitDepth": 16, "sampleFormat": "UINT"},
        "B08": {"source": "nir", "bandIndex": 1, "bitDepth": 16},
    }
    out = assert_valid(byoc.tile_to_stac(TILE, collection))
    assert {k: a["href"] for k, a in out["assets"].items()} == {
        "B04": "s3://eo-learn.sentinel-hub.com/maps/si_red.tiff",
        "B08": "s3://eo-learn.sentinel-hub.com/maps/si_nir.tiff",
    }
    asset = out["assets"]["B04"]
    assert asset["type"] == "image/tiff; application=geotiff; profile=cloud-optimized" and asset["roles"] == ["data"]
    assert asset["bands"][0]["data_type"] == "uint16" and asset["bands"][0]["byoc:source"] == "red"
    assert out["properties"]["byoc:path"] == "maps/si_(BAND).tiff"


def test_path_without_band_placeholder_is_a_folder_of_band_files(assert_valid: Valid) -> None:
    out = assert_valid(byoc.tile_to_stac({**TILE, "path": "maps/tile1"}, COLLECTION))
    assert out["assets"]["lulc_reference"]["href"] == "s3://eo-learn.sentinel-hub.com/maps/tile1/lulc_reference.tiff"


def test_null_sensing_time_takes_the_collections_sensing_range(assert_valid: Valid) -> None:
    collection = copy.deepcopy(COLLECTION)
    collection["additionalData"].update(fromSensingTime="2019-01-01T00:00:00Z", toSensingTime="2020-12-31T00:00:00Z")
    props = assert_valid(byoc.tile_to_stac(TILE, collection))["properties"]
    assert props["datetime"] is None
    assert (props["start_datetime"], props["end_datetime"]) == ("2019-01-01T00:00:00Z", "2020-12-31T00:00:00Z")
    assert props["byoc:sensingTime"] is None


def test_null_sensing_time_without_a_collection_range_matches_any_time(assert_valid: Valid) -> None:
    # Sentinel Hub returns a tile without a sensing time for any time range; STAC needs two datetimes.
    props = assert_valid(byoc.tile_to_stac(TILE, COLLECTION))["properties"]
    assert props["datetime"] is None
    assert (props["start_datetime"], props["end_datetime"]) == ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z")


def test_sensing_time_is_the_datetime(assert_valid: Valid) -> None:
    tile = {**TILE, "sensingTime": "2021-05-04T10:20:30.123Z"}
    props = assert_valid(byoc.tile_to_stac(tile, COLLECTION))["properties"]
    assert props["datetime"] == "2021-05-04T10:20:30.123000Z" and "start_datetime" not in props
    assert props["byoc:sensingTime"] == "2021-05-04T10:20:30.123Z"  # BYOC's spelling, for the way back
    assert byoc.stac_to_tile(byoc.tile_to_stac(tile, COLLECTION))["sensingTime"] == "2021-05-04T10:20:30.123Z"


def test_tile_that_is_not_ingested_keeps_its_status_and_may_have_no_geometry(assert_valid: Valid) -> None:
    tile = load("tiles_page2.json")["data"][0]
    out = assert_valid(byoc.tile_to_stac(tile, COLLECTION))
    assert out["properties"]["byoc:status"] == "WAITING"
    assert out["geometry"] is None and "bbox" not in out and "proj:code" not in out["properties"]
    assert out["properties"]["datetime"] == "2024-01-01T00:00:00Z"
    failed = {**TILE, "status": "FAILED", "additionalData": {"failedIngestionCause": "no such file"}}
    props = assert_valid(byoc.tile_to_stac(failed, COLLECTION))["properties"]
    assert props["byoc:status"] == "FAILED"
    assert props["byoc:additionalData"] == {"failedIngestionCause": "no such file"}


def test_tile_fields_with_no_stac_home_stay_under_byoc(assert_valid: Valid) -> None:
    tile = {**TILE, "futureField": [1, "a"]}
    out = assert_valid(byoc.tile_to_stac(tile, COLLECTION))
    props = out["properties"]
    assert props["byoc:ingestionStart"] == "2022-11-07T14:51:57.381758Z"
    assert props["byoc:additionalData"] == {"minMetersPerPixel": 10.0, "maxMetersPerPixel": 160.0}
    assert props["byoc:futureField"] == [1, "a"]
    assert props["created"] == "2020-06-22T12:33:36.081000Z" and "byoc:created" not in props
    assert out["collection"] == "byoc-7453e962-0ee5-4f74-8227-89759fbe9ba9"
    assert {"rel": "collection", "href": "../collection.json", "type": "application/json"} in out["links"]
    assert props["stac_bridge:provider"] == "byoc" and props["stac_bridge:source_id"] == TILE["id"]
    assert canon(byoc.stac_to_tile(out)) == canon(tile)


def test_geometry_written_differently_is_kept_verbatim(assert_valid: Valid) -> None:
    tile = copy.deepcopy(TILE)
    tile["coverGeometry"]["crs"]["properties"]["name"] = "EPSG:32633"
    tile["tileGeometry"]["coordinates"] = [[[370000, 5195000], [620000, 5195000], [620000, 5025000],
                                            [370000, 5025000], [370000, 5195000]]]  # integers, not floats
    props = assert_valid(byoc.tile_to_stac(tile, COLLECTION))["properties"]
    assert props["proj:code"] == "EPSG:32633"
    assert props["byoc:coverGeometry"] == tile["coverGeometry"] and props["byoc:tileGeometry"] == tile["tileGeometry"]
    assert canon(byoc.stac_to_tile(byoc.tile_to_stac(tile, COLLECTION))) == canon(tile)


def test_item_made_elsewhere_comes_back_as_a_create_tile_payload() -> None:
    item = {
        "type": "Feature", "stac_version": "1.1.0", "id": "x", "links": [], "bbox": [0, 0, 1, 1],
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]},
        "properties": {"datetime": "2023-07-01T10:00:00Z"},
        "assets": {
            "B02": {"href": "s3://bucket/scenes/2023/x_B02.tif", "roles": ["data"]},
            "B03": {"href": "s3://bucket/scenes/2023/x_B03.tif", "roles": ["data"]},
            "thumbnail": {"href": "https://example.com/x.png", "roles": ["thumbnail"]},
        },
    }
    assert byoc.stac_to_tile(item) == {
        "path": "scenes/2023/x_(BAND).tif",
        "coverGeometry": item["geometry"],
        "sensingTime": "2023-07-01T10:00:00Z",
    }
    item["properties"].update({"proj:code": "EPSG:32631", "proj:geometry": {"type": "Point", "coordinates": [1, 2]}})
    assert byoc.stac_to_tile(item)["coverGeometry"] == {"crs": utm_crs(32631), "type": "Point", "coordinates": [1, 2]}
    item["assets"]["B03"]["href"] = "s3://bucket/other/x_B03.tif"
    with pytest.raises(TransformError) as err:
        byoc.stac_to_tile(item)
    assert err.value.field == "assets"


# --- bad input -----------------------------------------------------------------------------------------------

def assert_names(err: pytest.ExceptionInfo[TransformError], record_id: str | None, field: str | None) -> None:
    assert (err.value.provider, err.value.record_id, err.value.field) == ("byoc", record_id, field)
    assert "byoc" in str(err.value)


def test_ingested_tile_without_a_geometry_is_refused() -> None:
    tile = {k: v for k, v in TILE.items() if k not in ("coverGeometry", "tileGeometry")}
    with pytest.raises(TransformError) as err:
        byoc.tile_to_stac(tile, COLLECTION)
    assert_names(err, TILE["id"], "coverGeometry")


def test_unparsable_date_is_refused() -> None:
    with pytest.raises(TransformError) as err:
        byoc.tile_to_stac({**TILE, "sensingTime": "last tuesday"}, COLLECTION)
    assert_names(err, TILE["id"], "sensingTime")
    with pytest.raises(TransformError) as err:
        byoc.collection_to_stac({**COLLECTION, "created": "2020-13-45"})
    assert_names(err, COLLECTION["id"], "created")


def test_unknown_crs_is_refused() -> None:
    tile = copy.deepcopy(TILE)
    tile["coverGeometry"]["crs"]["properties"]["name"] = "urn:ogc:def:crs:EPSG::999999"
    with pytest.raises(TransformError) as err:
        byoc.tile_to_stac(tile, COLLECTION)
    assert_names(err, TILE["id"], "coverGeometry.crs.properties.name")


@pytest.mark.parametrize(
    ("change", "field"),
    [({"path": 5}, "path"), ({"coverGeometry": "POLYGON((0 0))"}, "coverGeometry"),
     ({"sensingTime": 1700000000}, "sensingTime"), ({"status": ["INGESTED"]}, "status")],
)
def test_tile_field_of_the_wrong_type_is_refused(change: dict[str, Any], field: str) -> None:
    with pytest.raises(TransformError) as err:
        byoc.tile_to_stac({**TILE, **change}, COLLECTION)
    assert_names(err, TILE["id"], field)


def test_collection_field_of_the_wrong_type_is_refused() -> None:
    record = copy.deepcopy(COLLECTION)
    record["additionalData"]["bands"]["lulc_reference"]["bitDepth"] = "8"
    with pytest.raises(TransformError) as err:
        byoc.collection_to_stac(record)
    assert_names(err, COLLECTION["id"], "additionalData.bands.lulc_reference.bitDepth")
    with pytest.raises(TransformError) as err:
        byoc.collection_to_stac({**COLLECTION, "additionalData": [1]})
    assert_names(err, COLLECTION["id"], "additionalData")
    with pytest.raises(TransformError) as err:
        byoc.collection_to_stac(["not", "a", "record"])
    assert_names(err, None, None)


def test_malformed_geometry_is_refused() -> None:
    tile = copy.deepcopy(TILE)
    tile["coverGeometry"]["coordinates"] = [[["a", "b"]]]
    with pytest.raises(TransformError) as err:
        byoc.tile_to_stac(tile, COLLECTION)
    assert_names(err, TILE["id"], "coverGeometry")


def test_stac_that_is_not_an_item_is_refused() -> None:
    with pytest.raises(TransformError) as err:
        byoc.stac_to_tile(as_dict(byoc.collection_to_stac(COLLECTION)))
    assert_names(err, "byoc-7453e962-0ee5-4f74-8227-89759fbe9ba9", "type")


# --- the adapter -------------------------------------------------------------------------------------------

def test_adapter_is_registered_and_round_trips(assert_valid: Valid) -> None:
    adapter = get_adapter("byoc")
    assert isinstance(adapter, Adapter) and adapter is byoc.ADAPTER
    collection = adapter.classify(COLLECTION)
    tile = adapter.classify(TILE)
    assert (collection.kind, tile.kind) == ("collection", "tile")
    stac_collection = assert_valid(adapter.to_stac(collection))
    with pytest.raises(TransformError) as err:
        adapter.to_stac(tile)
    assert_names(err, TILE["id"], "context.collection")
    item = assert_valid(adapter.to_stac(ProviderRecord("tile", TILE, {"collection": COLLECTION})))
    assert canon(adapter.from_stac(item)) == canon(TILE)
    assert canon(adapter.from_stac(stac_collection)) == canon(COLLECTION)
    with pytest.raises(TransformError):
        adapter.classify({"id": "x"})


# --- the sentinelhub SDK's own objects ---------------------------------------------------------------------

def test_sentinelhub_sdk_objects_are_accepted(assert_valid: Valid) -> None:
    sentinelhub = pytest.importorskip("sentinelhub")
    sdk_collection = sentinelhub.ByocCollection.from_dict(COLLECTION)
    sdk_tile = sentinelhub.ByocTile.from_dict(TILE)

    stac = byoc.collection_to_stac(sdk_collection)
    item = byoc.tile_to_stac(sdk_tile, sdk_collection)
    assert_valid(stac)
    out = assert_valid(item)
    assert stac.id == "byoc-7453e962-0ee5-4f74-8227-89759fbe9ba9"
    assert out["bbox"] == as_dict(byoc.tile_to_stac(TILE, COLLECTION))["bbox"]
    assert out["assets"]["lulc_reference"]["href"] == "s3://eo-learn.sentinel-hub.com/maps/si_lulc_reference.tiff"

    # The way back gives what the SDK would send (its to_dict()), which it reads back to an equal object.
    tile_back = byoc.stac_to_tile(item)
    assert canon(tile_back) == canon(json.loads(json.dumps(sdk_tile.to_dict())))
    assert sentinelhub.ByocTile.from_dict(tile_back) == sdk_tile
    collection_back = byoc.stac_to_collection(stac)
    assert sentinelhub.ByocCollection.from_dict(collection_back) == sdk_collection


# --- property-based round trips ------------------------------------------------------------------------------

#: (epsg, x range, y range) of valid tile positions; UTM zones 1 and 60 reach across the antimeridian.
CRS_AREAS: dict[int, tuple[tuple[float, float], tuple[float, float]]] = {
    32601: ((170_000, 830_000), (100_000, 8_500_000)),
    32660: ((170_000, 830_000), (100_000, 8_500_000)),
    32701: ((170_000, 830_000), (1_500_000, 9_900_000)),
    32760: ((170_000, 830_000), (1_500_000, 9_900_000)),
    32633: ((170_000, 830_000), (100_000, 8_500_000)),
    3035: ((2_700_000, 6_500_000), (1_500_000, 5_000_000)),
    3857: ((-19_000_000, 19_000_000), (-10_000_000, 10_000_000)),
    4326: ((-179.0, 179.0), (-80.0, 80.0)),
}
#: Boxes that cross the antimeridian, near 60 degrees north or south.
CROSSING: dict[int, tuple[float, float, float]] = {
    32660: (600_000, 800_000, 6_600_000), 32760: (600_000, 800_000, 3_300_000),
    32601: (200_000, 400_000, 6_600_000), 32701: (200_000, 400_000, 3_300_000),
}

datetimes = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 1, 1))


@st.composite
def byoc_datetime(draw: st.DrawFn) -> str:
    when = draw(datetimes)
    style = draw(st.sampled_from(["Z", "ms", "us", "offset"]))
    if style == "Z":
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "ms":
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    if style == "us":
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return when.strftime("%Y-%m-%dT%H:%M:%S+02:00")


def coordinate(draw: st.DrawFn, low: float, high: float) -> float | int:
    value = draw(st.floats(low, high, allow_nan=False))
    return int(value) if draw(st.booleans()) and abs(value) > 1 else value


@st.composite
def byoc_tiles(draw: st.DrawFn) -> dict[str, Any]:
    epsg = draw(st.sampled_from(sorted(CRS_AREAS)))
    (xmin, xmax), (ymin, ymax) = CRS_AREAS[epsg]
    if epsg in CROSSING and draw(st.booleans()):
        x0, x1, y0 = CROSSING[epsg]
        y1 = y0 + draw(st.floats(10_000, 100_000))
    else:
        x0 = coordinate(draw, xmin, (xmin + xmax) / 2)
        # A lon/lat edge longer than 180 degrees is ambiguous (the antimeridian splitter takes the short way).
        x1 = coordinate(draw, x0 + (xmax - xmin) / 1000, min(xmax, x0 + 90) if epsg == 4326 else xmax)
        y0 = coordinate(draw, ymin, (ymin + ymax) / 2)
        y1 = coordinate(draw, y0 + (ymax - ymin) / 1000, ymax)
    tile: dict[str, Any] = {
        "id": str(draw(st.uuids())),
        "path": draw(st.sampled_from(["tiles/a_(BAND).tif", "deep/dir/(BAND)", "folder/tile", ""])),
    }
    status = draw(st.sampled_from(["INGESTED", "INGESTED", "WAITING", "QUEUED", "FAILED", None]))
    if status is not None:
        tile["status"] = status
    crs = {"type": "name", "properties": {"name": draw(st.sampled_from(
        [f"urn:ogc:def:crs:EPSG::{epsg}", f"urn:ogc:def:crs:EPSG::{epsg}", f"EPSG:{epsg}"]))}}
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    if status == "INGESTED" or draw(st.booleans()):
        if draw(st.booleans()):
            tile["tileGeometry"] = {**rectangle(epsg, x0, y0, x1, y1), "crs": crs}
        if draw(st.booleans()) or "tileGeometry" not in tile:
            cover = {"type": "Polygon", "coordinates": [ring]}
            if draw(st.booleans()):
                cover = {"type": "MultiPolygon", "coordinates": [[ring]]}
            tile["coverGeometry"] = {"crs": crs, **cover} if draw(st.integers(0, 4)) else cover
            if "crs" not in tile["coverGeometry"] and epsg != 4326:
                tile["coverGeometry"]["crs"] = crs
    for field in ("created", "ingestionStart"):
        if draw(st.booleans()):
            tile[field] = draw(byoc_datetime())
    sensing = draw(st.sampled_from(["absent", "null", "value"]))
    if sensing != "absent":
        tile["sensingTime"] = None if sensing == "null" else draw(byoc_datetime())
    if draw(st.booleans()):
        tile["additionalData"] = draw(st.fixed_dictionaries({}, optional={
            "minMetersPerPixel": st.floats(0.1, 1000), "maxMetersPerPixel": st.floats(1, 10000),
            "hasAlpha": st.booleans(), "failedIngestionCause": st.text(max_size=20)}))
    if draw(st.booleans()):
        tile["somethingNew"] = draw(st.one_of(st.none(), st.integers(), st.text(max_size=5)))
    return tile


@st.composite
def byoc_bands(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(["B01", "B02", "B8A", "SCL", "dataMask", "ndvi"]), unique=True,
                          max_size=4))
    bands = {}
    for index, name in enumerate(names, start=1):
        band = draw(st.fixed_dictionaries({}, optional={
            "source": st.sampled_from([name, name.lower(), "multi"]),
            "bandIndex": st.integers(1, 4),
            "bitDepth": st.sampled_from([8, 16, 32]),
            "sampleFormat": st.sampled_from(["UINT", "INT", "FLOAT"]),
            "noData": st.one_of(st.none(), st.integers(-1000, 70000), st.floats(-1e6, 1e6)),
        }))
        band.setdefault("bandIndex", index)
        bands[name] = band
    return bands


@st.composite
def byoc_collections(draw: st.DrawFn) -> dict[str, Any]:
    collection: dict[str, Any] = {
        "id": str(draw(st.uuids())),
        "name": draw(st.text(min_size=1, max_size=20)),
        "s3Bucket": draw(st.sampled_from(["bucket-a", "eo.example.com"])),
    }
    if draw(st.booleans()):
        collection["created"] = draw(byoc_datetime())
    for field, value in (("noData", st.integers(0, 255)), ("isConfigured", st.booleans()),
                         ("requiresMetadataUpdate", st.booleans()), ("userId", st.none())):
        if draw(st.booleans()):
            collection[field] = draw(value)
    kind = draw(st.sampled_from(["absent", "null", "object"]))
    if kind == "null":
        collection["additionalData"] = None
    elif kind == "object":
        additional: dict[str, Any] = {}
        bands = draw(byoc_bands())
        if bands or draw(st.booleans()):
            additional["bands"] = bands
        if draw(st.booleans()):
            west, south = draw(st.floats(-179, 170)), draw(st.floats(-80, 70))
            east, north = west + draw(st.floats(0.01, 9)), south + draw(st.floats(0.01, 9))
            additional["extent"] = {"type": "Polygon", "coordinates": [
                [[west, south], [west, north], [east, north], [east, south], [west, south]]]}
        if draw(st.booleans()):
            additional["maxMetersPerPixel"] = draw(st.floats(1, 10000))
        additional["hasSensingTimes"] = draw(st.sampled_from(["YES", "NO", "PARTIAL"]))
        for field in ("fromSensingTime", "toSensingTime"):
            if draw(st.booleans()):
                additional[field] = draw(byoc_datetime())
        collection["additionalData"] = additional
    return collection


#: BYOC_EXAMPLES=2000 for a longer search than the one every test run does.
FAST = settings(
    max_examples=int(os.environ.get("BYOC_EXAMPLES", "60")), deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FAST
@given(tile=byoc_tiles(), collection=byoc_collections())
def test_any_tile_round_trips_exactly_and_validates(
    tile: dict[str, Any], collection: dict[str, Any], assert_valid: Valid
) -> None:
    item = byoc.tile_to_stac(tile, collection)
    out = assert_valid(item)
    if out["geometry"] is not None:
        west, south, east, north = out["bbox"]
        assert -180 <= west <= 180 and -180 <= east <= 180 and south <= north
        for x, _ in shapely.get_coordinates(shapely.geometry.shape(out["geometry"])):
            assert -180 <= x <= 180
    assert len(out["assets"]) == len(((collection.get("additionalData") or {}).get("bands")) or {})
    assert canon(byoc.stac_to_tile(item)) == canon(tile)
    assert canon(byoc.stac_to_tile(json.loads(json.dumps(out)))) == canon(tile)


@FAST
@given(collection=byoc_collections())
def test_any_collection_round_trips_exactly_and_validates(collection: dict[str, Any], assert_valid: Valid) -> None:
    stac = byoc.collection_to_stac(collection)
    out = assert_valid(stac)
    assert out["id"] == "byoc-" + collection["id"]
    assert canon(byoc.stac_to_collection(stac)) == canon(collection)
    assert canon(byoc.stac_to_collection(json.loads(json.dumps(out)))) == canon(collection)
