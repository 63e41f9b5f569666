"""The mapping kernel: field tables with codecs both ways, one typed reader, one ledger.

A provider's mapping is data: a :class:`Table` of :class:`Field` entries, each naming a provider path (dotted,
list indexes as numbers), a STAC key and a :class:`Codec` for each direction. :meth:`Table.encode` reads a
record through a :class:`Reader` (whose errors name the provider, the record id and the field) and returns flat
STAC fields; :meth:`Table.decode` gives the provider fields back. Provider fields the table does not name stay
visible under the provider's prefix (``byoc:s3Bucket``); nested ones are flattened with dots
(``byoc:additionalData.failedIngestionCause``), so that no property is an object that GIS tools cannot store.

What a table cannot rebuild exactly goes into the record's :class:`Ledger`, the one bookkeeping member of a
STAC object this package writes (``stac_bridge:ledger``, absent when empty)::

    {"keep": {"<provider path>": <the provider's own value>, ...},   # a spelling a codec normalises
     "absent": ["<provider path>", ...]}                            # a field the provider left out

``stac_bridge:source`` (a property of Items, a top-level field of Collections) names the provider, the record
kind and the transform version: ``"byoc/tile/2"``. The loader keeps both in pgstac's ``private`` column, which
the STAC API never serves; the compatible endpoints and ``/collections/{c}/items/{i}/source`` join them back.

Everything here is pure and cheap: the hot path builds dicts, never pystac objects.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

from pystac.extensions.eo import EOExtension
from pystac.extensions.file import FileExtension
from pystac.extensions.grid import GridExtension
from pystac.extensions.mgrs import MgrsExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import RasterExtension
from pystac.extensions.sar import SarExtension
from pystac.extensions.sat import SatExtension
from pystac.extensions.storage import StorageExtension
from pystac.extensions.timestamps import TimestampsExtension
from pystac.extensions.version import VersionExtension
from pystac.extensions.view import ViewExtension

from stac_bridge.errors import TransformError
from stac_bridge.transforms._plain import copy_json, format_datetime, parse_datetime

__all__ = [
    "LEDGER",
    "SOURCE",
    "Codec",
    "Field",
    "Ledger",
    "Reader",
    "Table",
    "declare_extensions",
    "same_json",
    "schemas_of",
    "source_of",
    "source_tag",
]

#: The one bookkeeping member of a STAC object (see the module docstring).
LEDGER: Final = "stac_bridge:ledger"
#: Provenance: ``"<provider>/<kind>/<transform version>"``.
SOURCE: Final = "stac_bridge:source"

_MISSING: Final = object()
_SCALARS: Final = (str, int, float, bool, type(None))
#: The most scalar values a table field remembers its codec's results for.
_MEMO_SIZE: Final = 4096


# --- JSON helpers -------------------------------------------------------------------------------------------

def same_json(a: Any, b: Any) -> bool:
    """Whether two JSON values are the same JSON text: ``600 != 600.0``, ``True != 1``, order of keys aside."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _json_type_name(kind: type) -> str:
    return {
        dict: "an object",
        Mapping: "an object",
        list: "an array",
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        type(None): "null",
    }.get(kind, kind.__name__)


def json_type_problem(value: Any, kind: type | tuple[type, ...]) -> str | None:
    """What is wrong with a JSON value's type (``"must be a string, got an integer 3"``), or ``None``.

    An integer is a number, but a boolean is not.
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if type(value) in kinds:  # the common case, decided without isinstance's walk
        return None
    if type(value) is dict and Mapping in kinds:
        return None
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    elif float in kinds and isinstance(value, int):
        ok = True
    else:
        ok = isinstance(value, kinds)
    if ok:
        return None
    names = " or ".join(_json_type_name(k) for k in kinds)
    return f"must be {names}, got {_json_type_name(type(value))} {value!r:.80}"


def _parts(path: str) -> list[str]:
    return path.split(".") if path else []


def lookup(record: Any, path: str) -> Any:
    """The value at a dotted path (list indexes as numbers), or the module's missing marker."""
    if "." not in path and type(record) is dict:  # most lookups: one key of a plain dict
        return record.get(path, _MISSING) if path else record
    value = record
    for part in _parts(path):
        if type(value) is dict or isinstance(value, Mapping):
            if part not in value:
                return _MISSING
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def is_missing(value: Any) -> bool:
    """Whether :func:`lookup` found nothing."""
    return value is _MISSING


def put(record: dict[str, Any], path: str, value: Any) -> None:
    """Set the value at a dotted path, creating objects (or lists, for number parts) on the way."""
    parts = _parts(path)
    target: Any = record
    for part, following in zip(parts, parts[1:], strict=False):
        fresh: Any = [] if following.isdigit() else {}
        if isinstance(target, list):
            index = _index(part, path)
            while len(target) <= index:
                target.append(None)
            if target[index] is None:
                target[index] = fresh
            target = target[index]
        else:
            target = target.setdefault(part, fresh)
    last = parts[-1]
    if isinstance(target, list):
        index = _index(last, path)
        while len(target) <= index:
            target.append(None)
        target[index] = value
    else:
        target[last] = value


def _index(part: str, path: str) -> int:
    if not part.isdigit():
        raise ValueError(f"{path!r}: {part!r} is no index of the array the path has there")
    return int(part)


def remove(record: dict[str, Any], path: str) -> None:
    """Delete the value at a dotted path when it is there."""
    *head, last = _parts(path)
    parent = lookup(record, ".".join(head))
    if isinstance(parent, dict):
        parent.pop(last, None)


# --- the reader ---------------------------------------------------------------------------------------------

class Reader:
    """Typed access to one provider record; every error names the provider, the record id and the field.

    Args:
        provider: The adapter name, e.g. ``"byoc"``.
        record: The provider record (a JSON object).
        record_id: The record's id, when known; otherwise ``id_field`` of the record is used.
        id_field: The field holding the id.
        at: The path of this record inside an outer one (for a band of a collection), prefixed to every field
            an error names.
    """

    __slots__ = ("at", "provider", "record", "record_id")

    def __init__(
        self,
        provider: str,
        record: Any,
        *,
        record_id: str | None = None,
        id_field: str = "id",
        at: str = "",
    ) -> None:
        self.provider = provider
        self.at = at
        is_object = type(record) is dict or isinstance(record, Mapping)
        if record_id is None and is_object:
            raw = record.get(id_field)
            record_id = str(raw) if raw is not None else None
        self.record_id = record_id
        if not is_object:
            got = type(record).__name__
            raise TransformError(provider, record_id, at or None, f"expected a JSON object, got {got}")
        self.record: Mapping[str, Any] = record

    def path(self, field: str) -> str:
        """The full path of ``field`` from the outermost record."""
        return f"{self.at}.{field}" if self.at and field else (self.at or field)

    def error(self, field: str | None, reason: str) -> TransformError:
        """A :class:`TransformError` about ``field`` of this record."""
        return TransformError(self.provider, self.record_id, self.path(field or "") or None, reason)

    def has(self, path: str) -> bool:
        """Whether the record has ``path`` (null counts as present)."""
        return lookup(self.record, path) is not _MISSING

    def get(self, path: str, kind: type | tuple[type, ...] | None = None, default: Any = None) -> Any:
        """The value at ``path``, or ``default`` when absent or null; type-checked when ``kind`` is given."""
        value = lookup(self.record, path)
        if value is _MISSING or value is None:
            return default
        if kind is not None:
            self.check(path, value, kind)
        return value

    def require(self, path: str, kind: type | tuple[type, ...] | None = None) -> Any:
        """The value at ``path``; an error when it is absent, null or of the wrong type."""
        value = lookup(self.record, path)
        if value is _MISSING or value is None:
            raise self.error(path, "is missing")
        if kind is not None:
            self.check(path, value, kind)
        return value

    def check(self, path: str, value: Any, kind: type | tuple[type, ...]) -> None:
        """Raise a named error when ``value`` (found at ``path``) is not of the JSON type ``kind``."""
        problem = json_type_problem(value, kind)
        if problem is not None:
            raise self.error(path, problem)

    def datetime(self, path: str, *, required: bool = False) -> dt.datetime | None:
        """A datetime field parsed as RFC 3339 (a naive value is taken as UTC)."""
        raw = self.require(path, str) if required else self.get(path, str)
        if raw is None:
            return None
        try:
            return parse_datetime(raw)
        except ValueError as exc:
            raise self.error(path, f"is not an RFC 3339 datetime: {raw!r:.80}") from exc

    def nested(self, path: str) -> Reader:
        """A reader of the object at ``path`` whose errors name paths from this record's root."""
        return Reader(self.provider, self.require(path), record_id=self.record_id, at=self.path(path))

    def convert(self, path: str, func: Callable[[Any], Any], what: str) -> Any:
        """Apply ``func`` to the required field; a ``ValueError``/``TypeError`` becomes a named error."""
        value = self.require(path)
        try:
            return func(value)
        except TransformError:
            raise
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise self.error(path, f"is not {what}: {exc}") from exc


# --- codecs -------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Codec:
    """A value's translation both ways.

    ``from_stac(to_stac(v))`` should give ``v`` back for the provider's usual spelling; when it does not (an
    unusual spelling), the table keeps the provider's value in the ledger, so the way back stays exact.

    Attributes:
        name: What the codec does, for the docs (``"fraction -> percent"``); empty for a plain copy.
        to_stac: Provider value -> STAC value; raises ``ValueError``/``TypeError`` on a value it cannot read.
        from_stac: STAC value -> provider value.
    """

    name: str
    to_stac: Callable[[Any], Any]
    from_stac: Callable[[Any], Any]


IDENTITY: Final = Codec("", copy_json, copy_json)


def _number_back(value: Any) -> Any:
    """A number as providers usually write it: integral values as integers."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _shift(value: Any, places: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"expected a finite number, got {value!r:.40}")
    return float(Decimal(repr(float(value))).scaleb(places))


def scale(places: int, name: str) -> Codec:
    """Multiply by ``10**places`` on the shortest decimal form (``0.5646`` -> ``56.46``, exactly)."""
    return Codec(name, lambda v: _shift(v, places), lambda v: _number_back(_shift(v, -places)))


PERCENT: Final = scale(2, "fraction -> percent")
NM_TO_UM: Final = scale(-3, "nm -> um")


def _as_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r:.40}")
    return value


#: A number, written back as an integer when integral (600 stays 600).
NUMBER: Final = Codec("", _as_number, _number_back)


def _utc_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected an RFC 3339 string, got {value!r:.40}")
    return format_datetime(parse_datetime(value))


#: RFC 3339 in UTC with ``Z`` both ways; another spelling of the provider's is kept in the ledger.
DATETIME: Final = Codec("RFC 3339, UTC", _utc_text, lambda v: v)


def lower_case(name: str = "lower case") -> Codec:
    """An enum written in capitals by the provider and in lower case in STAC (``ASCENDING`` -> ``ascending``)."""
    return Codec(name, lambda v: str(v).lower(), lambda v: str(v).upper())


def enum(mapping: Mapping[str, str], name: str) -> Codec:
    """An enum whose provider and STAC values differ; values the mapping lacks are an error."""
    back = {v: k for k, v in mapping.items()}

    def to_stac(value: Any) -> str:
        try:
            return mapping[value]
        except (KeyError, TypeError):
            raise ValueError(f"{value!r:.40} is none of {', '.join(map(repr, mapping))}") from None

    return Codec(name, to_stac, lambda v: back.get(v, v))


def split(separator: str, name: str = "") -> Codec:
    """A provider string list (``"VV, VH"``) as a STAC array (``["VV", "VH"]``)."""
    def to_stac(value: Any) -> list[str]:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {value!r:.40}")
        return [part.strip() for part in value.split(separator.strip() or separator) if part.strip()]

    return Codec(name or f"split at {separator!r}", to_stac, lambda v: separator.join(v))


def one_of_list(name: str = "one value -> array") -> Codec:
    """A single provider value as a one-element STAC array (``instruments``)."""
    return Codec(name, lambda v: [copy_json(v)], lambda v: copy_json(v[0]) if len(v) == 1 else copy_json(v))


# --- the ledger ---------------------------------------------------------------------------------------------

@dataclass
class Ledger:
    """What one record's tables could not rebuild exactly (see the module docstring)."""

    keep: dict[str, Any] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, stac: Mapping[str, Any]) -> Ledger:
        """The ledger of a STAC object (a dict), empty when it has none."""
        raw = stac.get(LEDGER)
        if not isinstance(raw, Mapping):
            return cls()
        keep = raw.get("keep")
        absent = raw.get("absent")
        return cls(dict(keep) if isinstance(keep, Mapping) else {}, list(absent) if isinstance(absent, list) else [])

    def to_json(self) -> dict[str, Any] | None:
        """The ledger member's value, or ``None`` when there is nothing to keep."""
        out: dict[str, Any] = {}
        if self.keep:
            out["keep"] = self.keep
        if self.absent:
            out["absent"] = self.absent
        return out or None

    def attach(self, stac: MutableMapping[str, Any]) -> None:
        """Put the ledger on a STAC object (nothing when it is empty)."""
        value = self.to_json()
        if value is not None:
            stac[LEDGER] = value

    def apply(self, record: dict[str, Any], at: str = "") -> dict[str, Any]:
        """Write the kept values into the rebuilt ``record`` (paths under ``at``) and drop the absent ones."""
        prefix = f"{at}." if at else ""
        for path, value in self.keep.items():
            if not at or path.startswith(prefix):
                put(record, path[len(prefix):], copy_json(value))
        for path in self.absent:
            if not at or path.startswith(prefix):
                remove(record, path[len(prefix):])
        return record


def source_tag(provider: str, kind: str, version: int) -> str:
    """The ``stac_bridge:source`` value: ``"<provider>/<kind>/<version>"``."""
    return f"{provider}/{kind}/{version}"


def source_of(stac: Mapping[str, Any]) -> tuple[str, str, int] | None:
    """``(provider, kind, version)`` of a STAC object this package made, from ``stac_bridge:source``."""
    properties = stac.get("properties")
    tag = properties.get(SOURCE) if isinstance(properties, Mapping) else None
    if tag is None:
        tag = stac.get(SOURCE)
    if not isinstance(tag, str):
        return None
    provider, _, rest = tag.partition("/")
    kind, _, version = rest.partition("/")
    return (provider, kind, int(version)) if version.isdigit() else None


def _memo_key(value: Any) -> Any:
    """A key that tells a scalar, or a flat object of scalars, from every other JSON value; else ``None``.

    The types are part of the key: 30 and 30.0 are equal in Python but not to the way back.
    """
    kind = type(value)
    if kind is str or kind is int or kind is float:
        return kind, value
    if kind is dict and len(value) <= 4:
        key = []
        for name, inner in value.items():
            inner_kind = type(inner)
            if inner_kind is not str and inner_kind is not int and inner_kind is not float:
                return None
            key.append((name, inner_kind, inner))
        return dict, tuple(key)
    return None


# --- tables -------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Field:
    """One provider field and its STAC home.

    Attributes:
        source: The provider path, dotted (``acquisitionParameters.orbitDirection``).
        target: The STAC key in the object the table fills (``sat:orbit_state``).
        codec: The translation both ways.
        kind: The JSON type(s) the provider sends; anything else is a named error.
        note: A remark for the docs table.
        accepts: Which values the STAC field can hold (``left``/``right`` of a look direction that may also be
            ``either``); another value stays visible under the table's prefix. ``None``: every value.
    """

    source: str
    target: str
    codec: Codec = IDENTITY
    kind: type | tuple[type, ...] | None = None
    note: str = ""
    accepts: Callable[[Any], bool] | None = None


@dataclass(frozen=True)
class Table:
    """A provider record kind's mapping.

    Attributes:
        provider: The adapter name (``"byoc"``).
        kind: The record kind (``"tile"``); also the docs heading.
        fields: The mapped fields, in the order the docs list them.
        prefix: The prefix that keeps the fields the table does not name visible (``"byoc:"``).
        own: Provider paths the provider module translates itself (geometries, files), listed for the docs
            as ``(path, STAC side, note)``; the table leaves them alone.
    """

    provider: str
    kind: str
    fields: tuple[Field, ...]
    prefix: str
    own: tuple[tuple[str, str, str], ...] = ()
    _targets: frozenset[str] = field(init=False, repr=False, compare=False)
    _sources: frozenset[str] = field(init=False, repr=False, compare=False)
    _parents: frozenset[str] = field(init=False, repr=False, compare=False)
    _plan: tuple[tuple[Field, tuple[str, ...], dict[Any, tuple[Any, bool]]], ...] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Each field's codec results for scalar values (the same band types, units and enums recur in every
        # record): _memo_key(value) -> (STAC value, whether the way back gives the value again).
        object.__setattr__(self, "_plan", tuple((f, tuple(_parts(f.source)), {}) for f in self.fields))
        object.__setattr__(self, "_targets", frozenset(f.target for f in self.fields))
        paths = {f.source for f in self.fields} | {path for path, _, _ in self.own}
        object.__setattr__(self, "_sources", frozenset(paths))
        # Objects that hold a mapped path are walked into, not copied whole under the prefix.
        parents = {".".join(_parts(p)[:i]) for p in paths for i in range(1, len(_parts(p)))}
        object.__setattr__(self, "_parents", frozenset(parents))

    # -- the way in -------------------------------------------------------------------------------------

    def encode(self, reader: Reader, ledger: Ledger, into: dict[str, Any] | None = None) -> dict[str, Any]:
        """Translate a record's fields to flat STAC fields (added to ``into`` when given).

        Values the codecs cannot give back exactly, and nulls, are kept in ``ledger`` under their full path.

        Raises:
            TransformError: a field has the wrong type or a value its codec cannot read.
        """
        out: dict[str, Any] = {} if into is None else into
        record = reader.record
        for entry, parts, memo in self._plan:
            value: Any = record
            for part in parts:
                if type(value) is dict or isinstance(value, Mapping):
                    value = value.get(part, _MISSING)
                elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                    value = value[int(part)]
                else:
                    value = _MISSING
                if value is _MISSING:
                    break
            if value is _MISSING:
                continue
            if value is None:
                ledger.keep[reader.path(entry.source)] = None
                continue
            if entry.kind is not None and json_type_problem(value, entry.kind) is not None:
                reader.check(entry.source, value, entry.kind)
            if entry.accepts is not None and not entry.accepts(value):
                for flat_key, leaf in _flatten(entry.source, value):
                    out[self.prefix + flat_key] = leaf
                continue
            codec = entry.codec
            if codec is IDENTITY:  # an exact copy both ways: nothing to compare
                out[entry.target] = value if type(value) in _SCALARS else copy_json(value)
                continue
            key = _memo_key(value)
            known = memo.get(key) if key is not None else None
            if known is not None:
                stac_value, exact = known
            else:
                try:
                    stac_value = codec.to_stac(value)
                except TransformError:
                    raise
                except (ValueError, TypeError, ArithmeticError) as exc:
                    raise reader.error(entry.source, f"cannot be read ({codec.name or 'copy'}): {exc}") from exc
                exact = same_json(codec.from_stac(stac_value), value)
                if key is not None and type(stac_value) in _SCALARS:
                    if len(memo) >= _MEMO_SIZE:
                        memo.clear()
                    memo[key] = (stac_value, exact)
            out[entry.target] = stac_value
            if not exact:
                ledger.keep[reader.path(entry.source)] = copy_json(value)
        self._vendor(reader, record, "", ledger, out)
        return out

    def _vendor(self, reader: Reader, obj: Mapping[str, Any], at: str, ledger: Ledger, out: dict[str, Any]) -> None:
        parents = self._parents
        sources = self._sources
        prefix = self.prefix
        for key, value in obj.items():
            path = f"{at}.{key}" if at else key
            if path in sources:
                continue
            if value is None:  # no value to show: only the way back needs to know the record said null
                ledger.keep[reader.path(path)] = None
                continue
            if type(value) in _SCALARS and "." not in key:
                out[prefix + path] = value
                continue
            if path in parents and isinstance(value, Mapping):
                self._vendor(reader, value, path, ledger, out)
                continue
            for flat_key, leaf in _flatten(path, value):
                if leaf is None:
                    ledger.keep[reader.path(flat_key)] = None
                else:
                    out[prefix + flat_key] = leaf
            if "." in key or not _unflattens(path, value):
                ledger.keep[reader.path(path)] = copy_json(value)

    # -- the way back -----------------------------------------------------------------------------------

    def decode(self, stac: Mapping[str, Any], into: dict[str, Any] | None = None) -> dict[str, Any]:
        """Translate flat STAC fields back to the provider's (nested) fields, the ledger aside.

        Raises:
            TransformError: a STAC value cannot be written back (wrong type).
        """
        out: dict[str, Any] = {} if into is None else into
        for entry in self.fields:
            if entry.target in stac:
                try:
                    put(out, entry.source, entry.codec.from_stac(stac[entry.target]))
                except (ValueError, TypeError, IndexError, KeyError) as exc:
                    raise TransformError(
                        self.provider, _id_of(stac), entry.target, f"cannot be written back: {exc}"
                    ) from exc
        prefix = self.prefix
        width = len(prefix)
        for key, value in stac.items():
            if key.startswith(prefix):
                try:
                    put(out, key[width:], copy_json(value))
                except ValueError:  # an object with number keys, flattened: its ledger entry restores it
                    continue
        return out

    # -- the docs ---------------------------------------------------------------------------------------

    def rows(self) -> Iterator[tuple[str, str, str]]:
        """``(provider path, STAC key, codec and note)`` for every mapped field, then the module's own."""
        for entry in self.fields:
            yield entry.source, entry.target, "; ".join(x for x in (entry.codec.name, entry.note) if x)
        yield from self.own

    def markdown(self) -> str:
        """The table as a Markdown table, for the provider's docs page."""
        lines = [f"| {self.kind} field | STAC | normalisation / note |", "|---|---|---|"]
        lines += [f"| `{s}` | `{t}` | {n} |" for s, t, n in self.rows()]
        lines.append(f"| any other field | `{self.prefix}<field>` (nested: `{self.prefix}<a.b>`) | kept as sent |")
        return "\n".join(lines)


def _id_of(stac: Mapping[str, Any]) -> str | None:
    value = stac.get("id")
    return value if isinstance(value, str) else None


def _flatten(path: str, value: Any) -> Iterator[tuple[str, Any]]:
    """Leaves of a value as ``(dotted path, scalar or list of scalars)``.

    Empty arrays and objects are left out: they tell a user nothing, and GIS tools cannot give a column of them a
    type (QGIS refuses to write them to a GeoPackage); the ledger keeps them for the way back.
    """
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _flatten(f"{path}.{key}", inner)
    elif isinstance(value, list) and any(isinstance(v, Mapping | list) for v in value):
        for index, inner in enumerate(value):
            yield from _flatten(f"{path}.{index}", inner)
    elif value != []:
        yield path, copy_json(value)


def _unflattens(path: str, value: Any) -> bool:
    """Whether :func:`put` of the flattened leaves rebuilds ``value`` exactly."""
    if not isinstance(value, Mapping | list):
        return True
    rebuilt: dict[str, Any] = {}
    try:
        for flat_key, leaf in _flatten(path, value):
            put(rebuilt, flat_key, leaf)
    except ValueError:
        return False
    return same_json(lookup(rebuilt, path), value)


# --- extensions ---------------------------------------------------------------------------------------------

#: STAC field prefix -> the schema URI its fields need (pystac's where pystac has the extension).
EXTENSION_SCHEMAS: Final[dict[str, str]] = {
    "eo": EOExtension.get_schema_uri(),
    "file": FileExtension.get_schema_uri(),
    "grid": GridExtension.get_schema_uri(),
    "mgrs": MgrsExtension.get_schema_uri(),
    "proj": ProjectionExtension.get_schema_uri(),
    "raster": RasterExtension.get_schema_uri(),
    "sar": SarExtension.get_schema_uri(),
    "sat": SatExtension.get_schema_uri(),
    "storage": StorageExtension.get_schema_uri(),
    "view": ViewExtension.get_schema_uri(),
    # pystac has no class for these (product v0.1.0 refuses product:acquisition_type).
    "order": "https://stac-extensions.github.io/order/v1.1.0/schema.json",
    "processing": "https://stac-extensions.github.io/processing/v1.2.0/schema.json",
    "product": "https://stac-extensions.github.io/product/v1.0.0/schema.json",
}
#: Fields of an extension that carry no prefix.
_UNPREFIXED: Final[dict[str, str]] = {
    "published": TimestampsExtension.get_schema_uri(),
    "expires": TimestampsExtension.get_schema_uri(),
    "unpublished": TimestampsExtension.get_schema_uri(),
    "version": VersionExtension.get_schema_uri(),
    "deprecated": VersionExtension.get_schema_uri(),
}


def _keys(obj: Any) -> Iterator[str]:
    """Every key of the field objects of a STAC object: properties, assets, bands, summaries, item_assets."""
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            yield key
            if key in ("properties", "assets", "item_assets", "summaries", "bands", "providers") or (
                isinstance(value, Mapping | list) and key not in ("geometry", "links", "extent", LEDGER)
                and ":" not in key
            ):
                yield from _keys(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _keys(value)


def schemas_of(keys: Iterable[str]) -> list[str]:
    """The schema URIs (sorted) of the extensions whose fields are among ``keys``.

    The fast form of :func:`declare_extensions` for a transform that knows where its fields sit (an Item's
    properties and assets, a Collection's summaries and bands): it collects their names, and the same names
    give the same schemas from a cache.
    """
    return list(_schemas_of(keys if isinstance(keys, frozenset) else frozenset(keys)))


@lru_cache(maxsize=1024)
def _schemas_of(keys: frozenset[str]) -> tuple[str, ...]:
    uris = set()
    for key in keys:
        prefix, colon, _ = key.partition(":")
        if colon and prefix in EXTENSION_SCHEMAS:
            uris.add(EXTENSION_SCHEMAS[prefix])
        elif key in _UNPREFIXED:
            uris.add(_UNPREFIXED[key])
    return tuple(sorted(uris))


def declare_extensions(stac: dict[str, Any], extra: Iterable[str] = ()) -> dict[str, Any]:
    """Set ``stac_extensions`` to the schemas of the extension fields the object uses (plus ``extra``).

    Keeps schema URIs already declared that no known prefix accounts for (a provider's own extension).
    """
    uris = set(extra)
    fields = {k: v for k, v in stac.items() if k not in ("geometry", "links", LEDGER)}
    uris.update(_schemas_of(frozenset(_keys(fields))))
    known = set(EXTENSION_SCHEMAS.values()) | set(_UNPREFIXED.values())
    uris.update(u for u in stac.get("stac_extensions", ()) if u not in known)
    if uris:
        stac["stac_extensions"] = sorted(uris)
    else:
        stac.pop("stac_extensions", None)
    return stac


# --- the docs -----------------------------------------------------------------------------------------------

#: The markers around the generated part of a provider's docs page.
DOCS_BEGIN: Final = (
    "<!-- BEGIN GENERATED MAPPING: edit the tables in stac_bridge/transforms, then run scripts/mapping-docs.py -->"
)
DOCS_END: Final = "<!-- END GENERATED MAPPING -->"


def docs_section(tables: Iterable[Table]) -> str:
    """The generated part of a provider's docs page: one Markdown table per record kind, markers included."""
    parts = [DOCS_BEGIN]
    for table in tables:
        parts += ["", f"### {table.kind.capitalize()}s", "", table.markdown()]
    parts += ["", DOCS_END]
    return "\n".join(parts)


def replace_docs_section(page: str, tables: Iterable[Table]) -> str:
    """A docs page with its generated part replaced (appended when the page has no markers yet)."""
    section = docs_section(tables)
    begin, end = page.find(DOCS_BEGIN), page.find(DOCS_END)
    if begin < 0 or end < 0:
        return page.rstrip("\n") + "\n\n## Mapping tables\n\n" + section + "\n"
    return page[:begin] + section + page[end + len(DOCS_END):]
