"""The Descartes Labs adapter.

It classifies raw records, translates them (dicts on the hot path), links images to their product and bands, and
exports STAC as descarteslabs client calls.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from stac_bridge.errors import TransformError
from stac_bridge.registry import AdapterBase, ProviderRecord, RecordContext
from stac_bridge.transforms.descartes_forms import BAND, FEATURE, IMAGE, PRODUCT, PROVIDER, str_id, unwrap

log = logging.getLogger(__name__)

#: What :meth:`DescartesAdapter.link` reads: classified records, and raw ones it passes through.
_Raw = ProviderRecord | Mapping[str, Any]
#: One line of :meth:`DescartesAdapter.export_records`: ``{"call": "add_band", "kwargs": {...}}``.
CALL: Final = "call"
KWARGS: Final = "kwargs"
BANDS: Final = "bands"

_IMAGE_HINTS: Final = frozenset({"acquired", "geotrans", "cs_code", "files", "raster_size", "x_pixels"})
_BAND_HINTS: Final = frozenset({"dtype", "data_type", "srcband", "band_index", "data_range", "jpx_layer",
                                "jpx_layer_index", "wavelength_center", "wavelength_nm_center"})


class DescartesAdapter(AdapterBase):
    """DL Catalog products, bands and images (v1 and v2) under the :class:`~stac_bridge.registry.Adapter` API."""

    name = PROVIDER
    title = "Descartes Labs Catalog (v1 and v2)"

    def classify(self, raw: Mapping[str, Any]) -> ProviderRecord:
        """Say whether a raw record is a ``product``, a ``band`` or an ``image``.

        The JSON:API ``type`` decides when there is one; a metadata-search feature is an image; bare
        attributes are told apart by their fields.

        Raises:
            TransformError: the record is none of them.

        """
        wire = unwrap(raw, IMAGE)
        data = raw.get("data")
        resource = data if isinstance(data, Mapping) else raw
        declared = resource.get("type") if "attributes" in resource else None
        if declared in (PRODUCT, BAND, IMAGE):
            return ProviderRecord(str(declared), raw)
        if wire.form.shape == FEATURE or any(k in wire.attrs for k in _IMAGE_HINTS):
            return ProviderRecord(IMAGE, raw)
        if any(k in wire.attrs for k in _BAND_HINTS):
            return ProviderRecord(BAND, raw)
        if any(k in wire.attrs for k in ("title", "name", "description")):
            return ProviderRecord(PRODUCT, raw)
        raise TransformError(PROVIDER, wire.record_id, None, "is not a DL product, band or image")

    def to_stac(self, record: ProviderRecord) -> dict[str, Any]:
        """Translate a product (with ``context["bands"]``) or an image (``context["product"/"bands"]``).

        Raises:
            TransformError: the record cannot be translated, or it is a band (bands belong to their product's
                Collection: pass them in the product's ``context["bands"]``).

        """
        from stac_bridge.transforms import descartes

        if record.kind == IMAGE:
            return descartes.item_dict(record.data, record.context.get(PRODUCT), record.context.get(BANDS))
        if record.kind == PRODUCT:
            return descartes.collection_dict(record.data, record.context.get(BANDS) or [])
        raise TransformError(PROVIDER, record.id, None,
                             f"a {record.kind} has no STAC object of its own; pass bands with their product")

    def from_stac(self, stac: Mapping[str, Any]) -> dict[str, Any]:
        """Translate an Item to its DL image, or a Collection to its DL product (bands: :func:`stac_to_product`).

        Raises:
            TransformError: the object is neither an Item nor a Collection.

        """
        from stac_bridge.transforms import descartes

        if stac.get("type") == "Feature":
            return descartes.stac_to_image(stac)
        if stac.get("type") == "Collection":
            return descartes.stac_to_product(stac)[0]
        raise TransformError(PROVIDER, str_id(stac.get("id")), "type", "must be Feature or Collection")

    def export_records(self, stac: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The DL client calls that recreate a STAC object, one ``{"call", "kwargs"}`` dict per call.

        A Collection gives ``add_product`` then one ``add_band`` per band, an Item its ``add_image`` (its
        ``collection`` is the product id): the keyword arguments of :func:`stac_to_client_calls`, for
        ``getattr(catalog, line["call"])(**line["kwargs"])`` with descarteslabs 1.12.1's ``Catalog``.

        Raises:
            TransformError: the object is neither an Item with a collection nor a Collection, or a band lacks
                what ``add_band`` requires.

        """
        from stac_bridge.transforms.descartes_export import stac_to_client_calls

        if stac.get("type") == "Collection":
            calls = stac_to_client_calls(stac)
            return [{CALL: "add_product", KWARGS: calls["add_product"]},
                    *({CALL: "add_band", KWARGS: kwargs} for kwargs in calls["add_band"])]
        if stac.get("type") == "Feature":
            product_id = str_id(stac.get("collection"))
            if product_id is None:
                raise TransformError(PROVIDER, str_id(stac.get("id")), "collection",
                                     "is missing; add_image needs the product id")
            calls = stac_to_client_calls({"id": product_id}, [stac])
            return [{CALL: "add_image", KWARGS: kwargs} for kwargs in calls["add_image"]]
        raise TransformError(PROVIDER, str_id(stac.get("id")), "type", "must be Feature or Collection")

    def link(self, records: Iterable[_Raw]) -> Iterator[_Raw]:
        """Give products read from files their bands, and images their product and bands.

        Products and bands are held back until the next image (or the end); then each product is yielded with
        ``context["bands"]`` (the bands read for it), and each image with ``context["product"]`` and
        ``context["bands"]`` of its product (by its ``product``/``product_id``, or by its id's prefix). Bands
        are consumed, not yielded. So list products and bands before images. An image whose product was not
        read, and records that are not classified, pass through unchanged.
        """
        pending: dict[str, ProviderRecord] = {}
        products: dict[str, Mapping[str, Any]] = {}
        bands: dict[str, list[Mapping[str, Any]]] = {}

        def release() -> Iterator[ProviderRecord]:
            for product_id, record in pending.items():
                products[product_id] = record.data
                yield ProviderRecord(PRODUCT, record.data, {**record.context, BANDS: bands.get(product_id, [])})
            pending.clear()

        for record in records:
            if not isinstance(record, ProviderRecord) or record.kind not in (PRODUCT, BAND, IMAGE):
                yield record
                continue
            known = [*products, *pending]
            product_id = _product_of(record, known)
            if record.kind == PRODUCT and product_id is not None:
                pending[product_id] = record
            elif record.kind == BAND:
                if product_id is None and len(pending) == 1:
                    product_id = next(iter(pending))
                if product_id is None:
                    log.warning("band %s names no product read before it: left out", record.id)
                    continue
                if product_id in products:
                    log.warning("band %s comes after the Collection of %s was written: only its images list it",
                                record.id, product_id)
                bands.setdefault(product_id, []).append(record.data)
            else:
                yield from release()
                if record.kind == IMAGE and product_id in products and PRODUCT not in record.context:
                    context: RecordContext = {"product": products[product_id], "bands": bands.get(product_id, []),
                                              **record.context}
                    record = ProviderRecord(IMAGE, record.data, context)
                yield record
        yield from release()


def _product_of(record: ProviderRecord, known: Sequence[str]) -> str | None:
    """The product id of a product (its id), band or image (its ``product``/``product_id``, or its id's prefix)."""
    try:
        wire = unwrap(record.data, record.kind)
    except TransformError:
        return None
    own_id = wire.record_id or str_id(wire.attrs.get("id"))
    if record.kind == PRODUCT:
        return own_id
    named = str_id(wire.attrs.get("product")) or str_id(wire.attrs.get("product_id"))
    if named is not None:
        return named
    prefixed = [p for p in known if own_id is not None and own_id.startswith(p + ":")]
    return max(prefixed, key=len) if prefixed else None


ADAPTER: Final = DescartesAdapter()
