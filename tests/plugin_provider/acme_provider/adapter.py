"""Acme collections and scenes to STAC and back (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from stac_bridge.errors import TransformError
from stac_bridge.registry import AdapterBase, Kind, ProviderRecord

NAME: Final = "acme"
SCENE: Final = "scene"
VERSION: Final = 1
SOURCE: Final = "stac_bridge:source"


def _need(record: Mapping[str, Any], key: str, kind: type | tuple[type, ...], rid: str | None) -> Any:
    value = record.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TransformError(NAME, rid, key, f"is {value!r}, not what an Acme {SCENE} has")
    return value


class AcmeAdapter(AdapterBase):
    """Acme scenes (STAC Items) and collections (STAC Collections)."""

    name = NAME
    title = "Acme Imaging"

    def classify(self, raw: Mapping[str, Any]) -> ProviderRecord:
        """A scene (it has ``scene_id``) or a collection (``id`` and ``name``)."""
        if "scene_id" in raw:
            return ProviderRecord(SCENE, raw)
        if "id" in raw and "name" in raw:
            return ProviderRecord(Kind.COLLECTION, raw)
        raise TransformError(NAME, None, "scene_id", "is missing: neither an Acme scene nor a collection")

    def to_stac(self, record: ProviderRecord) -> dict[str, Any]:
        """The STAC Item of a scene, the STAC Collection of a collection."""
        data = record.data
        if record.kind == Kind.COLLECTION:
            cid = _need(data, "id", str, None)
            return {
                "type": "Collection", "stac_version": "1.1.0", "id": cid, "title": _need(data, "name", str, cid),
                "description": str(data.get("summary") or data["name"]), "license": str(data.get("license") or "other"),
                "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
                "links": [], SOURCE: f"{NAME}/collection/{VERSION}",
            }
        sid = _need(data, "scene_id", str, None)
        cid = _need(data, "collection", str, sid)
        bounds = _need(data, "bounds", list, sid)
        if len(bounds) != 4 or not all(isinstance(v, int | float) for v in bounds):
            raise TransformError(NAME, sid, "bounds", "must be [west, south, east, north]")
        west, south, east, north = bounds
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        return {
            "type": "Feature", "stac_version": "1.1.0",
            "stac_extensions": ["https://stac-extensions.github.io/eo/v2.0.0/schema.json"],
            "id": sid, "collection": cid,
            "geometry": {"type": "Polygon", "coordinates": [ring]}, "bbox": [west, south, east, north],
            "properties": {"datetime": _need(data, "captured_at", str, sid),
                           "eo:cloud_cover": _need(data, "cloud_pct", int, sid),
                           "acme:sensor": _need(data, "sensor", str, sid),
                           SOURCE: f"{NAME}/{SCENE}/{VERSION}"},
            "assets": {"preview": {"href": _need(data, "preview_url", str, sid), "type": "image/png",
                                   "roles": ["overview"]}},
            "links": [{"rel": "collection", "href": f"{cid}.json", "type": "application/json"}],
        }

    def from_stac(self, stac: Mapping[str, Any]) -> dict[str, Any]:
        """The Acme record of a STAC Item or Collection made by :meth:`to_stac`."""
        if stac.get("type") == "Collection":
            out = {"id": stac["id"], "name": stac.get("title") or stac["id"], "summary": stac.get("description")}
            return {**out, "license": stac.get("license")}
        props = stac.get("properties") or {}
        try:
            return {"scene_id": stac["id"], "collection": stac["collection"], "captured_at": props["datetime"],
                    "bounds": list(stac["bbox"]),
                    "cloud_pct": props["eo:cloud_cover"], "sensor": props["acme:sensor"],
                    "preview_url": stac["assets"]["preview"]["href"]}
        except (KeyError, TypeError) as exc:
            raise TransformError(NAME, str(stac.get("id")), str(exc), "is missing: not an Acme scene") from exc


ADAPTER: Final = AcmeAdapter()
