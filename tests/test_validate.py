"""Offline validation: valid objects pass, violations are named, a missing schema never reaches the network."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from stac_bridge.cli import main
from stac_bridge.errors import SchemaNotFoundError, ValidationError
from stac_bridge.validate import Validator, schema_urls
from tests.conftest import ROOT

ITEM = json.loads((ROOT / "examples" / "demo" / "stac" / "items.ndjson").read_text().splitlines()[0])
COLLECTION = json.loads((ROOT / "examples" / "demo" / "stac" / "collection.json").read_text())


def test_valid_item_and_collection(stac_validator: Validator) -> None:
    assert stac_validator.errors(ITEM) == []
    assert stac_validator.errors(COLLECTION) == []


def test_extension_violation_names_schema_and_path(stac_validator: Validator) -> None:
    item: dict[str, Any] = copy.deepcopy(ITEM)
    item["properties"]["eo:cloud_cover"] = 140
    with pytest.raises(ValidationError) as caught:
        stac_validator.validate(item)
    (problem,) = caught.value.errors
    assert problem.startswith("https://stac-extensions.github.io/eo/v2.0.0/schema.json at properties/eo:cloud_cover")
    assert "140" in problem and caught.value.object_id == ITEM["id"]


def test_core_violation(stac_validator: Validator) -> None:
    item = copy.deepcopy(ITEM)
    del item["properties"]["datetime"]
    assert any("item.json" in e for e in stac_validator.errors(item))


def test_unknown_schema_fails_with_the_url_offline(stac_validator: Validator) -> None:
    item = copy.deepcopy(ITEM)
    item["stac_extensions"] = ["https://example.com/not-stored/v9.9.9/schema.json"]
    with pytest.raises(SchemaNotFoundError, match="https://example.com/not-stored/v9.9.9/schema.json"):
        stac_validator.errors(item)


def test_schema_urls() -> None:
    assert schema_urls(ITEM) == [
        "https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/item.json",
        "https://stac-extensions.github.io/eo/v2.0.0/schema.json",
    ]
    with pytest.raises(ValidationError, match="type"):
        schema_urls({"type": "Thing", "stac_version": "1.1.0"})


def test_cli_validate(stac_validator: Validator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schemas = str(stac_validator.schema_dir)
    assert main(["validate", "--schemas", schemas, str(ROOT / "examples" / "demo" / "stac")]) == 0
    assert capsys.readouterr().out.strip() == "49 valid, 0 invalid"
    bad = copy.deepcopy(ITEM)
    bad["properties"]["eo:cloud_cover"] = -1
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert main(["validate", "--schemas", schemas, str(tmp_path / "bad.json")]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == "0 valid, 1 invalid" and "eo:cloud_cover" in err
