"""Golden files: expected outputs kept beside the fixtures, regenerated only on purpose.

Run ``STAC_BRIDGE_REGENERATE=1 pytest ...`` to rewrite them, then review the diff before committing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def assert_golden(path: Path, actual: Any) -> None:
    """Compare ``actual`` (JSON-serialisable) with the golden file at ``path``; write it when regenerating."""
    text = json.dumps(actual, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("STAC_BRIDGE_REGENERATE") == "1" or not path.exists():
        if os.environ.get("CI") and not path.exists():
            raise AssertionError(f"golden file {path} is missing; regenerate it locally and commit it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    expected = json.loads(path.read_text())
    assert json.loads(text) == expected, f"output differs from the golden file {path} (STAC_BRIDGE_REGENERATE=1)"
