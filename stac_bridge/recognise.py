"""Say what a JSON record is by its shape: a provider's own record, or STAC (and whether stac-bridge made it).

The command line uses this to stop a user who skipped a step: ``load`` or ``validate`` given raw provider
records (``convert`` forgotten), ``convert`` given STAC (``export`` meant). It looks only at the record's keys,
never at the transforms' internals, so it stays right while those change: a record it is unsure of is
``None`` (the command then goes on and reports what fails, as before).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["Recognised", "recognise", "first_recognised", "is_stac"]

#: The field stac-bridge writes on everything it translates (in an item's properties, on a collection).
#: What the mapping kernel writes instead (``"capella/item/2"``): a normalised Capella item names it.
SOURCE: Final = "stac_bridge:source"

_DL_KINDS: Final = ("product", "band", "image")
#: Attributes only the v2 API has (v1 says ``product``, ``dtype``, ``name_vendor``, ``title``).
_DL_V2_ATTRIBUTES: Final = ("product_id", "data_type", "vendor_band_name", "is_core", "readers")
_OPENSEARCH_PRODUCT: Final = ("parentIdentifier", "acquisitionInformation", "productInformation")
_OPENSEARCH_COLLECTION: Final = ("abstract", "keyword", "categories")


@dataclass(frozen=True)
class Recognised:
    """What a record is.

    Attributes:
        provider: The adapter name that translates it, e.g. ``"byoc"``.
        kind: What it is in that provider's model, in words, e.g. ``"tile"``, ``"image (v2 API)"``.
    """

    provider: str
    kind: str

    def __str__(self) -> str:
        return f"{self.provider} {self.kind}"


def is_stac(record: Mapping[str, Any]) -> bool:
    """Whether a record is a STAC Item, Collection or Catalog (it names a ``stac_version``)."""
    return isinstance(record.get("stac_version"), str) and record.get("type") in ("Feature", "Collection", "Catalog")


def _provenance(record: Mapping[str, Any], key: str = SOURCE) -> Any:
    properties = record.get("properties")
    if isinstance(properties, Mapping) and key in properties:
        return properties[key]
    return record.get(key)


def recognise(record: Any) -> Recognised | None:
    """The provider record a JSON object is, or ``None`` for STAC that needs no conversion and the unknown.

    Raw Capella catalog items are STAC 1.0.0 with ``capella:`` fields: they are recognised as Capella's own
    until stac-bridge's provenance says they were normalised.

    Args:
        record: A JSON value as read from a file (an API's envelope, e.g. ``{"data": ...}``, is looked into).
    """
    if not isinstance(record, Mapping):
        return None
    if is_stac(record):
        return _raw_capella(record)
    envelope = record.get("data")
    if isinstance(envelope, list) and envelope:
        return recognise(envelope[0])
    if isinstance(envelope, Mapping):
        return recognise(envelope)
    kind = record.get("type")
    attributes = record.get("attributes")
    if kind in _DL_KINDS and isinstance(attributes, Mapping):
        form = "v2" if any(k in attributes for k in _DL_V2_ATTRIBUTES) else "v1"
        return Recognised("descartes", f"{kind} ({form} API)")
    if "s3Bucket" in record:
        return Recognised("byoc", "collection")
    if "tileGeometry" in record or ("coverGeometry" in record and "path" in record):
        return Recognised("byoc", "tile")
    properties = record.get("properties")
    if isinstance(properties, Mapping):
        if "taskingrequestId" in properties:
            return Recognised("capella", "tasking request")
        if "repeatrequestId" in properties:
            return Recognised("capella", "repeat request")
        if "product" in properties and ("acquired" in properties or "key" in properties):
            return Recognised("descartes", "image (v1 API)")
        # A collection's properties may hold acquisitionInformation too; only a product has a parent.
        if "parentIdentifier" not in properties and any(k in properties for k in _OPENSEARCH_COLLECTION):
            return Recognised("opensearch", "collection")
        if any(k in properties for k in _OPENSEARCH_PRODUCT):
            return Recognised("opensearch", "product")
    if "product" in record and any(k in record for k in ("srcfile", "jpx_layer", "name_vendor")):
        return Recognised("descartes", "band (v1 API)")
    if "product" in record and "acquired" in record:
        return Recognised("descartes", "image (v1 API)")
    return None


def _raw_capella(record: Mapping[str, Any]) -> Recognised | None:
    if _provenance(record) is not None or record.get("type") != "Feature":
        return None
    properties = record.get("properties")
    capella = isinstance(properties, Mapping) and any(str(k).startswith("capella:") for k in properties)
    if capella or str(record.get("id", "")).startswith("CAPELLA_"):
        return Recognised("capella", "catalog item")
    return None


def first_recognised(records: Iterable[Any], *, limit: int = 100) -> Recognised | None:
    """The first provider record among the first ``limit`` records, or ``None``."""
    for count, record in enumerate(records):
        if count >= limit:
            break
        found = recognise(record)
        if found is not None:
            return found
    return None
