"""``stac-bridge from-raster``: COGs as a Collection and Items (rio-stac, STAC 1.1), validated offline."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stac_bridge.cli import main
from stac_bridge.rasters.items import union_bbox
from tests.rasters import cogs

Valid = Callable[[Any], dict[str, Any]]
GROUP = r"(?P<id>.+)_(?P<band>B\d\d)\.tif$"


def ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_each_file_is_an_item_with_its_projection_and_bands(cog_dir: Path, tmp_path: Path, assert_valid: Valid) -> None:
    out = tmp_path / "stac.ndjson"
    files = [str(cog_dir / f"{s.name}.tif") for s in (cogs.UTM33, cogs.ANTIMERIDIAN, cogs.GEOGRAPHIC)]
    assert main(["from-raster", *files, "--collection", "rasters", "--out", str(out)]) == 0
    collection, *items = ndjson(out)
    for record in (collection, *items):
        assert_valid(record)
    by_id = {i["id"]: i for i in items}
    utm = by_id["utm33"]["properties"]
    assert utm["proj:code"] == "EPSG:32633" and utm["proj:shape"] == [600, 600]
    assert utm["proj:transform"][:6] == [10.0, 0.0, 500000.0, 0.0, -10.0, 5000040.0]
    assert utm["datetime"] == "2024-05-01T10:30:00Z"
    band = by_id["utm33"]["assets"]["data"]["bands"][0]
    assert band["data_type"] == "uint16" and band["nodata"] == 0 and band["statistics"]["maximum"] == 2999
    assert by_id["utm33"]["assets"]["data"]["type"].endswith("profile=cloud-optimized")
    # Across the antimeridian: cut into two polygons, the bbox with west > east.
    dateline = by_id["dateline"]
    assert dateline["geometry"]["type"] == "MultiPolygon" and dateline["bbox"][0] > dateline["bbox"][2]
    assert dateline["assets"]["data"]["bands"][0] == {**dateline["assets"]["data"]["bands"][0],
                                                      "data_type": "int16", "nodata": -9999}
    geo = by_id["geo"]["assets"]["data"]["bands"]
    assert [b["name"] for b in geo] == ["red", "nir", "swir"] and {b["data_type"] for b in geo} == {"float32"}
    assert collection["item_assets"]["data"]["bands"][0]["name"] == "b1"
    west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
    assert west > east and south < 1 and north == pytest.approx(46.0)  # Europe to the dateline, eastwards
    assert collection["extent"]["temporal"]["interval"] == [["2024-05-01T10:30:00Z", "2024-05-01T10:30:00Z"]]


def test_band_files_grouped_by_a_pattern_are_one_item(cog_dir: Path, tmp_path: Path, assert_valid: Valid) -> None:
    out = tmp_path / "stac.ndjson"
    assert main(["from-raster", str(cog_dir), "--collection", "s2", "--group", GROUP, "--out", str(out)]) == 0
    # The other files of the folder do not match the pattern: each is an Item of its own.
    collection, *items = ndjson(out)
    assert_valid(collection)
    assert sorted(i["id"] for i in items) == ["T60_20240502", "dateline", "geo", "utm33"]
    item = assert_valid(next(i for i in items if i["id"] == "T60_20240502"))
    assert item["id"] == "T60_20240502" and sorted(item["assets"]) == ["B02", "B03", "B04"]
    assert [a["bands"][0]["name"] for a in item["assets"].values()] == ["B02", "B03", "B04"]
    assert item["properties"]["proj:code"] == "EPSG:32760" and item["bbox"][0] > item["bbox"][2]
    assert sorted(collection["item_assets"]) == ["B02", "B03", "B04", "data"]


def test_a_geotiff_that_is_not_a_cog_is_refused_saying_how_to_make_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], assert_valid: Valid) -> None:
    path = cogs.write(cogs.Scene("strips", "EPSG:32633", (500000.0, 5000000.0), 10.0), tmp_path, cog=False)
    out = tmp_path / "stac.ndjson"
    out.write_text("earlier\n")
    assert main(["from-raster", str(path), "--collection", "c", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "strips.tif: is not a cloud-optimized GeoTIFF" in err and "not tiles" in err and "no overviews" in err
    assert "rio cogeo create" in err and "gdal_translate -of COG" in err
    assert out.read_text() == "earlier\n"  # a failed command leaves the earlier file
    assert main(["from-raster", str(path), "--collection", "c", "--out", str(out), "--allow-non-cog"]) == 0
    item = assert_valid(ndjson(out)[1])
    assert "profile=cloud-optimized" not in item["assets"]["data"]["type"]


def test_a_file_without_a_time_needs_datetime(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scene = cogs.Scene("undated", "EPSG:32633", (500000.0, 5000000.0), 10.0, size=(64, 64), when="")
    path = cogs.write(scene, tmp_path)
    assert main(["from-raster", str(path), "--collection", "c", "--out", str(tmp_path / "o.ndjson")]) == 2
    assert "give one with --datetime" in capsys.readouterr().err
    assert main(["from-raster", str(path), "--collection", "c", "--out", str(tmp_path / "o.ndjson"),
                 "--datetime", "2020-01-02T03:04:05Z"]) == 0
    assert ndjson(tmp_path / "o.ndjson")[1]["properties"]["datetime"] == "2020-01-02T03:04:05Z"


def test_bad_group_patterns_are_named(cog_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["from-raster", str(cog_dir / "utm33.tif"), "--collection", "c", "--group", "(oops"]) == 2
    assert "is not a regular expression" in capsys.readouterr().err
    assert main(["from-raster", str(cog_dir / "utm33.tif"), "--collection", "c", "--group", "(.+)"]) == 2
    assert "needs the groups" in capsys.readouterr().err


def test_union_bbox_across_the_antimeridian() -> None:
    assert union_bbox([[10, 0, 20, 1], [30, -1, 40, 2]]) == [10, -1, 40, 2]
    assert union_bbox([[170, 0, -170, 1], [175, 0, 179, 1]]) == [170, 0, -170, 1]
    assert union_bbox([[10, 0, 20, 1], [170, 0, -170, 1]]) == [10, 0, -170, 1]


@pytest.mark.db
def test_from_raster_loads_the_collection_and_items(cog_dir: Path, fresh_dsn: str, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from stac_bridge.pgstac.loader import PgstacLoader

    monkeypatch.setenv("STAC_BRIDGE_DATABASE_URL", fresh_dsn)
    argv = ["from-raster", str(cog_dir), "--collection", "s2", "--group", GROUP, "--load"]
    assert main(argv) == 0
    assert "from-raster into pgstac: 5 loaded, 0 unchanged, 0 failed" in capsys.readouterr().err
    assert main(argv) == 0
    assert "0 loaded, 5 unchanged" in capsys.readouterr().err
    with PgstacLoader(fresh_dsn) as loader:
        assert loader.count_items() == 4


def test_the_collection_gives_each_band_its_range_over_every_item(cog_dir: Path, tmp_path: Path,
                                                                  assert_valid: Valid) -> None:
    out = tmp_path / "stac.ndjson"
    assert main(["from-raster", str(cog_dir / "geo.tif"), "--collection", "g", "--out", str(out)]) == 0
    collection = assert_valid(ndjson(out)[0])
    (red, *_) = collection["item_assets"]["data"]["bands"]
    assert red["statistics"]["maximum"] == pytest.approx(0.5, abs=1e-3) and red["data_type"] == "float32"
    # A float band's range is the data_range DL's add_band needs.
    calls = tmp_path / "calls.ndjson"
    assert main(["export", "descartes", str(out), "--out", str(calls)]) == 0
    band = ndjson(calls)[1]["kwargs"]
    assert band["dtype"] == "Float32" and band["data_range"] == [red["statistics"]["minimum"],
                                                                red["statistics"]["maximum"]]
