"""The demo catalog, as the loader tests use it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from stac_bridge.pgstac.loader import PgstacLoader
from tests.conftest import ROOT

DEMO = ROOT / "examples" / "demo" / "stac"


def demo_items() -> list[dict[str, Any]]:
    """The demo catalog's items, parsed afresh."""
    return [json.loads(line) for line in (DEMO / "items.ndjson").read_text().splitlines()]


def demo_collection() -> dict[str, Any]:
    """The demo catalog's collection, parsed afresh."""
    return dict(json.loads((DEMO / "collection.json").read_text()))


@pytest.fixture()
def demo_loader(fresh_dsn: str) -> Iterator[PgstacLoader]:
    """A loader of batches of 10 into a fresh database holding the demo collection."""
    with PgstacLoader(fresh_dsn, batch_size=10) as instance:
        instance.load_collections([demo_collection()])
        yield instance
