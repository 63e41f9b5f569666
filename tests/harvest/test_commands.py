"""``stac-bridge harvest``, ``convert`` and ``export`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stac_bridge.cli import main
from tests.harvest.standin import COLLECTION, StandIn, read_ndjson


def write_items(path: Path, standin: StandIn, count: int) -> list[dict[str, object]]:
    items = [standin.item(i) for i in range(count)]
    path.write_text("\n".join(json.dumps(i) for i in items) + "\n")
    return items


def test_harvest_writes_ndjson_and_prints_one_summary_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.ndjson"
    with StandIn(count=321) as standin:
        status = main(["harvest", "stac", "--url", standin.url, "--collection", COLLECTION, "--out", str(out),
                       "--state-dir", str(tmp_path / "state"), "--page-size", "40"])
    assert status == 0
    printed = capsys.readouterr()
    assert printed.out.strip().splitlines() == [printed.out.strip()]
    assert "321 records, 9 pages, 0 errors" in printed.out
    assert sum(1 for r in read_ndjson(out) if r["type"] == "Feature") == 321
    assert not (tmp_path / "out.dead-letters.ndjson").exists()


def test_harvest_needs_somewhere_to_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["harvest", "stac", "--url", "http://127.0.0.1:9", "--state-dir", str(tmp_path)]) == 2
    assert "--out" in capsys.readouterr().err


def test_convert_writes_good_records_and_dead_letters_bad_ones(tmp_path: Path) -> None:
    with StandIn() as standin:
        items = [standin.item(i) for i in range(3)]
    items[1]["type"] = "Nope"
    source = tmp_path / "page.json"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": items}, indent=2))
    out, dead = tmp_path / "stac.ndjson", tmp_path / "bad.ndjson"
    status = main(["convert", "stac", str(source), "--out", str(out), "--dead-letters", str(dead)])
    assert status == 1
    assert [r["id"] for r in read_ndjson(out)] == [items[0]["id"], items[2]["id"]]
    (refused,) = list(read_ndjson(dead))
    assert refused["id"] == items[1]["id"] and "Nope" in refused["error"] and refused["record"] == items[1]


def test_convert_and_export_stream_from_stdin_to_stdout(tmp_path: Path) -> None:
    with StandIn() as standin:
        items = write_items(tmp_path / "in.ndjson", standin, 5)
    converted = subprocess.run(
        [sys.executable, "-m", "stac_bridge.cli", "convert", "stac", "-"],
        input=(tmp_path / "in.ndjson").read_bytes(), capture_output=True, check=True, cwd=tmp_path,
    )
    exported = subprocess.run(
        [sys.executable, "-m", "stac_bridge.cli", "export", "stac", "-", "--out", "-"],
        input=converted.stdout, capture_output=True, check=True, cwd=tmp_path,
    )
    assert [json.loads(line) for line in exported.stdout.splitlines()] == items
    assert b"5 records" in exported.stderr


def test_convert_reads_several_files_in_order(tmp_path: Path) -> None:
    with StandIn() as standin:
        first = write_items(tmp_path / "a.ndjson", standin, 2)
        second = [standin.item(i) for i in range(10, 12)]
    (tmp_path / "b.json").write_text(json.dumps(second))
    out = tmp_path / "out.ndjson"
    assert main(["convert", "stac", str(tmp_path / "a.ndjson"), str(tmp_path / "b.json"), "--out", str(out)]) == 0
    assert [r["id"] for r in read_ndjson(out)] == [r["id"] for r in first + second]


def test_convert_names_a_file_that_is_not_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"type": "Feature"}\n{oops\n')
    assert main(["convert", "stac", str(bad), "--out", str(tmp_path / "out.ndjson")]) == 2
    assert f"{bad}:2 is not JSON" in capsys.readouterr().err


def test_source_options_are_json_values_or_text() -> None:
    from stac_bridge.cli import build_parser

    args = build_parser().parse_args(["harvest", "descartes", "--option", "max_cloud_cover=20", "--option", "api=v1",
                                      "--option", 'filter={"op": "<=", "args": [{"property": "eo:cloud_cover"}, 5]}',
                                      "--out", "-"])
    assert args.option == [("max_cloud_cover", 20), ("api", "v1"),
                           ("filter", {"op": "<=", "args": [{"property": "eo:cloud_cover"}, 5]})]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["harvest", "byoc", "--option", "no-equals-sign"])


def test_a_negative_bbox_needs_no_equals_sign(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from stac_bridge.cli import _glue_negative_values

    assert _glue_negative_values(["harvest", "stac", "--bbox", "-97,38,-91,44", "--out", "-"]) == \
        ["harvest", "stac", "--bbox=-97,38,-91,44", "--out", "-"]
    with StandIn(count=30) as standin:
        status = main(["harvest", "stac", "--url", standin.url, "--collection", COLLECTION, "--bbox", "-180,-90,180,90",
                       "--out", str(tmp_path / "out.ndjson"), "--state-dir", str(tmp_path / "state")])
    assert status == 0 and "30 records" in capsys.readouterr().out
