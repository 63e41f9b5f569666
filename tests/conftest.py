"""Shared fixtures: offline STAC validation, the throwaway pgstac database and the running API server."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pystac
import pytest

from stac_bridge.validate import Validator

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _schema_dir() -> Path | None:
    configured = os.environ.get("STAC_BRIDGE_TEST_SCHEMAS")
    candidates = [Path(configured)] if configured else []
    candidates.append(ROOT.parent / "shared" / "stac-schemas")
    for candidate in candidates:
        if (candidate / "index.json").is_file():
            return candidate
    return None


SCHEMA_DIR = _schema_dir()


@pytest.fixture(scope="session")
def stac_validator() -> Validator:
    """An offline validator over ../shared/stac-schemas; the test is skipped when the schemas are absent."""
    if SCHEMA_DIR is None:
        pytest.skip("the STAC schemas (../shared/stac-schemas) are not beside this checkout")
    return Validator(SCHEMA_DIR)


@pytest.fixture(scope="session")
def assert_valid(stac_validator: Validator) -> Callable[[Any], dict[str, Any]]:
    """Validate a STAC object (pystac object or dict) offline; return it as a dict. Fails naming each error."""

    def check(stac: Any) -> dict[str, Any]:
        if isinstance(stac, pystac.STACObject):
            as_dict = stac.to_dict(include_self_link=False, transform_hrefs=False)
        elif isinstance(stac, Mapping):
            as_dict = dict(stac)
        else:
            raise TypeError(f"not a STAC object: {type(stac).__name__}")
        problems = stac_validator.errors(as_dict)
        assert not problems, f"{as_dict.get('id')} is not valid STAC:\n" + "\n".join(problems)
        return as_dict

    return check
