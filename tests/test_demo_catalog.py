"""The demo catalog as users see it: curated STAC with few vendor fields and nothing GIS tools cannot store.

Each provider's demo records are converted as ``make demo`` converts them (``stac-bridge convert``); what the API
serves is the same minus the ledger, which the loader keeps out of sight.
"""

from __future__ import annotations

import importlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from stac_bridge.cli import main
from stac_bridge.transforms.kernel import EXTENSION_SCHEMAS, LEDGER, SOURCE
from tests.conftest import ROOT

PROVIDERS = ("byoc", "capella", "descartes", "opensearch")
DEMO = ROOT / "examples" / "demo"
#: Prefixes of STAC's own and its extensions' fields; any other prefix is a vendor's (or ours).
STAC_PREFIXES = frozenset(EXTENSION_SCHEMAS) | {"card4l", "mgrs", "storage", "order", "pl", "ml", "table"}
#: Members of a Collection whose values are objects by the STAC specification.
COLLECTION_OBJECTS = frozenset({"extent", "summaries", "item_assets", "assets", "providers", "links"})


def ported(provider: str) -> bool:
    return hasattr(importlib.import_module(f"stac_bridge.transforms.{provider}"), "TABLES")


def converted(provider: str, tmp: Path) -> list[dict[str, Any]]:
    out = tmp / f"{provider}.ndjson"
    files = sorted(str(p) for p in (DEMO / "providers" / provider).glob("*.json"))
    assert main(["convert", provider, *files, "--out", str(out), "--dead-letters", str(tmp / "dead.ndjson")]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def vendor(key: str) -> bool:
    prefix, colon, _ = key.partition(":")
    return bool(colon) and prefix not in STAC_PREFIXES


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("demo")
    objects = {p: converted(p, tmp) for p in PROVIDERS if ported(p)}
    objects["stac"] = [json.loads(line) for line in (DEMO / "stac" / "items.ndjson").read_text().splitlines()]
    return objects


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_property_is_an_object(provider: str, catalog: dict[str, list[dict[str, Any]]]) -> None:
    if provider not in catalog:
        pytest.skip(f"{provider} is not on the mapping kernel yet")
    for stac in catalog[provider]:
        fields = stac["properties"] if stac["type"] == "Feature" else {
            k: v for k, v in stac.items() if k not in COLLECTION_OBJECTS and k != LEDGER
        }
        nested = sorted(k for k, v in fields.items() if isinstance(v, dict))
        assert not nested, f"{stac['id']}: {nested} are objects, which QGIS cannot write to a GeoPackage"


def served(stac: dict[str, Any]) -> dict[str, Any]:
    """An item's properties as the API serves them: the loader keeps the provenance tag out of sight."""
    return {k: v for k, v in stac["properties"].items() if k != SOURCE}


def test_vendor_share_of_item_properties(catalog: dict[str, list[dict[str, Any]]]) -> None:
    if set(catalog) != {*PROVIDERS, "stac"}:
        pytest.skip("not every provider is on the mapping kernel yet")
    counts: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for provider, objects in catalog.items():
        for stac in objects:
            # Every Item the demo serves, tasking requests too (their constraints and order lines have no STAC
            # home, and stay visible: see below).
            if stac["type"] == "Feature":
                properties = served(stac)
                totals[provider] += len(properties)
                counts[provider] += sum(vendor(k) for k in properties)
    share = sum(counts.values()) / sum(totals.values())
    report = ", ".join(f"{p} {counts[p] / totals[p]:.0%}" for p in sorted(totals))
    assert share <= 0.15, f"{share:.2%} of the demo items' properties are vendor-prefixed ({report})"


def test_tasking_requests_keep_their_constraints_visible(catalog: dict[str, list[dict[str, Any]]]) -> None:
    if "capella" not in catalog:
        pytest.skip("capella is not on the mapping kernel yet")
    requests = [s for s in catalog["capella"] if s.get("collection") == "capella-tasking"]
    assert requests
    for stac in requests:
        properties = served(stac)
        # What has a STAC home is there; the constraints a user reads stay visible, flat, under capella:.
        assert {"start_datetime", "end_datetime", "title"} <= set(properties)
        assert any(k.startswith("capella:collectConstraints.") for k in properties)
