"""Rewrite the generated mapping tables of docs/providers/*.md from the transforms' tables (run on purpose)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from stac_bridge.transforms.kernel import replace_docs_section

ROOT = Path(__file__).resolve().parents[1]
PROVIDERS = ("byoc", "capella", "descartes", "opensearch")


def main() -> int:
    """Rewrite the pages named on the command line (all four by default)."""
    for name in sys.argv[1:] or PROVIDERS:
        module = importlib.import_module(f"stac_bridge.transforms.{name}")
        tables = getattr(module, "TABLES", None)
        if tables is None:
            print(f"{name}: no TABLES yet, page left as it is")
            continue
        page = ROOT / "docs" / "providers" / f"{name}.md"
        page.write_text(replace_docs_section(page.read_text(), tables))
        print(f"{name}: {page.relative_to(ROOT)} rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
