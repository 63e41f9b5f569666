"""Descartes Labs Catalog <-> STAC: a product and its bands as a Collection, an image as an Item.

Inputs are accepted in every form the DL APIs have sent them (:mod:`.descartes_forms`: v1 and v2 JSON:API
documents and resources, bare attributes, v1 metadata-search features, v1 ``products/search`` entries). The
mapping is data: the tables of :mod:`.descartes_images`, :mod:`.descartes_bands` and the product tables below
(``TABLES``, rendered in ``docs/providers/descartes.md``), plus the few functions that are DL's own (the
geotransform, the raster size, the CRS, the files).

What STAC shows: standard fields where STAC has a home; the DL fields without one, under ``dl:``, on the
Collection (products) and on the Item's ``metadata`` asset, the DL record itself (images), so that Item
properties stay standard. Bookkeeping: ``stac_bridge:source`` (``descartes/image-v2/2``: the record's kind and
form), one ``via`` link to the record at the DL API, and the ``stac_bridge:ledger`` member only when the
record has something the tables cannot rebuild (an unusual spelling, a missing usual field).

Everything here is pure: no network, no files, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import pystac
from pystac.extensions.projection import SHAPE_PROP, TRANSFORM_PROP

from stac_bridge.errors import TransformError
from stac_bridge.transforms._common import copy_json
from stac_bridge.transforms.descartes_bands import (
    BAND_V1,
    BAND_V2,
    PREFIX,
    note_rebuilt,
    product_context,
    split_plain,
)
from stac_bridge.transforms.descartes_forms import (
    ATTRIBUTES,
    DOCUMENT,
    FEATURE,
    IMAGE,
    META,
    META_PREFIX,
        PROVIDER,
    STAC_VERSION,
    TRANSFORM_VERSION,
    V1,
    Form,
    api_url,
    as_dict,
    envelope,
    forms_of,
    note_envelope,
    str_id,
    unwrap,
    via_link,
)
from stac_bridge.transforms.descartes_images import (
    IMAGE_V1,
    IMAGE_V2,
    assets_to_files_v1,
    assets_to_files_v2,
    crs_from_stac,
    crs_to_stac,
    files_v1_to_assets,
    files_v2_to_assets,
    geometry,
    geotrans_to_transform,
    prepare_image,
    raster_size_to_shape,
    shape_to_raster_size,
    transform_to_geotrans,
)
from stac_bridge.transforms.descartes_images import TABLES as IMAGE_TABLES
from stac_bridge.transforms.descartes_products import (
    PRODUCT_V1,
    PRODUCT_V2,
    collection_dict,
    stac_to_product,
)
from stac_bridge.transforms.kernel import SOURCE, Ledger, Reader, schemas_of, source_tag

__all__ = [
    "ADAPTER",
    "TABLES",
    "TRANSFORM_VERSION",
    "DescartesAdapter",
    "api_url",
    "collection_dict",
    "image_to_stac",
    "item_dict",
    "product_to_stac",
    "stac_to_client_calls",
    "stac_to_image",
    "stac_to_product",
]

METADATA_ASSET: Final = "metadata"

TABLES: Final = (PRODUCT_V1, PRODUCT_V2, BAND_V1, BAND_V2, IMAGE_V1, IMAGE_V2, META)


def product_to_stac(product: Mapping[str, Any], bands: Sequence[Mapping[str, Any]]) -> pystac.Collection:
    """Translate a DL product and its bands to a STAC Collection.

    Args:
        product: The product as the API sends it: a v1 JSON:API document, its bare attributes, a v1
            ``products/search`` entry (the id keyed as ``product``), or a v2 document or resource. The id keeps
            its namespace (``landsat:LC08:PRE:TOAR``).
        bands: The product's bands, all in one form (any of the band forms).

    Returns:
        A STAC 1.1.0 Collection: ``title``/``name``, ``description``, ``tags`` as ``keywords``, the time span as
        ``extent.temporal`` (v1 ``2/1/2013`` and ``present`` read), ``sensor``/``processing_level``/
        ``resolution`` as summaries, every band in ``summaries.bands`` (nm -> um, GDAL -> STAC data types,
        ``raster:scale``/``offset``) and per file in ``item_assets``; DL hosts and processes (``providers``);
        DL gives no licence terms (``other``). The rest stays visible under ``dl:``.

    Raises:
        TransformError: the product has no id, a band has no name, the bands mix forms, a date cannot be read or
            a field has the wrong JSON type; the error names the record and the field's full path.
    """
    return pystac.Collection.from_dict(collection_dict(product, bands), preserve_dict=False, migrate=False)


# --- images <-> Items -------------------------------------------------------------------------------------

def _image_id(attrs: Mapping[str, Any], record_id: str | None, form: Form, reader: Reader) -> str:
    if record_id:
        return record_id
    if str_id(attrs.get("id")):
        return str(attrs["id"])
    product_field, name_field = ("product", "key") if form.version == V1 else ("product_id", "name")
    product_id, name = str_id(attrs.get(product_field)), str_id(attrs.get(name_field))
    if product_id and name:
        return f"{product_id}:{name}"
    raise reader.error("id", f"is missing, and so is {product_field} + {name_field} to make it from")


_V1_FILES: Final = ("files", "file_sizes", "file_md5s", "bucket", "directory")
_IMAGE_OWN: Final = frozenset({"id", "product", "product_id", "geometry", "cs_code", "proj4", "projcs", "geotrans",
                               "raster_size", "x_pixels", "y_pixels", *_V1_FILES})
_IMAGE_MAPPED: Final = {version: frozenset(f.source for f in table.fields) for version, table in IMAGE_TABLES.items()}


def item_dict(image: Mapping[str, Any], product: Mapping[str, Any] | None = None,
              bands: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """:func:`image_to_stac` as a plain dict (the adapter's hot path: no pystac objects)."""
    unwrapped = unwrap(image, IMAGE)
    form, attrs = unwrapped.form, unwrapped.attrs
    version = form.version
    item_id = _image_id(attrs, unwrapped.record_id, form, Reader(PROVIDER, attrs, at=form.at))
    reader = Reader(PROVIDER, attrs, record_id=item_id, at=form.at)
    context = product_context(product, bands) if product is not None or bands else None
    product_field = "product" if version == V1 else "product_id"
    collection_id = str_id(attrs.get(product_field)) or (context.product_id if context else None)
    reader.require("acquired", str)
    ledger = Ledger()
    usable, moved = prepare_image(attrs)
    usable, plain = split_plain(usable, _IMAGE_MAPPED[version], _IMAGE_OWN, reader, ledger)
    fields = IMAGE_TABLES[version].encode(Reader(PROVIDER, usable, record_id=item_id, at=form.at), ledger)
    vendor = {**plain, **moved}
    if form.shape == FEATURE:
        footprint, bbox = geometry(reader, image.get("geometry"), "geometry", ledger)
    else:
        footprint, bbox = geometry(reader, reader.require("geometry"), reader.path("geometry"), ledger)
    properties: dict[str, Any] = {}
    crs_to_stac(reader, attrs, properties, ledger)
    transform = geotrans_to_transform(reader)
    if transform is not None:  # a reordering: the way back is exact
        properties[TRANSFORM_PROP] = transform
    shape = raster_size_to_shape(reader, version)
    if shape is not None:  # a swap: exact too; a lone x_pixels or y_pixels stays under dl:
        properties[SHAPE_PROP] = shape
    elif version != V1:
        fields.update({PREFIX + n: attrs[n] for n in ("x_pixels", "y_pixels") if n in attrs})
    assets = _data_assets(reader, version, ledger)
    usual_ids = {product_field: collection_id} if collection_id else {}
    if version == V1 and form.shape == ATTRIBUTES:
        usual_ids["id"] = item_id
    note_rebuilt(attrs, usual_ids, ("id", product_field), form.at, ledger)
    if form.shape == DOCUMENT and isinstance(image["data"].get("meta"), Mapping):
        fields.update(META.encode(Reader(PROVIDER, image["data"]["meta"], record_id=item_id, at="data.meta"),
                                  ledger))
    if form.at:
        usual = envelope(form, item_id, collection_id, {"key": attrs["key"]} if "key" in attrs else {},
                         footprint if form.shape == FEATURE else None)
        note_envelope(image, usual, frozenset({form.at, "data.meta", "geometry"}), "", ledger)
    vendor.update({k: fields.pop(k) for k in [k for k in fields if k.startswith(PREFIX)]})
    properties.update(fields)
    band_keys: frozenset[str] = frozenset()
    if context is not None:
        if context.instruments:
            properties.setdefault("instruments", list(context.instruments))
        for index, file_bands in context.by_file.items():
            asset = assets.get(f"file-{index}")
            if asset is not None:
                asset["bands"] = [dict(band) for band in file_bands]  # band fields are scalars
        band_keys = context.band_keys
    via = via_link(IMAGE, item_id, form)
    if vendor:
        assets[METADATA_ASSET] = {"href": via["href"], "type": "application/json",
                                  "title": "Descartes Labs image record", "roles": ["metadata"], **vendor}
    properties[SOURCE] = source_tag(PROVIDER, form.tag, TRANSFORM_VERSION)
    links = [via]
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "id": item_id,
        "geometry": footprint,
        "bbox": bbox,
        "properties": properties,
        "links": links,
        "assets": assets,
    }
    if collection_id is not None:
        item["collection"] = collection_id
        links.insert(0, {"rel": "collection", "href": "../collection.json", "type": "application/json"})
    _declare(item, band_keys)
    ledger.attach(item)
    return item


def _data_assets(reader: Reader, version: str, ledger: Ledger) -> dict[str, Any]:
    """One data asset per file (none for a ``remote`` image: its file fields go to the ledger)."""
    attrs = reader.record
    names = _V1_FILES if version == V1 else ("files",)
    if attrs.get("storage_state") == "remote":
        ledger.keep.update({reader.path(n): copy_json(attrs[n]) for n in names if n in attrs})
        return {}
    if version == V1:
        assets = files_v1_to_assets(reader)
        note_rebuilt(attrs, assets_to_files_v1(assets), names, reader.at, ledger)
    else:
        assets = files_v2_to_assets(reader)
        note_rebuilt(attrs, assets_to_files_v2(assets), names, reader.at, ledger)
    return assets


def _declare(item: dict[str, Any], band_keys: frozenset[str]) -> None:
    """:func:`declare_extensions` of an Item from its field names (the same names give the same schemas)."""
    uris = schemas_of(band_keys.union(item["properties"], *item["assets"].values()))
    if uris:
        item["stac_extensions"] = uris


def image_to_stac(image: Mapping[str, Any], product: Mapping[str, Any] | None = None,
                  bands: Sequence[Mapping[str, Any]] | None = None) -> pystac.Item:
    """Translate a DL image to a STAC Item.

    Args:
        image: The image as the API sends it: a v1 JSON:API document, bare v1 attributes, a v1 metadata-search
            feature, or a v2 document or resource.
        product: The image's product (any form), when at hand: its id is the ``collection`` when the image does
            not say, and its ``sensor`` gives ``instruments``.
        bands: The product's bands (any form), when at hand: each data asset then lists the bands of its file
            (STAC 1.1 ``bands``). They are translated once per product and band list, not once per image.

    Returns:
        A STAC 1.1.0 Item: id ``<product>:<name>``, ``collection`` the product id, ``title`` the image name;
        ``cloud_fraction`` (0-1) as ``eo:cloud_cover`` (percent); ``raster_size`` ``[width, height]`` (v2
        ``x_pixels``/``y_pixels``) as ``proj:shape`` ``[rows, cols]``; the GDAL ``geotrans`` as the affine
        ``proj:transform``; ``cs_code`` (or a PROJ.4/WKT CRS) as ``proj:code`` or ``proj:wkt2``; one data
        asset per file with an absolute ``gs://`` href, ``file:size`` and ``file:checksum`` (md5 multihash);
        none when ``storage_state`` is ``remote``. DL fields without a STAC home are on the ``metadata``
        asset, under ``dl:``.

    Raises:
        TransformError: the image has no geometry, no or an unreadable ``acquired``, an unknown CRS, or a field
            of the wrong JSON type; the error names the provider, the image id and the field's full path.
    """
    return pystac.Item.from_dict(item_dict(image, product, bands), preserve_dict=False, migrate=False)


def stac_to_image(item: pystac.Item | Mapping[str, Any]) -> dict[str, Any]:
    """Translate a STAC Item back to a DL image, in its own form.

    One made by :func:`image_to_stac` comes back exactly (with its ledger; a typical record also without); any
    other Item comes back as v1 attributes built from its standard fields.

    Raises:
        TransformError: the Item has no id or no properties object.
    """
    stac = as_dict(item, "Item")
    item_id = str_id(stac.get("id"))
    if item_id is None:
        raise TransformError(PROVIDER, None, "id", "is missing")
    properties = stac.get("properties")
    if not isinstance(properties, Mapping):
        raise TransformError(PROVIDER, item_id, "properties", "must be an object")
    form, _ = forms_of(stac, IMAGE)
    version = form.version
    assets = stac.get("assets") or {}
    metadata = assets.get(METADATA_ASSET) or {}
    flat = {k: v for k, v in properties.items() if not k.startswith(META_PREFIX)}
    flat.update({k: v for k, v in metadata.items() if k.startswith(PREFIX) and not k.startswith(META_PREFIX)})
    ledger = Ledger.of(stac)
    kept = {path.removeprefix(f"{form.at}.") for path in ledger.keep}
    # A field the ledger keeps whole is not rebuilt from its flat keys (which may not say it: names with dots).
    flat = {k: v for k, v in flat.items() if not (k.startswith(PREFIX) and k[len(PREFIX):].split(".")[0] in kept)}
    attrs = IMAGE_TABLES[version].decode(flat)
    attrs.update(crs_from_stac(properties, version))
    geotrans = transform_to_geotrans(properties.get(TRANSFORM_PROP))
    if geotrans is not None:
        attrs["geotrans"] = geotrans
    attrs.update(shape_to_raster_size(properties.get(SHAPE_PROP), version))
    attrs.update(assets_to_files_v1(assets) if version == V1 else assets_to_files_v2(assets))
    collection_id = str_id(stac.get("collection"))
    if collection_id is not None:
        attrs["product" if version == V1 else "product_id"] = collection_id
    if form.shape != FEATURE:
        attrs["geometry"] = copy_json(stac.get("geometry"))
    record = envelope(form, item_id, collection_id, attrs, copy_json(stac.get("geometry")))
    if form.shape == DOCUMENT and version == V1:
        meta = META.decode({**{k: v for k, v in metadata.items() if k.startswith(META_PREFIX)},
                            **({"updated": properties["updated"]} if "updated" in properties else {})})
        if meta:
            record["data"]["meta"] = meta
    return ledger.apply(record)


# The adapter and the export read the functions above (imported last: they import this module).
from stac_bridge.transforms.descartes_adapter import ADAPTER, DescartesAdapter  # noqa: E402
from stac_bridge.transforms.descartes_export import stac_to_client_calls  # noqa: E402
