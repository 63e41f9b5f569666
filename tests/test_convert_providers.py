"""``stac-bridge convert <provider>`` on recorded payloads with one broken record: the others are all written,
valid, and the broken one is set aside in the dead-letter file with the record id and the field at fault."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stac_bridge.cli import main
from tests.conftest import FIXTURES

Valid = Callable[[Any], dict[str, Any]]


def load(provider: str, name: str) -> Any:
    return json.loads((FIXTURES / provider / name).read_text())


@dataclass(frozen=True)
class Case:
    """Input files (in order), the record to break (file index, record index), how, and the field named."""

    provider: str
    files: list[list[dict[str, Any]]]
    broken: tuple[int, int]
    breaks: Callable[[dict[str, Any]], None]
    field: str


def _records(provider: str, name: str, key: str | None) -> list[dict[str, Any]]:
    document = load(provider, name)
    return list(document[key] if key else (document if isinstance(document, list) else [document]))


def _byoc() -> Case:
    tiles = _records("byoc", "tiles_page1.json", "data") + _records("byoc", "tiles_page2.json", "data")
    tiles.append(copy.deepcopy(tiles[0]) | {"id": "00000000-0000-4000-8000-0000000000ff"})
    return Case("byoc", [_records("byoc", "collections_page1.json", "data"), tiles], (1, 1),
                lambda r: r.update(sensingTime="the 3rd of May"), "sensingTime")


def _opensearch() -> Case:
    return Case("opensearch", [_records("opensearch", "collections.json", "features"),
                               _records("opensearch", "products_recorded_S2_TOC_V2.json", "features")], (1, 2),
                lambda r: r.update(geometry=None), "geometry")


def _capella() -> Case:
    items = [load("capella", "stac_item_GEO.json"), load("capella", "stac_item_SLC.json")]
    items.append(copy.deepcopy(items[0]) | {"id": "CAPELLA_C02_SP_GEO_HH_20201109060434_20201109060499"})
    return Case("capella", [items], (0, 1), lambda r: r["properties"].update(datetime=12), "datetime")


def _descartes() -> Case:
    images = _records("descartes", "v1_metadata_search_page1.json", None) + \
        _records("descartes", "v1_metadata_search_page2.json", None)
    images.append(copy.deepcopy(images[0]) | {"id": images[0]["id"] + "_copy"})
    return Case("descartes", [images], (0, 1), lambda r: r.update(geometry=None), "geometry")


CASES = [_byoc(), _opensearch(), _capella(), _descartes()]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.provider)
def test_convert_writes_every_good_record_and_dead_letters_the_broken_one(
    case: Case, tmp_path: Path, assert_valid: Valid
) -> None:
    files = copy.deepcopy(case.files)
    file_index, record_index = case.broken
    broken = files[file_index][record_index]
    case.breaks(broken)
    paths = []
    for number, records in enumerate(files):
        path = tmp_path / f"input-{number}.ndjson"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        paths.append(str(path))
    out, dead = tmp_path / "stac.ndjson", tmp_path / "dead.ndjson"

    assert main(["convert", case.provider, *paths, "--out", str(out), "--dead-letters", str(dead)]) == 1

    written = [json.loads(line) for line in out.read_text().splitlines()]
    inputs = sum(len(records) for records in files)
    assert len(written) == inputs - 1
    for stac in written:
        assert_valid(stac)
    (refused,) = [json.loads(line) for line in dead.read_text().splitlines()]
    assert refused["id"] == broken["id"]
    assert case.field in refused["error"] and case.provider in refused["error"]
    record = refused["record"]
    assert (record["data"] if "data" in record and "kind" in record else record) == broken
