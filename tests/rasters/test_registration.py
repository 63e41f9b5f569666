"""Registration payloads from rasters, replayed by the providers' real SDKs against the stand-ins.

A folder of COGs becomes STAC (``from-raster``), BYOC payloads (``export byoc``) that the real sentinelhub SDK
sends to the BYOC stand-in, and DL calls (``export descartes``) that the real descarteslabs 1.12.1 client sends
to the DL stand-in. Harvested back (BYOC enriched from the COGs where the copy plan put them), each provider's
Item agrees with the rio-stac Item on footprint, CRS, shape and transform.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely.geometry

from stac_bridge.cli import main
from stac_bridge.harvest import SourceOptions, create_source
from stac_bridge.harvest.engine import run_harvest
from tests.byoc.standin import StandIn
from tests.descartes.standin import DescartesStandIn, jwt
from tests.rasters import cogs
from tests.rasters.fileserver import FileServer
from tests.rasters.scenes import V1_REPLAY
from tests.sdkvenv import run_sdk, sdk_python
from tests.sinks import ListSink

Valid = Callable[[Any], dict[str, Any]]
GROUP = r"(?P<id>.+)_(?P<band>B\d\d)\.tif$"
#: A second scene of band files: UTM zone 1N, across the antimeridian from the west.
WEST = [cogs.Scene(f"T01_20240503_{band}", "EPSG:32601", (140000.0, 2000000.0), 200.0, when="2024:05:03 00:00:00")
        for band in ("B02", "B03", "B04")]
SAME = ("proj:code", "proj:shape", "proj:transform")


def ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def same_footprint(a: dict[str, Any], b: dict[str, Any]) -> None:
    one, other = shapely.geometry.shape(a["geometry"]), shapely.geometry.shape(b["geometry"])
    assert one.symmetric_difference(other).area < 1e-6 * one.area, (a["id"], b["id"])
    assert b["bbox"] == pytest.approx(a["bbox"], abs=1e-6)


def same_grid(made: dict[str, Any], back: dict[str, Any]) -> None:
    for key in SAME:
        expected, got = made["properties"][key], back["properties"][key]
        assert (got[:6] if key == "proj:transform" else got) == \
            pytest.approx(expected[:6] if key == "proj:transform" else expected), key


@pytest.fixture
def served(cog_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileServer]:
    """An empty bucket ``bucket`` behind a byte-counting server that GDAL's /vsis3/ and /vsigs/ read."""
    (tmp_path / "served" / "bucket").mkdir(parents=True)
    with FileServer(tmp_path / "served") as server:
        for name, value in server.gdal_env().items():
            monkeypatch.setenv(name, value)
        yield server


def test_cogs_become_byoc_tiles_the_sentinelhub_sdk_creates_and_harvested_back_agree(
        cog_dir: Path, served: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], assert_valid: Valid) -> None:
    sentinelhub = pytest.importorskip("sentinelhub")
    folder = tmp_path / "cogs"
    folder.mkdir()
    for scene in cogs.BAND_FILES:
        shutil.copy(cog_dir / f"{scene.name}.tif", folder)
    for scene in WEST:
        cogs.write(scene, folder)
    stac, payloads, plan = tmp_path / "stac.ndjson", tmp_path / "byoc.ndjson", tmp_path / "plan.tsv"
    assert main(["from-raster", str(folder), "--collection", "scenes", "--group", GROUP, "--out", str(stac)]) == 0
    assert main(["export", "byoc", str(stac), "--bucket", "s3://bucket/cogs/", "--copy-plan", str(plan),
                 "--out", str(payloads)]) == 0
    assert "files to copy to S3 before the tiles are created" in capsys.readouterr().err
    made = {r["id"]: assert_valid(r) for r in ndjson(stac) if r["type"] == "Feature"}
    collection, *tiles = ndjson(payloads)
    assert collection["s3Bucket"] == "bucket"
    assert collection["additionalData"]["bands"]["B03"] == {"source": "B03", "bandIndex": 1, "bitDepth": 16,
                                                            "sampleFormat": "UINT", "noData": 0}
    assert sorted(t["path"] for t in tiles) == ["cogs/T01_20240503/(BAND).tif", "cogs/T60_20240502/(BAND).tif"]
    assert {t["coverGeometry"]["crs"]["properties"]["name"] for t in tiles} == {
        "urn:ogc:def:crs:EPSG::32601", "urn:ogc:def:crs:EPSG::32760"}
    # The copy plan, carried out: the files where the tiles' paths say.
    for line in plan.read_text().splitlines():
        source, destination, action = line.split("\t")
        assert action == "copy"
        target = served.root / destination.removeprefix("s3://")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("SH_CLIENT_ID", "stand-in-client")
    monkeypatch.setenv("SH_CLIENT_SECRET", "stand-in-secret")
    monkeypatch.delenv("SH_TOKEN_URL", raising=False)
    with StandIn([], {}) as byoc:
        config = sentinelhub.SHConfig(sh_client_id="stand-in-client", sh_client_secret="stand-in-secret",
                                      sh_base_url=byoc.url, sh_token_url=f"{byoc.url}/oauth/token",
                                      max_download_attempts=1)
        api = sentinelhub.SentinelHubBYOC(config=config)
        created = api.create_collection(collection)
        for tile in tiles:
            assert api.create_tile(created["id"], tile)["status"] == "WAITING"
        with pytest.raises(sentinelhub.exceptions.DownloadFailedException, match="409"):
            api.create_tile(created["id"], tiles[0])  # the same path twice: refused
        byoc.ingest()
        harvested = tmp_path / "harvested.ndjson"
        assert main(["harvest", "byoc", "--url", byoc.url, "--full", "--enrich", "--out", str(harvested),
                     "--state-dir", str(tmp_path / "state")]) == 0
    assert "2 items enriched" in capsys.readouterr().err
    back = [assert_valid(r) for r in ndjson(harvested)]
    items = [r for r in back if r["type"] == "Feature"]
    assert len(items) == 2
    for item in items:
        original = made[item["properties"]["title"].split("/")[1]]
        same_footprint(original, item)
        same_grid(original, item)
        assert {k: a["bands"][0]["data_type"] for k, a in item["assets"].items()} == {
            "B02": "uint16", "B03": "uint16", "B04": "uint16"}


def test_cogs_become_dl_calls_the_descarteslabs_client_replays_and_harvested_back_agree(
        cog_dir: Path, served: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        assert_valid: Valid) -> None:
    from tests.descartes.test_sdk import V1_ENV, V1_REQUIREMENTS

    python = sdk_python("descarteslabs-v1", V1_REQUIREMENTS)
    (served.root / "bucket" / "dl").mkdir()
    names = ("utm33", "dateline")
    for name in names:
        shutil.copy(cog_dir / f"{name}.tif", served.root / "bucket" / "dl")
    stac, calls = tmp_path / "stac.ndjson", tmp_path / "calls.ndjson"
    # Read where DL keeps files, through GDAL's /vsigs/.
    hrefs = [f"gs://bucket/dl/{name}.tif" for name in names]
    assert main(["from-raster", *hrefs, "--collection", "user:cogs", "--out", str(stac)]) == 0
    assert main(["export", "descartes", str(stac), "--out", str(calls)]) == 0
    lines = ndjson(calls)
    assert [line["call"] for line in lines] == ["add_product", "add_band", "add_image", "add_image"]
    image = lines[2]["kwargs"]
    assert (image["cs_code"], image["raster_size"], image["geotrans"]) == (
        "EPSG:32633", [600, 600], [500000.0, 10.0, 0.0, 5000040.0, 0.0, -10.0])
    assert (image["bucket"], image["files"]) == ("gs://bucket/", ["dl/utm33.tif"])
    token = jwt()
    monkeypatch.setenv("DESCARTESLABS_TOKEN", token)
    with DescartesStandIn([]) as dl:
        out = run_sdk(python, V1_REPLAY, dl.catalog_url, token, str(calls), env=V1_ENV)
        assert out["made"] == ["user:cogs", "user:cogs:b1", "user:cogs:utm33", "user:cogs:dateline"]
        sink = ListSink()
        with create_source("descartes", SourceOptions(dl.metadata_url, collections=["user:cogs"])) as harvest:
            run_harvest(harvest, [sink], since=None)
    made = {r["id"]: assert_valid(r) for r in ndjson(stac) if r["type"] == "Feature"}
    items = [assert_valid(r) for r in sink.records if r["type"] == "Feature"]
    assert sorted(i["id"] for i in items) == ["user:cogs:dateline", "user:cogs:utm33"]
    for item in items:
        original = made[item["id"].rsplit(":", 1)[1]]
        same_footprint(original, item)
        same_grid(original, item)
        assert item["assets"]["file-0"]["href"] == original["assets"]["data"]["href"]
