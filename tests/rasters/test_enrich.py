"""``--enrich``: Items of BYOC and DL records gain what their COG headers say, read over HTTP range requests.

The COGs are served by a byte-counting server on 127.0.0.1: BYOC's ``s3://`` hrefs through GDAL's /vsis3/, DL's
``gs://`` through /vsigs/, plain URLs through /vsicurl/. A header read fetches a small part of each file.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stac_bridge.cli import main
from stac_bridge.rasters.enrich import Enricher, Header, fill, read_header
from tests.byoc.standin import StandIn
from tests.descartes.standin import DescartesStandIn, jwt
from tests.descartes.test_sdk import V1_ENV, V1_REQUIREMENTS
from tests.rasters import cogs, scenes
from tests.rasters.fileserver import FileServer
from tests.rasters.scenes import V1_REPLAY
from tests.sdkvenv import run_sdk, sdk_python

Valid = Callable[[Any], dict[str, Any]]


def ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def files(cog_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileServer]:
    """The COGs in a bucket ``bucket`` (``tiles/`` the BYOC band files, ``dl/`` a DL file), served and counted."""
    root = tmp_path / "served"
    (root / "bucket" / "tiles").mkdir(parents=True)
    (root / "bucket" / "dl").mkdir()
    for scene in cogs.BAND_FILES:
        shutil.copy(cog_dir / f"{scene.name}.tif", root / "bucket" / "tiles")
    shutil.copy(cog_dir / "utm33.tif", root / "bucket" / "dl")
    with FileServer(root) as server:
        for name, value in server.gdal_env().items():
            monkeypatch.setenv(name, value)
        yield server


def test_harvested_byoc_items_gain_the_grid_and_bands_of_their_cogs(
        files: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        assert_valid: Valid) -> None:
    monkeypatch.setenv("SH_CLIENT_ID", "stand-in-client")
    monkeypatch.setenv("SH_CLIENT_SECRET", "stand-in-secret")
    monkeypatch.delenv("SH_TOKEN_URL", raising=False)
    out = tmp_path / "byoc.ndjson"
    collection = scenes.byoc_collection()
    with StandIn([collection], {scenes.BYOC_COLLECTION_ID: [scenes.byoc_tile()]}) as byoc:
        assert main(["harvest", "byoc", "--url", byoc.url, "--full", "--out", str(out), "--enrich",
                     "--state-dir", str(tmp_path / "state"), "--enrich-workers", "4"]) == 0
    assert "enrich: 1 items enriched, 0 already complete, 0 without a GeoTIFF, 0 failed (3 headers read)" in \
        capsys.readouterr().err
    item = assert_valid(next(r for r in ndjson(out) if r["type"] == "Feature"))
    scene = cogs.BAND_FILES[0]
    properties = item["properties"]
    assert properties["proj:shape"] == [scene.size[1], scene.size[0]]
    assert properties["proj:transform"] == [scene.pixel, 0.0, scene.origin[0], 0.0, -scene.pixel, scene.origin[1]]
    assert properties["proj:code"] == "EPSG:32760"  # BYOC said it: kept
    for key, asset in item["assets"].items():
        (band,) = asset["bands"]
        assert band["name"] == key and band["data_type"] == "uint16" and band["nodata"] == 0
        assert band["statistics"]["maximum"] == 2999
    # Each header cost a small part of its file: one request of 32 KiB of ~800 KiB.
    for name, sent in files.sent.items():
        size = (files.root / name.lstrip("/")).stat().st_size
        assert sent <= 0.05 * size, (name, sent, size)

    # Enriched, the BYOC tile has all a DL image needs, replayed by the real descarteslabs 1.12.1 client.
    calls = tmp_path / "calls.ndjson"
    assert main(["export", "descartes", str(out), "--out", str(calls)]) == 0
    assert "no geotrans" not in capsys.readouterr().err
    lines = ndjson(calls)
    assert [line["call"] for line in lines] == ["add_product", "add_band", "add_band", "add_band", "add_image"]
    assert [(c["kwargs"]["name"], c["kwargs"]["srcfile"], c["kwargs"]["dtype"]) for c in lines[1:4]] == [
        ("B02", 0, "UInt16"), ("B03", 1, "UInt16"), ("B04", 2, "UInt16")]
    image = lines[-1]["kwargs"]
    assert image["raster_size"] == list(scene.size) and image["cs_code"] == "EPSG:32760"
    assert image["geotrans"] == [scene.origin[0], scene.pixel, 0.0, scene.origin[1], 0.0, -scene.pixel]
    assert image["files"] == [f"s3://bucket/tiles/{scenes.SCENE}_B0{n}.tif" for n in (2, 3, 4)]
    python = sdk_python("descarteslabs-v1", V1_REQUIREMENTS)
    token = jwt()
    monkeypatch.setenv("DESCARTESLABS_TOKEN", token)
    with DescartesStandIn([]) as dl:
        made = run_sdk(python, V1_REPLAY, dl.catalog_url, token, str(calls), env=V1_ENV)["made"]
    product = f"byoc-{scenes.BYOC_COLLECTION_ID}"
    assert made == [product, f"{product}:B02", f"{product}:B03", f"{product}:B04", f"{product}:{scenes.BYOC_TILE_ID}"]


def test_a_byoc_item_without_enrichment_lacks_the_dl_grid_and_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from stac_bridge.transforms import byoc

    stac = tmp_path / "stac.ndjson"
    records = [byoc.collection_to_stac(scenes.byoc_collection()).to_dict(),
               byoc.tile_to_stac(scenes.byoc_tile(), scenes.byoc_collection()).to_dict()]
    stac.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert main(["export", "descartes", str(stac), "--out", str(tmp_path / "calls.ndjson")]) == 0
    err = capsys.readouterr().err
    assert "properties.proj:transform (1 records): missing, so the image has no geotrans" in err
    assert "with --enrich" in err


def test_converted_dl_images_keep_their_grid_and_gain_statistics_each_file_read_once(
        files: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], assert_valid: Valid) -> None:
    records = tmp_path / "dl.ndjson"
    images = [scenes.dl_image("a"), scenes.dl_image("b"), scenes.dl_image("gone", "dl/missing.tif")]
    records.write_text("".join(json.dumps(i) + "\n" for i in images))
    out = tmp_path / "stac.ndjson"
    assert main(["convert", "descartes", str(records), "--out", str(out), "--enrich"]) == 0
    err = capsys.readouterr().err
    assert "enrich: 2 items enriched, 0 already complete, 0 without a GeoTIFF, 1 failed (2 headers read)" in err
    by_id = {i["id"]: assert_valid(i) for i in ndjson(out)}
    enriched = by_id["test:product:a"]
    assert enriched["properties"]["proj:shape"] == [600, 600]
    (band,) = enriched["assets"]["file-0"]["bands"]
    assert band == {**band, "data_type": "uint16", "nodata": 0} and band["statistics"]["minimum"] == 1
    # The unreadable one is as the transform made it.
    assert "bands" not in by_id["test:product:gone"]["assets"]["file-0"]
    assert [p for _, p, _ in files.requests].count("/bucket/dl/utm33.tif") == 1  # the cache: read once


def test_fill_adds_only_what_is_missing() -> None:
    header = Header(shape=[10, 20], transform=[1.0, 0.0, 5.0, 0.0, -1.0, 9.0], bbox=[5.0, -1.0, 25.0, 9.0],
                    code="EPSG:32633", wkt2=None,
                    bands=[{"data_type": "int16", "nodata": -1, "statistics": {"minimum": 0}},
                           {"data_type": "int16", "nodata": -1}])
    item: dict[str, Any] = {"type": "Feature", "properties": {"proj:shape": [1, 2]}, "assets": {
        "one": {"href": "s3://b/x.tif", "type": "image/tiff; application=geotiff", "roles": ["data"],
                "bands": [{"name": "a", "data_type": "uint8"}]},
        "meta": {"href": "s3://b/x.xml", "roles": ["metadata"]}}}
    assert fill(item, {"one": header})
    assert item["properties"]["proj:shape"] == [1, 2]  # the provider's value stays
    assert item["properties"]["proj:transform"] == header.transform and item["properties"]["proj:code"] == "EPSG:32633"
    # One asset band of a two-band file: only what both bands share, never statistics.
    assert item["assets"]["one"]["bands"] == [{"name": "a", "data_type": "uint8", "nodata": -1}]
    assert not fill(item, {"one": header})  # nothing more to add


def test_a_plain_url_is_read_through_vsicurl_and_an_error_is_counted(files: FileServer) -> None:
    header = read_header(f"{files.url}/bucket/dl/utm33.tif")
    assert header.shape == [600, 600] and header.code == "EPSG:32633"
    enricher = Enricher(2)
    item = {"type": "Feature", "properties": {}, "assets": {"data": {"href": f"{files.url}/bucket/nothing.tif"}}}
    enricher.enrich([item])
    enricher.close()
    assert enricher.summary.failed == 1 and item["properties"] == {}
    assert "failed" in str(enricher.summary)


def test_migrate_a_byoc_collection_to_dl_calls_with_the_grid_from_the_headers(
        files: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SH_CLIENT_ID", "stand-in-client")
    monkeypatch.setenv("SH_CLIENT_SECRET", "stand-in-secret")
    monkeypatch.delenv("SH_TOKEN_URL", raising=False)
    out = tmp_path / "migration"
    with StandIn([scenes.byoc_collection()], {scenes.BYOC_COLLECTION_ID: [scenes.byoc_tile()]}) as byoc:
        assert main(["migrate", "byoc", "descartes", "--product", scenes.BYOC_COLLECTION_ID, "--url", byoc.url,
                     "--enrich", "--out-dir", str(out)]) == 0
    calls = ndjson(out / "descartes.ndjson")
    assert [c["call"] for c in calls] == ["add_product", "add_band", "add_band", "add_band", "add_image"]
    assert calls[-1]["kwargs"]["raster_size"] == list(cogs.BAND_FILES[0].size)
    assert "no geotrans" not in (out / "report.md").read_text()


def test_sinks_sharing_an_enricher_enrich_each_batch_once_though_the_list_is_reused() -> None:
    from stac_bridge.rasters.enrich import EnrichingSink
    from tests.sinks import ListSink

    reads: list[str] = []
    header = Header(shape=[1, 1], transform=[1.0, 0.0, 0.0, 0.0, -1.0, 0.0], bbox=[0.0, -1.0, 1.0, 0.0],
                    code="EPSG:32633", wkt2=None, bands=[{"data_type": "uint8"}])

    def reader(href: str) -> Header:
        reads.append(href)
        return header

    enricher = Enricher(2, reader)
    first, second = ListSink(), ListSink()
    sinks = [EnrichingSink(first, enricher), EnrichingSink(second, enricher)]
    batch: list[dict[str, Any]] = []
    for number in range(3):  # as the engine does: one list, cleared after each batch
        batch.extend({"type": "Feature", "id": f"{number}-{i}", "properties": {},
                      "assets": {"data": {"href": f"s3://b/{number}-{i}.tif"}}} for i in range(2))
        for sink in sinks:
            sink.write(batch)
        batch.clear()
    enricher.close()
    assert enricher.summary.enriched == 6 and len(reads) == 6
    assert all(r["properties"]["proj:code"] == "EPSG:32633" for r in first.records + second.records)
