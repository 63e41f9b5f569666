"""The built-in providers' declarations (:class:`stac_bridge.plugin.Provider`), one module each.

Each is registered under the entry-point group ``stac_bridge.providers`` in the package's ``pyproject.toml``,
exactly as a third party's provider is; a declaration imports its provider's modules only when asked for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["catalog_queryables"]


def catalog_queryables(*names: str) -> Mapping[str, Any]:
    """The JSON Schema of the catalog's queryables (``pgstac/queryables.json``) named ``names``."""
    from stac_bridge.pgstac.database import QUERYABLES_PATH

    schema: dict[str, Any] = json.loads(QUERYABLES_PATH.read_text())
    return {"type": "object", "properties": {n: schema["properties"][n] for n in names}}
