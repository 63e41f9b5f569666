"""Descartes Labs products (and their bands) <-> STAC Collections: the product tables and the time span."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pystac

from stac_bridge.errors import TransformError
from stac_bridge.transforms import descartes_forms as forms
from stac_bridge.transforms._common import copy_json, format_datetime, parse_datetime
from stac_bridge.transforms.descartes_bands import (
    PREFIX,
    band_to_entry,
    bands_by_file,
    entry_to_band,
    note_rebuilt,
    prepare,
    split_plain,
)
from stac_bridge.transforms.descartes_forms import (
    ATTRIBUTES,
    BAND,
    DOCUMENT,
    META,
    META_PREFIX,
    NOTHING,
    PRODUCT,
    PROVIDER,
    SEARCH,
    STAC_VERSION,
    TRANSFORM_VERSION,
    V1,
    V2,
    Form,
    str_id,
)
from stac_bridge.transforms.kernel import (
    DATETIME,
    IDENTITY,
    SOURCE,
    Field,
    Ledger,
    Reader,
    Table,
    one_of_list,
    same_json,
    schemas_of,
    source_tag,
)

HOST: Final = {"name": "Descartes Labs", "roles": ["host", "processor"], "url": "https://descarteslabs.com"}
#: Until a load computes a Collection's extent from its Items (DL products carry no footprint).
WORLD_BBOX: Final = [-180.0, -90.0, 180.0, 90.0]

PRODUCT_V1: Final = Table(PROVIDER, "v1 product", (
    Field("title", "title", IDENTITY, str),
    Field("description", "description", IDENTITY, str),
    Field("tags", "keywords", IDENTITY, list),
    Field("sensor", "summaries.instruments", one_of_list(), str),
    Field("processing_level", "summaries.processing:level", one_of_list(), str),
    Field("resolution", "summaries.gsd", one_of_list(), note="when a positive number"),
), PREFIX, own=(
    ("id (products/search: product)", "id", "namespaced ids kept"),
    ("start_date, end_date (or start_datetime, end_datetime)", "extent.temporal",
     "m/d/yyyy as RFC 3339; `present` is an open end (null)"),
))
PRODUCT_V2: Final = Table(PROVIDER, "v2 product", (
    Field("name", "title", IDENTITY, str),
    Field("description", "description", IDENTITY, str),
    Field("tags", "keywords", IDENTITY, list),
    Field("created", "created", DATETIME, str),
    Field("modified", "updated", DATETIME, str),
), PREFIX, own=(
    ("id", "id", ""),
    ("start_datetime, end_datetime", "extent.temporal", "null is an open end"),
    ("resolution_min, resolution_max", "summaries.gsd", "{minimum, maximum} in metres"),
))
_PRODUCT_TABLES: Final = {V1: PRODUCT_V1, V2: PRODUCT_V2}
_MAPPED: Final = {v: frozenset(f.source for f in table.fields) for v, table in _PRODUCT_TABLES.items()}
#: Fields translated here, not by the tables (``resolution_min/max`` only when they make ``summaries.gsd``).
_OWN: Final = frozenset({"id", "product", "start_date", "end_date", "start_datetime", "end_datetime"})
_GSD: Final = frozenset({"resolution_min", "resolution_max"})
_US_DATE: Final = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def _fits_product(name: str, value: Any, attrs: Mapping[str, Any]) -> bool:
    if name == "resolution":
        return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    if name == "tags":
        return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
    return isinstance(value, str) and bool(value)


# --- product time span ------------------------------------------------------------------------------------

def _dl_time(reader: Reader, name: str) -> str | None:
    raw = reader.get(name, str)
    if raw is None or raw.strip().lower() == "present":
        return None
    match = _US_DATE.match(raw.strip())
    try:
        if match:
            month, day, year = (int(g) for g in match.groups())
            return format_datetime(dt.datetime(year, month, day, tzinfo=dt.UTC))
        return format_datetime(parse_datetime(raw))
    except ValueError as exc:
        raise reader.error(name, f"is not a date or datetime: {raw!r:.80}") from exc


def _us_date(value: str | None) -> str:
    if value is None:
        return "present"
    when = parse_datetime(value)
    if when.time() == dt.time(0) and when.utcoffset() == dt.timedelta(0):
        return f"{when.month}/{when.day}/{when.year}"
    return value


def _interval_in(reader: Reader, version: str, ledger: Ledger) -> list[str | None]:
    attrs = reader.record
    if version == V1:
        names = [("start_date", "start_datetime"), ("end_date", "end_datetime")]
        bounds = [next((t for t in (_dl_time(reader, n) for n in pair) if t is not None), None) for pair in names]
    else:
        bounds = [_dl_time(reader, "start_datetime"), _dl_time(reader, "end_datetime")]
    back = _interval_out(bounds, version)
    for name in ("start_date", "end_date", "start_datetime", "end_datetime"):
        if name in attrs and not same_json(back.get(name, NOTHING), attrs[name]):
            ledger.keep[reader.path(name)] = copy_json(attrs[name])
        elif name not in attrs and name in back:
            ledger.absent.append(reader.path(name))
    return bounds


def _interval_out(bounds: Sequence[str | None], version: str) -> dict[str, Any]:
    if version == V1:
        return {"start_date": _us_date(bounds[0]) if bounds[0] else "present", "end_date": _us_date(bounds[1])}
    return {"start_datetime": bounds[0], "end_datetime": bounds[1]}


def _gsd_range(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    low, high = attrs.get("resolution_min"), attrs.get("resolution_max")
    values = []
    for value in (low, high):
        if not (isinstance(value, Mapping) and set(value) == {"value", "unit"} and value["unit"] == "meters"
                and isinstance(value["value"], int | float) and not isinstance(value["value"], bool)):
            return None
        values.append(value["value"])
    return {"minimum": values[0], "maximum": values[1]}


# --- products <-> Collections -----------------------------------------------------------------------------

def collection_dict(product: Mapping[str, Any], bands: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """:func:`product_to_stac` as a plain dict (the adapter's hot path: no pystac objects)."""
    unwrapped = forms.unwrap(product, PRODUCT)
    form, attrs = unwrapped.form, unwrapped.attrs
    at = ".".join(p for p in (PRODUCT, form.at) if p)
    first = Reader(PROVIDER, attrs, record_id=unwrapped.record_id, at=at)
    product_id = unwrapped.record_id or first.require("id", str)
    reader = Reader(PROVIDER, attrs, record_id=product_id, at=at)
    ledger = Ledger()
    usable, moved = prepare(attrs, frozenset({"resolution", "tags", "description"}), _fits_product, {})
    gsd = _gsd_range(attrs) if form.version == V2 else None
    own = _OWN | (_GSD if gsd is not None else frozenset())
    usable, plain = split_plain(usable, _MAPPED[form.version], own, reader, ledger)
    flat = _PRODUCT_TABLES[form.version].encode(Reader(PROVIDER, usable, record_id=product_id, at=at), ledger)
    flat.update(plain)
    flat.update(moved)
    interval = _interval_in(reader, form.version, ledger)
    usual_ids = {"product": product_id} if form.shape == SEARCH else (
        {"id": product_id} if form.shape == ATTRIBUTES and form.version == V1 else {})
    note_rebuilt(attrs, usual_ids, ("id", "product"), at, ledger)
    summaries = {k.partition(".")[2]: flat.pop(k) for k in list(flat) if k.startswith("summaries.")}
    if gsd is not None:
        summaries["gsd"] = gsd
    if form.shape == DOCUMENT:
        data = product["data"]
        if isinstance(data.get("meta"), Mapping):
            flat.update(META.encode(Reader(PROVIDER, data["meta"], record_id=product_id, at="product.data.meta"),
                                    ledger))
        forms.note_envelope(product, forms.envelope(form, product_id, None, {}),
                      frozenset({at, "product.data.meta"}), PRODUCT, ledger)
    if "description" not in flat:
        ledger.absent.append(reader.path("description"))
    band_form, entries = _bands_in(bands, product_id, ledger)
    kind = form.tag + (f"+{band_form.tag}" if band_form else "")
    if entries:
        summaries["bands"] = entries
    collection: dict[str, Any] = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "id": product_id,
        "description": flat.pop("description", None) or flat.get("title") or product_id,
        "license": "other",
        "providers": [copy_json(HOST)],
        "extent": {"spatial": {"bbox": [list(WORLD_BBOX)]}, "temporal": {"interval": [interval]}},
        "links": [forms.via_link(PRODUCT, product_id, form, band_form)],
        **flat,
        SOURCE: source_tag(PROVIDER, kind, TRANSFORM_VERSION),
    }
    if summaries:
        collection["summaries"] = summaries
    item_assets = {f"file-{i}": {"title": f"File {i}", "roles": ["data"], "bands": file_bands}
                   for i, file_bands in sorted(bands_by_file(entries).items())}
    if item_assets:
        collection["item_assets"] = item_assets
    band_keys = frozenset(k for entry in entries for k in entry)
    uris = schemas_of(band_keys.union(collection, summaries))
    if uris:
        collection["stac_extensions"] = uris
    ledger.attach(collection)
    return collection


def _bands_in(bands: Any, product_id: str, ledger: Ledger) -> tuple[Form | None, list[dict[str, Any]]]:
    if isinstance(bands, str | bytes) or not isinstance(bands, Sequence):
        raise TransformError(PROVIDER, product_id, "bands", "must be a list of band records")
    entries, seen = [], []
    for index, band in enumerate(bands):
        entry, form = band_to_entry(band, product_id, f"bands.{index}", ledger)
        entries.append(entry)
        seen.append(form)
    if len(set(seen)) > 1:
        tags = ", ".join(sorted({form.tag for form in seen}))
        raise TransformError(PROVIDER, product_id, "bands", f"mixes record forms ({tags})")
    return (seen[0] if seen else None), entries


def stac_to_product(
    collection: pystac.Collection | Mapping[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Translate a STAC Collection back to a DL product and its bands, in their own forms.

    One made by :func:`product_to_stac` comes back exactly (with its ledger; a typical record also without);
    any other Collection comes back as v1 attributes.

    Raises:
        TransformError: the Collection has no id.
    """
    coll = forms.as_dict(collection, "Collection")
    product_id = str_id(coll.get("id"))
    if product_id is None:
        raise TransformError(PROVIDER, None, "id", "is missing")
    form, band_form = forms.forms_of(coll, PRODUCT)
    ledger = Ledger.of(coll)
    summaries = coll.get("summaries") or {}
    flat = {k: v for k, v in coll.items() if not k.startswith(META_PREFIX)}
    flat.update({f"summaries.{k}": v for k, v in summaries.items() if k not in ("bands", "gsd") or form.version == V1})
    attrs = _PRODUCT_TABLES[form.version].decode(flat)
    interval = (coll.get("extent", {}).get("temporal", {}).get("interval") or [[None, None]])[0]
    attrs.update(_interval_out(interval, form.version))
    gsd = summaries.get("gsd")
    if form.version == V2 and isinstance(gsd, Mapping):
        attrs["resolution_min"] = {"value": gsd.get("minimum"), "unit": "meters"}
        attrs["resolution_max"] = {"value": gsd.get("maximum"), "unit": "meters"}
    record = forms.envelope(form, product_id, None, attrs)
    if form.shape == DOCUMENT and form.version == V1:
        meta = META.decode({k: v for k, v in coll.items() if k.startswith(META_PREFIX) or k == "updated"})
        if meta:
            record["data"]["meta"] = meta
    record = ledger.apply(record, PRODUCT)
    entries = summaries.get("bands") or []
    band_form = band_form or Form(BAND, form.version, ATTRIBUTES)
    bands = [entry_to_band(e, band_form, product_id, ledger, f"bands.{i}") for i, e in enumerate(entries)
             if isinstance(e, Mapping)]
    return record, bands
