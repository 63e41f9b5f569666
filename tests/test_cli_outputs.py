"""Issue 13: the command line never loses a user's work, refuses what it cannot use, and says what to do.

Outputs written atomically and appended to by incremental harvests; provider records refused by ``load`` and
``validate``, STAC refused by ``convert``; repeated refusals reported once; dead letters never in the current
directory; argument values checked; offline validation with the shipped schemas; help and summaries.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stac_bridge.cli import _progress_updater, build_parser, main
from stac_bridge.harvest.engine import Progress
from stac_bridge.pgstac.loader import read_stac
from stac_bridge.recognise import recognise
from stac_bridge.validate import SHIPPED_SCHEMAS
from tests.conftest import FIXTURES, ROOT
from tests.harvest.standin import COLLECTION, StandIn, read_ndjson

PROVIDERS = ROOT / "examples" / "demo" / "providers"
DEMO_STAC = ROOT / "examples" / "demo" / "stac"
CLI = [sys.executable, "-m", "stac_bridge.cli"]


def cli(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("STAC_BRIDGE_DATABASE_URL", "PGHOST", "PGDATABASE")}
    environment.update(env)
    environment["PYTHONPATH"] = str(ROOT)
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=environment, cwd=cwd, timeout=180)


def lines(path: Path) -> int:
    return sum(1 for _ in read_ndjson(path))


# --- 1. outputs are atomic; an incremental harvest appends -------------------------------------------------

def harvest(standin: StandIn, tmp_path: Path, out: Path, *extra: str) -> int:
    return main(["harvest", "stac", "--url", standin.url, "--collection", COLLECTION, "--out", str(out),
                 "--state-dir", str(tmp_path / "state"), "--page-size", "50", *extra])


def test_second_incremental_harvest_appends_instead_of_truncating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import datetime as dt

    out = tmp_path / "f.ndjson"
    with StandIn(count=49) as standin:
        assert harvest(standin, tmp_path, out) == 0
        assert lines(out) == 50  # the collection, then 49 items
        capsys.readouterr()
        assert harvest(standin, tmp_path, out) == 0
        err = capsys.readouterr().err
        assert f"appending to {out}" in err and "--full" in err
        assert lines(out) == 50  # nothing changed: nothing added, the unchanged collection not written again
        standin.touch([3, 4], dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
        assert harvest(standin, tmp_path, out) == 0
        assert [r["id"] for r in read_ndjson(out)][50:] == [standin.item(3)["id"], standin.item(4)["id"]]
        assert harvest(standin, tmp_path, out, "--full") == 0
        assert lines(out) == 50  # --full replaces the file
    assert not out.with_name("f.ndjson.partial").exists()


def test_failed_harvest_leaves_the_earlier_file_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "f.ndjson"
    out.write_text('{"id": "precious"}\n')
    status = main(["harvest", "stac", "--url", "http://127.0.0.1:9", "--out", str(out), "--retries", "0",
                   "--state-dir", str(tmp_path / "state")])
    assert status == 2
    assert out.read_text() == '{"id": "precious"}\n'
    assert "--resume" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["convert", "export"])
def test_failed_convert_or_export_leaves_the_earlier_file_alone(command: str, tmp_path: Path) -> None:
    out = tmp_path / "keep.ndjson"
    out.write_text('{"id": "precious"}\n')
    result = cli(command, "stac", str(tmp_path / "missing.json"), "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.strip() == f"stac-bridge: cannot read {tmp_path / 'missing.json'}: " \
        f"[Errno 2] No such file or directory: '{tmp_path / 'missing.json'}'"
    assert out.read_text() == '{"id": "precious"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.ndjson"]


def test_convert_replaces_the_file_when_it_succeeds(tmp_path: Path) -> None:
    out = tmp_path / "byoc.ndjson"
    out.write_text("old\n")
    assert main(["convert", "byoc", str(PROVIDERS / "byoc" / "3-pacific-collection.json"),
                 str(PROVIDERS / "byoc" / "4-pacific-tiles.json"), "--out", str(out)]) == 0
    assert lines(out) == 6


# --- 2. raw provider records refused by load and validate; STAC refused by convert ---------------------------

@pytest.mark.parametrize(("path", "says"), [
    ("byoc/2-slovenia-tiles.json", "this is a byoc tile: run `stac-bridge convert byoc` first"),
    ("byoc/1-slovenia-collection.json", "this is a byoc collection: run `stac-bridge convert byoc` first"),
    ("capella/2-catalog-search-page.json", "this is a capella catalog item: run `stac-bridge convert capella` first"),
    ("capella/3-tasking-requests.json", "this is a capella tasking request: run `stac-bridge convert capella`"),
    ("descartes/1-landsat-product.json", "this is a descartes product (v2 API): run `stac-bridge convert descartes`"),
    ("descartes/5-user-bands.json", "this is a descartes band (v1 API): run `stac-bridge convert descartes` first"),
    ("descartes/6-user-images.json", "this is a descartes image (v1 API): run `stac-bridge convert descartes`"),
    ("opensearch/2-products-S2_TOC_V2.json", "this is a opensearch product: run `stac-bridge convert opensearch`"),
])
@pytest.mark.parametrize("command", ["load", "validate"])
def test_load_and_validate_refuse_raw_provider_records(command: str, path: str, says: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # Refused before any database is looked for: nothing is loaded, whatever the database.
    assert main([command, str(PROVIDERS / path)]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


def test_load_refuses_a_directory_of_provider_records_in_one_line(tmp_path: Path) -> None:
    result = cli("load", str(PROVIDERS), STAC_BRIDGE_HOME=str(tmp_path / "none"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "run `stac-bridge convert byoc` first" in result.stderr
    assert "more files of provider records" in result.stderr and "Traceback" not in result.stderr


def test_recognise_knows_every_recorded_payload_and_never_stac_bridge_output() -> None:
    for provider in ("byoc", "capella", "descartes", "opensearch"):
        for path in sorted((FIXTURES / provider).glob("*.json")):
            found = {recognise(o) for o in read_stac([path])} - {None}
            assert all(f.provider == provider for f in found), path
    outputs = [*sorted(FIXTURES.glob("*/expected/**/*.json")), DEMO_STAC]
    assert outputs
    for path in outputs:
        assert {recognise(o) for o in read_stac([path])} <= {None}, path


def test_converted_capella_items_load_and_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "capella.ndjson"
    assert main(["convert", "capella", *map(str, sorted((PROVIDERS / "capella").glob("*.json"))),
                 "--out", str(out)]) == 0
    assert main(["validate", str(out)]) == 0
    assert re.search(r"^\d+ valid, 0 invalid$", capsys.readouterr().out, re.M)


def test_convert_refuses_stac_input_and_names_export(tmp_path: Path) -> None:
    result = cli("convert", "byoc", str(DEMO_STAC / "items.ndjson"), "--out", str(tmp_path / "o.ndjson"))
    assert result.returncode == 2
    assert "did you mean `stac-bridge export byoc" in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "o.ndjson").exists()


def test_convert_reports_a_repeated_problem_once_with_a_count(tmp_path: Path) -> None:
    # Tiles before their collection: every tile lacks it, for one reason, said once.
    result = cli("convert", "byoc", str(PROVIDERS / "byoc" / "4-pacific-tiles.json"),
                 str(PROVIDERS / "byoc" / "3-pacific-collection.json"), "--out", str(tmp_path / "o.ndjson"))
    assert result.returncode == 1
    refused = [line for line in result.stderr.splitlines() if "refused:" in line]
    assert len(refused) == 1, result.stderr
    assert refused[0].startswith("5 records refused: ") and "context.collection" in refused[0]
    assert "list the collection" in refused[0]
    assert "WARNING" not in result.stderr
    assert lines(tmp_path / "o.dead-letters.ndjson") == 5


def test_dead_letters_of_stdout_output_go_to_the_project_not_the_current_directory(tmp_path: Path) -> None:
    cwd = tmp_path / "checkout"
    cwd.mkdir()
    home = tmp_path / "project" / ".stac-bridge"
    result = cli("convert", "byoc", str(PROVIDERS / "byoc" / "4-pacific-tiles.json"), cwd=cwd,
                 STAC_BRIDGE_HOME=str(home))
    assert result.returncode == 1
    assert list(cwd.iterdir()) == []
    dead = home / "dead-letters" / "convert-byoc.ndjson"
    assert lines(dead) == 5 and str(dead) in result.stderr


@pytest.mark.parametrize("argv", [
    ["load", "--batch-size", "0", "x.json"],
    ["load", "--batch-size", "-5", "x.json"],
    ["harvest", "stac", "--out", "-", "--concurrency", "0"],
    ["harvest", "stac", "--out", "-", "--batch-size", "0"],
    ["harvest", "stac", "--out", "-", "--workers", "0"],
    ["harvest", "stac", "--out", "-", "--timeout", "0"],
])
def test_argument_values_are_checked_by_argparse(argv: list[str]) -> None:
    result = cli(*argv)
    assert result.returncode == 2
    assert "error: argument" in result.stderr and "Traceback" not in result.stderr


# --- 4. offline validation out of the box ----------------------------------------------------------------

def test_validate_works_offline_without_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DEMO_STAC)]) == 0
    assert capsys.readouterr().out.strip() == "49 valid, 0 invalid"


def test_a_schema_not_shipped_is_one_line_naming_its_url(tmp_path: Path) -> None:
    item = json.loads((DEMO_STAC / "items.ndjson").read_text().splitlines()[0])
    item["stac_extensions"] = ["https://example.com/not-shipped/v9.9.9/schema.json"]
    (tmp_path / "item.json").write_text(json.dumps(item))
    result = cli("validate", str(tmp_path / "item.json"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("stac-bridge: schema https://example.com/not-shipped/v9.9.9/schema.json is not")
    assert "--schemas" in result.stderr


def test_schemas_adds_a_directory_to_the_shipped_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = "https://example.com/mine/v1.0.0/schema.json"
    (tmp_path / "mine.json").write_text(json.dumps({"$schema": "http://json-schema.org/draft-07/schema#",
                                                    "type": "object", "required": ["id"]}))
    (tmp_path / "index.json").write_text(json.dumps({url: "mine.json"}))
    item = json.loads((DEMO_STAC / "items.ndjson").read_text().splitlines()[0])
    item["stac_extensions"].append(url)
    (tmp_path / "item.json").write_text(json.dumps(item))
    assert main(["validate", "--schemas", str(tmp_path), str(tmp_path / "item.json")]) == 0
    assert capsys.readouterr().out.strip() == "1 valid, 0 invalid"


def test_the_shipped_schemas_cover_every_extension_the_package_names() -> None:
    index = json.loads((SHIPPED_SCHEMAS / "index.json").read_text())
    named = set()
    # What the code names, and what its outputs declare (the golden files, the demo catalog).
    sources = [*(ROOT / "stac_bridge").rglob("*.py"), *FIXTURES.glob("*/expected/**/*.json"),
               *(ROOT / "examples").rglob("*.json"), *(ROOT / "examples").rglob("*.ndjson")]
    for path in sources:
        named |= set(re.findall(r"https://stac-extensions\.github\.io/[a-z-]+/v[\w.-]+/schema\.json", path.read_text()))
    assert named and named <= set(index), named - set(index)
    assert all((SHIPPED_SCHEMAS / relative).is_file() for relative in index.values())
    size = sum(p.stat().st_size for p in SHIPPED_SCHEMAS.rglob("*.json"))
    assert size < 1_000_000
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"schemas/**/*.json"' in pyproject


# --- 5. summaries and progress ---------------------------------------------------------------------------

def test_progress_bar_shows_the_total_and_an_eta() -> None:
    from tqdm import tqdm

    stream = io.StringIO()
    with tqdm(total=None, file=stream, unit="records", desc="harvest stac", mininterval=0) as bar:
        update = _progress_updater(bar)
        update(Progress(records=50, pages=1, errors=0, total=200, seconds=1.0))
        update(Progress(records=100, pages=2, errors=0, total=200, seconds=2.0))
        shown = str(bar)
    assert bar.total == 200
    assert "100/200" in shown and "<" in shown  # tqdm's "elapsed<remaining"


def test_every_summary_line_names_the_command_and_provider(tmp_path: Path) -> None:
    for provider in ("byoc", "capella", "descartes", "opensearch"):
        inputs = [str(p) for p in sorted((PROVIDERS / provider).glob("*.json"))]
        result = cli("convert", provider, *inputs, "--out", str(tmp_path / f"{provider}.ndjson"))
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"convert {provider}: "), result.stdout
    with StandIn(count=5) as standin:
        result = cli("harvest", "stac", "--url", standin.url, "--out", str(tmp_path / "h.ndjson"),
                     "--state-dir", str(tmp_path / "state"))
    assert result.returncode == 0 and result.stdout.startswith("harvest stac: 5 records"), result.stderr


# --- 6. help ------------------------------------------------------------------------------------------------

def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_option_has_help_and_its_default() -> None:
    for name, sub in _subparsers(build_parser()).items():
        text = sub.format_help()
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.dest} has no help"
            if action.default not in (None, False, [], argparse.SUPPRESS) and action.option_strings:
                assert f"(default: {action.default})" in " ".join(text.split()), f"{name} {action.dest}"


def test_help_lists_the_providers_and_the_served_endpoints() -> None:
    subs = _subparsers(build_parser())
    for command in ("convert", "export", "harvest"):
        text = subs[command].format_help()
        assert all(p in text for p in ("byoc", "capella", "descartes", "opensearch", "stac")), command
    serve = " ".join(subs["serve"].format_help().split())
    assert "/opensearch/" in serve and "/capella/" in serve and "pip install 'stac-bridge[server]'" in serve
    db = subs["db"].format_help()
    assert all(word in db for word in ("up:", "down:", "status:", "url:", "destroy:"))


def test_docs_state_the_exit_codes_the_code_uses() -> None:
    from stac_bridge import cli as module

    doc = (ROOT / "docs" / "cli.md").read_text()
    for code in (module.EXIT_OK, module.EXIT_FAILED_RECORDS, module.EXIT_ERROR, module.EXIT_NOT_RUNNING,
                 module.EXIT_INTERRUPTED):
        assert f"| {code} |" in doc


def test_the_package_metadata_has_an_spdx_license_and_make_demo_installs_only_the_server_extra() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"
    makefile = (ROOT / "Makefile").read_text()
    demo = makefile.split("\ndemo:")[1].split("\n\n")[0]
    assert "serve-setup" in demo and "setup db-up" not in demo
    assert '-e ".[server]"' in makefile
    assert "db down" in (ROOT / "scripts" / "run-tests.sh").read_text()


def test_a_validate_without_schemas_makes_no_request(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("validation reached for the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    item = copy.deepcopy(json.loads((DEMO_STAC / "collection.json").read_text()))
    from stac_bridge.validate import Validator

    assert Validator().errors(item) == []


def test_export_refuses_provider_records_and_names_convert(tmp_path: Path) -> None:
    tiles = PROVIDERS / "byoc" / "4-pacific-tiles.json"
    result = cli("export", "byoc", str(tiles), "--out", str(tmp_path / "o.ndjson"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert f"this is a byoc tile, not STAC: did you mean `stac-bridge convert byoc {tiles}`?" in result.stderr
    assert not (tmp_path / "o.ndjson").exists()


def _stub(path: Path, body: str) -> None:
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)


@pytest.mark.parametrize("running_before", [False, True])
def test_make_test_stops_the_cluster_it_started_and_only_that(tmp_path: Path, running_before: bool) -> None:
    # Stand-ins for the venv's commands: the cluster "runs" while the flag file exists; pytest brings it up.
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    flag, calls = tmp_path / "running", tmp_path / "calls"
    _stub(bin_dir / "stac-bridge", f'echo "$*" >> {calls}\n'
          f'case "$2" in status) [ -e {flag} ] || exit 3;; down) rm -f {flag};; esac\n')
    _stub(bin_dir / "pytest", f"touch {flag}\n")
    _stub(bin_dir / "ruff", "exit 0\n")
    _stub(bin_dir / "mypy", "exit 0\n")
    if running_before:
        flag.touch()
    result = subprocess.run(["bash", str(ROOT / "scripts" / "run-tests.sh")], capture_output=True, text=True,
                            env={**os.environ, "VENV": str(tmp_path / "venv")}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert flag.exists() == running_before
    assert ("db down" in calls.read_text()) == (not running_before)


def test_load_counts_the_items_of_ndjson_inputs_for_its_bar(tmp_path: Path) -> None:
    from stac_bridge.cli import _count_items

    mixed = tmp_path / "mixed.ndjson"
    mixed.write_text((DEMO_STAC / "collection.json").read_text().replace("\n", "") + "\n"
                     + (DEMO_STAC / "items.ndjson").read_text())
    assert _count_items([str(mixed)]) == 48
    assert _count_items([str(DEMO_STAC)]) is None  # collection.json is a document: not counted
