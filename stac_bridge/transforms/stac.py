"""The identity adapter: records that are STAC already (a STAC API's items and collections)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from stac_bridge.errors import TransformError
from stac_bridge.registry import AdapterBase, ProviderRecord
from stac_bridge.transforms._plain import copy_json

_KINDS: Final = {"Feature": "item", "Collection": "collection"}


class StacAdapter(AdapterBase):
    """Passes STAC Items and Collections through, checking only that they are what they claim to be."""

    name = "stac"
    title = "Any STAC API"

    def classify(self, raw: Mapping[str, Any]) -> ProviderRecord:
        """An Item (``type: Feature``) or a Collection (``type: Collection``)."""
        kind = _KINDS.get(str(raw.get("type")))
        if kind is None:
            raise TransformError(self.name, _id(raw), "type", f"is {raw.get('type')!r}, not Feature or Collection")
        return ProviderRecord(kind, raw)

    def to_stac(self, record: ProviderRecord) -> dict[str, Any]:
        """A copy of the record, with ``links`` present (pgstac refuses items without them)."""
        stac: dict[str, Any] = copy_json(dict(record.data))
        if not isinstance(stac.get("id"), str) or not stac["id"]:
            raise TransformError(self.name, None, "id", "is missing")
        if record.kind == "item" and not isinstance(stac.get("geometry"), Mapping | None):
            raise TransformError(self.name, stac["id"], "geometry", "must be a GeoJSON geometry or null")
        stac.setdefault("links", [])
        return stac

    def from_stac(self, stac: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of the STAC object."""
        copied: dict[str, Any] = copy_json(dict(stac))
        return copied


def _id(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("id")
    return str(value) if value is not None else None


ADAPTER: Final = StacAdapter()
