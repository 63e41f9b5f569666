"""``stac-bridge migrate descartes byoc``: a DL product as STAC and BYOC payloads the real sentinelhub SDK accepts.

From saved records (``--from``) and harvested from the DL stand-in (``--product``); the report says what BYOC
has no place for, and the copy plan says which JPEG 2000 files must become COGs on the way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stac_bridge.cli import main
from stac_bridge.migrate.prepare import for_byoc, for_descartes, parse_bucket
from tests.byoc.standin import StandIn
from tests.descartes.data import DEMO, LANDSAT, catalog
from tests.descartes.standin import DescartesStandIn, jwt

Valid = Callable[[Any], dict[str, Any]]
LANDSAT_FILES = sorted(str(p) for p in DEMO.glob("*-landsat-*.json"))


def ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def create_in_byoc(payloads: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> StandIn:
    """Send the payloads with the real sentinelhub SDK to a fresh BYOC stand-in; returns it (stopped)."""
    sentinelhub = pytest.importorskip("sentinelhub")
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    collection, *tiles = payloads
    with StandIn([], {}) as byoc:
        config = sentinelhub.SHConfig(sh_client_id="c", sh_client_secret="s", sh_base_url=byoc.url,
                                      sh_token_url=f"{byoc.url}/oauth/token", max_download_attempts=1)
        api = sentinelhub.SentinelHubBYOC(config=config)
        created = api.create_collection(sentinelhub.ByocCollection.from_dict(collection))
        for tile in tiles:
            api.create_tile(created["id"], sentinelhub.ByocTile.from_dict(tile))
    return byoc


def check_migration(out: Path, bands: int, monkeypatch: pytest.MonkeyPatch, assert_valid: Valid) -> None:
    stac = [assert_valid(r) for r in ndjson(out / "stac.ndjson")]
    items = [r for r in stac if r["type"] == "Feature"]
    payloads = ndjson(out / "byoc.ndjson")
    assert len(payloads) == 1 + len(items)
    byoc = create_in_byoc(payloads, monkeypatch)
    (collection,) = byoc.collections
    assert collection["s3Bucket"] == "dl-migrated" and len(collection["additionalData"]["bands"]) == bands
    tiles = byoc.tiles[collection["id"]]
    assert len(tiles) == len(items) and all(t["path"].startswith("landsat/") for t in tiles)
    assert all(t["coverGeometry"]["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::32615" for t in tiles)
    plan = [line.split("\t") for line in (out / "copy-plan.tsv").read_text().splitlines()]
    assert plan and all(src.startswith("gs://") and dst.startswith("s3://dl-migrated/landsat/") and act == "to-cog"
                        for src, dst, act in plan)
    report = (out / "report.md").read_text()
    assert "## Not carried over" in report and "`properties.eo:cloud_cover`" in report
    assert "BYOC ingests only COGs" in report
    assert json.loads((out / "report.json").read_text())["failures"] == []


def test_migrate_saved_dl_records_to_byoc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str], assert_valid: Valid) -> None:
    out = tmp_path / "migration"
    assert main(["migrate", "descartes", "byoc", "--from", *LANDSAT_FILES, "--bucket", "s3://dl-migrated/landsat",
                 "--out-dir", str(out)]) == 0
    assert "fields not carried over; see" in capsys.readouterr().err
    check_migration(out, 16, monkeypatch, assert_valid)


def test_migrate_a_harvested_dl_product_to_byoc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                assert_valid: Valid) -> None:
    monkeypatch.setenv("DESCARTESLABS_TOKEN", jwt())
    out = tmp_path / "migration"
    with DescartesStandIn(catalog(), page_size=3) as dl:
        assert main(["migrate", "descartes", "byoc", "--product", LANDSAT, "--url", dl.metadata_url,
                     "--bucket", "s3://dl-migrated/landsat/", "--out-dir", str(out)]) == 0
    check_migration(out, 2, monkeypatch, assert_valid)  # the stand-in's Landsat has red and nir


def test_migrate_refuses_what_it_cannot_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "descartes", "descartes", "--from", *LANDSAT_FILES, "--out-dir", str(tmp_path)]) == 2
    assert "the same provider" in capsys.readouterr().err
    assert main(["migrate", "descartes", "byoc", "--out-dir", str(tmp_path)]) == 2
    assert "--product ID" in capsys.readouterr().err
    assert main(["migrate", "descartes", "byoc", "--from", *LANDSAT_FILES, "--bucket", "gs://x",
                 "--out-dir", str(tmp_path)]) == 2
    assert "expected s3://BUCKET/PREFIX" in capsys.readouterr().err
    # Without a bucket, BYOC has nowhere to read DL's files from: each record is refused, saying so.
    assert main(["migrate", "descartes", "byoc", "--from", *LANDSAT_FILES, "--out-dir", str(tmp_path)]) == 1
    assert "give --bucket s3://BUCKET/PREFIX" in capsys.readouterr().err


def test_prepare_leaves_a_providers_own_stac_alone_and_reads_buckets() -> None:
    made_by_byoc = {"type": "Feature", "id": "t", "properties": {"stac_bridge:source": "byoc/tile/2"}}
    assert for_byoc(made_by_byoc).stac == made_by_byoc and for_byoc(made_by_byoc).losses == []
    made_by_dl = {"type": "Collection", "id": "p", "stac_bridge:source": "descartes/product-v1/2"}
    assert for_descartes(made_by_dl).stac == made_by_dl
    assert parse_bucket("s3://b/a/c/") == parse_bucket("b/a/c")
    assert parse_bucket("s3://b").href("x.tif") == "s3://b/x.tif"
    assert parse_bucket("s3://b/p").href("x.tif") == "s3://b/p/x.tif"


def test_files_already_in_the_bucket_stay_where_they_are() -> None:
    from stac_bridge.transforms import byoc

    assets = {band: {"href": f"s3://bucket/tiles/T1_{band}.tif", "roles": ["data"]} for band in ("B02", "B03")}
    item = {"type": "Feature", "id": "T1", "geometry": None, "properties": {"datetime": "2024-01-01T00:00:00Z"},
            "assets": assets}
    prepared = for_byoc(item, parse_bucket("s3://bucket"))
    assert prepared.moves == [] and [a["href"] for a in prepared.stac["assets"].values()] == [
        a["href"] for a in assets.values()]
    assert byoc.stac_to_tile(prepared.stac)["path"] == "tiles/T1_(BAND).tif"
    assert [loss.field for loss in prepared.losses] == ["properties.proj:code"]
