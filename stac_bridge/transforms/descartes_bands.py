"""Descartes Labs bands <-> STAC 1.1 ``bands`` entries, and the per-product cache of their translation.

A product's bands become ``summaries.bands`` of its Collection (every field: the STAC ones, and the rest under
``dl:``) and, per file, the ``bands`` of the data assets of its Items (the STAC fields only). The translation
is done once per product: :func:`product_bands` keeps the last products' results, keyed by the band list
itself, so a harvest that hands every image the same product context pays for it once.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pystac.extensions.eo import PREFIX as EO

from stac_bridge.errors import TransformError
from stac_bridge.transforms._common import (
    GDAL_TO_STAC_DTYPE,
    copy_json,
    finite,
    gdal_dtype_to_stac,
    stac_dtype_to_gdal,
)
from stac_bridge.transforms.descartes_forms import (
    BAND,
    PROVIDER,
    V1,
    Form,
    envelope,
    note_envelope,
    str_id,
    unwrap,
)
from stac_bridge.transforms.kernel import NM_TO_UM, NUMBER, Codec, Field, Ledger, Reader, Table, same_json

PREFIX: Final = "dl:"
CENTER: Final = EO + "center_wavelength"
FWHM: Final = EO + "full_width_half_max"
COMMON_NAME: Final = EO + "common_name"
RESOLUTION: Final = "raster:spatial_resolution"
SCALE: Final = "raster:scale"
OFFSET: Final = "raster:offset"

#: STAC 1.1's ``eo:common_name`` values; another name of DL's stays under ``dl:name_common``.
COMMON_NAMES: Final = frozenset({
    "pan", "coastal", "blue", "green", "green05", "yellow", "red", "rededge", "rededge071", "rededge075",
    "rededge078", "nir", "nir08", "nir09", "cirrus", "swir16", "swir22", "lwir", "lwir11", "lwir12",
})
METRES: Final = frozenset({"m", "meters", "meter", "metres", "metre"})


def _dtype(value: Any) -> str:
    return gdal_dtype_to_stac(str(value))


DTYPE: Final = Codec("GDAL -> STAC data type (UInt16 -> uint16)", _dtype, stac_dtype_to_gdal)


def _metres_in(value: Any) -> Any:
    if not (isinstance(value, Mapping) and set(value) == {"value", "unit"} and value["unit"] == "meters"):
        raise ValueError("not {value, unit: meters}")
    return NUMBER.to_stac(value["value"])


#: v2 ``{"value": 30, "unit": "meters"}`` <-> 30.
METRES_V2: Final = Codec("{value, unit: meters} -> metres", _metres_in,
                         lambda v: {"value": NUMBER.from_stac(v), "unit": "meters"})


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and finite(value) and value > 0


def _number(value: Any) -> bool:
    kind = type(value)
    return kind is int or (kind is float and value == value and value not in (math.inf, -math.inf))


_COMMON: Final = (
    Field("name", "name", kind=str),
    Field("description", "description", kind=str),
    Field("nodata", "nodata", NUMBER, note="a number; null is the usual v1 value"),
)
BAND_V1: Final = Table(PROVIDER, "v1 band", (
    *_COMMON,
    Field("name_common", COMMON_NAME, kind=str, note="when a STAC common name"),
    Field("dtype", "data_type", DTYPE, str),
    Field("resolution", RESOLUTION, NUMBER, note="when `resolution_unit` is metres"),
    Field("wavelength_center", CENTER, NM_TO_UM, note="when `wavelength_unit` is nm"),
    Field("wavelength_fwhm", FWHM, NM_TO_UM, note="when `wavelength_unit` is nm"),
    Field("nbits", "raster:bits_per_sample", NUMBER, int),
), PREFIX, own=(
    ("id", "(the band id: <product id>:<name>)", "rebuilt"),
    ("product", "(the Collection id)", "rebuilt"),
    ("data_range + physical_range", f"{SCALE}, {OFFSET}", "the linear map; both also kept as `dl:`"),
))
BAND_V2: Final = Table(PROVIDER, "v2 band", (
    *_COMMON,
    Field("data_type", "data_type", DTYPE, str),
    Field("resolution", RESOLUTION, METRES_V2),
    Field("wavelength_nm_center", CENTER, NM_TO_UM),
    Field("wavelength_nm_fwhm", FWHM, NM_TO_UM),
), PREFIX, own=(
    ("id", "(the band id)", "rebuilt"),
    ("product_id", "(the Collection id)", "rebuilt"),
    ("data_range + physical_range", f"{SCALE}, {OFFSET}", "the linear map; both also kept as `dl:`"),
))


def _fits(name: str, value: Any, attrs: Mapping[str, Any]) -> bool:
    """Whether a DL value fits its STAC home (else it stays under ``dl:``)."""
    if name == "name_common":
        return value in COMMON_NAMES
    if name in ("wavelength_center", "wavelength_fwhm"):
        return attrs.get("wavelength_unit", "nm") == "nm" and _positive(value)
    if name in ("wavelength_nm_center", "wavelength_nm_fwhm"):
        return _positive(value)
    if name == "resolution":
        if isinstance(value, Mapping):
            return set(value) == {"value", "unit"} and value["unit"] == "meters" and _positive(value["value"])
        return _positive(value) and attrs.get("resolution_unit", "m") in METRES
    if name == "nbits":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1
    if name == "nodata":
        return _number(value)
    if name in ("dtype", "data_type"):
        return not isinstance(value, str) or value.lower() in _DTYPES
    if name == "description":
        return isinstance(value, str) and bool(value)
    return True


_DTYPES: Final = frozenset(name.lower() for name in GDAL_TO_STAC_DTYPE)
_GUARDED: Final = frozenset({"name_common", "wavelength_center", "wavelength_fwhm", "wavelength_nm_center",
                             "wavelength_nm_fwhm", "resolution", "nbits", "nodata", "dtype", "data_type",
                             "description"})


def prepare(attrs: Mapping[str, Any], guarded: frozenset[str], fits: Any,
            defaults: Mapping[str, Any]) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """The attributes for a table, and the values that stay under ``dl:`` because STAC cannot hold them.

    A value equal to the form's default (v1 ``nodata: null``) is left out: the way back writes it again.
    """
    moved: dict[str, Any] = {}
    dropped: list[str] = []
    for name in guarded.intersection(attrs):
        value = attrs[name]
        if name in defaults and value == defaults[name] and type(value) is type(defaults[name]):
            dropped.append(name)
        elif value is not None and not fits(name, value, attrs):
            moved[PREFIX + name] = value
            dropped.append(name)
    if not dropped:
        return attrs, moved
    return {k: v for k, v in attrs.items() if k not in dropped}, moved


def note_defaults(attrs: Mapping[str, Any], defaults: Mapping[str, Any], at: str, ledger: Ledger) -> None:
    """Note in the ledger the defaults a record leaves out (the way back would write them)."""
    prefix = f"{at}." if at else ""
    for name in defaults:
        if name not in attrs:
            ledger.absent.append(prefix + name)


_BAND_DEFAULTS: Final = {V1: {"nodata": None}, "v2": {}}


def _pair(value: Any) -> tuple[float, float] | None:
    if type(value) is list and len(value) == 2 and _number(value[0]) and _number(value[1]):
        return value[0], value[1]
    return None


def _scale_offset(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """``raster:scale``/``raster:offset`` from DL's linear map of ``data_range`` onto ``physical_range``."""
    data, physical = _pair(attrs.get("data_range")), _pair(attrs.get("physical_range"))
    if data is None or physical is None or data[1] == data[0]:
        return {}
    scale = (physical[1] - physical[0]) / (data[1] - data[0])
    offset = physical[0] - data[0] * scale
    if not (finite(scale) and finite(offset)) or (scale == 1 and offset == 0):
        return {}
    return {SCALE: scale, OFFSET: offset}


def note_rebuilt(attrs: Mapping[str, Any], usual: Mapping[str, Any], names: tuple[str, ...], at: str,
             ledger: Ledger) -> None:
    """Note in the ledger how the record's fields ``names`` differ from what the way back rebuilds (``usual``)."""
    prefix = f"{at}." if at else ""
    for name in names:
        if name in attrs:
            if name not in usual or not same_json(attrs[name], usual[name]):
                ledger.keep[prefix + name] = copy_json(attrs[name])
        elif name in usual:
            ledger.absent.append(prefix + name)


def band_to_entry(band: Any, product_id: str | None, at: str, ledger: Ledger) -> tuple[dict[str, Any], Form]:
    """One band as a ``bands`` entry; what cannot be rebuilt goes to ``ledger`` under ``at``.

    Raises:
        TransformError: the band has no name or a field of the wrong type.
    """
    unwrapped = unwrap(band, BAND)
    form, attrs = unwrapped.form, unwrapped.attrs
    band_at = f"{at}.{form.at}" if at and form.at else (at or form.at)
    name = attrs.get("name")
    if type(name) is not str or not name:  # the reader names what is wrong
        provisional = unwrapped.record_id or str_id(attrs.get("id")) or str_id(name)
        name = Reader(PROVIDER, attrs, record_id=provisional, at=band_at).require("name", str)
    band_id = f"{product_id}:{name}" if product_id else name
    defaults = _BAND_DEFAULTS[form.version]
    table = BAND_V1 if form.version == V1 else BAND_V2
    usable, moved = prepare(attrs, _GUARDED, _fits, defaults)
    reader = Reader(PROVIDER, usable, record_id=band_id, at=band_at)  # its paths are the attributes'
    reader.record, plain = split_plain(usable, _MAPPED[form.version], _OWN[form.version], reader, ledger)
    entry = table.encode(reader, ledger)
    entry.update(plain)
    entry.update(moved)
    entry.update(_scale_offset(attrs))
    if form.version != V1 and name in COMMON_NAMES:
        entry.setdefault(COMMON_NAME, name)  # v2 has no common name field: a band named one is that band
    note_defaults(attrs, defaults, band_at, ledger)
    note_rebuilt(attrs, _own_fields(form, band_id, product_id), _ID_FIELDS[form.version], band_at, ledger)
    if form.at:
        usual = envelope(form, band_id, product_id, {})
        note_envelope(band, usual, frozenset({band_at}), at, ledger)
    return entry, form


_ID_FIELDS: Final = {V1: ("id", "product"), "v2": ("id", "product_id")}
_OWN: Final = {version: frozenset(names) for version, names in _ID_FIELDS.items()}
_MAPPED: Final = {V1: frozenset(f.source for f in BAND_V1.fields), "v2": frozenset(f.source for f in BAND_V2.fields)}


def _own_fields(form: Form, band_id: str | None, product_id: str | None) -> dict[str, Any]:
    """The id fields a band's attributes usually carry in its form."""
    if form.version == V1:
        out: dict[str, Any] = {"product": product_id} if product_id else {}
        if not form.at and band_id is not None:
            out["id"] = band_id
        return out
    return {"product_id": product_id} if product_id else {}


def entry_to_band(entry: Mapping[str, Any], form: Form, product_id: str | None, ledger: Ledger,
                  at: str) -> dict[str, Any]:
    """A ``bands`` entry back as the band record of ``form`` (the ledger applied)."""
    table = BAND_V1 if form.version == V1 else BAND_V2
    attrs = table.decode({k: v for k, v in entry.items() if k not in (SCALE, OFFSET)})
    for field, value in _BAND_DEFAULTS[form.version].items():
        attrs.setdefault(field, value)
    name = entry.get("name")
    band_id = (f"{product_id}:{name}" if product_id else str(name)) if name is not None else None
    attrs.update(_own_fields(form, band_id, product_id))
    record = envelope(form, band_id, product_id, attrs)
    return ledger.apply(record, at)


def _plain(values: Any) -> bool:
    """Whether none of the values is an object or an array."""
    for value in values:
        kind = type(value)
        if kind is dict or kind is list:
            return False
    return True


def split_plain(attrs: Mapping[str, Any], mapped: frozenset[str], own: frozenset[str], reader: Reader,
                ledger: Ledger) -> tuple[dict[str, Any], dict[str, Any]]:
    """The attributes a table must see, and the unmapped plain ones as ``dl:`` fields.

    ``own`` fields are left out (the caller translates them).

    Plain: scalars, arrays of scalars, and objects of scalars such as ``extra_properties`` (flattened:
    ``dl:extra_properties.<name>``; kept whole in the ledger when a name has a dot or is a number, which the
    flat keys cannot give back). The same result as the table's own pass over unmapped fields, without its
    general walk: an image has dozens of such fields.
    """
    table: dict[str, Any] = {}
    plain: dict[str, Any] = {}
    for key, value in attrs.items():
        if key in own:
            continue
        kind = type(value)
        if key in mapped or "." in key:
            table[key] = value
        elif kind is str or kind is int or kind is float or kind is bool or value is None:
            plain[PREFIX + key] = value
        elif kind is list:
            if _plain(value):
                plain[PREFIX + key] = list(value)
            else:
                table[key] = value
        elif isinstance(value, dict):
            if value and _plain(value.values()):
                plain.update({f"{PREFIX}{key}.{name}": inner for name, inner in value.items()})
                if any("." in name or name.isdigit() or not name for name in value):
                    ledger.keep[reader.path(key)] = dict(value)
            else:
                table[key] = value
        else:
            plain[PREFIX + key] = value
    return table, plain


# --- bands per file, and the cache -------------------------------------------------------------------------

def _place(entry: Mapping[str, Any]) -> tuple[int, float, float] | None:
    """Which file of an image holds a band, and its (layer, index) inside it, from its ``dl:`` fields."""
    for file_key, layer_key, index_key in (("srcfile", "jpx_layer", "srcband"),
                                           ("file_index", "jpx_layer_index", "band_index")):
        if PREFIX + file_key in entry or PREFIX + index_key in entry:
            file_index = entry.get(PREFIX + file_key, 0)
            layer, index = entry.get(PREFIX + layer_key, 0), entry.get(PREFIX + index_key, 0)
            if isinstance(file_index, int) and _number(layer) and _number(index):
                return file_index, float(layer), float(index)
    return None


def bands_by_file(entries: Sequence[Mapping[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """The STAC fields of each band, per file index, in the order of the bands inside the file."""
    placed = []
    for position, entry in enumerate(entries):
        where = _place(entry)
        if where is not None:
            placed.append((where, position, entry))
    placed.sort(key=lambda p: (p[0], p[1]))
    files: dict[int, list[dict[str, Any]]] = {}
    for (file_index, _, _), _, entry in placed:
        files.setdefault(file_index, []).append({k: v for k, v in entry.items() if not k.startswith(PREFIX)})
    return files


@dataclass(frozen=True, slots=True)
class ProductContext:
    """What an image takes from its product: the product id, the instruments, the bands per file."""

    product_id: str | None
    instruments: tuple[str, ...]
    by_file: Mapping[int, Sequence[Mapping[str, Any]]]
    #: Every field name of those bands (for the extension declaration).
    band_keys: frozenset[str] = frozenset()


_CACHE: Final[OrderedDict[tuple[int, int], tuple[Any, Any, ProductContext]]] = OrderedDict()
_CACHE_SIZE: Final = 32
_LOCK: Final = threading.Lock()  # a harvest may translate pages in threads


def product_context(product: Mapping[str, Any] | None, bands: Sequence[Any] | None) -> ProductContext:
    """The product context of an image, translated once per product (and band list) and then reused.

    The cache is keyed by the objects themselves (and holds them, so their identity stays theirs); a caller
    that changes a product's bands in place between images should pass a new list.
    """
    key = (id(product), id(bands))
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0] is product and hit[1] is bands:
            _CACHE.move_to_end(key)
            return hit[2]
    context = _context(product, bands)
    with _LOCK:
        _CACHE[key] = (product, bands, context)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return context


def _context(product: Mapping[str, Any] | None, bands: Sequence[Any] | None) -> ProductContext:
    product_id: str | None = None
    instruments: tuple[str, ...] = ()
    if product is not None:
        unwrapped = unwrap(product, "product")
        product_id = unwrapped.record_id or str_id(unwrapped.attrs.get("id"))
        sensor = unwrapped.attrs.get("sensor")
        instruments = (sensor,) if isinstance(sensor, str) and sensor else ()
    by_file: dict[int, list[dict[str, Any]]] = {}
    if bands:
        if isinstance(bands, str | bytes) or not isinstance(bands, Sequence):
            raise TransformError(PROVIDER, product_id, "bands", "must be a list of band records")
        scratch = Ledger()
        entries = [band_to_entry(band, product_id, f"bands.{i}", scratch)[0] for i, band in enumerate(bands)]
        by_file = bands_by_file(entries)
    keys = frozenset(k for file_bands in by_file.values() for band in file_bands for k in band)
    return ProductContext(product_id, instruments, by_file, keys)
