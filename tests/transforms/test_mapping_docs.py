"""Each provider's docs page carries the mapping tables its transform module runs on."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from stac_bridge.transforms.kernel import docs_section

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("provider", ["byoc", "capella", "descartes", "opensearch"])
def test_docs_page_matches_the_tables(provider: str) -> None:
    tables = getattr(importlib.import_module(f"stac_bridge.transforms.{provider}"), "TABLES", None)
    if tables is None:
        pytest.skip(f"{provider} has no kernel tables yet")
    page = (ROOT / "docs" / "providers" / f"{provider}.md").read_text()
    assert docs_section(tables) in page, f"docs/providers/{provider}.md is stale: run scripts/mapping-docs.py"
