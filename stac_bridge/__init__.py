"""stac-bridge: translate, harvest, load and serve non-STAC Earth-observation catalogs as one STAC catalog."""

from __future__ import annotations

from stac_bridge.registry import get_adapter, list_adapters

__version__ = "0.1.0"

__all__ = ["__version__", "get_adapter", "list_adapters"]
