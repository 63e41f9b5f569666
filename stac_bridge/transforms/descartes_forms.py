"""The forms a Descartes Labs record comes in, and the envelope around its attributes.

DL has sent every record kind in several forms: the v1 JSON:API document (``{"data": {"id", "type", "meta",
"attributes"}}``), bare v1 attributes (``GET {metadata}/get/{id}``, ``bands/all`` entries), the v1
metadata-search GeoJSON feature, the v1 ``products/search`` entry (which keys the id as ``product``), and the
v2 JSON:API document or resource (``{"type", "id", "attributes", "relationships"}``). A :class:`Form` names
one; its :attr:`Form.tag` is the record kind of ``stac_bridge:source`` (``image-v2``, ``image-v1-feature``),
so the way back rebuilds the same envelope, and only what differs from the usual envelope of that form goes to
the ledger.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import pystac

from stac_bridge.errors import TransformError
from stac_bridge.transforms._plain import copy_json
from stac_bridge.transforms.kernel import DATETIME, Field, Ledger, Table, same_json, source_of

PROVIDER: Final = "descartes"
V1: Final = "v1"
V2: Final = "v2"
IMAGE: Final = "image"
PRODUCT: Final = "product"
BAND: Final = "band"

DOCUMENT: Final = "document"
RESOURCE: Final = "resource"
FEATURE: Final = "feature"
ATTRIBUTES: Final = "attributes"
SEARCH: Final = "search"
_SHAPES: Final = (DOCUMENT, RESOURCE, FEATURE, ATTRIBUTES, SEARCH)
_AT: Final = {DOCUMENT: "data.attributes", RESOURCE: "attributes", FEATURE: "properties", ATTRIBUTES: "",
              SEARCH: ""}
#: What a v2 document carries besides its resource.
JSONAPI: Final = {"version": "1.0"}

# Field names that tell v1 from v2 when the envelope does not.
_MARKERS: Final[dict[str, tuple[frozenset[str], frozenset[str]]]] = {
    IMAGE: (
        frozenset({"product", "raster_size", "sat_id", "key", "file_sizes", "file_md5s", "bucket",
                   "cloud_fraction_0", "processed", "descartes_version", "proj4", "projcs"}),
        frozenset({"product_id", "x_pixels", "y_pixels", "satellite_id", "provider_id", "alt_cloud_fraction",
                   "name", "created", "modified"}),
    ),
    PRODUCT: (
        frozenset({"title", "read", "start_date", "end_date", "native_bands", "spectral_bands", "sensor",
                   "orbit", "swath", "revisit", "resolution", "product"}),
        frozenset({"name", "readers", "is_core", "resolution_min", "resolution_max", "product_tier",
                   "revisit_period_minutes_min", "revisit_period_minutes_max", "default_display_bands"}),
    ),
    BAND: (
        frozenset({"product", "dtype", "srcband", "srcfile", "jpx_layer", "name_common", "name_vendor",
                   "default_range", "nbits", "wavelength_center", "wavelength_fwhm", "wavelength_unit",
                   "resolution_unit"}),
        frozenset({"product_id", "data_type", "wavelength_nm_center", "wavelength_nm_fwhm", "wavelength_nm_min",
                   "wavelength_nm_max", "file_index", "band_index", "jpx_layer_index", "display_range",
                   "vendor_band_name", "sort_order"}),
    ),
}


@dataclass(frozen=True, slots=True)
class Form:
    """A record kind (``image``), its API version (``v1``) and its shape (``feature``)."""

    kind: str
    version: str
    shape: str

    @property
    def tag(self) -> str:
        """The record kind of ``stac_bridge:source``: ``image-v1`` for a document, else ``image-v1-<shape>``."""
        base = f"{self.kind}-{self.version}"
        return base if self.shape == DOCUMENT else f"{base}-{self.shape}"

    @property
    def at(self) -> str:
        """Where the attributes are inside the record (``data.attributes``)."""
        return _AT[self.shape]

    @classmethod
    def of_tag(cls, tag: str, kind: str) -> Form:
        """The form a tag names; v1 attributes for a tag this module did not write."""
        parts = tag.split("-")
        if len(parts) in (2, 3) and parts[0] == kind and parts[1] in (V1, V2):
            shape = parts[2] if len(parts) == 3 else DOCUMENT
            if shape in _SHAPES:
                return cls(kind, parts[1], shape)
        return cls(kind, V1, ATTRIBUTES)


@dataclass(frozen=True, slots=True)
class Unwrapped:
    """One DL record taken apart: its form, its attributes and its id."""

    form: Form
    attrs: Mapping[str, Any]
    record_id: str | None


def str_id(value: Any) -> str | None:
    """A non-empty string id, or ``None``."""
    return value if isinstance(value, str) and value else None


def _version(kind: str, attrs: Mapping[str, Any], v2_envelope: bool) -> str:
    v1_markers, v2_markers = _MARKERS[kind]
    v1 = len(v1_markers.intersection(attrs))
    v2 = len(v2_markers.intersection(attrs))
    files = attrs.get("files")
    if isinstance(files, list) and files:
        if isinstance(files[0], Mapping):
            v2 += 10
        else:
            v1 += 10
    if v1 != v2:
        return V1 if v1 > v2 else V2
    return V2 if v2_envelope else V1


def unwrap(record: Any, kind: str) -> Unwrapped:
    """Recognise the form of a DL record and take it apart.

    Raises:
        TransformError: the record is not a JSON object, or is a page of records.
    """
    if not _is_object(record):
        raise TransformError(PROVIDER, None, None, f"expected a JSON object, got {type(record).__name__}")
    data = record.get("data")
    if type(data) is list:
        raise TransformError(PROVIDER, None, "data", "is a page of records; pass the records one by one")
    if _is_object(data) and _is_object(data.get("attributes")):
        attrs = data["attributes"]
        v2 = "jsonapi" in record or "relationships" in data or "meta" not in data
        return Unwrapped(Form(kind, _version(kind, attrs, v2), DOCUMENT), attrs, str_id(data.get("id")))
    if record.get("type") == "Feature" and _is_object(record.get("properties")):
        return Unwrapped(Form(kind, V1, FEATURE), record["properties"], str_id(record.get("id")))
    if _is_object(record.get("attributes")):
        attrs = record["attributes"]
        version = _version(kind, attrs, "relationships" in record or "meta" not in record)
        return Unwrapped(Form(kind, version, RESOURCE), attrs, str_id(record.get("id")))
    version = _version(kind, record, False)
    if kind == PRODUCT and version == V1 and "product" in record:
        return Unwrapped(Form(kind, V1, SEARCH), record, str_id(record.get("product")))
    return Unwrapped(Form(kind, version, ATTRIBUTES), record, str_id(record.get("id")))


def _is_object(value: Any) -> bool:
    """Whether a value is a JSON object (a plain dict decided without isinstance's ABC walk)."""
    return type(value) is dict or isinstance(value, Mapping)


def envelope(form: Form, record_id: str | None, product_id: str | None, attrs: dict[str, Any],
             geometry: Any = None) -> dict[str, Any]:
    """The usual record of a form around ``attrs`` (which it takes over), with its ids where the form has them.

    v1 ``meta`` is rebuilt by the caller (it holds ``modified``); a v2 image's ``relationships`` name its
    product; a v2 document says ``jsonapi: {"version": "1.0"}``.
    """
    if form.shape in (ATTRIBUTES, SEARCH):
        if form.shape == SEARCH:
            attrs["product"] = record_id
        elif record_id is not None and form.version == V1:
            attrs["id"] = record_id
        return attrs
    if form.shape == FEATURE:
        feature: dict[str, Any] = {"type": "Feature", "id": record_id, "geometry": geometry, "properties": attrs}
        if "key" in attrs:
            feature["key"] = attrs["key"]
        return feature
    resource: dict[str, Any] = {"type": form.kind, "id": record_id, "attributes": attrs}
    if form.version == V2 and form.kind == IMAGE and product_id is not None:
        resource["relationships"] = {PRODUCT: {"data": {"type": PRODUCT, "id": product_id}}}
    if form.shape == RESOURCE:
        return resource
    if form.version == V2:
        return {"data": resource, "jsonapi": dict(JSONAPI)}
    return {"data": resource}


def note_envelope(actual: Mapping[str, Any], usual: Mapping[str, Any], skip: frozenset[str], at: str,
                  ledger: Ledger) -> None:
    """Keep in ``ledger`` what the record's envelope has beyond (or short of) its form's usual envelope.

    ``skip`` names the paths the caller translates itself (the attributes, the geometry).
    """
    prefix = f"{at}." if at else ""
    for key, value in actual.items():
        path = prefix + key
        if path in skip:
            continue
        expected = usual.get(key, _NONE)
        if type(value) is dict and type(expected) is dict:
            note_envelope(value, expected, skip, path, ledger)
        elif expected is _NONE or not same_json(value, expected):
            ledger.keep[path] = copy_json(value)
    for key in usual:
        if key not in actual and prefix + key not in skip:
            ledger.absent.append(prefix + key)


_NONE: Final = object()

#: Bumped whenever the STAC this module writes changes.
TRANSFORM_VERSION: Final = 2
STAC_VERSION: Final = "1.1.0"
#: The DL v2 catalog API, where every product and image can be read (``/products/{id}``, ``/images/{id}``).
API: Final = "https://platform.descarteslabs.com/metadata/v1/catalog/v2"
META_PREFIX: Final = "dl:meta."
#: A v1 document's ``meta``: ``modified`` is the record's ``updated``, the rest stays under ``dl:meta.``.
META: Final = Table(PROVIDER, "v1 document meta", (
    Field("modified", "updated", DATETIME, str),
), META_PREFIX)
#: A value no record has (for comparisons with what may be missing).
NOTHING: Final = object()


_PLAIN_ID: Final = re.compile(r"[A-Za-z0-9_.~:-]*")


def api_url(kind: str, record_id: str) -> str:
    """The record at the DL v2 catalog API (``.../products/{id}``, ``.../images/{id}``), id percent-encoded."""
    # DL ids are letters, digits and colons: encoding the colons is all ``quote`` would do, at a tenth of its cost.
    encoded = record_id.replace(":", "%3A") if _PLAIN_ID.fullmatch(record_id) else quote(record_id, safe="")
    return f"{API}/{kind}s/{encoded}"


_SHAPE_WORDS: Final = {DOCUMENT: "document", RESOURCE: "resource", FEATURE: "metadata-search feature",
                       ATTRIBUTES: "attributes", SEARCH: "products/search entry"}
_SHAPES_OF_WORDS: Final = {words: shape for shape, words in _SHAPE_WORDS.items()}
_VIA_TITLE: Final = re.compile(r"^Descartes Labs (v1|v2) (image|product) \(([^)]+)\)(?:, bands: (v1|v2) \(([^)]+)\))?$")


def via_link(kind: str, record_id: str, form: Form, bands: Form | None = None) -> dict[str, Any]:
    """The ``via`` link of a STAC object to its DL record; its title says the record's form.

    ``Descartes Labs v2 image (resource)``: what the record is, as a reader needs to know it, and what the way
    back needs to rebuild its form when the API serves the object without ``stac_bridge:source``.
    """
    title = f"Descartes Labs {form.version} {kind} ({_SHAPE_WORDS[form.shape]})"
    if bands is not None:
        title += f", bands: {bands.version} ({_SHAPE_WORDS[bands.shape]})"
    return {"rel": "via", "href": api_url(kind, record_id), "type": "application/json", "title": title}


def _forms_of_via(stac: Mapping[str, Any], kind: str) -> tuple[Form, Form | None] | None:
    for link in stac.get("links") or ():
        if isinstance(link, Mapping) and link.get("rel") == "via" and str(link.get("href")).startswith(API):
            match = _VIA_TITLE.match(str(link.get("title")))
            if match and match[2] == kind and match[3] in _SHAPES_OF_WORDS:
                bands = match[4] and _SHAPES_OF_WORDS.get(match[5])
                return (Form(kind, match[1], _SHAPES_OF_WORDS[match[3]]),
                        Form(BAND, match[4], bands) if bands else None)
    return None


def as_dict(stac: Any, what: str) -> dict[str, Any]:
    """A STAC object (pystac or dict) as a dict."""
    if isinstance(stac, pystac.STACObject):
        return stac.to_dict(include_self_link=False, transform_hrefs=False)
    if isinstance(stac, Mapping):
        return dict(stac)
    raise TransformError(PROVIDER, None, None, f"expected a STAC {what}, got {type(stac).__name__}")


def forms_of(stac: Mapping[str, Any], kind: str) -> tuple[Form, Form | None]:
    """The form a STAC object was made from (and its bands' form).

    From ``stac_bridge:source``, or, for an object as the API serves it (without), from its ``via`` link; v1
    attributes for an object made elsewhere.
    """
    source = source_of(stac)
    if source is not None and source[0] == PROVIDER:
        own, _, band = source[1].partition("+")
        return Form.of_tag(own, kind), (Form.of_tag(band, BAND) if band else None)
    return _forms_of_via(stac, kind) or (Form(kind, V1, ATTRIBUTES), None)
