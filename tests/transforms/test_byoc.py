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
from stac_bridge.transforms.kernel import LEDGER
from tests.byoc.data import pacific
from tests.golden import assert_golden

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "byoc"
EXPECTED = FIXTURES / "expected"
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo" / "providers" / "byoc"

Valid = Callable[[Any], dict[str, Any]]


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def as_dict(stac: pystac.Item | pystac.Collection) -> dict[str, Any]:
    return stac.to_dict(include_self_link=False, transform_hrefs=False)


def fixture_collections() -> list[tuple[str, dict[str, Any]]]:
    """(golden name, collection) for every recorded or documented collection form."""
    records = [load("byoc_collection.json")]
    for page in ("collections_page1.json", "collections_page2.json"):
        records += load(page)["data"]
    named = [(f"collection-{r['id']}", r) for r in {r["id"]: r for r in records}.values()]
    named += [("collection-sdk", load("sdk_collection.json")), ("collection-openapi", load("openapi_collection.json"))]
    named.append(("collection-pacific", pacific()[0]))
    return named


def fixture_tiles() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(tile, its collection) for every recorded or documented tile form."""
    records = [load("byoc_tile.json")]
    for page in ("tiles_page1.json", "tiles_page2.json"):
        records += load(page)["data"]
    pairs = [(r, load("byoc_collection.json")) for r in {r["id"]: r for r in records}.values()]
    pairs += [(t, load("openapi_collection.json")) for t in load("openapi_tiles.json")["data"]]
    collection, tiles = pacific()
    pairs += [(t, collection) for t in tiles]
    return pairs


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


def item_of(tile: dict[str, Any], collection: dict[str, Any] = COLLECTION) -> dict[str, Any]:
    """The adapter's Item (the dict harvest and convert write)."""
    return byoc.ADAPTER.to_stac(ProviderRecord("tile", tile, {"collection": collection}))


def served(stac: dict[str, Any]) -> dict[str, Any]:
    """The object as the STAC API serves it: through JSON, without the ledger and the provenance tag (which the
    database keeps in its private column)."""
    out = {k: v for k, v in json.loads(json.dumps(stac)).items() if k not in (LEDGER, "stac_bridge:source")}
    if "properties" in out:
        out["properties"] = {k: v for k, v in out["properties"].items() if k != "stac_bridge:source"}
    return out


def assert_no_object_properties(stac: dict[str, Any]) -> None:
    """QGIS cannot store an object in a GeoPackage field: no Item property, no Collection top-level field."""
    if stac["type"] == "Feature":
        fields, standard = stac["properties"], set()
    else:
        fields = stac
        standard = {"extent", "summaries", "item_assets", "providers", "links", "assets", LEDGER}
    for key, value in fields.items():
        if key in standard:
            continue
        assert not isinstance(value, dict), f"{key} is an object"
        assert not (isinstance(value, list) and any(isinstance(v, dict | list) for v in value)), f"{key} nests"


# --- golden files and exact round trips on every fixture ---------------------------------------------------

@pytest.mark.parametrize(("name", "record"), COLLECTIONS, ids=[n for n, _ in COLLECTIONS])
def test_fixture_collection_golden_valid_and_exact_back(name: str, record: dict[str, Any], assert_valid: Valid) -> None:
    stac = byoc.collection_to_stac(copy.deepcopy(record))
    out = assert_valid(stac)
    assert_golden(EXPECTED / f"{name}.json", out)
    assert out == byoc.ADAPTER.to_stac(ProviderRecord("collection", record))  # the public path and the adapter's
    assert_no_object_properties(out)
    assert canon(byoc.stac_to_collection(stac)) == canon(record)
    assert canon(byoc.stac_to_collection(json.loads(json.dumps(out)))) == canon(record)


@pytest.mark.parametrize(("record", "collection"), TILES, ids=[t["id"] for t, _ in TILES])
def test_fixture_tile_golden_valid_and_exact_back(
    record: dict[str, Any], collection: dict[str, Any], assert_valid: Valid
) -> None:
    item = byoc.tile_to_stac(copy.deepcopy(record), collection)
    out = assert_valid(item)
    assert_golden(EXPECTED / f"tile-{record['id']}.json", out)
    adapter = item_of(record, collection)
    assert {**adapter, "stac_extensions": adapter.get("stac_extensions", [])} == out
    assert_no_object_properties(out)
    assert canon(byoc.stac_to_tile(item)) == canon(record)
    assert canon(byoc.stac_to_tile(json.loads(json.dumps(out)))) == canon(record)


def test_typical_records_need_no_ledger_and_come_back_exact_as_served(assert_valid: Valid) -> None:
    # Typical: as the BYOC API sends them today (sampleFormat is required since the 2020 recording was made).
    collections = [load("openapi_collection.json"), pacific()[0] | {"additionalData": {
        **pacific()[0]["additionalData"], "bands": {"lulc_reference": {"source": "lulc_reference", "bandIndex": 1,
                                                                        "bitDepth": 8, "sampleFormat": "UINT"}}}}]
    for collection in collections:
        out = assert_valid(byoc.ADAPTER.to_stac(ProviderRecord("collection", collection)))
        assert LEDGER not in out
        assert canon(byoc.stac_to_collection(served(out))) == canon(collection)
    for tile, collection in TILES:
        if tile["status"] == "FAILED":
            continue  # not typical; its null geometries come back through the ledger
        out = assert_valid(item_of(tile, collection))
        assert LEDGER not in out, out[LEDGER]
        assert canon(byoc.stac_to_tile(served(out))) == canon(tile)


def test_the_ledger_is_small_and_holds_only_what_stac_cannot(assert_valid: Valid) -> None:
    # The 2020 recording leaves sampleFormat out (the API requires it now): the way back writes it, so the ledger
    # says it was absent, and nothing else.
    out = assert_valid(byoc.collection_to_stac(COLLECTION))
    assert out[LEDGER] == {"absent": ["additionalData.bands.lulc_reference.sampleFormat"]}
    sdk = assert_valid(byoc.collection_to_stac(load("sdk_collection.json")))
    # nodata cannot be null; fields the record sends as null have nothing to show (and no STAC home)
    assert sdk[LEDGER] == {"keep": {"additionalData.bands.lulc_reference.noData": None, "noData": None,
                                    "userId": None, "additionalData.maxMetersPerPixelOverride": None}}
    assert not {"byoc:userId", "byoc:noData", "byoc:additionalData.maxMetersPerPixelOverride"} & set(sdk)


def test_inputs_are_not_modified_and_outputs_do_not_alias_them() -> None:
    tile, collection = copy.deepcopy(TILE), copy.deepcopy(COLLECTION)
    item = item_of(tile, collection)
    stac = byoc.collection_to_stac(collection)
    assert tile == TILE and collection == COLLECTION
    item["assets"]["lulc_reference"]["proj:geometry"]["coordinates"][0][0][0][0] = 0.0
    item["properties"]["proj:bbox"][0] = 0.0
    stac.extent.spatial.bboxes[0][0] = 0.0
    assert tile == TILE and collection == COLLECTION
    assert item_of(tile, collection)["assets"]["lulc_reference"]["proj:geometry"] == {
        k: v for k, v in TILE["coverGeometry"].items() if k != "crs"}


# --- the collection mapping, decision by decision ----------------------------------------------------------

def test_collection_is_curated_with_provider_keywords_and_a_via_link(assert_valid: Valid) -> None:
    out = assert_valid(byoc.collection_to_stac(COLLECTION))
    assert out["id"] == "byoc-7453e962-0ee5-4f74-8227-89759fbe9ba9"
    assert out["title"] == "SI LULC Reference"
    assert out["description"].startswith("SI LULC Reference: a Sentinel Hub BYOC")
    assert out["license"] == "other"  # BYOC gives no terms: no license link
    assert not [link for link in out["links"] if link["rel"] == "license"]
    assert out["providers"] == [{"name": "Sentinel Hub", "roles": ["host"], "url": "https://www.sentinel-hub.com/",
                                 "description": byoc.SENTINEL_HUB["description"]}]
    assert "Sentinel Hub" in out["keywords"] and "BYOC" in out["keywords"]
    assert out["stac_bridge:source"] == "byoc/collection/2"
    assert out["links"] == [{
        "rel": "via", "type": "application/json", "title": "Sentinel Hub BYOC collection",
        "href": "https://services.sentinel-hub.com/api/v1/byoc/collections/7453e962-0ee5-4f74-8227-89759fbe9ba9"}]
    assert not [k for k in out if k.startswith("stac_bridge:") and k not in ("stac_bridge:source", LEDGER)]


def test_collection_extent_is_the_bbox_of_additional_data_extent_and_no_raw_block(assert_valid: Valid) -> None:
    out = assert_valid(byoc.collection_to_stac(COLLECTION))
    assert out["extent"]["spatial"]["bbox"] == [[13.293347498, 45.366449953, 16.575424424, 46.897693758]]
    assert out["extent"]["temporal"]["interval"] == [[None, None]]
    # The polygon is the rectangle of that bbox, rebuilt on the way back: no raw coordinates to show.
    assert not [k for k in out if k.startswith("byoc:additionalData.extent")]
    assert out["byoc:additionalData.maxMetersPerPixel"] == 800.0 and out["byoc:additionalData.hasSensingTimes"] == "NO"
    assert_no_object_properties(out)


def test_a_collection_never_carries_another_collections_box() -> None:
    slovenia, pacific_collection = byoc.collection_to_stac(COLLECTION), byoc.collection_to_stac(pacific()[0])
    assert slovenia.extent.spatial.bboxes != pacific_collection.extent.spatial.bboxes
    # Without an extent (no tile ingested yet) the placeholder is the globe, until the loader computes the items'.
    assert pacific_collection.extent.spatial.bboxes == [[-180.0, -90.0, 180.0, 90.0]]


def test_collection_sensing_range_is_the_temporal_extent(assert_valid: Valid) -> None:
    record = copy.deepcopy(COLLECTION)
    record["additionalData"].update(fromSensingTime="2019-01-01T00:00:00Z", toSensingTime="2020-12-31T23:59:59Z")
    out = assert_valid(byoc.collection_to_stac(record))
    assert out["extent"]["temporal"]["interval"] == [["2019-01-01T00:00:00Z", "2020-12-31T23:59:59Z"]]
    assert "byoc:additionalData.fromSensingTime" not in out
    assert canon(byoc.stac_to_collection(out)) == canon(record)


def test_collection_without_additional_data_has_no_bands(assert_valid: Valid) -> None:
    record = load("collections_page2.json")["data"][0]
    out = assert_valid(byoc.collection_to_stac(record))
    assert out["extent"]["spatial"]["bbox"] == [[-180.0, -90.0, 180.0, 90.0]]
    # A null additionalData has nothing to show: only the way back needs it.
    assert "byoc:additionalData" not in out and "item_assets" not in out
    assert out[LEDGER] == {"keep": {"additionalData": None}}


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
    assert band == {"name": "B1", "data_type": data_type, "nodata": 0, "byoc:source": "b1", "byoc:bandIndex": 2}
    assert out["summaries"]["bands"] == [band]
    assert out["item_assets"]["B1"]["roles"] == ["data"]
    assert LEDGER not in out
    assert canon(byoc.stac_to_collection(served(out))) == canon(record)


def test_band_with_null_no_data_comes_back_through_the_ledger(assert_valid: Valid) -> None:
    record = copy.deepcopy(COLLECTION)
    record["additionalData"]["bands"]["lulc_reference"]["noData"] = None
    out = assert_valid(byoc.collection_to_stac(record))
    assert "nodata" not in out["item_assets"]["lulc_reference"]["bands"][0]
    assert out[LEDGER]["keep"] == {"additionalData.bands.lulc_reference.noData": None}
    assert canon(byoc.stac_to_collection(out)) == canon(record)


def test_collection_fields_with_no_stac_home_stay_visible_under_byoc(assert_valid: Valid) -> None:
    record = {**copy.deepcopy(COLLECTION), "noData": 255, "userId": None, "futureField": {"a": [1, 2]}}
    out = assert_valid(byoc.collection_to_stac(record))
    assert out["byoc:s3Bucket"] == "eo-learn.sentinel-hub.com"
    assert out["byoc:noData"] == 255 and out["byoc:futureField.a"] == [1, 2]
    assert "byoc:userId" not in out and out[LEDGER]["keep"]["userId"] is None  # a null shows nothing
    assert_no_object_properties(out)
    assert canon(byoc.stac_to_collection(out)) == canon(record)


def test_datetime_in_another_zone_is_given_in_utc_and_its_spelling_kept_in_the_ledger(assert_valid: Valid) -> None:
    record = {**COLLECTION, "created": "2020-06-22T14:30:22.814+02:00"}
    out = assert_valid(byoc.collection_to_stac(record))
    assert out["created"] == "2020-06-22T12:30:22.814000Z"
    assert out[LEDGER]["keep"]["created"] == "2020-06-22T14:30:22.814+02:00"
    assert byoc.stac_to_collection(out)["created"] == "2020-06-22T14:30:22.814+02:00"
    # A UTC spelling (".814Z") is kept as it is: no ledger for it.
    assert assert_valid(byoc.collection_to_stac(COLLECTION))["created"] == "2020-06-22T12:30:22.814Z"


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
    out = assert_valid(item_of(TILE))
    west, south, east, north = out["bbox"]
    # Sentinel Hub computed the collection's extent from this one tile's corners: they agree to 1e-6 degrees.
    assert west == pytest.approx(13.293347498, abs=1e-6)
    assert south == pytest.approx(45.366449953, abs=1e-6)
    assert east == pytest.approx(16.575424424, abs=1e-6)
    # The densified northern edge bulges north of its corners (46.8977): UTM 33N's (500000, 5195000) is at
    # 15.0E 46.90853N; the bbox is within 2 m of that.
    assert north == pytest.approx(46.90853, abs=2e-5)
    assert out["geometry"]["type"] == "Polygon" and len(out["geometry"]["coordinates"][0]) > 60
    polygon = shapely.geometry.shape(out["geometry"])
    assert polygon.is_valid and polygon.exterior.is_ccw  # RFC 7946 winding


def test_projection_fields_code_and_bbox_as_properties_native_geometry_on_the_data_assets(assert_valid: Valid) -> None:
    out = assert_valid(item_of(TILE))
    props = out["properties"]
    assert props["proj:code"] == "EPSG:32633"
    assert props["proj:bbox"] == [370000.0, 5025000.0, 620000.0, 5195000.0]
    assert "proj:geometry" not in props
    assert out["assets"]["lulc_reference"]["proj:geometry"] == {
        k: v for k, v in TILE["coverGeometry"].items() if k != "crs"}
    assert not [k for k in props if k.startswith("byoc:")]  # both geometries come back from the proj: fields
    assert "https://stac-extensions.github.io/projection/v2.0.0/schema.json" in out["stac_extensions"]


def test_tile_is_titled_by_its_path_and_links_to_its_record(assert_valid: Valid) -> None:
    out = assert_valid(item_of(TILE))
    assert out["properties"]["title"] == "maps/si_(BAND).tiff"
    assert out["collection"] == "byoc-7453e962-0ee5-4f74-8227-89759fbe9ba9"
    assert {"rel": "collection", "href": "../collection.json", "type": "application/json"} in out["links"]
    assert {"rel": "via", "type": "application/json", "title": "Sentinel Hub BYOC tile",
            "href": "https://services.sentinel-hub.com/api/v1/byoc/collections/7453e962-0ee5-4f74-8227-89759fbe9ba9"
                    "/tiles/7be8a8de-c396-44ac-b528-692f9b595ebd"} in out["links"]
    assert out["properties"]["stac_bridge:source"] == "byoc/tile/2"


def test_resolutions_and_ingestion_have_stac_homes(assert_valid: Valid) -> None:
    out = assert_valid(item_of(TILE))
    props = out["properties"]
    assert props["gsd"] == 10.0  # minMetersPerPixel: the full-resolution pixel size
    assert props["processing:datetime"] == "2022-11-07T14:51:57.381758Z"  # ingestionStart
    assert props["created"] == "2020-06-22T12:33:36.081000Z"
    assert out["assets"]["lulc_reference"]["byoc:maxMetersPerPixel"] == 160.0  # the coarsest overview


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
    out = assert_valid(item_of(tile))
    geometry = out["geometry"]
    assert geometry["type"] == "MultiPolygon" and len(geometry["coordinates"]) == 2
    sides = sorted(max(abs(x) for x, _ in polygon[0]) for polygon in geometry["coordinates"])
    assert sides == [180.0, 180.0]  # each part ends at the antimeridian
    for polygon in geometry["coordinates"]:
        assert shapely.geometry.Polygon(polygon[0]).exterior.is_ccw
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
    assert canon(byoc.stac_to_tile(served(out))) == canon(tile)


def test_antimeridian_split_agrees_with_the_antimeridian_package() -> None:
    import antimeridian

    from stac_bridge.transforms import byoc_geometry

    for epsg, box in [(32660, (600000.0, 6600000.0, 800000.0, 6700000.0)), (32701, (200000.0, 3300000.0, 400000.0,
                                                                                     3400000.0))]:
        ring = [[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]], [box[0], box[1]]]
        ours, bbox = byoc_geometry.footprint({"type": "Polygon", "coordinates": [ring]}, epsg)
        native = shapely.segmentize(shapely.geometry.Polygon(ring), 10000.0)
        to_wgs84 = pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)
        lonlat = shapely.transform(native, lambda xy, t=to_wgs84: numpy.column_stack(t.transform(xy[:, 0], xy[:, 1])))
        theirs = shapely.geometry.shape(antimeridian.fix_shape(lonlat))
        # The same two parts, up to where each puts the cut along the last edge (1e-6 of the area).
        assert shapely.geometry.shape(ours).symmetric_difference(theirs).area < 1e-6 * theirs.area
        assert bbox == pytest.approx(list(antimeridian.bbox(theirs)), abs=1e-9)


def test_one_asset_per_band_from_the_band_path_template(assert_valid: Valid) -> None:
    collection = copy.deepcopy(COLLECTION)
    collection["additionalData"]["bands"] = {
        "B04": {"source": "red", "bandIndex": 1, "bitDepth": 16, "sampleFormat": "UINT", "noData": 0},
        "B08": {"source": "nir", "bandIndex": 1, "bitDepth": 16},
    }
    out = assert_valid(item_of(TILE, collection))
    assert {k: a["href"] for k, a in out["assets"].items()} == {
        "B04": "s3://eo-learn.sentinel-hub.com/maps/si_red.tiff",
        "B08": "s3://eo-learn.sentinel-hub.com/maps/si_nir.tiff",
    }
    asset = out["assets"]["B04"]
    assert asset["type"] == "image/tiff; application=geotiff; profile=cloud-optimized" and asset["roles"] == ["data"]
    assert asset["bands"] == [{"name": "B04", "data_type": "uint16", "nodata": 0}]
    assert asset["proj:geometry"] == out["assets"]["B08"]["proj:geometry"]
    assert asset["proj:geometry"] is not out["assets"]["B08"]["proj:geometry"]


def test_path_without_band_placeholder_is_a_folder_of_band_files(assert_valid: Valid) -> None:
    out = assert_valid(item_of({**TILE, "path": "maps/tile1"}))
    assert out["assets"]["lulc_reference"]["href"] == "s3://eo-learn.sentinel-hub.com/maps/tile1/lulc_reference.tiff"
    assert out["properties"]["title"] == "maps/tile1"


def test_null_sensing_time_takes_the_collections_sensing_range(assert_valid: Valid) -> None:
    collection = copy.deepcopy(COLLECTION)
    collection["additionalData"].update(fromSensingTime="2019-01-01T00:00:00Z", toSensingTime="2020-12-31T00:00:00Z")
    out = assert_valid(item_of(TILE, collection))
    props = out["properties"]
    assert props["datetime"] is None
    assert (props["start_datetime"], props["end_datetime"]) == ("2019-01-01T00:00:00Z", "2020-12-31T00:00:00Z")
    assert LEDGER not in out and canon(byoc.stac_to_tile(served(out))) == canon(TILE)


def test_null_sensing_time_without_a_collection_range_is_dated_by_created_never_year_1_or_9999(
    assert_valid: Valid,
) -> None:
    out = assert_valid(item_of(TILE))
    props = out["properties"]
    assert props["datetime"] == TILE["created"] and "start_datetime" not in props and "end_datetime" not in props
    assert LEDGER not in out and byoc.stac_to_tile(served(out))["sensingTime"] is None
    text = json.dumps([item_of(t, c) for t, c in TILES])
    assert "0001-01-01" not in text and "9999-12-31" not in text


def test_a_sensing_time_equal_to_created_is_kept_by_the_ledger() -> None:
    tile = {**TILE, "sensingTime": TILE["created"]}
    out = item_of(tile)
    assert out[LEDGER] == {"keep": {"sensingTime": TILE["created"]}}
    assert canon(byoc.stac_to_tile(out)) == canon(tile)


def test_a_tile_without_any_time_is_refused() -> None:
    tile = {k: v for k, v in TILE.items() if k != "created"}
    with pytest.raises(TransformError) as err:
        item_of(tile)
    assert_names(err, TILE["id"], "sensingTime")


def test_sensing_time_is_the_datetime(assert_valid: Valid) -> None:
    tile = {**TILE, "sensingTime": "2021-05-04T10:20:30Z"}
    out = assert_valid(item_of(tile))
    assert out["properties"]["datetime"] == "2021-05-04T10:20:30Z" and "start_datetime" not in out["properties"]
    assert LEDGER not in out
    # A millisecond spelling comes out as pystac writes it; BYOC's is kept by the ledger.
    tile = {**TILE, "sensingTime": "2021-05-04T10:20:30.123Z"}
    item = byoc.tile_to_stac(tile, COLLECTION)
    assert item.to_dict()["properties"]["datetime"] == "2021-05-04T10:20:30.123000Z"
    assert byoc.stac_to_tile(item)["sensingTime"] == "2021-05-04T10:20:30.123Z"


def test_tile_that_is_not_ingested_shows_its_status_and_may_have_no_geometry(assert_valid: Valid) -> None:
    tile = load("tiles_page2.json")["data"][0]
    out = assert_valid(item_of(tile))
    assert out["properties"]["byoc:status"] == "WAITING"
    assert out["geometry"] is None and "bbox" not in out and "proj:code" not in out["properties"]
    assert out["properties"]["datetime"] == "2024-01-01T00:00:00Z"
    failed = load("openapi_tiles.json")["data"][1]
    props = assert_valid(item_of(failed, load("openapi_collection.json")))["properties"]
    assert props["byoc:status"] == "FAILED"
    assert props["byoc:additionalData.failedIngestionCause"] == "File mosaic/2023/33UXP/NDVI.tif not found"
    assert "byoc:status" not in item_of(TILE)["properties"]  # INGESTED is what an Item without it means


def test_tile_fields_with_no_stac_home_stay_visible_under_byoc(assert_valid: Valid) -> None:
    tile = {**copy.deepcopy(TILE), "futureField": [1, "a"]}
    tile["additionalData"]["hasAlpha"] = True
    out = assert_valid(item_of(tile))
    props = out["properties"]
    assert props["byoc:futureField"] == [1, "a"] and props["byoc:additionalData.hasAlpha"] is True
    assert_no_object_properties(out)
    assert LEDGER not in out and canon(byoc.stac_to_tile(served(out))) == canon(tile)


def test_geometry_written_differently_keeps_only_the_difference_in_the_ledger(assert_valid: Valid) -> None:
    tile = copy.deepcopy(TILE)
    tile["coverGeometry"]["crs"]["properties"]["name"] = "EPSG:32633"
    tile["tileGeometry"]["coordinates"] = [[[370000, 5195000], [620000, 5195000], [620000, 5025000],
                                            [370000, 5025000], [370000, 5195000]]]  # integers, not floats
    out = assert_valid(item_of(tile))
    assert out["properties"]["proj:code"] == "EPSG:32633"
    assert out["properties"]["proj:bbox"] == [370000, 5025000, 620000, 5195000]  # 600 stays 600
    assert out[LEDGER] == {"keep": {"coverGeometry.crs.properties.name": "EPSG:32633"}}
    assert canon(byoc.stac_to_tile(out)) == canon(tile)


def test_a_tile_of_a_collection_without_bands_keeps_its_native_geometry_in_the_ledger(assert_valid: Valid) -> None:
    collection = load("collections_page2.json")["data"][0]
    out = assert_valid(item_of(TILE, collection))
    assert out["assets"] == {} and out["properties"]["byoc:additionalData.maxMetersPerPixel"] == 160.0
    assert list(out[LEDGER]["keep"]) == ["coverGeometry"]
    assert canon(byoc.stac_to_tile(out)) == canon(TILE)


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
    item["properties"]["proj:code"] = "EPSG:32631"
    item["assets"]["B02"]["proj:geometry"] = {"type": "Point", "coordinates": [1, 2]}
    assert byoc.stac_to_tile(item)["coverGeometry"] == {"crs": utm_crs(32631), "type": "Point", "coordinates": [1, 2]}
    item["assets"]["B03"]["href"] = "s3://bucket/other/x_B03.tif"
    with pytest.raises(TransformError) as err:
        byoc.stac_to_tile(item)
    assert err.value.field == "assets"


def test_vendor_share_of_the_demo_items_is_at_most_15_percent() -> None:
    adapter = byoc.ADAPTER
    raws = []
    for path in sorted(DEMO.glob("*.json")):
        raws += json.loads(path.read_text())["data"]
    items = [adapter.to_stac(r) for r in adapter.link(adapter.classify(raw) for raw in raws)]
    keys = [key for item in items if item["type"] == "Feature" for key in item["properties"]]
    vendor = [key for key in keys if key.startswith(("byoc:", "stac_bridge:"))]
    assert len(vendor) / len(keys) <= 0.15, (len(vendor), len(keys))
    for item in items:
        assert_no_object_properties(item)


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
    tile["created"] = draw(byoc_datetime())  # the API always sends it; it dates a tile without a sensing time
    if draw(st.booleans()):
        tile["ingestionStart"] = draw(byoc_datetime())
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
    assert_no_object_properties(out)
    assert out["properties"]["datetime"] is not None or out["properties"]["start_datetime"] > "1000"
    if out["geometry"] is not None:
        west, south, east, north = out["bbox"]
        assert -180 <= west <= 180 and -180 <= east <= 180 and south <= north
        for x, _ in shapely.get_coordinates(shapely.geometry.shape(out["geometry"])):
            assert -180 <= x <= 180
    assert len(out["assets"]) == len(((collection.get("additionalData") or {}).get("bands")) or {})
    assert canon(byoc.stac_to_tile(item)) == canon(tile)
    assert canon(byoc.stac_to_tile(json.loads(json.dumps(item_of(tile, collection))))) == canon(tile)


@FAST
@given(collection=byoc_collections())
def test_any_collection_round_trips_exactly_and_validates(collection: dict[str, Any], assert_valid: Valid) -> None:
    stac = byoc.collection_to_stac(collection)
    out = assert_valid(stac)
    assert_no_object_properties(out)
    assert out["id"] == "byoc-" + collection["id"]
    assert canon(byoc.stac_to_collection(stac)) == canon(collection)
    assert canon(byoc.stac_to_collection(json.loads(json.dumps(out)))) == canon(collection)
