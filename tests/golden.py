"""Golden files: expected outputs kept beside the fixtures, regenerated only on purpose.

A missing golden file fails like a different one, everywhere (a test must never pass by writing what it
expects). Regenerate them on purpose with ``scripts/regenerate-goldens.sh`` (it sets ``STAC_BRIDGE_REGENERATE=1``
for the tests that compare golden files), then review the diff before committing (``tests/README.md``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

#: Set to ``1`` to rewrite the golden files instead of comparing with them.
REGENERATE = "STAC_BRIDGE_REGENERATE"


def assert_golden(path: Path, actual: Any) -> None:
    """Compare ``actual`` (JSON-serialisable) with the golden file at ``path``; write it when regenerating.

    Raises:
        AssertionError: the golden file is missing or differs (and ``STAC_BRIDGE_REGENERATE`` is not ``1``).
    """
    text = json.dumps(actual, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get(REGENERATE) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    if not path.exists():
        raise AssertionError(f"golden file {path} is missing: run scripts/regenerate-goldens.sh, review and commit it")
    expected = json.loads(path.read_text())
    assert json.loads(text) == expected, f"output differs from the golden file {path} (scripts/regenerate-goldens.sh)"
