"""STAC -> the descarteslabs 1.12.1 client calls that recreate a product, its bands and its images.

The records are first rebuilt in their own form (:func:`~stac_bridge.transforms.descartes.stac_to_product`,
:func:`~stac_bridge.transforms.descartes.stac_to_image`), then their attributes are spoken in v1 names as the
v1 REST client's ``add_product``/``add_band``/``add_image`` take them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import pystac

from stac_bridge.errors import TransformError
from stac_bridge.transforms.descartes_forms import PROVIDER, V2, Form, as_dict, str_id, unwrap

#: v2 names of fields the v1 client knows under another name.
_V1_NAMES: Final = {
    "alt_cloud_fraction": "cloud_fraction_0",
    "provider_id": "identifier",
    "readers": "read",
    "vendor_band_name": "name_vendor",
    "display_range": "default_range",
    "file_index": "srcfile",
    "jpx_layer_index": "jpx_layer",
    "satellite_id": "sat_id",
    "data_type": "dtype",
    "wavelength_nm_center": "wavelength_center",
    "wavelength_nm_fwhm": "wavelength_fwhm",
    "wavelength_nm_min": "wavelength_min",
    "wavelength_nm_max": "wavelength_max",
}
#: Fields the server sets itself, that the client's add_* refuse or rename.
_READ_ONLY: Final = frozenset({
    "id", "product", "product_id", "key", "owner_type", "modified", "created", "nbits", "owners", "is_core",
    "sort_order", "start_date", "end_date", "band_index", "name",
})
_INT_RANGES: Final = {
    "Byte": [0, 255], "Int8": [-128, 127], "UInt16": [0, 65535], "Int16": [-32768, 32767],
    "UInt32": [0, 4294967295], "Int32": [-2147483648, 2147483647],
}


def _kwargs(attrs: Mapping[str, Any], keep: Iterable[str] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    allowed = set(keep)
    for key, value in attrs.items():
        name = _V1_NAMES.get(key, key)
        if (name not in _READ_ONLY or name in allowed) and name not in out:
            out[name] = value
    return out


def _v1_attrs(version: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """v2 attributes in v1 spelling (``resolution {value, unit}`` -> ``resolution`` + unit, ``wavelength_unit``)."""
    if version == V2:
        resolution = attrs.get("resolution")
        if isinstance(resolution, Mapping):
            attrs["resolution"] = resolution.get("value")
            attrs["resolution_unit"] = resolution.get("unit")
        if any(k in attrs for k in ("wavelength_nm_center", "wavelength_nm_fwhm", "wavelength_nm_min",
                                    "wavelength_nm_max")):
            attrs.setdefault("wavelength_unit", "nm")
        if isinstance(attrs.get("band_index"), int):
            attrs.setdefault("srcband", attrs["band_index"] + 1)
    return attrs


def _v1_image(attrs: dict[str, Any]) -> dict[str, Any]:
    """A v2 image's attributes in v1 fields.

    ``x_pixels``/``y_pixels`` become ``raster_size``, ``files`` objects ``bucket`` + ``files`` + ``file_sizes``
    + ``file_md5s``.
    """
    if "x_pixels" in attrs and "y_pixels" in attrs:
        attrs["raster_size"] = [attrs.pop("x_pixels"), attrs.pop("y_pixels")]
    files = attrs.get("files")
    if isinstance(files, list) and files and all(isinstance(f, Mapping) for f in files):
        hrefs = [str(f.get("href")) for f in files]
        if all("size_bytes" in f for f in files):
            attrs["file_sizes"] = [f["size_bytes"] for f in files]
        if all("hash" in f for f in files):
            attrs["file_md5s"] = [f["hash"] for f in files]
        buckets = {h.split("/", 3)[2] for h in hrefs if h.startswith("gs://") and h.count("/") >= 3}
        if len(buckets) == 1 and all(h.startswith("gs://") for h in hrefs):
            prefix = f"gs://{buckets.pop()}/"
            attrs["bucket"] = prefix
            hrefs = [h[len(prefix):] for h in hrefs]
        attrs["files"] = hrefs
    return attrs


def _attrs(record: Mapping[str, Any], kind: str) -> tuple[Form, dict[str, Any]]:
    unwrapped = unwrap(record, kind)
    return unwrapped.form, dict(unwrapped.attrs)


def stac_to_client_calls(
    collection: pystac.Collection | Mapping[str, Any],
    items: Iterable[pystac.Item | Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Give the DL client calls that recreate a Collection and its Items in a DL catalog.

    The result is JSON-able and shaped for the REST client of descarteslabs 1.12.1
    (``descarteslabs.client.services.catalog.Catalog``)::

        calls = descartes.stac_to_client_calls(collection, items)
        catalog.add_product(**calls["add_product"])
        for kwargs in calls["add_band"]:
            catalog.add_band(**kwargs)
        for kwargs in calls["add_image"]:
            catalog.add_image(**kwargs)

    Signatures followed: ``add_product(product_id, title, description, **kwargs)`` (dates as
    ``start_datetime``/``end_datetime``), ``add_band(product_id, name, srcband, dtype, data_range, type,
    **kwargs)`` (``nbits`` is refused by 1.12.1 and left out) and ``add_image(product_id, image_id,
    storage_state="available", **kwargs)`` where ``image_id`` is the image name without the product prefix.
    v2 records are renamed to the v1 names; fields the server sets itself (``id``, ``owner_type``,
    ``modified``...) are left out.

    Returns:
        ``{"add_product": {...}, "add_band": [{...}, ...], "add_image": [{...}, ...]}``.

    Raises:
        TransformError: a band lacks what ``add_band`` requires and cannot be derived (its data type).
    """
    from stac_bridge.transforms import descartes

    coll = as_dict(collection, "Collection")
    product_id = str_id(coll.get("id"))
    if product_id is None:
        raise TransformError(PROVIDER, None, "id", "is missing")
    product_call: dict[str, Any] = {"product_id": product_id}
    band_calls = []
    if "type" in coll:
        product, bands = descartes.stac_to_product(coll)
        form, attrs = _attrs(product, "product")
        attrs = _v1_attrs(form.version, attrs)
        interval = (coll.get("extent", {}).get("temporal", {}).get("interval") or [[None, None]])[0]
        product_call["title"] = coll.get("title") or attrs.get("name") or product_id
        product_call["description"] = coll.get("description") or product_id
        product_call.update({k: v for k, v in _kwargs(attrs).items() if k not in (
            "title", "name", "description", "start_datetime", "end_datetime", "product")})
        for key, value in zip(("start_datetime", "end_datetime"), interval, strict=False):
            if value:
                product_call[key] = value
        for band in bands:
            band_calls.append(_band_call(product_id, band))
    image_calls = []
    for item in items:
        record = descartes.stac_to_image(item)
        form, attrs = _attrs(record, "image")
        if form.version == V2:
            attrs = _v1_image(attrs)
        item_id = str(as_dict(item, "Item").get("id"))
        name = item_id[len(product_id) + 1:] if item_id.startswith(product_id + ":") else item_id
        image_calls.append({"product_id": product_id, "image_id": name, **_kwargs(attrs)})
    return {"add_product": product_call, "add_band": band_calls, "add_image": image_calls}


def _band_call(product_id: str, band: Mapping[str, Any]) -> dict[str, Any]:
    form, attrs = _attrs(band, "band")
    attrs = _v1_attrs(form.version, attrs)
    name = str(attrs.get("name"))
    kwargs = _kwargs(attrs)
    dtype = kwargs.get("dtype")
    band_id = f"{product_id}:{name}"
    if not isinstance(dtype, str):
        raise TransformError(PROVIDER, band_id, "dtype", "is missing; add_band needs it")
    kwargs.setdefault("srcband", 1)
    kwargs.setdefault("type", "spectral" if "wavelength_center" in kwargs else "other")
    if "data_range" not in kwargs:
        if dtype not in _INT_RANGES:
            raise TransformError(PROVIDER, band_id, "data_range",
                                 "is missing; add_band needs it and a float band has no natural range")
        kwargs["data_range"] = list(_INT_RANGES[dtype])
    return {"product_id": product_id, "name": name, **kwargs}
