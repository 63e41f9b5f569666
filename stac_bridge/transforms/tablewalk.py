"""A fast walk of a kernel table over records of at most two levels: :func:`fast_encode`, :func:`fast_decode`.

:meth:`stac_bridge.transforms.kernel.Table.encode` looks every path up part by part, copies and compares every
value; for the flat records most providers send (a link, a product's properties with their groups) this module
gives the same result (fields, vendor fields, ledger: tested equal) three to five times faster, and
:func:`fast_decode` the same for :meth:`~stac_bridge.transforms.kernel.Table.decode`. Generic: helpers the kernel
could take.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from stac_bridge.errors import TransformError
from stac_bridge.transforms._plain import copy_json
from stac_bridge.transforms.kernel import IDENTITY, Field, Ledger, Reader, Table, put, same_json

__all__ = ["fast_decode", "fast_encode"]

_NUMBER: Final = (int, float)
_ABSENT: Final = object()
#: The exact Python types of the JSON kinds the tables name (anything else goes through ``Reader.check``).
_PLAIN_TYPES: Final[dict[Any, tuple[type, ...]]] = {str: (str,), int: (int,), _NUMBER: (int, float), list: (list,)}
_SCALARS: Final = (str, int, float, bool, type(None))
_Plan = tuple[tuple[tuple[Field, str, str | None], ...], frozenset[str], frozenset[str]]
_PLANS: dict[int, _Plan] = {}


def _plan(table: Table) -> _Plan:
    plan = _PLANS.get(id(table))
    if plan is None:
        fields: list[tuple[Field, str, str | None]] = []
        for entry in table.fields:
            head, _, leaf = entry.source.partition(".")
            if "." in leaf:
                raise ValueError(f"{table.kind}: fast_encode walks two levels at most, not {entry.source}")
            if entry.accepts is not None:
                raise ValueError(f"{table.kind}: fast_encode does not guard values ({entry.source})")
            fields.append((entry, head, leaf or None))
        sources = frozenset(e.source for e in table.fields) | {path for path, _, _ in table.own}
        parents = frozenset(s.split(".", 1)[0] for s in sources if "." in s)
        plan = (tuple(fields), sources, parents)
        _PLANS[id(table)] = plan
    return plan


def _plain_leaf(key: str, value: Any) -> bool:
    """Whether the kernel would write ``value`` under the prefix as it is, with nothing for the ledger."""
    if "." in key or value is None or type(value) is dict or (type(value) is list and not value):
        return False  # nulls and empties: the kernel's ledger
    return type(value) is not list or not any(type(v) in (dict, list) for v in value)


def fast_encode(
    table: Table, record: Mapping[str, Any], at: str, record_id: str | None, ledger: Ledger,
    into: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``table.encode(Reader(..., record, at=at), ledger, into)`` with the same result, without its path walks.

    For tables whose provider paths have one or two levels; a record with a nested object or a dotted key
    where the kernel would flatten it goes through the kernel's ``encode``.
    """
    out: dict[str, Any] = {} if into is None else into
    fields, sources, parents = _plan(table)
    vendor: dict[str, Any] = {}
    for key, value in record.items():
        if key in sources:
            continue
        if key in parents and type(value) is dict:
            for inner_key, inner in value.items():
                path = f"{key}.{inner_key}"
                if path in sources:
                    continue
                if path in parents or not _plain_leaf(inner_key, inner):
                    return table.encode(Reader(table.provider, record, record_id=record_id, at=at), ledger, out)
                vendor[table.prefix + path] = inner if type(inner) in _SCALARS else copy_json(inner)
        elif type(value) is dict and key not in parents and value and "." not in key and all(
                _plain_leaf(k, v) for k, v in value.items()):  # an object of scalars: flat, as the kernel writes it
            for inner_key, inner in value.items():
                vendor[f"{table.prefix}{key}.{inner_key}"] = inner if type(inner) in _SCALARS else copy_json(inner)
        elif key in parents or not _plain_leaf(key, value):
            return table.encode(Reader(table.provider, record, record_id=record_id, at=at), ledger, out)
        else:
            vendor[table.prefix + key] = value if type(value) in _SCALARS else copy_json(value)
    for entry, head, leaf in fields:
        if leaf is None:
            value = record.get(head, _ABSENT)
        else:
            parent = record.get(head)
            value = parent.get(leaf, _ABSENT) if type(parent) is dict else _ABSENT
        if value is _ABSENT:
            continue
        if value is None:
            ledger.keep[f"{at}.{entry.source}"] = None
            continue
        if entry.kind is not None and type(value) not in _PLAIN_TYPES.get(entry.kind, ()):
            Reader(table.provider, record, record_id=record_id, at=at).check(entry.source, value, entry.kind)
        codec = entry.codec
        if codec is IDENTITY:  # an exact copy both ways: nothing to compare
            out[entry.target] = value if type(value) in _SCALARS else copy_json(value)
            continue
        try:
            stac_value = out[entry.target] = codec.to_stac(value)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise TransformError(table.provider, record_id, f"{at}.{entry.source}",
                                 f"cannot be read ({codec.name or 'copy'}): {exc}") from exc
        if not same_json(codec.from_stac(stac_value), value):
            ledger.keep[f"{at}.{entry.source}"] = copy_json(value)
    out.update(vendor)
    return out


def _place(out: dict[str, Any], path: str, value: Any) -> None:
    """``kernel.put`` for paths of one or two object levels (anything else goes through ``put``)."""
    head, dot, leaf = path.partition(".")
    if not dot:
        out[path] = value
        return
    parent = out.get(head)
    if "." in leaf or leaf.isdigit() or head.isdigit() or (parent is not None and type(parent) is not dict):
        put(out, path, value)
    elif parent is None:
        out[head] = {leaf: value}
    else:
        parent[leaf] = value


def fast_decode(table: Table, stac: Mapping[str, Any], into: dict[str, Any] | None = None) -> dict[str, Any]:
    """``table.decode(stac, into)`` with the same result, for tables :func:`fast_encode` walks."""
    out: dict[str, Any] = {} if into is None else into
    fields, _, _ = _plan(table)
    for entry, _head, _leaf in fields:
        if entry.target in stac:
            value = stac[entry.target]
            if entry.codec is IDENTITY:
                _place(out, entry.source, value if type(value) in _SCALARS else copy_json(value))
                continue
            try:
                value = entry.codec.from_stac(value)
            except (ValueError, TypeError, IndexError, KeyError) as exc:
                record_id = stac.get("id")
                raise TransformError(table.provider, record_id if isinstance(record_id, str) else None,
                                     entry.target, f"cannot be written back: {exc}") from exc
            _place(out, entry.source, value)
    prefix = table.prefix
    width = len(prefix)
    for key, value in stac.items():
        if key.startswith(prefix):
            _place(out, key[width:], value if type(value) in _SCALARS else copy_json(value))
    return out
