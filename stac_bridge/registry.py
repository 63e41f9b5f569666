"""The adapter contract: one per provider, binding that provider's transforms under one interface.

The CLI and the harvest engine work through this interface; users of the library usually call the transform
modules directly (``from stac_bridge.transforms import byoc``). Adapters are found through the providers'
declarations (:mod:`stac_bridge.plugin`, the entry-point group ``stac_bridge.providers``): nothing registers
itself on import.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypedDict, runtime_checkable

__all__ = ["Adapter", "AdapterBase", "Kind", "ProviderRecord", "RecordContext", "get_adapter", "list_adapters"]


class Kind(StrEnum):
    """The kinds of record the built-in providers' models have (a provider may use kinds of its own)."""

    COLLECTION = "collection"
    ITEM = "item"
    TILE = "tile"
    PRODUCT = "product"
    BAND = "band"
    IMAGE = "image"
    TASKING = "tasking"


class RecordContext(TypedDict, total=False):
    """Other records a transform needs beside a record.

    Attributes:
        collection: A BYOC tile's collection.
        product: A Descartes Labs image's product.
        bands: A Descartes Labs product's (or its image's product's) bands.
    """

    collection: Mapping[str, Any]
    product: Mapping[str, Any]
    bands: list[Mapping[str, Any]]


@dataclass(frozen=True)
class ProviderRecord:
    """One raw provider record, with what its transform needs beside it.

    Attributes:
        kind: What the record is in the provider's model (a :class:`Kind`, or a provider's own kind).
        data: The record as the provider's API sends it (a JSON object).
        context: Other records the transform needs, e.g. ``{"collection": {...}}`` for a BYOC tile.
    """

    kind: str
    data: Mapping[str, Any]
    context: RecordContext = field(default_factory=lambda: RecordContext())

    @property
    def id(self) -> str | None:
        """The record's ``id``, when it has one."""
        value = self.data.get("id") if isinstance(self.data, Mapping) else None
        return str(value) if value is not None else None


#: What a file source hands an adapter's :meth:`Adapter.link`: classified records, or raw mappings the adapter
#: could not classify (passed on for the transform to refuse with its reason).
Raw = ProviderRecord | Mapping[str, Any]


@runtime_checkable
class Adapter(Protocol):
    """A provider's transforms under one interface (:class:`AdapterBase` gives the two hooks their defaults).

    Attributes:
        name: The provider's name, e.g. ``"byoc"``; also the prefix of the provider's own STAC fields.
        title: A human name for listings.
    """

    name: str
    title: str

    def classify(self, raw: Mapping[str, Any]) -> ProviderRecord:
        """Say what a raw record read from a file is (a collection, a tile, ...).

        Raises:
            TransformError: the record is none of this provider's kinds.
        """
        ...

    def to_stac(self, record: ProviderRecord) -> dict[str, Any]:
        """Translate one provider record to a STAC Item or Collection (as a dict).

        Raises:
            TransformError: the record cannot be translated; the error names the record and the field.
        """
        ...

    def from_stac(self, stac: Mapping[str, Any]) -> dict[str, Any]:
        """Translate a STAC Item or Collection back to the provider's wire form.

        Raises:
            TransformError: the object did not come from this provider's model and cannot be expressed in it.
        """
        ...

    def link(self, records: Iterable[Raw]) -> Iterator[Raw]:
        """Give records read in order from files the context their transform needs.

        An adapter may hold records back until their context is complete (a product until its bands are read)
        and drop those that are only context (bands); records it does not know (raw mappings that could not
        be classified) pass through unchanged, for the transform to refuse with its reason.
        """
        ...

    def export_records(self, stac: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The provider records (or client calls) that recreate a STAC object, for ``stac-bridge export``.

        Raises:
            TransformError: as :meth:`from_stac`.
        """
        ...


class AdapterBase:
    """The defaults of the :class:`Adapter` hooks: records need no context, one STAC object exports as one record."""

    def from_stac(self, stac: Mapping[str, Any]) -> dict[str, Any]:  # pragma: no cover - each adapter's own
        """Translate a STAC object back (see :meth:`Adapter.from_stac`)."""
        raise NotImplementedError

    def link(self, records: Iterable[Raw]) -> Iterator[Raw]:
        """The records as they are."""
        return iter(records)

    def export_records(self, stac: Mapping[str, Any]) -> list[dict[str, Any]]:
        """``[from_stac(stac)]``."""
        return [self.from_stac(stac)]


def list_adapters() -> list[str]:
    """The names of every installed provider's adapter (:func:`stac_bridge.plugin.providers`)."""
    from stac_bridge.plugin import providers

    return list(providers())


def get_adapter(name: str) -> Adapter:
    """The adapter of the provider ``name``.

    Raises:
        ConfigError: no provider has that name, or its adapter does not implement :class:`Adapter`.
    """
    from stac_bridge.errors import ConfigError
    from stac_bridge.plugin import get_provider

    adapter = get_provider(name).adapter()
    if not isinstance(adapter, Adapter):
        raise ConfigError(f"the adapter of provider {name!r} does not implement the Adapter interface")
    return adapter
